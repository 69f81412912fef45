//! Delivering the outbox to the hub.
//!
//! One task per service, one batch in flight. Each round: learn what the hub
//! holds (once per connection streak: `GET /v1/edge/state`), read the oldest
//! records (at most `[hub] batch_records`), attach the newest signed audit
//! checkpoint when the hub's copy differs (with a consistency proof from
//! the hub's size), record an egress receipt in the audit log (no receipt,
//! no sending), send, and retire records only up to what the hub
//! acknowledged after its commit. A lost acknowledgement means the batch is
//! sent again; the hub stores it once ((edge, seq) is its key).
//!
//! A [`crate::sinks::Sink`]: failures back off exponentially from
//! `retry_initial` to `retry_max` with jitter (each delay uniformly in its upper half), so a fleet that
//! lost its hub does not return in lockstep. Nothing is ever dropped here:
//! a batch the hub refuses stays queued, and the refusal is logged.

use super::link::HubLink;
use crate::common::backoff::Backoff;
use crate::fleet::client::HubClient;
use crate::fleet::wire::{Batch, BatchAck, EDGE_REVOKED, EdgeState, WireCheckpoint, WireRecord};
use crate::metrics::EdgeMetrics;
use crate::sinks::Sink;
use axum::http::Method;
use lensguard_core::config::DeliveryConfig;
use lensguard_store::audit::{AuditEvent, AuditLog, EgressReceipt};
use lensguard_store::db::Db;
use std::sync::Arc;
use std::time::Duration;

/// How long an idle edge waits before looking again (new audit checkpoints
/// travel even when no photo arrives).
const IDLE: Duration = Duration::from_secs(5);

/// The delivery task's parts.
pub struct Delivery {
    /// The edge database (the outbox).
    pub db: Db,
    /// The edge's audit log (receipts, checkpoints).
    pub audit: Arc<AuditLog>,
    /// The hub.
    pub link: HubLink,
    /// Settings.
    pub config: DeliveryConfig,
    /// Metrics.
    pub metrics: Arc<EdgeMetrics>,
    /// Woken when a record is enqueued.
    pub wake: Arc<tokio::sync::Notify>,
}

/// What the hub holds, as far as this edge knows.
#[derive(Debug, Default)]
struct HubView {
    checkpoint_size: Option<u64>,
    /// The last checkpoint size sent that the hub flagged (not resent).
    flagged_size: Option<u64>,
}

/// Delivery to the hub as a sink: the outbox is its durable cursor (records
/// leave it only when the hub acknowledged them after its commit).
pub struct HubSink {
    delivery: Delivery,
    client: HubClient,
    view: HubView,
    state: super::state::StateFile,
}

impl HubSink {
    /// Delivery over `client`.
    pub fn new(delivery: Delivery, client: HubClient) -> HubSink {
        let state = super::state::StateFile::open(&delivery.link.dir);
        HubSink {
            delivery,
            client,
            view: HubView::default(),
            state,
        }
    }
}

impl Sink for HubSink {
    fn name(&self) -> String {
        "delivery to the hub".to_owned()
    }

    async fn deliver(&mut self) -> Result<usize, String> {
        self.delivery.round(&mut self.client, &mut self.view).await
    }

    fn failed(&mut self, why: &str) {
        self.delivery.metrics.failures.inc();
        // Learn the hub's state again on the next connection.
        self.view.checkpoint_size = None;
        self.state.failed(why, why.starts_with(REVOKED));
    }

    fn delivered(&mut self) {
        self.state.delivered();
    }

    fn wake(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(Arc::clone(&self.delivery.wake))
    }

    fn idle(&self) -> Duration {
        IDLE
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(
            self.delivery.config.retry_initial,
            self.delivery.config.retry_max,
        )
    }
}

