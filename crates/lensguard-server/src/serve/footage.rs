//! Cameras' recorded footage over the API.
//!
//! - `GET /v1/cameras/{name}/segments?from=&to=` (`inspections:read`): where
//!   the camera's sealed segments lie in time (category, times, size,
//!   codec) and the gaps in its recording; metadata only, audited as
//!   `footage.list`.
//! - `GET /v1/segments/{id}/original?reason=...`
//!   (`evidence:read-original`): one segment as the camera sent it, a
//!   standalone fragmented MP4 (`video/mp4`). The stated reason is required
//!   and audited with the read (`footage.read_original`: who, which camera,
//!   from when to when, the reason's pseudonym), before any byte is read.
//!
//! - `GET /v1/segments/{id}/redacted` (`inspections:read`): the segment
//!   with faces hidden in every picture and the privacy masks burned in,
//!   re-encoded; audited as `footage.read_redacted`; fail closed (no face
//!   detector, H.265 footage, a camera whose masks are unknown: nothing).
//!
//! A caller whose scope names devices sees only the cameras it names (a
//! camera's name is its device id) and is answered 404 for others. A camera
//! taken out of the configuration is listed while it still has footage.

use super::auth::{Auth, audit_read, may_read_device};
use super::evidence::{
    ReasonQuery, caller, reason_required, sealed_bytes, sealed_failed, stated_reason,
};
use super::http::{RequestId, db_unavailable, error};
use super::paging::{encode_cursor, page_request, parse_range};
use super::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::{EvidenceReadOriginal, InspectionsRead};
use lensguard_store::Error as StoreError;
use lensguard_store::db::StoredSegment;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Query parameters of `GET /v1/cameras/{name}/segments`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
}

/// One sealed segment.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SegmentView {
    /// Its id (read it with `GET /v1/segments/{id}/original`).
    pub id: String,
    /// `footage_continuous`, `footage_motion` or `footage_event`.
    pub category: String,
    /// Its first picture, on the service's clock (RFC 3339).
    pub start: String,
    /// Where its last picture ends (RFC 3339).
    pub end: String,
    /// The file's size in bytes.
    pub bytes: i64,
    /// Pictures in it.
    pub pictures: i64,
    /// `h264` or `h265`.
    pub codec: String,
}

/// A hole in the recording: the stream broke and came back.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GapView {
    /// Where the recording stopped (RFC 3339).
    pub start: String,
    /// Where it went on (RFC 3339).
    pub end: String,
    /// Why the stream broke.
    pub reason: String,
}

/// The answer of `GET /v1/cameras/{name}/segments`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SegmentList {
    /// The camera.
    pub camera: String,
    /// Segments overlapping the range, oldest first (a page of them).
    pub segments: Vec<SegmentView>,
    /// Gaps overlapping the range, oldest first (at most 200).
    pub gaps: Vec<GapView>,
    /// The next page's cursor, when this page is full.
    pub next_cursor: Option<String>,
}

fn rfc3339_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn no_such_camera(rid: &RequestId) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such camera".to_owned(),
        rid,
    )
}

fn no_such_segment(rid: &RequestId) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such segment (never recorded, or deleted by retention, quota or erasure)".to_owned(),
        rid,
    )
}

/// `GET /v1/cameras/{name}/segments`: `from`/`to` (RFC 3339) bound the
/// range (default: everything), `limit` 1 to 200 (default 50), `cursor`
/// continues.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(camera): Path<String>,
    query: Result<Query<SegmentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(Query(q)) = query else {
        return bad("unknown or malformed query parameter (from, to, limit, cursor)");
    };
    if !may_read_device(auth.granted.principal(), Some(&camera)) {
        return no_such_camera(&rid);
    }
    // A camera taken out of the configuration keeps its footage until
    // retention deletes it: it is still listed while it has some.
    if state.cameras.masks(&camera).is_none() {
        match state.db.footage_bytes(&camera).await {
            Ok(0) => return no_such_camera(&rid),
            Ok(_) => {}
            Err(_) => return db_unavailable(&rid),
        }
    }
    let range = match parse_range(q.from.as_deref(), q.to.as_deref()) {
        Ok((from, to)) => (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX)),
        Err(why) => return bad(&why),
    };
    let (limit, after) = match page_request(q.limit, q.cursor.as_deref()) {
        Ok(page) => page,
        Err(why) => return bad(why),
    };
    let (segments, gaps) = match (
        state.db.list_segments(&camera, range, after, limit).await,
        state.db.list_gaps(&camera, range, 200).await,
    ) {
        (Ok(s), Ok(g)) => (s, g),
        _ => return db_unavailable(&rid),
    };
    let target = format!("camera:{camera}");
    let why = Some(format!("{} segments, {} gaps", segments.len(), gaps.len()));
    if let Err(refused) = audit_read(&state, &auth, "footage.list", target, why).await {
        return refused;
    }
    let next_cursor = (segments.len() == limit as usize)
        .then(|| segments.last().map(|s| encode_cursor(s.start_ms, &s.id)))
        .flatten();
    Json(SegmentList {
        camera,
        segments: segments.iter().map(view).collect(),
        gaps: gaps
            .into_iter()
            .map(|g| GapView {
                start: rfc3339_ms(g.start_ms),
                end: rfc3339_ms(g.end_ms),
                reason: g.reason,
            })
            .collect(),
        next_cursor,
    })
    .into_response()
}

