//! `lensguard policy explain PHOTO`: a dry run of the whole pipeline for one
//! photo under a policy: the verdict, what the service would store and for
//! how long, and exactly which fields would leave the device. Nothing is
//! stored and nothing is sent.

use crate::cli::ModelsArgs;
use crate::inputs::{ReadError, read_limited};
use anyhow::bail;
use lensguard_core::policy::DataCategory;
use lensguard_core::{Limits, Policy, Verdict};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Serialize)]
struct Plan {
    category: &'static str,
    stored: bool,
    keep_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    why: String,
}

#[derive(Debug, Serialize)]
struct Egress {
    fields: serde_json::Value,
    redacted_image: bool,
}

#[derive(Debug, Serialize)]
struct Explanation {
    photo: String,
    verdict: Verdict,
    policy: String,
    /// The file or built-in profile the policy came from.
    policy_source: String,
    reasons: Vec<String>,
    stored: Vec<Plan>,
    leaves_device: Egress,
}

fn explain(
    path: &Path,
    bytes: &[u8],
    policy: &Policy,
    detectors: &lensguard_vision::derive::Detectors,
    now: time::OffsetDateTime,
) -> anyhow::Result<Explanation> {
    let outcome =
        lensguard_vision::pipeline::run(bytes, policy, &Limits::default(), now, detectors, true);
    let report = &outcome.report;
    let verdict = report.verdict;
    let mut report_json = serde_json::to_value(report)?;
    if let Some(map) = report_json.as_object_mut() {
        map.insert("id".into(), "(assigned at submission)".into());
    }
    let redaction_why = report
        .redaction
        .as_ref()
        .and_then(|r| r.message.clone())
        .unwrap_or_else(|| "no derivative was made".to_owned());
    let stored = DataCategory::ALL
        .into_iter()
        .filter(|c| !c.is_footage())
        .map(|c| {
            let rule = policy.data.rule(c);
            let made = match c {
                DataCategory::Redacted => outcome.derivative.is_some(),
                DataCategory::Thumbnail => outcome.thumbnail.is_some(),
                _ => true,
            };
            let keeps = verdict != Verdict::Error && rule.keeps(verdict);
            let (stored, why) = match c {
                DataCategory::RequestLog | DataCategory::AuditLog => (
                    true,
                    "the submission is recorded in the audit log".to_owned(),
                ),
                _ if verdict == Verdict::Error => (
                    false,
                    "an undecodable photo is refused (422); only the audit entry remains"
                        .to_owned(),
                ),
                _ if !made => (false, format!("not made: {redaction_why}")),
                _ if !keeps => (
                    false,
                    format!(
                        "the policy stores it {} (so it is discarded right after the verdict)",
                        crate::inventory::stored(rule.store)
                    ),
                ),
                _ if c.is_evidence() => (true, "sealed in the evidence vault".to_owned()),
                _ => (true, "kept in the database".to_owned()),
            };
            let until = (stored && c != DataCategory::AuditLog && c != DataCategory::RequestLog)
                .then(|| now + time::Duration::days(i64::from(rule.keep_days)))
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                });
            Plan {
                category: c.as_str(),
                stored,
                keep_days: if stored { rule.keep_days } else { 0 },
                until,
                why,
            }
        })
        .collect();
    Ok(Explanation {
        photo: path.display().to_string(),
        verdict,
        policy: format!("{}@{}", policy.name, policy.revision),
        policy_source: String::new(),
        reasons: report
            .reasons
            .iter()
            .map(|r| format!("{}: {}", r.code, r.message))
            .collect(),
        stored,
        leaves_device: Egress {
            fields: policy.egress.project(&report_json),
            redacted_image: policy.egress.redacted_images && outcome.derivative.is_some(),
        },
    })
}

pub fn run(
    photo: &Path,
    chosen: &super::SourcedPolicy,
    models: &ModelsArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let policy = &chosen.policy;
    let bytes = match read_limited(photo, Limits::default().max_file_bytes) {
        Ok(b) => b,
        Err(ReadError::TooLarge(e)) => bail!("{}: {e}", photo.display()),
        Err(ReadError::Io(e)) => bail!("cannot read {}: {e}", photo.display()),
    };
    let detectors = crate::detection::load_for_cli(models.models.as_deref());
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let mut e = explain(photo, &bytes, policy, &detectors, now)?;
    e.policy_source.clone_from(&chosen.source);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{}: verdict {} (policy {})",
        e.photo, e.verdict, e.policy
    )?;
    writeln!(out, "policy file: {}", e.policy_source)?;
    for r in &e.reasons {
        writeln!(out, "  reason  {r}")?;
    }
    writeln!(out, "stored:")?;
    for p in &e.stored {
        let kept = match (&p.until, p.stored) {
            (Some(until), true) => format!("kept {} days, until {until}", p.keep_days),
            (None, true) => "kept per the audit log's retention".to_owned(),
            _ => "not stored".to_owned(),
        };
        writeln!(out, "  {:<12} {kept}: {}", p.category, p.why)?;
    }
    writeln!(out, "leaves the device:")?;
    let fields = e.leaves_device.fields.as_object().map_or(0, |m| m.len());
    if fields == 0 {
        writeln!(
            out,
            "  report fields: none (the egress manifest names none)"
        )?;
    } else {
        writeln!(out, "  report fields: {}", e.leaves_device.fields)?;
    }
    writeln!(
        out,
        "  redacted image: {}",
        if e.leaves_device.redacted_image {
            "yes"
        } else {
            "no"
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
