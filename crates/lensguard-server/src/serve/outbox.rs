//! The service's side of the outbox: the `503 outbox_full` answer and
//! `GET /metrics` (what an inspection queues is the intake's,
//! `crate::intake`).

use super::auth::Auth;
use super::http::{RequestId, db_unavailable, error};
use super::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::MetricsRead;

/// 503 `outbox_full`.
pub fn full(rid: &RequestId, depth: u64) -> Response {
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "outbox_full",
        format!(
            "{depth} records are waiting for the hub, the most this edge queues; nothing was stored, send it again later"
        ),
        rid,
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
    r
}

/// `GET /metrics`: Prometheus (OpenMetrics) text.
pub async fn metrics(State(state): State<AppState>, auth: Auth<MetricsRead>) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let Ok(stats) = state.db.outbox_stats().await else {
        return db_unavailable(&rid);
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let metrics = &state.intake.outbox.metrics;
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
        state.intake.outbox.metrics.encode(&stats, now),
    )
        .into_response()
}
