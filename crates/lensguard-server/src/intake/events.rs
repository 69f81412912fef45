//! Camera events into the intake: the same path as a photo's result.
//!
//! [`Intake::record_event`] audits the event (`cameras.event` by the
//! camera's actor `source:NAME`, target `event:ID`) before anything is
//! stored, then stores it under the `result` category's retention with its
//! outbox record in one transaction. The record is the event projected
//! through the policy's `[egress] event_fields`; with none named, nothing
//! about events is queued for the hub. An event holds no pixels: labels,
//! times, scores, zone names and boxes in fractions of the frame.

use super::{Intake, IntakeError};
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::db::{NewCameraEvent, NewOutboxRecord};
use serde::Serialize;

/// A box in fractions of the frame's width and height: `[x, y, w, h]`.
pub type FrameBox = [f32; 4];

/// An event as stored and served.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CameraEvent {
    /// Its id.
    pub id: String,
    /// The camera.
    pub camera: String,
    /// What was seen (`person`, `car`, `truck`, `bus`, `bicycle`, `motorcycle`, `face`).
    pub label: String,
    /// Its first sighting, on the service's clock.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub start: time::OffsetDateTime,
    /// Its last sighting, on the service's clock.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String")]
    pub end: time::OffsetDateTime,
    /// The best detection score, 0 to 1.
    pub best_score: f32,
    /// The box at the best score.
    #[serde(rename = "box")]
    pub best_box: FrameBox,
    /// The zones it was seen in.
    pub zones: Vec<String>,
    /// Where it was seen: seconds after `start`, and the box.
    pub trail: Vec<(f32, FrameBox)>,
    /// The model and runtime that detected it.
    pub model: lensguard_core::report::ModelRun,
}

impl Intake {
    /// Audits and stores `event` (and queues what the egress manifest lets
    /// out); storing the same id again changes nothing. `audited` says
    /// whether an earlier attempt already audited it (a retry after the
    /// database failed is not audited twice); it is set once the entry is
    /// in the log.
    pub async fn record_event(
        &self,
        event: &CameraEvent,
        audited: &mut bool,
    ) -> Result<(), IntakeError> {
        let now = time::OffsetDateTime::now_utc();
        if !*audited {
            let seconds = (event.end - event.start).as_seconds_f64();
            let audit = AuditEvent::new(now, format!("source:{}", event.camera), "cameras.event")
                .target(format!("event:{}", event.id))
                .outcome(
                    Outcome::Success,
                    Some(format!("{} for {seconds:.1} s", event.label)),
                );
            self.audit(audit).await?;
            *audited = true;
        }
        let policy = self.policy();
        let body = serde_json::to_string(event).map_err(|_| IntakeError::Internal)?;
        let value = serde_json::to_value(event).map_err(|_| IntakeError::Internal)?;
        let (_, expires_at) = self
            .vault
            .expiry(now, policy.data.result.keep_days)
            .await
            .map_err(|_| IntakeError::DatabaseUnavailable)?;
        let policy_ref = format!("{}@{}", policy.name, policy.revision);
        let queued = self
            .outbox
            .queue_for_hub
            .then(|| policy.egress.event_record(&policy_ref, &value))
            .flatten();
        let ms = |t: time::OffsetDateTime| (t.unix_timestamp_nanos() / 1_000_000) as i64;
        let stored = self
            .db
            .insert_camera_event(
                &NewCameraEvent {
                    id: &event.id,
                    camera: &event.camera,
                    label: &event.label,
                    start_ms: ms(event.start),
                    end_ms: ms(event.end),
                    event: &body,
                    expires_at,
                    policy: &policy_ref,
                    outbox: queued.as_ref().map(|record| NewOutboxRecord {
                        record,
                        limits: self.outbox.limits,
                    }),
                },
                now,
            )
            .await;
        match stored {
            Ok(_) => {
                if queued.is_some() {
                    self.outbox.wake.notify_one();
                }
                Ok(())
            }
            Err(e) => Err(self.not_stored(e)),
        }
    }

    /// Seals `event`'s redacted snapshot under the `redacted` category's
    /// retention (the object's inspection is `event:ID`, its device the
    /// camera); nothing when the policy keeps no redacted images.
    pub async fn record_snapshot(
        &self,
        event: &CameraEvent,
        image: lensguard_core::pixels::RedactedImage,
    ) -> Result<(), IntakeError> {
        let policy = self.policy();
        let rule = policy.data.redacted;
        if rule.store == lensguard_core::policy::StoreWhen::Never || rule.keep_days == 0 {
            return Ok(());
        }
        let policy_ref = format!("{}@{}", policy.name, policy.revision);
        let inspection = format!("event:{}", event.id);
        let new = lensguard_store::vault::NewObject {
            inspection_id: &inspection,
            device_id: Some(&event.camera),
            keep_days: rule.keep_days,
            policy: &policy_ref,
        };
        self.vault
            .put(&new, image, time::OffsetDateTime::now_utc())
            .await
            .map(|_| ())
            .map_err(|e| match e {
                lensguard_store::Error::AuditUnavailable(_) => IntakeError::AuditUnavailable,
                _ => IntakeError::VaultUnavailable,
            })
    }
}
