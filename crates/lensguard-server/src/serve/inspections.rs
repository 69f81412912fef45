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

use super::auth::{Auth, audit_read};
use super::evidence;
use super::http::{RequestId, audit_unavailable, db_unavailable, error};
use super::state::AppState;
use super::submission::{self, Submission, SubmissionMeta};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::InspectionReport;
use lensguard_core::access::needs::{InspectionsRead, InspectionsWrite};
use lensguard_core::report::Verdict;
use lensguard_store::audit::Outcome;
use lensguard_store::db::{NewInspection, NewOutboxRecord};
use lensguard_vision::redact::RedactedJpeg;
use serde::Serialize;

#[derive(Serialize)]
struct WithId<'a> {
    id: &'a str,
    #[serde(flatten)]
    report: &'a InspectionReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission: Option<&'a SubmissionMeta>,
}

fn json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

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

/// `503 busy`, audited: every decoding turn is taken and the queue is full.
async fn refuse_busy(
    state: &AppState,
    auth: &Auth<InspectionsWrite>,
    busy: super::decode_queue::Busy,
    rid: &RequestId,
) -> Response {
    let event = auth
        .ctx
        .event(
            auth.granted.principal().actor.to_string(),
            "inspections.submit",
        )
        .outcome(
            Outcome::Failure,
            Some(format!(
                "busy: {} inspections running, {} waiting",
                busy.running, busy.waiting
            )),
        );
    if state.audit(event).await.is_err() {
        return audit_unavailable(rid);
    }
    let mut r = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "every inspection turn is taken and the queue is full; retry after a second",
        rid,
    );
    r.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    r
}

/// `POST /v1/inspections`.
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
    let original = match &key {
        Some(k) => match state.db.find_idempotent(&actor, k).await {
            Ok(found) => found,
            Err(_) => return db_unavailable(&rid),
        },
        None => None,
    };
    // A replay stores nothing, so a full outbox does not refuse it.
    if original.is_none()
        && let Err(full) = super::outbox::admit(&state, &rid).await
    {
        return full;
    }
    let limit = usize::try_from(state.limits.max_file_bytes).unwrap_or(usize::MAX);
    let Submission { photo: bytes, meta } = match submission::read(request, limit, &rid).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let digest = request_digest(&bytes, &meta);
    if let Some(original) = original {
        return replay(&state, &auth, original, &digest).await;
    }
    let turn = match state.decodes.turn().await {
        Ok(turn) => turn,
        Err(busy) => return refuse_busy(&state, &auth, busy, &rid).await,
    };
    let (policy, limits) = (state.policy(), state.limits);
    let detectors = std::sync::Arc::clone(&state.detectors);
    let now = time::OffsetDateTime::now_utc();
    let worker_policy = std::sync::Arc::clone(&policy);
    let (report, derivative, thumbnail, bytes) = match tokio::task::spawn_blocking(move || {
        let o = crate::detection::inspect(&bytes, &worker_policy, &limits, now, &detectors, true);
        drop(turn);
        (o.report, o.derivative, o.thumbnail, bytes)
    })
    .await
    {
        Ok(r) => r,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the inspection failed",
                &rid,
            );
        }
    };
    let id = uuid::Uuid::new_v4().to_string();
    let device = meta.device_id.as_deref().map_or(String::new(), |d| {
        format!("; device {}", state.audit.pseudonym(d))
    });
    let event = auth
        .ctx
        .event(actor.clone(), "inspections.submit")
        .target(format!("inspection:{id}"));
    if report.verdict == Verdict::Error {
        let code = report
            .reasons
            .first()
            .map_or("corrupt".to_owned(), |r| r.code.to_string());
        let message = report
            .reasons
            .first()
            .map_or(String::new(), |r| r.message.clone());
        let event = event.outcome(
            Outcome::Failure,
            Some(format!("undecodable: {code}{device}")),
        );
        if state.audit(event).await.is_err() {
            return audit_unavailable(&rid);
        }
        let body = serde_json::json!({"code": "unprocessable_image", "reason": code, "message": message, "request_id": rid.0});
        return json(StatusCode::UNPROCESSABLE_ENTITY, body.to_string());
    }
    let event = event.outcome(
        Outcome::Success,
        Some(format!("verdict {}{device}", report.verdict)),
    );
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    let body = match serde_json::to_string(&WithId {
        id: &id,
        report: &report,
        submission: (!meta.is_empty()).then_some(&meta),
    }) {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report could not be encoded",
                &rid,
            );
        }
    };
    // What the policy keeps, sealed in the vault before the result is
    // recorded; the original's bytes are dropped here otherwise.
    let kept = evidence::Kept {
        original: bytes,
        // Only a RedactedJpeg's bytes are ever stored as derived pixels.
        redacted: derivative.map(RedactedJpeg::into_bytes),
        thumbnail: thumbnail.map(RedactedJpeg::into_bytes),
    };
    if let Err(refused) = evidence::keep(
        &state,
        &policy,
        &id,
        meta.device_id.as_deref(),
        report.verdict,
        kept,
        now,
        &rid,
    )
    .await
    {
        return refused;
    }
    let rule = policy.data.result;
    let Ok((_, expires_at)) = state.vault.expiry(now, rule.keep_days).await else {
        return db_unavailable(&rid);
    };
    let policy_ref = format!("{}@{}", policy.name, policy.revision);
    let queued = state
        .outbox
        .link
        .is_some()
        .then(|| super::outbox::record(&policy, &body));
    match state
        .db
        .insert_inspection(
            &NewInspection {
                id: &id,
                actor: &actor,
                idempotency_key: key.as_deref(),
                request_sha256: key.is_some().then_some(digest.as_str()),
                device_id: meta.device_id.as_deref(),
                verdict: report.verdict.as_str(),
                report: &body,
                expires_at,
                policy: &policy_ref,
                outbox: queued.as_deref().map(|payload| NewOutboxRecord {
                    kind: "inspection",
                    payload,
                    limits: state.outbox.limits,
                }),
            },
            now,
        )
        .await
    {
        Ok(Ok(())) => {
            state.outbox.wake.notify_one();
            json(StatusCode::CREATED, body)
        }
        Ok(Err(original)) => replay(&state, &auth, original, &digest).await,
        Err(lensguard_store::Error::OutboxFull { depth, .. }) => {
            state.outbox.metrics.refused_full.inc();
            super::outbox::full(&rid, depth)
        }
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the result could not be stored",
            &rid,
        ),
    }
}

