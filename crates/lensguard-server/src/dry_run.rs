//! The dry run of the whole pipeline for one photo under a policy (`lensguard
//! policy explain`, and the console's policy page): the verdict, what the
//! service would store and for how long, and exactly which fields would
//! leave the device. Nothing is stored and nothing is sent.

use lensguard_core::policy::DataCategory;
use lensguard_core::{Limits, Policy, Verdict};
use serde::Serialize;
use std::path::Path;

/// What happens to one data category.
#[derive(Debug, Serialize)]
pub struct Plan {
    /// The category.
    pub category: &'static str,
    /// Whether it would be stored.
    pub stored: bool,
    /// For how many days.
    pub keep_days: u32,
    /// Until when (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Why.
    pub why: String,
}

/// What would leave the device.
#[derive(Debug, Serialize)]
pub struct Egress {
    /// The report's fields the manifest names, projected.
    pub fields: serde_json::Value,
    /// Whether the redacted image would leave.
    pub redacted_image: bool,
}

/// The dry run's answer.
#[derive(Debug, Serialize)]
pub struct Explanation {
    /// The photo, as named.
    pub photo: String,
    /// Its verdict.
    pub verdict: Verdict,
    /// The policy (`name@revision`).
    pub policy: String,
    /// The file or built-in profile the policy came from.
    pub policy_source: String,
    /// `code: message` of each reason.
    pub reasons: Vec<String>,
    /// What would be stored, per category.
    pub stored: Vec<Plan>,
    /// What would leave the device.
    pub leaves_device: Egress,
}

/// Runs the whole pipeline on `bytes` (named `path`) under `policy` at
/// `now`, storing and sending nothing.
pub fn explain(
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
