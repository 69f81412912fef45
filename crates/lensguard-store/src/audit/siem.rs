//! Audit entries as SIEM messages: RFC 5424 syslog, CEF, and JSON lines,
//! each carried as one RFC 5424 message (the transport frames it with RFC
//! 5425 octet counting: [`frame`]). The field mapping is documented in
//! `docs/siem.md`; these functions are its only implementation.
//!
//! - `syslog`: `<PRI>1 TIME HOST lensguard - ACTION [lensguard@32473 seq=..
//!   actor=.. outcome=.. target=.. source_ip=.. request_id=..] REASON`;
//!   facility 13 (log audit), severity 6 (success) or 4 (failure, denied).
//! - `cef`: the same header with `-` for structured data and the message
//!   `CEF:0|lensguard|lensguard|VERSION|ACTION|ACTION|SEV|rt=.. suser=.. ...`.
//! - `json`: the same header, the message the entry's JSON exactly as the
//!   audit log holds it (its hash covers those bytes).
//!
//! Every message carries the entry's `seq`, so a SIEM can recognise an entry
//! delivered twice (delivery is at least once).
//!
//! Signed checkpoints travel too ([`render_checkpoint`], action
//! `audit.checkpoint`), after the entries they cover, so the SIEM is a
//! witness of the log's history: in `syslog` and `json` the message ends with
//! the checkpoint's JSON, which `lensguard audit verify --trusted-checkpoint`
//! reads from the receiver's file; `cef` carries its fields.

use super::event::{Outcome, ParsedEntry};

/// `32473` is the private enterprise number RFC 5612 reserves for examples;
/// structured-data ids under it are stable names, not registrations.
pub const SD_ID: &str = "lensguard@32473";

/// The message format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiemFormat {
    /// RFC 5424 with structured data.
    Syslog,
    /// ArcSight Common Event Format inside RFC 5424.
    Cef,
    /// The audit entry's JSON inside RFC 5424.
    Json,
}

impl std::str::FromStr for SiemFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "syslog" => Ok(SiemFormat::Syslog),
            "cef" => Ok(SiemFormat::Cef),
            "json" => Ok(SiemFormat::Json),
            other => Err(format!("unknown SIEM format {other:?} (syslog, cef, json)")),
        }
    }
}

fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Success => 6,
        Outcome::Failure | Outcome::Denied => 4,
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Denied => "denied",
    }
}

/// RFC 5424 header fields: printable US-ASCII, no spaces, bounded.
fn header_token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if t.is_empty() { "-".to_owned() } else { t }
}

/// RFC 5424 PARAM-VALUE escaping: `"`, `\` and `]`.
fn sd_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// CEF header escaping: `\` and `|`; newlines removed.
fn cef_header(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// CEF extension value escaping: `\`, `=`, newlines.
fn cef_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('=', "\\=")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "-".to_owned())
}

/// The RFC 5424 message (without framing) for the entry whose JSON, as the
/// log holds it, is `raw_json`.
pub fn render(
    format: SiemFormat,
    hostname: &str,
    version: &str,
    raw_json: &str,
    entry: &ParsedEntry,
) -> String {
    let e = &entry.event;
    let pri = 13 * 8 + u32::from(severity(e.outcome));
    let head = format!(
        "<{pri}>1 {} {} lensguard - {}",
        rfc3339(e.time),
        header_token(hostname, 255),
        header_token(&e.action, 32)
    );
    match format {
        SiemFormat::Syslog => {
            let mut sd = format!(
                "[{SD_ID} seq=\"{}\" actor=\"{}\" outcome=\"{}\"",
                entry.seq,
                sd_value(&e.actor),
                outcome_name(e.outcome)
            );
            for (name, value) in [
                ("target", &e.target),
                ("source_ip", &e.source_ip),
                ("request_id", &e.request_id),
            ] {
                if let Some(v) = value {
                    sd.push_str(&format!(" {name}=\"{}\"", sd_value(v)));
                }
            }
            sd.push(']');
            let msg = e
                .reason
                .as_deref()
                .unwrap_or(&e.action)
                .replace(['\n', '\r'], " ");
            format!("{head} {sd} {msg}")
        }
        SiemFormat::Cef => {
            let sev = if e.outcome == Outcome::Success { 3 } else { 7 };
            let mut ext = format!(
                "rt={} externalId={} suser={} outcome={}",
                e.time.unix_timestamp() * 1000 + i64::from(e.time.millisecond()),
                entry.seq,
                cef_value(&e.actor),
                outcome_name(e.outcome)
            );
            for (key, value) in [
                ("src", &e.source_ip),
                ("cs1", &e.target),
                ("cs2", &e.request_id),
                ("reason", &e.reason),
            ] {
                if let Some(v) = value {
                    ext.push_str(&format!(" {key}={}", cef_value(v)));
                }
            }
            if e.target.is_some() {
                ext.push_str(" cs1Label=target");
            }
            if e.request_id.is_some() {
                ext.push_str(" cs2Label=requestId");
            }
            format!(
                "{head} - CEF:0|lensguard|lensguard|{}|{}|{}|{sev}|{ext}",
                cef_header(version),
                cef_header(&e.action),
                cef_header(&e.action)
            )
        }
        SiemFormat::Json => format!("{head} - {raw_json}"),
    }
}

