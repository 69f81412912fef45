//! What a submission keeps of its pixels: the policy's `[data]` rules
//! decide per category and verdict; everything kept is sealed in the vault
//! before the result is recorded.
//!
//! Invariant: derived pixels come only from a [`RedactedJpeg`] (the
//! redaction pipeline's output); the original's bytes are copied out of
//! the submission only when the policy keeps the original.

use super::{Intake, IntakeError};
use bytes::Bytes;
use lensguard_core::Policy;
use lensguard_core::policy::DataCategory;
use lensguard_core::report::Verdict;
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::vault::NewObject;
use lensguard_vision::redact::RedactedJpeg;

/// What a submission may keep, before the policy decides.
pub struct Kept {
    /// The photo as submitted (copied out only when the policy keeps it;
    /// `None` when it was not read whole).
    pub original: Option<Bytes>,
    /// The redacted derivative.
    pub redacted: Option<RedactedJpeg>,
    /// Its thumbnail.
    pub thumbnail: Option<RedactedJpeg>,
}

/// Seals what `policy` keeps for an inspection with `verdict` (when
/// `resumed`, only what is not sealed for it yet); a vault
/// refusal is audited and answered [`IntakeError::VaultUnavailable`] (or
/// [`IntakeError::AuditUnavailable`] when its audit entry could not be
/// written: then nothing was done).
pub async fn keep(
    intake: &Intake,
    policy: &Policy,
    inspection_id: &str,
    device_id: Option<&str>,
    verdict: Verdict,
    kept: Kept,
    now: time::OffsetDateTime,
    resumed: bool,
) -> Result<(), IntakeError> {
    let policy_ref = format!("{}@{}", policy.name, policy.revision);
    let Kept {
        original,
        redacted,
        thumbnail,
    } = kept;
    let original = original
        .filter(|_| policy.data.original.keeps(verdict))
        .map(Vec::from);
    let candidates = [
        (DataCategory::Original, original),
        // Only a RedactedJpeg's bytes are ever stored as derived pixels.
        (
            DataCategory::Redacted,
            redacted.map(RedactedJpeg::into_bytes),
        ),
        (
            DataCategory::Thumbnail,
            thumbnail.map(RedactedJpeg::into_bytes),
        ),
    ];
    let mut objects = Vec::new();
    for (category, bytes) in candidates {
        let rule = policy.data.rule(category);
        if let Some(bytes) = bytes.filter(|_| rule.keeps(verdict)) {
            if resumed
                && intake
                    .vault
                    .find(inspection_id, category)
                    .await
                    .map_err(|_| IntakeError::DatabaseUnavailable)?
                    .is_some()
            {
                continue;
            }
            let new = NewObject {
                inspection_id,
                category,
                device_id,
                keep_days: rule.keep_days,
                policy: &policy_ref,
            };
            objects.push((new, bytes));
        }
    }
    if objects.is_empty() {
        return Ok(());
    }
    if let Err(e) = intake.vault.put_all(objects, now).await {
        let event = AuditEvent::new(now, "system", "evidence.store")
            .target(format!("inspection:{inspection_id}"))
            .outcome(Outcome::Failure, Some(e.to_string()));
        let _ = intake.audit(event).await;
        return Err(match e {
            lensguard_store::Error::AuditUnavailable(_) => IntakeError::AuditUnavailable,
            _ => IntakeError::VaultUnavailable,
        });
    }
    Ok(())
}
