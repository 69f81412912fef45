//! `GET /v1/events` and `GET /v1/events/{id}`: the cameras' events
//! (metadata only: label, times, score, zones, boxes in fractions of the
//! frame). Read with `inspections:read`, like the results photos produce;
//! a caller whose scope names devices sees only the cameras it names (a
//! camera's name is its device id) and is answered 404 for others. Every
//! read is audited (`events.list`, `events.read`, `events.snapshot`).
//!
//! `GET /v1/events/{id}/snapshot` answers the event's redacted snapshot
//! (JPEG: privacy masks filled, faces and text hidden as the policy says);
//! there is never an unredacted one to serve.

use super::auth::{Auth, audit_read, may_read_device};
use super::http::{RequestId, audit_unavailable, db_unavailable, error, json};
use super::paging::{page_body, page_request, parse_range};
use super::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::InspectionsRead;
use lensguard_core::policy::DataCategory;
use lensguard_store::audit::Outcome;
use lensguard_store::db::CameraEventFilter;
use lensguard_vision::models::EventLabel;

/// Query parameters of `GET /v1/events`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(super) camera: Option<String>,
    pub(super) label: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
}

/// The store's filter and page size for `q`, within `principal`'s devices;
/// `Err` says what is wrong with the query.
pub(super) fn filter(
    q: &ListQuery,
    principal: &lensguard_core::access::Principal,
) -> Result<(CameraEventFilter, u32), String> {
    let mut filter = CameraEventFilter {
        camera: q.camera.clone(),
        ..CameraEventFilter::default()
    };
    if let Some(l) = &q.label {
        if EventLabel::parse(l).is_none() {
            let known: Vec<&str> = EventLabel::ALL.iter().map(|c| c.as_str()).collect();
            return Err(format!("label must be one of {}", known.join(", ")));
        }
        filter.label = Some(l.clone());
    }
    (filter.from_ms, filter.to_ms) = parse_range(q.from.as_deref(), q.to.as_deref())?;
    let (limit, after) = page_request(q.limit, q.cursor.as_deref()).map_err(str::to_owned)?;
    filter.after = after;
    filter.devices = principal.devices.as_ref().map(|d| d.patterns().to_vec());
    Ok((filter, limit))
}

/// `GET /v1/events`: newest first by start, filtered by `camera`, `label`
/// and time (`from`: ending at or after; `to`: starting before; RFC 3339),
/// `limit` 1 to 200 (default 50), continued with the previous page's
/// `next_cursor`.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(axum::extract::Query(q)) = query else {
        return bad(
            "unknown or malformed query parameter (camera, label, from, to, limit, cursor)",
        );
    };
    let (filter, limit) = match filter(&q, auth.granted.principal()) {
        Ok(f) => f,
        Err(why) => return bad(&why),
    };
    let found = match state.db.list_camera_events(&filter, limit).await {
        Ok(f) => f,
        Err(_) => return db_unavailable(&rid),
    };
    let event = auth
        .ctx
        .event(auth.granted.principal().actor.to_string(), "events.list")
        .outcome(Outcome::Success, Some(format!("{} events", found.len())));
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    let body = page_body(&found, limit, |e| (e.start_ms, &e.id), |e| &e.event);
    json(StatusCode::OK, body)
}

/// `GET /v1/events/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let found = match readable(&state, auth.granted.principal(), &id, &rid).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let target = format!("event:{id}");
    if let Err(refused) = audit_read(&state, &auth, "events.read", target, None).await {
        return refused;
    }
    json(StatusCode::OK, found.event)
}

/// Event `id`, when it exists and is one of the caller's cameras; else the
/// answer (`404` either way, so a caller cannot learn of other cameras'
/// events, or `503` when the database cannot be read).
async fn readable(
    state: &AppState,
    principal: &lensguard_core::access::Principal,
    id: &str,
    rid: &RequestId,
) -> Result<lensguard_store::db::StoredCameraEvent, Response> {
    match state.db.get_camera_event(id).await {
        Ok(Some(found)) if may_read_device(principal, Some(&found.camera)) => Ok(found),
        Ok(_) => Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such event".to_owned(),
            rid,
        )),
        Err(_) => Err(db_unavailable(rid)),
    }
}

/// The stored redacted snapshot of event `id`, when `principal` may read
/// the event; else the API's answer (404 `not_found`, 404 `no_snapshot`,
/// 503). Nothing is audited here: the caller audits the read.
pub(super) async fn locate_snapshot(
    state: &AppState,
    principal: &lensguard_core::access::Principal,
    id: &str,
    rid: &RequestId,
) -> Result<lensguard_store::vault::ObjectInfo, Response> {
    readable(state, principal, id, rid).await?;
    match state
        .vault
        .find(&format!("event:{id}"), DataCategory::Redacted)
        .await
    {
        Ok(Some(info)) => Ok(info),
        Ok(None) => Err(error(
            StatusCode::NOT_FOUND,
            "no_snapshot",
            "no snapshot is kept for this event (a structure_only camera, withheld because a detector the policy needs was unavailable, not kept by the policy, or expired)".to_owned(),
            rid,
        )),
        Err(_) => Err(db_unavailable(rid)),
    }
}

/// `info` (an event's snapshot) opened from the vault, as a JPEG answer.
pub(super) async fn snapshot_bytes<S: lensguard_core::access::needs::Needs>(
    state: &AppState,
    auth: &Auth<S>,
    info: &lensguard_store::vault::ObjectInfo,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    match state
        .vault
        .get(&info.id, &super::evidence::caller(auth))
        .await
    {
        Ok(bytes) => super::evidence::sealed_bytes(bytes, "image/jpeg", None),
        Err(e) => super::evidence::sealed_failed(&e, &rid),
    }
}

/// `GET /v1/events/{id}/snapshot`.
pub async fn snapshot(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let info = match locate_snapshot(&state, auth.granted.principal(), &id, &rid).await {
        Ok(info) => info,
        Err(answer) => return answer,
    };
    let target = format!("event:{id} evidence:{}", info.id);
    if let Err(refused) = audit_read(&state, &auth, "events.snapshot", target, None).await {
        return refused;
    }
    snapshot_bytes(&state, &auth, &info).await
}
