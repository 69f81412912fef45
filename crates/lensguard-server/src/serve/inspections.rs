//! `POST /v1/inspections`, `GET /v1/inspections`, `GET /v1/inspections/{id}`
//! and `GET /v1/inspections/{id}/redacted`.
//!
//! A submission is the photo as the raw body (`image/jpeg`, `image/png` or
//! `image/webp`) or `multipart/form-data` with metadata ([`super::submission`]),
//! read while streaming up to `Limits::max_file_bytes` (413 past it). The
//! verdict uses the same schema as `lensguard check --json`, plus an `id` and,
//! when metadata was sent, a `submission` object echoing it.
//! An undecodable photo answers 422 with its reason code. With an
//! `Idempotency-Key` header, a repeat by the same caller with the same
//! request (photo and metadata, compared by the SHA-256 stored with the key)
//! returns the original result and runs no second inspection; the same key
//! with a different request answers 422 `idempotency_key_reused`. The submission is audited before it is
//! stored; if the audit log cannot take it, nothing is stored and the answer is
//! 503. The report is stored (the `result` category, expiring per policy);
//! what the policy's `[data]` rules keep of the photo is sealed in the
//! evidence vault first ([`super::evidence`]): by default the redacted
//! derivative and its thumbnail, never the original. On an edge enrolled
//! with a hub, the result's egress record is queued in the same transaction
//! ([`super::outbox`]); a full outbox answers 503 before the photo is read.
//! Reads (one inspection, a page of them) are audited too, before the answer.

use super::auth::{Auth, audit_read, may_read_device};
use super::http::{RequestId, audit_unavailable, db_unavailable, error, json};
use super::paging::{page_body, page_request, parse_time};
use super::state::AppState;
use super::submission::{self, Submission};
use crate::intake::{self, Accepted, IntakeError, Origin, Turns};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use lensguard_core::access::needs::{InspectionsRead, InspectionsWrite};
use lensguard_store::audit::Outcome;

/// The `Idempotency-Key` header, if any; `Err` when it is malformed.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(s) if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(s.to_owned()))
        }
        _ => Err(()),
    }
}

/// The HTTP answer for every way the intake can refuse a submission: the
/// one place intake errors become statuses.
fn refusal(e: IntakeError, rid: &RequestId) -> Response {
    let retry_after = |mut r: Response, secs: &'static str| {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
        r
    };
    match e {
        IntakeError::AuditUnavailable => audit_unavailable(rid),
        IntakeError::DatabaseUnavailable => db_unavailable(rid),
        IntakeError::VaultUnavailable => super::evidence::vault_unavailable(rid),
        IntakeError::OutboxFull { depth } => super::outbox::full(rid, depth),
        IntakeError::Busy(_) => retry_after(
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "every inspection turn is taken and the queue is full; retry after a second",
                rid,
            ),
            "1",
        ),
        IntakeError::Undecodable { code, message } => {
            let body = serde_json::json!({"code": "unprocessable_image", "reason": code, "message": message, "request_id": rid.0});
            json(StatusCode::UNPROCESSABLE_ENTITY, body.to_string())
        }
        IntakeError::KeyReused => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request (another photo or other \
             metadata); send a new key for a new submission",
            rid,
        ),
        IntakeError::StorageFailed => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the result could not be stored",
            rid,
        ),
        IntakeError::Internal => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the inspection failed",
            rid,
        ),
    }
}

/// `POST /v1/inspections`: parses the upload and hands it to the intake.
pub async fn submit(
    State(state): State<AppState>,
    auth: Auth<InspectionsWrite>,
    request: axum::extract::Request,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let actor = auth.granted.principal().actor.to_string();
    let Ok(key) = idempotency_key(request.headers()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_idempotency_key",
            "Idempotency-Key must be 1 to 128 visible ASCII characters",
            &rid,
        );
    };
    let intake = &state.intake;
    let admitted = match intake.admit(&actor, key).await {
        Ok(a) => a,
        Err(e) => return refusal(e, &rid),
    };
    let limit = usize::try_from(intake.limits.max_file_bytes).unwrap_or(usize::MAX);
    let Submission { photo, meta } = match submission::read(request, limit, &rid).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let origin = Origin {
        event: auth.ctx.event(actor.clone(), "inspections.submit"),
        actor,
        turns: Turns::QueueOrRefuse,
        record_undecodable: false,
    };
    let submission = intake::Submission {
        photo,
        meta,
        id: None,
        policy: None,
    };
    match intake.submit(admitted, origin, submission).await {
        Ok(Accepted::Stored { report, .. }) => json(StatusCode::CREATED, report),
        Ok(Accepted::Replayed { report, .. }) => {
            let mut r = json(StatusCode::OK, report);
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
        Err(e) => refusal(e, &rid),
    }
}