/// The message for a signed checkpoint (see the module docs).
pub fn render_checkpoint(
    format: SiemFormat,
    hostname: &str,
    version: &str,
    checkpoint: &super::Checkpoint,
) -> String {
    let head = format!(
        "<{}>1 {} {} lensguard - audit.checkpoint",
        13 * 8 + 6,
        rfc3339(checkpoint.time),
        header_token(hostname, 255)
    );
    let json = serde_json::to_string(checkpoint).unwrap_or_default();
    match format {
        SiemFormat::Syslog => format!(
            "{head} [{SD_ID} size=\"{}\" key_id=\"{}\"] {json}",
            checkpoint.size,
            sd_value(&checkpoint.key_id)
        ),
        SiemFormat::Cef => format!(
            "{head} - CEF:0|lensguard|lensguard|{}|audit.checkpoint|audit.checkpoint|3|rt={} cn1={} cn1Label=size cs1={} cs1Label=root cs2={} cs2Label=keyId cs3={} cs3Label=signature",
            cef_header(version),
            checkpoint.time.unix_timestamp() * 1000,
            checkpoint.size,
            cef_value(&checkpoint.root),
            cef_value(&checkpoint.key_id),
            cef_value(&checkpoint.signature)
        ),
        SiemFormat::Json => format!("{head} - {json}"),
    }
}

/// RFC 5425 (RFC 6587 octet counting) framing: `LEN SP MSG`.
pub fn frame(msg: &str) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn entry(json: &str) -> ParsedEntry {
        serde_json::from_str(json).expect("entry")
    }

    #[test]
    fn each_format_matches_the_documented_mapping() {
        let raw = r#"{"seq":7,"time":"2026-11-30T12:00:00.25Z","actor":"key:ab|c","source_ip":"10.0.0.9","action":"inspections.submit","target":"inspection:1]2","outcome":"denied","reason":"scope \"x\" = missing"}"#;
        let e = entry(raw);
        assert_eq!(
            render(SiemFormat::Syslog, "edge-7", "0.1.0", raw, &e),
            r#"<108>1 2026-11-30T12:00:00.25Z edge-7 lensguard - inspections.submit [lensguard@32473 seq="7" actor="key:ab|c" outcome="denied" target="inspection:1\]2" source_ip="10.0.0.9"] scope "x" = missing"#
        );
        assert_eq!(
            render(SiemFormat::Cef, "edge-7", "0.1.0", raw, &e),
            r#"<108>1 2026-11-30T12:00:00.25Z edge-7 lensguard - inspections.submit - CEF:0|lensguard|lensguard|0.1.0|inspections.submit|inspections.submit|7|rt=1796040000250 externalId=7 suser=key:ab|c outcome=denied src=10.0.0.9 cs1=inspection:1]2 reason=scope "x" \= missing cs1Label=target"#
        );
        assert_eq!(
            render(SiemFormat::Json, "edge 7", "0.1.0", raw, &e),
            format!("<108>1 2026-11-30T12:00:00.25Z edge7 lensguard - inspections.submit - {raw}")
        );
        assert_eq!(frame("abc"), b"3 abc");
        assert_eq!(frame("é"), "2 é".as_bytes(), "octets, not characters");
    }
}
