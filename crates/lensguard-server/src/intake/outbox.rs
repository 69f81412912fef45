//! What a submission queues for the hub.
//!
//! Only an enrolled edge queues anything (an air-gapped edge has no hub
//! link, queues nothing and starts no delivery task, so it never opens an
//! outbound connection). A queued record is `{"manifest":
//! "policy@revision", "data": ...}` where `data` is the stored report
//! projected through the policy's egress manifest: fields the manifest does
//! not name never enter the outbox.
//!
//! Backpressure: a submission is refused with [`IntakeError::OutboxFull`]
//! (HTTP: 503 `outbox_full` and `Retry-After`) before its body is read when the outbox is at its bound;
//! the bound is enforced again inside the inspection's transaction, so a
//! race past the first check is refused too, before anything is recorded.
//! Nothing already accepted is ever dropped.

use super::IntakeError;
use crate::metrics::EdgeMetrics;
use lensguard_core::Policy;
use lensguard_core::egress::EgressRecord;
use lensguard_store::db::{Db, OutboxLimits};
use std::sync::Arc;

/// The outbox as the intake sees it.
pub struct Outbox {
    /// Whether this edge is enrolled with a hub (else nothing is queued).
    pub queue_for_hub: bool,
    /// Its bounds.
    pub limits: OutboxLimits,
    /// Its metrics.
    pub metrics: Arc<EdgeMetrics>,
    /// Wakes the delivery task.
    pub wake: Arc<tokio::sync::Notify>,
}

/// The outbox record for an inspection whose stored result is `body`.
pub fn record(policy: &Policy, body: &str) -> EgressRecord {
    let report: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let manifest = format!("{}@{}", policy.name, policy.revision);
    policy.egress.record(&manifest, &report)
}

impl Outbox {
    /// [`IntakeError::OutboxFull`] when the outbox is at its bound (only on
    /// an enrolled edge).
    pub async fn admit(&self, db: &Db) -> Result<(), IntakeError> {
        if !self.queue_for_hub {
            return Ok(());
        }
        let stats = db
            .outbox_stats()
            .await
            .map_err(|_| IntakeError::DatabaseUnavailable)?;
        if stats.depth >= self.limits.max_entries || stats.bytes >= self.limits.max_bytes {
            self.metrics.refused_full.inc();
            return Err(IntakeError::OutboxFull { depth: stats.depth });
        }
        Ok(())
    }
}
