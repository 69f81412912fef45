//! Exporting the audit log: JSON Lines that verify offline, or CSV for people.
//!
//! JSON Lines (`lensguard-audit-export/v1`): a `header` line with the public key, the
//! latest `checkpoint`, then one `entry` line per exported entry with its raw
//! JSON, its chain hash and the previous one, and its inclusion proof against the
//! checkpoint. A time-range export therefore still proves every entry belongs to
//! the signed log. Entries after the latest checkpoint are not exported (sign one
//! first); [`ExportSummary::unsigned_entries`] counts them.
//!
//! Completeness: the header says what the export claims to hold. A full export
//! (no time range) has `"full": true` and must hold every index below the
//! checkpoint's size, which is signed, so a removed line is found. A
//! time-range export names `first_seq` and `last_seq` and holds every entry
//! between them (also one whose time falls outside the range because the
//! clock stepped back), so a removed line inside is found; its boundaries are
//! only as the (unsigned) header claims them.

use super::event::ParsedEntry;
use super::files;
use super::verify::scan;
use crate::Error;
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Verifiable JSON Lines.
    Jsonl,
    /// One row per entry, for spreadsheets and SIEM imports (not verifiable).
    Csv,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Entries written.
    pub entries: u64,
    /// Entries after the latest checkpoint, left out.
    pub unsigned_entries: u64,
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Exports the entries of the audit folder `dir` whose time lies in `[from, to)`.
/// The folder is verified first; a log that does not verify is not exported.
pub fn export(
    dir: &Path,
    from: Option<time::OffsetDateTime>,
    to: Option<time::OffsetDateTime>,
    format: ExportFormat,
    out: &mut impl Write,
) -> Result<ExportSummary, Error> {
    let s = scan(dir, None)?;
    let Some(cp) = s.checkpoints.last().cloned() else {
        return Err(Error::Rejected(
            "the audit log has no signed checkpoint yet".to_owned(),
        ));
    };
    let public_key = hex::decode(&s.public_key)
        .map_err(|_| Error::Misconfigured("the audit log has no signing key".to_owned()))?;
    let w = |e| Error::io("cannot write the export")(e);
    let in_range =
        |t: time::OffsetDateTime| from.is_none_or(|f| t >= f) && to.is_none_or(|x| t < x);
    // The indices the export claims: every entry from the first in range to
    // the last in range.
    let (mut first, mut last) = (None, None);
    for_each_signed(dir, cp.size, |seq, _, entry| {
        if in_range(entry.event.time) {
            first.get_or_insert(seq);
            last = Some(seq);
        }
    })?;
    let claimed = |seq: u64| first.is_some_and(|f| seq >= f) && last.is_some_and(|l| seq <= l);
    match format {
        ExportFormat::Jsonl => {
            let header = json!({"type": "header", "format": "lensguard-audit-export/v1",
                "public_key": hex::encode(&public_key), "full": from.is_none() && to.is_none(),
                "first_seq": first, "last_seq": last});
            writeln!(out, "{header}").map_err(w)?;
            let mut line = serde_json::to_value(&cp).map_err(|e| Error::Internal(e.to_string()))?;
            line["type"] = json!("checkpoint");
            writeln!(out, "{line}").map_err(w)?;
        }
        ExportFormat::Csv => {
            writeln!(
                out,
                "seq,time,actor,source_ip,request_id,action,target,outcome,reason,hash"
            )
            .map_err(w)?;
        }
    }
    let file = std::fs::File::open(dir.join(files::LOG))
        .map_err(Error::io("cannot read the audit log"))?;
    let mut prev = [0u8; 32];
    let mut written = 0u64;
    for (seq, line) in BufReader::new(file).split(b'\n').enumerate() {
        let seq = seq as u64;
        if seq >= cp.size {
            break;
        }
        let line = line.map_err(Error::io("cannot read the audit log"))?;
        let (hash, body) = (
            String::from_utf8_lossy(&line[..64]).into_owned(),
            &line[65..],
        );
        let entry: ParsedEntry =
            serde_json::from_slice(body).map_err(|e| Error::Corrupt(e.to_string()))?;
        // JSON Lines hold every entry between the claimed bounds; CSV, the range.
        let wanted = match format {
            ExportFormat::Jsonl => claimed(seq),
            ExportFormat::Csv => in_range(entry.event.time),
        };
        if wanted {
            match format {
                ExportFormat::Jsonl => {
                    let proof = s.levels.inclusion_proof(seq, cp.size).unwrap_or_default();
                    let line = json!({
                        "type": "entry",
                        "seq": seq,
                        "prev": hex::encode(prev),
                        "hash": hash,
                        "entry": String::from_utf8_lossy(body),
                        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
                    });
                    writeln!(out, "{line}").map_err(w)?;
                }
                ExportFormat::Csv => {
                    let e = &entry.event;
                    let t = e
                        .time
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default();
                    let outcome = serde_json::to_value(e.outcome)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let fields = [
                        seq.to_string(),
                        t,
                        e.actor.clone(),
                        e.source_ip.clone().unwrap_or_default(),
                        e.request_id.clone().unwrap_or_default(),
                        e.action.clone(),
                        e.target.clone().unwrap_or_default(),
                        outcome,
                        e.reason.clone().unwrap_or_default(),
                        hash.clone(),
                    ];
                    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                    writeln!(out, "{}", row.join(",")).map_err(w)?;
                }
            }
            written += 1;
        }
        prev = hex::decode(&hash)
            .ok()
            .and_then(|v| v.try_into().ok())
            .unwrap_or([0u8; 32]);
    }
    Ok(ExportSummary {
        entries: written,
        unsigned_entries: s.levels.len() - cp.size,
    })
}

/// Calls `f(seq, line, entry)` for each of the first `size` entries of the log
/// in `dir`.
fn for_each_signed(
    dir: &Path,
    size: u64,
    mut f: impl FnMut(u64, &[u8], &ParsedEntry),
) -> Result<(), Error> {
    let file = std::fs::File::open(dir.join(files::LOG))
        .map_err(Error::io("cannot read the audit log"))?;
    for (seq, line) in BufReader::new(file).split(b'\n').enumerate() {
        let seq = seq as u64;
        if seq >= size {
            break;
        }
        let line = line.map_err(Error::io("cannot read the audit log"))?;
        let entry: ParsedEntry = serde_json::from_slice(line.get(65..).unwrap_or_default())
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        f(seq, &line, &entry);
    }
    Ok(())
}
