//! The service's side of the outbox: what an inspection queues for the hub,
//! refusing photos while the outbox is full, and `GET /metrics`.
//!
//! Only an enrolled edge queues anything (an air-gapped edge has no hub
//! link, queues nothing and starts no delivery task, so it never opens an
//! outbound connection). A queued record is `{"manifest":
//! "policy@revision", "data": ...}` where `data` is the stored report
//! projected through the policy's egress manifest: fields the manifest does
//! not name never enter the outbox.
//!
//! Backpressure: a submission is refused with 503 `outbox_full` (and
//! `Retry-After`) before its body is read when the outbox is at its bound;
//! the bound is enforced again inside the inspection's transaction, so a
//! race past the first check is refused too, before anything is recorded.
//! Nothing already accepted is ever dropped.

use super::auth::Auth;
use super::http::{RequestId, db_unavailable, error};
use super::state::AppState;
use crate::edge::link::HubLink;
use crate::edge::metrics::EdgeMetrics;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::Policy;
use lensguard_core::access::needs::MetricsRead;
use lensguard_store::db::OutboxLimits;
use std::sync::Arc;

/// The outbox as the request handlers see it.
pub struct Outbox {
    /// The hub, when this edge is enrolled (else nothing is queued).
    pub link: Option<HubLink>,
    /// Its bounds.
    pub limits: OutboxLimits,
    /// Its metrics.
    pub metrics: Arc<EdgeMetrics>,
    /// Wakes the delivery task.
    pub wake: Arc<tokio::sync::Notify>,
}

/// The outbox record for an inspection whose stored result is `body`.
pub fn record(policy: &Policy, body: &str) -> String {
    let report: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    serde_json::json!({
        "manifest": format!("{}@{}", policy.name, policy.revision),
        "data": policy.egress.project(&report),
    })
    .to_string()
}

/// 503 `outbox_full`.
pub fn full(rid: &RequestId, depth: u64) -> Response {
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "outbox_full",
        format!(
            "{depth} records are waiting for the hub, the most this edge queues; the photo was not accepted, send it again later"
        ),
        rid,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    r
}

/// `Err(503)` when the outbox is full (only on an enrolled edge).
pub async fn admit(state: &AppState, rid: &RequestId) -> Result<(), Response> {
    if state.outbox.link.is_none() {
        return Ok(());
    }
    let stats = state
        .db
        .outbox_stats()
        .await
        .map_err(|_| db_unavailable(rid))?;
    let limits = state.outbox.limits;
    if stats.depth >= limits.max_entries || stats.bytes >= limits.max_bytes {
        state.outbox.metrics.refused_full.inc();
        return Err(full(rid, stats.depth));
    }
    Ok(())
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub async fn metrics(State(state): State<AppState>, auth: Auth<MetricsRead>) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let Ok(stats) = state.db.outbox_stats().await else {
        return db_unavailable(&rid);
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let metrics = &state.outbox.metrics;
    metrics
        .audit_unwritable
        .set(i64::from(state.audit.failure().is_some()));
    let (witness_failures, _) = state.audit.witness_failures();
    metrics
        .audit_witness_failures
        .set(i64::try_from(witness_failures).unwrap_or(i64::MAX));
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.outbox.metrics.encode(&stats, now),
    )
        .into_response()
}
