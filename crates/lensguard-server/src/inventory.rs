//! The data inventory a security review asks for (`lensguard policy
//! inventory`, and the console's retention page), made from the policy and
//! from where this build keeps each kind of data. `docs/data-inventory.md`
//! is the command's output for the default policy; a test fails when the two drift apart (regenerate with
//! `LENSGUARD_BLESS=1 cargo test -p lensguard-server inventory`).

use lensguard_core::Policy;
use lensguard_core::policy::{DataCategory, StoreWhen};
use serde::Serialize;

/// One row of the inventory.
#[derive(Debug, Serialize)]
pub struct Row {
    /// The category.
    pub category: &'static str,
    /// What it is.
    pub holds: &'static str,
    /// When it is stored.
    pub stored: &'static str,
    /// Days kept (0: discarded right after the verdict).
    pub keep_days: u32,
    /// Where it lives.
    pub location: &'static str,
    /// How it is protected at rest.
    pub encryption: &'static str,
    /// How it is deleted.
    pub deletion: &'static str,
    /// Who may read it.
    pub read_by: String,
    /// Whether and where it may leave the device.
    pub egress: String,
}

/// The inventory.
#[derive(Debug, Serialize)]
pub struct Inventory {
    /// The policy (`name@revision`).
    pub policy: String,
    /// One row per category.
    pub categories: Vec<Row>,
    /// Report fields the egress manifest lets leave.
    pub egress_fields: Vec<String>,
    /// The clock guard's threshold.
    pub max_clock_jump_hours: u32,
}

const VAULT_AT_REST: &str = "AES-256-GCM with a fresh data key per object; the data key is wrapped by the category's versioned key-encryption key (master key, or a PKCS#11 token); associated data binds object id, category and key version; KEKs rotate every 90 days by default";
const SHRED: &str = "crypto-shredding: the wrapped data key's row is destroyed (SQLite secure_delete, WAL truncated), then the blob is removed; a deletion receipt goes to the audit log";

fn facts(c: DataCategory) -> (&'static str, &'static str, &'static str, &'static str) {
    match c {
        DataCategory::Original => (
            "the photo as submitted, with its metadata (GPS included)",
            "evidence vault: sealed blob `<data dir>/vault/<xx>/<id>`, wrapped key in `lensguard.db`",
            VAULT_AT_REST,
            SHRED,
        ),
        DataCategory::Redacted => (
            "the redacted derivative: faces and text hidden, no metadata",
            "evidence vault: sealed blob `<data dir>/vault/<xx>/<id>`, wrapped key in `lensguard.db`",
            VAULT_AT_REST,
            SHRED,
        ),
        DataCategory::Thumbnail => (
            "a 320-pixel copy of the redacted derivative",
            "evidence vault: sealed blob `<data dir>/vault/<xx>/<id>`, wrapped key in `lensguard.db`",
            VAULT_AT_REST,
            SHRED,
        ),
        DataCategory::Result => (
            "verdict, reasons, measurements and detections (no pixels; the photo's GPS position and capture time when it had them); camera events (label, times, score, zones, boxes in fractions of the frame; no pixels)",
            "`<data dir>/lensguard.db`, tables `inspections` and `camera_events`",
            "not envelope-encrypted (metadata); use disk encryption for the data directory",
            "row deleted (SQLite secure_delete, WAL truncated); a deletion receipt goes to the audit log",
        ),
        DataCategory::RequestLog => (
            "per-request records: caller, address, request id, action, outcome",
            "not a separate file: each request lensguard acts on is an audit-log entry; stderr goes to the service manager (its retention applies)",
            "as the audit log",
            "as the audit log",
        ),
        DataCategory::AuditLog => (
            "who did what, when, from where; deletion receipts; identifying values pseudonymised (HMAC)",
            "`<data dir>/audit/` (log.jsonl, checkpoints)",
            "not encrypted; tamper-evident: hash chain, RFC 6962 Merkle tree, Ed25519-signed checkpoints at least every 1000 entries (signing key in `audit/` or a PKCS#11 token), each also kept in the database and optionally a checkpoint file; an administrator who can write the data directory and use the signing key can rewrite the history undetected except against checkpoints kept off the machine (the hub, a checkpoint file elsewhere: `lensguard audit verify --trusted-checkpoint`)",
            "never pruned by lensguard (receipts must outlive what they prove); export and archive with `lensguard audit export`",
        ),
        DataCategory::FootageContinuous => (
            "a camera's recorded video (`continuous` mode) where nothing moved: fragmented MP4 segments of a few seconds, as the camera encoded them (faces and plates visible); audio only where the camera's keep_audio says",
            FOOTAGE_AT,
            VAULT_AT_REST,
            FOOTAGE_SHRED,
        ),
        DataCategory::FootageMotion => (
            "a camera's recorded video (`continuous` mode) while something moved and no event was under way",
            FOOTAGE_AT,
            VAULT_AT_REST,
            FOOTAGE_SHRED,
        ),
        DataCategory::FootageEvent => (
            "a camera's recorded video around an event, pre- and post-roll included (`events` and `continuous` modes)",
            FOOTAGE_AT,
            VAULT_AT_REST,
            FOOTAGE_SHRED,
        ),
    }
}

const FOOTAGE_AT: &str = "evidence vault: sealed blob `<data dir>/vault/<xx>/<id>`, wrapped key and the segment's camera and times in `lensguard.db`; a redacted rendering (faces hidden in every picture, masks burned in) is made on request for `inspections:read` and never stored";
const FOOTAGE_SHRED: &str = "as originals (crypto-shredding with a receipt), at expiry or earlier when the camera's disk quota is reached (continuous footage first, never anything under a hold)";