impl Delivery {
    /// One round: `Ok(records and checkpoints sent)`.
    async fn round(&self, client: &mut HubClient, view: &mut HubView) -> Result<usize, String> {
        let hub_size = match view.checkpoint_size {
            Some(s) => s,
            None => {
                let (status, body) = client
                    .request(Method::GET, "/v1/edge/state", None)
                    .await
                    .map_err(|e| e.to_string())?;
                if status != 200 {
                    return Err(refusal(status, &body));
                }
                let state: EdgeState = serde_json::from_slice(&body)
                    .map_err(|e| format!("the hub's state is malformed: {e}"))?;
                view.checkpoint_size = Some(state.checkpoint_size);
                state.checkpoint_size
            }
        };
        let entries = self
            .db
            .outbox_batch(0, self.config.batch_records)
            .await
            .map_err(|e| format!("cannot read the outbox: {e}"))?;
        let checkpoint = self.checkpoint_for(hub_size, view.flagged_size);
        if entries.is_empty() && checkpoint.is_none() {
            return Ok(0);
        }
        let mut manifests = std::collections::BTreeSet::new();
        let records: Vec<WireRecord> = entries
            .iter()
            .map(|e| {
                let payload: serde_json::Value =
                    serde_json::from_str(&e.payload).unwrap_or(serde_json::Value::Null);
                if let Some(m) = payload.get("manifest").and_then(|m| m.as_str()) {
                    manifests.insert(m.to_owned());
                }
                WireRecord {
                    seq: e.seq,
                    created_at: e.created_at,
                    kind: e.kind.clone(),
                    payload,
                }
            })
            .collect();
        let sent_size = checkpoint.as_ref().map(|c| c.checkpoint.size);
        let body = serde_json::to_vec(&Batch {
            records,
            checkpoint,
        })
        .map_err(|e| e.to_string())?;
        let receipt = EgressReceipt {
            destination: self.link.destination(),
            content_sha256: hex::encode(crate::common::tls::sha256(&body)),
            bytes: body.len() as u64,
            manifests: manifests.into_iter().collect(),
            records: entries.len() as u64,
            first_seq: entries.first().map_or(0, |e| e.seq),
            last_seq: entries.last().map_or(0, |e| e.seq),
        };
        let mut event = AuditEvent::new(time::OffsetDateTime::now_utc(), "system", "egress.batch")
            .target(self.link.url.clone());
        event.egress = Some(Box::new(receipt));
        self.audit
            .append_async(event)
            .await
            .map_err(|e| format!("the audit log refused the egress receipt ({e}); nothing sent"))?;
        let (status, answer) = client
            .request(Method::POST, "/v1/edge/batches", Some(body))
            .await
            .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(refusal(status, &answer));
        }
        let ack: BatchAck = serde_json::from_slice(&answer)
            .map_err(|e| format!("the hub's acknowledgement is malformed: {e}"))?;
        let last = entries.last().map_or(0, |e| e.seq);
        if ack.acknowledged_through > last {
            return Err(format!(
                "the hub acknowledged up to {} but was sent up to {last}",
                ack.acknowledged_through
            ));
        }
        if !entries.is_empty() {
            self.db
                .outbox_retire(ack.acknowledged_through)
                .await
                .map_err(|e| format!("cannot retire delivered records: {e}"))?;
        }
        self.metrics.delivered.inc_by(ack.stored + ack.duplicates);
        self.metrics.duplicates.inc_by(ack.duplicates);
        self.metrics.batches.inc();
        if ack.checkpoint.as_deref() == Some("flagged") {
            eprintln!(
                "lensguard: WARNING: the hub flagged this edge's audit checkpoint (size {sent_size:?}) as a rewritten history"
            );
            view.flagged_size = sent_size;
        }
        view.checkpoint_size = Some(ack.checkpoint_size);
        Ok(entries.len() + usize::from(sent_size.is_some()))
    }

    /// The newest checkpoint, when the hub holds a different size (and it
    /// was not already flagged), with its consistency proof.
    fn checkpoint_for(&self, hub_size: u64, flagged: Option<u64>) -> Option<WireCheckpoint> {
        let cp = self.audit.latest_checkpoint()?;
        if cp.size == hub_size || Some(cp.size) == flagged {
            return None;
        }
        // From an empty tree (the hub holds nothing yet) or to a smaller
        // one (a rollback the hub must see), there is no proof to give.
        let proof = if hub_size > 0 && cp.size > hub_size {
            self.audit.consistency_proof(hub_size, cp.size)?
        } else {
            Vec::new()
        };
        Some(WireCheckpoint {
            checkpoint: cp,
            from_size: hub_size,
            proof: proof.iter().map(hex::encode).collect(),
        })
    }
}

/// How a failure caused by the hub revoking this edge begins.
pub const REVOKED: &str = "the hub revoked this edge";

fn refusal(status: u16, body: &[u8]) -> String {
    let message = crate::fleet::client::hub_message(body);
    if status == 403 && crate::fleet::client::hub_code(body).as_deref() == Some(EDGE_REVOKED) {
        return format!("{REVOKED} (it answered {status}: {message})");
    }
    format!("the hub answered {status} {message}")
}
