//! Cameras' recorded segments into the vault: [`Intake::record_segment`]
//! seals a segment under its footage category's retention with its camera
//! and times, then holds the camera to its disk quota.
//!
//! Invariants: the segment's bytes become typed footage of exactly the
//! category the recorder decided ([`lensguard_core::pixels`]), so the vault
//! stores them under that category's key and nowhere else; a category the
//! policy does not store (`store = "never"` or no days) is not sealed at
//! all; the quota runs after every stored segment, so a camera's footage
//! stays within its quota unless held footage alone exceeds it (or the
//! quota step failed: said in the log, and run again after the next
//! segment).

use super::{Intake, IntakeError};
use lensguard_core::pixels::{ContinuousFootage, EventFootage, MotionFootage};
use lensguard_core::policy::{DataCategory, StoreWhen};
use lensguard_store::db::NewSegment;
use lensguard_store::vault::Sealable;
use lensguard_video::segmenter::Segment;

/// What became of a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentOutcome {
    /// Sealed under this id; the quota then deleted this many segments.
    Stored {
        /// The segment's id.
        id: String,
        /// Segments the camera's quota deleted after it.
        quota_deleted: u64,
    },
    /// The policy keeps no footage of this category.
    NotKept,
}

impl Intake {
    /// Seals (a copy of) `segment` of `camera` as `category` footage, then
    /// deletes the camera's oldest footage beyond `quota_bytes`. On an
    /// error nothing was stored, and the caller still has the segment to
    /// try again; once stored, it is `Ok` even when the quota step failed
    /// (said in the log, and tried again after the next segment).
    pub async fn record_segment(
        &self,
        camera: &str,
        segment: &Segment,
        category: DataCategory,
        quota_bytes: u64,
    ) -> Result<SegmentOutcome, IntakeError> {
        let policy = self.policy();
        let rule = policy.data.rule(category);
        if rule.store == StoreWhen::Never || rule.keep_days == 0 {
            return Ok(SegmentOutcome::NotKept);
        }
        let pixels: Sealable = match category {
            DataCategory::FootageContinuous => {
                ContinuousFootage::recorded(segment.file.clone()).into()
            }
            DataCategory::FootageMotion => MotionFootage::recorded(segment.file.clone()).into(),
            DataCategory::FootageEvent => EventFootage::recorded(segment.file.clone()).into(),
            _ => return Err(IntakeError::Internal),
        };
        let policy_ref = format!("{}@{}", policy.name, policy.revision);
        let place = NewSegment {
            camera,
            start_ms: segment.start_ms,
            end_ms: segment.end_ms,
            pictures: segment.pictures,
            codec: segment.codec.as_str(),
        };
        let now = time::OffsetDateTime::now_utc();
        let stored = self
            .vault
            .put_segment(&place, rule.keep_days, &policy_ref, pixels, now)
            .await
            .map_err(|e| match e {
                lensguard_store::Error::AuditUnavailable(_) => IntakeError::AuditUnavailable,
                _ => IntakeError::VaultUnavailable,
            })?;
        // The segment is stored whatever the quota step does: a failure
        // there is said and tried again after the next segment.
        let quota_deleted = match self.vault.enforce_footage_quota(camera, quota_bytes).await {
            Ok(report) => report.deleted.len() as u64,
            Err(e) => {
                eprintln!(
                    "lensguard: camera {camera}: the footage quota could not be enforced: {e}"
                );
                0
            }
        };
        Ok(SegmentOutcome::Stored {
            id: stored.id,
            quota_deleted,
        })
    }
}
