//! The hub's operator routes: `GET /v1/records`, `GET /v1/edges` and
//! `GET /metrics`, each behind an operator token (`lensguard hub token`,
//! sent as `Authorization: Bearer lghub.<id>.<secret>`; only its SHA-256 is
//! stored).

use super::api::{Hub, json_error, unavailable};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_store::hub::RecordFilter;

/// The operator presenting a valid bearer token, or the refusal.
pub(super) async fn operator(hub: &Hub, headers: &HeaderMap) -> Result<String, Response> {
    let refuse = || {
        let mut r = json_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an operator token from `lensguard hub token` as Authorization: Bearer",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        r
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(refuse)?;
    let mut parts = token.trim().splitn(3, '.');
    let (Some(super::OPERATOR_PREFIX), Some(id), Some(secret)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse());
    };
    match hub.db.check_operator_token(id, secret).await {
        Ok(Some(name)) => Ok(name),
        Ok(None) => Err(refuse()),
        Err(_) => Err(unavailable()),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RecordsQuery {
    edge: Option<String>,
    device: Option<String>,
    verdict: Option<String>,
    kind: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

pub(super) async fn records(
    State(hub): State<Hub>,
    headers: HeaderMap,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(r) = operator(&hub, &headers).await {
        return r;
    }
    let bad = |m: &str| json_error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned());
    let Ok(Query(q)) = query else {
        return bad(
            "unknown or malformed parameter (edge, device, verdict, kind, from, to, limit, cursor)",
        );
    };
    let mut filter = RecordFilter {
        edge: q.edge,
        device: q.device,
        verdict: q.verdict,
        kind: q.kind,
        ..Default::default()
    };
    for (value, slot, name) in [
        (&q.from, &mut filter.from, "from"),
        (&q.to, &mut filter.to, "to"),
    ] {
        if let Some(v) = value {
            let Some(t) = rfc3339(v) else {
                return bad(&format!("{name} must be an RFC 3339 time"));
            };
            *slot = Some(t);
        }
    }
    if let Some(c) = &q.cursor {
        let parsed = c.splitn(3, ':').collect::<Vec<_>>();
        let cursor = match parsed.as_slice() {
            [t, seq, edge] => t
                .parse()
                .ok()
                .zip(seq.parse().ok())
                .map(|(t, s)| (t, (*edge).to_owned(), s)),
            _ => None,
        };
        let Some(cursor) = cursor else {
            return bad("cursor is not one this hub issued");
        };
        filter.after = Some(cursor);
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return bad("limit must be 1 to 1000");
    }
    let Ok(found) = hub.db.records(&filter, limit).await else {
        return unavailable();
    };
    let next = (found.len() == limit as usize)
        .then(|| {
            found
                .last()
                .map(|r| format!("{}:{}:{}", r.created_at, r.seq, r.edge_id))
        })
        .flatten();
    let items: Vec<serde_json::Value> = found
        .iter()
        .map(|r| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            serde_json::json!({
                "edge_id": r.edge_id, "seq": r.seq, "kind": r.kind,
                "created_at": r.created_at, "received_at": r.received_at,
                "manifest": r.manifest, "data": payload.get("data"),
            })
        })
        .collect();
    axum::Json(serde_json::json!({"items": items, "next_cursor": next})).into_response()
}

pub(super) async fn edges(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = operator(&hub, &headers).await {
        return r;
    }
    let Ok(all) = hub.db.edges().await else {
        return unavailable();
    };
    let items: Vec<serde_json::Value> = all
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "name": e.name, "enrolled_at": e.enrolled_at,
                "revoked_at": e.revoked_at, "flagged_at": e.flagged_at, "flag_reason": e.flag_reason,
                "checkpoint_size": e.checkpoint_size, "last_seen": e.last_seen,
            })
        })
        .collect();
    axum::Json(serde_json::json!({"items": items})).into_response()
}

pub(super) async fn metrics(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = operator(&hub, &headers).await {
        return r;
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        hub.metrics.encode(),
    )
        .into_response()
}