pub(super) fn stored(when: StoreWhen) -> &'static str {
    match when {
        StoreWhen::Never => "never",
        StoreWhen::OnFail => "on fail",
        StoreWhen::OnRetry => "on retry or fail",
        StoreWhen::Always => "always",
    }
}

/// The inventory of `policy`.
pub fn inventory(policy: &Policy) -> Inventory {
    let categories = DataCategory::ALL
        .into_iter()
        .map(|c| {
            let rule = policy.data.rule(c);
            let (holds, location, encryption, deletion) = facts(c);
            let mut read_by = c.read_scope().as_str().to_owned();
            if c.is_original() {
                read_by.push_str(" with a stated reason");
            }
            read_by.push_str("; every read audited");
            if c.is_footage()
                || matches!(
                    c,
                    DataCategory::Original
                        | DataCategory::Redacted
                        | DataCategory::Thumbnail
                        | DataCategory::Result
                )
            {
                read_by.push_str("; only within the credential's device scope, if it has one");
            }
            let egress = match c {
                DataCategory::Original
                | DataCategory::FootageContinuous
                | DataCategory::FootageMotion
                | DataCategory::FootageEvent => "never".to_owned(),
                DataCategory::Redacted | DataCategory::Thumbnail => {
                    if policy.egress.redacted_images {
                        "may leave (egress.redacted_images)".to_owned()
                    } else {
                        "denied".to_owned()
                    }
                }
                DataCategory::Result => {
                    let results = if policy.egress.fields.is_empty() {
                        "denied (the egress manifest names no fields)".to_owned()
                    } else {
                        format!("only the fields {}", policy.egress.fields.join(", "))
                    };
                    let events = if policy.egress.event_fields.is_empty() {
                        "camera events denied (no event_fields)".to_owned()
                    } else {
                        format!(
                            "camera events: only {}",
                            policy.egress.event_fields.join(", ")
                        )
                    };
                    format!("{results}; {events}")
                }
                DataCategory::RequestLog | DataCategory::AuditLog => {
                    "only by an operator's export (`lensguard audit export`) or the `[siem]` stream (TLS to the configured receiver)".to_owned()
                }
            };
            Row {
                category: c.as_str(),
                holds,
                stored: if rule.keep_days == 0 {
                    "never (discarded after the verdict)"
                } else {
                    stored(rule.store)
                },
                keep_days: if rule.store == StoreWhen::Never {
                    0
                } else {
                    rule.keep_days
                },
                location,
                encryption,
                deletion,
                read_by,
                egress,
            }
        })
        .collect();
    Inventory {
        policy: format!("{}@{}", policy.name, policy.revision),
        categories,
        egress_fields: policy.egress.fields.clone(),
        max_clock_jump_hours: policy.retention.max_clock_jump_hours,
    }
}

/// The inventory as Markdown.
pub fn markdown(inv: &Inventory) -> String {
    let mut s = format!(
        "# Data inventory: policy `{}`\n\n\
         Generated by `lensguard policy inventory`; a test keeps this file equal to the\n\
         command's output for the default policy.\n\n\
         | category | holds | stored | kept | where | at rest | deletion | read by | may leave |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        inv.policy
    );
    for r in &inv.categories {
        let kept = match (r.category, r.keep_days) {
            (_, 0) => "-".to_owned(),
            ("audit_log" | "request_log", d) => format!("at least {d} days"),
            (_, 1) => "1 day".to_owned(),
            (_, d) => format!("{d} days"),
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.category,
            r.holds,
            r.stored,
            kept,
            r.location,
            r.encryption,
            r.deletion,
            r.read_by,
            r.egress
        ));
    }
    s.push_str(&format!(
        "\nRetention: objects expire `kept` days after they are stored, on a clock that never \
         runs backwards (a clock set back dates nothing earlier than the last sweep); a clock \
         more than {} hours ahead of the last sweep pauses deletion and raises an alert. \
         Legal holds (by inspection, device or time range) suspend deletion and erasure.\n\n\
         Egress is deny by default: only the report fields the policy's `[egress] fields` names \
         may leave the device ({}), and only to the hub it enrolled with (`lensguard edge enroll`; \
         without one nothing leaves and no outbound connection is made): each record waits in \
         `<data dir>/lensguard.db`, table `outbox`, written with its result, until the hub \
         acknowledges it; every batch sent has an egress receipt in the audit log \
         (`lensguard egress report`). Deletion receipts go to the hub too.\n",
        inv.max_clock_jump_hours,
        if inv.egress_fields.is_empty() {
            "none".to_owned()
        } else {
            inv.egress_fields.join(", ")
        }
    ));
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn committed_inventory_matches_the_default_policy() {
        let path = lensguard_testkit::workspace_root().join("docs/data-inventory.md");
        let text = markdown(&inventory(&Policy::default()));
        if std::env::var_os("LENSGUARD_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "docs/data-inventory.md is out of date: LENSGUARD_BLESS=1 cargo test -p lensguard-server inventory"
        );
    }

    #[test]
    fn the_inventory_follows_the_policy() {
        let default = inventory(&Policy::default());
        let row = |inv: &Inventory, c: &str| {
            inv.categories
                .iter()
                .find(|r| r.category == c)
                .map(|r| (r.stored, r.keep_days))
                .expect("row")
        };
        assert_eq!(
            row(&default, "original"),
            ("never (discarded after the verdict)", 0)
        );
        assert_eq!(row(&default, "redacted"), ("always", 7));
        assert_eq!(row(&default, "result"), ("always", 30));
        assert_eq!(row(&default, "audit_log"), ("always", 90));
        let line = inventory(&Policy::builtin("inspection-line").expect("profile"));
        assert_eq!(row(&line, "original"), ("on fail", 30));
    }
}