/// SHA-256 (hex) of what a submission asks for: the photo's bytes and its
/// metadata, so a retake sent under the same `Idempotency-Key` differs.
fn request_digest(photo: &[u8], meta: &SubmissionMeta) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"lensguard-submission/v1\n");
    ctx.update(&(photo.len() as u64).to_be_bytes());
    ctx.update(photo);
    ctx.update(serde_json::to_string(meta).unwrap_or_default().as_bytes());
    hex::encode(ctx.finish().as_ref())
}

/// The answer to a request whose `Idempotency-Key` was used before: the
/// original answer when the request is the same, 422
/// `idempotency_key_reused` (audited) when it is not.
async fn replay(
    state: &AppState,
    auth: &Auth<InspectionsWrite>,
    original: lensguard_store::db::IdempotentOriginal,
    digest: &str,
) -> Response {
    if original.same_request(digest) {
        return replayed(original.inspection.report);
    }
    let rid = RequestId(auth.ctx.request_id.clone());
    let event = auth
        .ctx
        .event(
            auth.granted.principal().actor.to_string(),
            "inspections.submit",
        )
        .target(format!("inspection:{}", original.inspection.id))
        .outcome(
            Outcome::Failure,
            Some("Idempotency-Key reused with a different request".to_owned()),
        );
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request (another photo or other \
         metadata); send a new key for a new submission",
        &rid,
    )
}

fn replayed(report: String) -> Response {
    let mut r = json(StatusCode::OK, report);
    r.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    r
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

/// Whether `principal` may read what `device` sent: its device scope
/// permits it, or it has none. Outside the scope an inspection is answered
/// as if it did not exist.
pub(super) fn may_read_device(
    principal: &lensguard_core::access::Principal,
    device: Option<&str>,
) -> bool {
    principal
        .devices
        .as_ref()
        .is_none_or(|scope| scope.permits(device))
}

pub(super) fn no_such_inspection(rid: &RequestId) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such inspection",
        rid,
    )
}

/// Query parameters of `GET /v1/inspections`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    from: Option<String>,
    to: Option<String>,
    verdict: Option<String>,
    actor: Option<String>,
    device: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

fn parse_time(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn encode_cursor(created_at: i64, id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (t, id) = text.split_once(':')?;
    Some((t.parse().ok()?, id.to_owned()))
}

/// `GET /v1/inspections`: newest first, filtered by time range (`from`, `to`,
/// RFC 3339), `verdict`, `actor` and `device`, `limit` 1 to 200 (default 50), continued with
/// the `next_cursor` of the previous page.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    query: Result<axum::extract::Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(axum::extract::Query(q)) = query else {
        return bad(
            "unknown or malformed query parameter (from, to, verdict, actor, device, limit, cursor)",
        );
    };
    let mut filter = lensguard_store::db::InspectionFilter::default();
    if let Some(f) = &q.from {
        let Some(t) = parse_time(f) else {
            return bad("from must be an RFC 3339 time");
        };
        filter.from = Some(t);
    }
    if let Some(t) = &q.to {
        let Some(t) = parse_time(t) else {
            return bad("to must be an RFC 3339 time");
        };
        filter.to = Some(t);
    }
    if let Some(v) = &q.verdict {
        if !["pass", "retry", "fail"].contains(&v.as_str()) {
            return bad("verdict must be pass, retry or fail");
        }
        filter.verdict = Some(v.clone());
    }
    filter.actor = q.actor.clone();
    filter.device = q.device.clone();
    filter.devices = auth.granted.principal().devices.clone();
    if let Some(c) = &q.cursor {
        let Some(after) = decode_cursor(c) else {
            return bad("cursor is not one this service issued");
        };
        filter.after = Some(after);
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return bad("limit must be 1 to 200");
    }
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
    let next = (found.len() == limit as usize)
        .then(|| found.last().map(|l| encode_cursor(l.created_at, &l.id)))
        .flatten();
    let items: Vec<serde_json::Value> = found
        .iter()
        .filter_map(|i| serde_json::from_str(&i.report).ok())
        .collect();
    json(
        StatusCode::OK,
        serde_json::json!({"items": items, "next_cursor": next}).to_string(),
    )
}