fn view(s: &StoredSegment) -> SegmentView {
    SegmentView {
        id: s.id.clone(),
        category: s.category.clone(),
        start: rfc3339_ms(s.start_ms),
        end: rfc3339_ms(s.end_ms),
        bytes: s.bytes,
        pictures: s.pictures,
        codec: s.codec.clone(),
    }
}

/// `GET /v1/segments/{id}/original?reason=...`.
pub async fn original(
    State(state): State<AppState>,
    auth: Auth<EvidenceReadOriginal>,
    Path(id): Path<String>,
    query: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let Some(reason) = stated_reason(query) else {
        return reason_required(&rid);
    };
    let segment = match state.db.get_segment(&id).await {
        Ok(Some(s)) if may_read_device(auth.granted.principal(), Some(&s.camera)) => s,
        Ok(_) => return no_such_segment(&rid),
        Err(_) => return db_unavailable(&rid),
    };
    let target = format!(
        "segment:{id} camera:{} {}..{}",
        segment.camera,
        rfc3339_ms(segment.start_ms),
        rfc3339_ms(segment.end_ms)
    );
    // The stated reason is free text: the log keeps its pseudonym.
    let why = Some(format!("reason {}", state.audit.pseudonym(&reason)));
    if let Err(refused) = audit_read(&state, &auth, "footage.read_original", target, why).await {
        return refused;
    }
    match state.vault.get(&id, &caller(&auth)).await {
        Ok(bytes) => {
            let name = format!("{}-{}.mp4", segment.camera, segment.start_ms);
            sealed_bytes(bytes, "video/mp4", Some(&name))
        }
        Err(StoreError::NotFound(_)) => no_such_segment(&rid),
        Err(e) => sealed_failed(&e, &rid),
    }
}

/// `GET /v1/segments/{id}/redacted`: the segment with faces hidden in
/// every picture and the camera's privacy masks burned in, re-encoded
/// (H.264, no audio). Fail closed: without the face detector, or for H.265
/// footage, nothing is served.
pub async fn redacted(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let segment = match state.db.get_segment(&id).await {
        Ok(Some(s)) if may_read_device(auth.granted.principal(), Some(&s.camera)) => s,
        Ok(_) => return no_such_segment(&rid),
        Err(_) => return db_unavailable(&rid),
    };
    if state.intake.detectors.faces.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "redaction_unavailable",
            "the face detector is not loaded: no footage can leave redacted (fetch the models)",
            &rid,
        );
    }
    let Some(masks) = state.cameras.masks(&segment.camera) else {
        return error(
            StatusCode::CONFLICT,
            "camera_not_configured",
            "the camera is not in the configuration, so its privacy masks are unknown: footage of it leaves only as an original",
            &rid,
        );
    };
    let target = format!(
        "segment:{id} camera:{} {}..{}",
        segment.camera,
        rfc3339_ms(segment.start_ms),
        rfc3339_ms(segment.end_ms)
    );
    if let Err(refused) = audit_read(&state, &auth, "footage.read_redacted", target, None).await {
        return refused;
    }
    let original = match state.vault.get(&id, &caller(&auth)).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return no_such_segment(&rid),
        Err(e) => return sealed_failed(&e, &rid),
    };
    let policy = state.policy();
    let detectors = std::sync::Arc::clone(&state.intake.detectors);
    let max_pixels = state.intake.limits.max_camera_pixels;
    let redacted = tokio::task::spawn_blocking(move || {
        crate::footage_redaction::redact(&original, masks, &policy, &detectors, max_pixels)
    })
    .await;
    match redacted {
        Ok(Ok(done)) => {
            let name = format!("{}-{}-redacted.mp4", segment.camera, segment.start_ms);
            sealed_bytes(done.file, "video/mp4", Some(&name))
        }
        Ok(Err(e)) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "cannot_redact",
            format!("this footage cannot leave redacted: {e}"),
            &rid,
        ),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the redaction failed; nothing was served",
            &rid,
        ),
    }
}
