//! What a submission keeps of its pixels: the policy's `[data]` rules
//! decide per category and verdict; everything kept is sealed in the vault
//! before the result is recorded.
//!
//! Invariant: what is sealed is typed ([`OriginalPhoto`], [`RedactedImage`],
//! [`ThumbnailImage`]) and its vault category is its type's; derived pixels
//! exist only as the redaction pipeline's output. The original's bytes are
//! copied out of the submission only when the policy keeps the original.

use super::{Intake, IntakeError};
use bytes::Bytes;
use lensguard_core::Policy;
use lensguard_core::pixels::{OriginalPhoto, RedactedImage, ThumbnailImage};
use lensguard_core::report::Verdict;
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::vault::{NewObject, Sealable};

/// What a submission may keep, before the policy decides.
pub struct Kept {
    /// The photo as submitted (copied out only when the policy keeps it;
    /// `None` when it was not read whole).
    pub original: Option<Bytes>,
    /// The redacted derivative.
    pub redacted: Option<RedactedImage>,
    /// Its thumbnail.
    pub thumbnail: Option<ThumbnailImage>,
}

/// The inspection a submission's evidence belongs to.
pub struct Owner<'a> {
    /// The inspection's id.
    pub inspection_id: &'a str,
    /// The submitting device.
    pub device_id: Option<&'a str>,
    /// Its verdict.
    pub verdict: Verdict,
    /// Whether the source is resuming it after a crash.
    pub resumed: bool,
}

/// Seals what `policy` keeps for an inspection with `verdict` (when
/// `resumed`, only what is not sealed for it yet); a vault
/// refusal is audited and answered [`IntakeError::VaultUnavailable`] (or
/// [`IntakeError::AuditUnavailable`] when its audit entry could not be
/// written: then nothing was done).
pub async fn keep(
    intake: &Intake,
    policy: &Policy,
    owner: Owner<'_>,
    kept: Kept,
    now: time::OffsetDateTime,
) -> Result<(), IntakeError> {
    let Owner {
        inspection_id,
        device_id,
        verdict,
        resumed,
    } = owner;
    let policy_ref = format!("{}@{}", policy.name, policy.revision);
    let Kept {
        original,
        redacted,
        thumbnail,
    } = kept;
    // The original's bytes are copied out only when the policy keeps them.
    let original = original
        .filter(|_| policy.data.original.keeps(verdict))
        .map(|b| OriginalPhoto::received(Vec::from(b)));
    let candidates: [Option<Sealable>; 3] = [
        original.map(Sealable::from),
        redacted.map(Sealable::from),
        thumbnail.map(Sealable::from),
    ];
    let mut objects = Vec::new();
    for pixels in candidates.into_iter().flatten() {
        let category = pixels.category();
        let rule = policy.data.rule(category);
        if rule.keeps(verdict) {
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
                device_id,
                keep_days: rule.keep_days,
                policy: &policy_ref,
            };
            objects.push((new, pixels));
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