/// `GET /v1/inspections/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    match state.db.get_inspection(&id).await {
        Ok(Some(found))
            if may_read_device(auth.granted.principal(), found.device_id.as_deref()) =>
        {
            // Reading evidence is audited; no record, no answer.
            let target = format!("inspection:{id}");
            if let Err(refused) = audit_read(&state, &auth, "inspections.read", target, None).await
            {
                return refused;
            }
            json(StatusCode::OK, found.report)
        }
        Ok(Some(_) | None) => no_such_inspection(&rid),
        Err(_) => db_unavailable(&rid),
    }
}

pub(super) fn no_such_inspection(rid: &RequestId) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such inspection",
        rid,
    )
}

/// Query parameters of `GET /v1/inspections` (and the console's filters).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) verdict: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) source: Option<String>,
    pub(super) overridden: Option<bool>,
    pub(super) actor: Option<String>,
    pub(super) device: Option<String>,
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
}

/// A reason code as the policy writes them: 1 to 64 of `a-z`, `0-9`, `_`.
fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The filter and page size `q` asks for, within what `principal` may read;
/// `Err` says what is wrong with the query.
pub(super) fn filter(
    q: &ListQuery,
    principal: &lensguard_core::access::Principal,
) -> Result<(lensguard_store::db::InspectionFilter, u32), &'static str> {
    let mut filter = lensguard_store::db::InspectionFilter::default();
    if let Some(f) = &q.from {
        filter.from = Some(parse_time(f).ok_or("from must be an RFC 3339 time")?);
    }
    if let Some(t) = &q.to {
        filter.to = Some(parse_time(t).ok_or("to must be an RFC 3339 time")?);
    }
    if let Some(v) = &q.verdict {
        if !["pass", "retry", "fail"].contains(&v.as_str()) {
            return Err("verdict must be pass, retry or fail");
        }
        filter.verdict = Some(v.clone());
    }
    if let Some(r) = &q.reason {
        if !valid_code(r) {
            return Err("reason must be a reason code (a-z, 0-9 and _)");
        }
        filter.reason = Some(r.clone());
    }
    filter.source = q.source.clone();
    filter.overridden = q.overridden;
    filter.actor = q.actor.clone();
    filter.device = q.device.clone();
    filter.devices = principal.devices.clone();
    let (limit, after) = page_request(q.limit, q.cursor.as_deref())?;
    filter.after = after;
    Ok((filter, limit))
}

/// `GET /v1/inspections`: newest first, filtered by time range (`from`, `to`,
/// RFC 3339), `verdict`, `reason` (a reason code), `source` (`api`, or a
/// watched folder's name), `overridden` (`true` or `false`), `actor` and `device`, `limit` 1 to 200 (default 50),
/// continued with the `next_cursor` of the previous page.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(axum::extract::Query(q)) = query else {
        return bad(
            "unknown or malformed query parameter (from, to, verdict, reason, source, overridden, actor, device, limit, cursor)",
        );
    };
    let (filter, limit) = match filter(&q, auth.granted.principal()) {
        Ok(f) => f,
        Err(why) => return bad(why),
    };
    let found = match state.db.list_inspections(&filter, limit).await {
        Ok(f) => f,
        Err(_) => {
            return db_unavailable(&rid);
        }
    };
    let event = auth
        .ctx
        .event(
            auth.granted.principal().actor.to_string(),
            "inspections.list",
        )
        .outcome(Outcome::Success, Some(format!("{} results", found.len())));
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    let body = page_body(&found, limit, |i| (i.created_at, &i.id), |i| &i.report);
    json(StatusCode::OK, body)
}
