//! Evidence over the API: what a submission keeps, reading it back, legal
//! holds, erasure on request and KEK rotation.
//!
//! - `GET /v1/inspections/{id}/redacted` and `.../thumbnail`
//!   (`inspections:read`): the redacted derivative and its thumbnail, audited
//!   as `evidence.read`. Viewers get nothing else.
//! - `GET /v1/inspections/{id}/original?reason=...`
//!   (`evidence:read-original`): the photo as submitted, when the policy kept
//!   it; the stated reason is required and audited with the read.
//! - `GET/POST /v1/holds`, `DELETE /v1/holds/{id}`, `POST /v1/erasure`,
//!   `POST /v1/vault/rotate` (`evidence:manage`).
//!
//! Failures of the vault (its keys unreachable, an integrity error) answer
//! 503 `vault_unavailable` or 500 `integrity_error`, never the bytes.

use super::auth::Auth;
use super::auth::audit_read;
use super::auth::may_read_device;
use super::http::{RequestId, audit_unavailable, db_unavailable, error, read_json};
use super::inspections::no_such_inspection;
use super::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::{EvidenceManage, EvidenceReadOriginal, InspectionsRead};
use lensguard_core::policy::DataCategory;
use lensguard_store::Error as StoreError;
use lensguard_store::audit::DeletionReceipt;
use lensguard_store::vault::{Caller, HoldTarget};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The answer for a vault operation that failed: `503 audit_unavailable`
/// when its audit entry could not be written (then nothing was done), else
/// `fallback`.
fn vault_failed(e: &StoreError, rid: &RequestId, fallback: fn(&RequestId) -> Response) -> Response {
    match e {
        StoreError::AuditUnavailable(_) => audit_unavailable(rid),
        _ => fallback(rid),
    }
}

pub(super) fn vault_unavailable(rid: &RequestId) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "vault_unavailable",
        "the evidence vault cannot take or give evidence now (its keys are unreachable); nothing was stored",
        rid,
    )
}

/// Reads the `category` object of inspection `id` after auditing the read.
async fn serve_object<S: lensguard_core::access::needs::Needs>(
    state: &AppState,
    auth: &Auth<S>,
    id: &str,
    category: DataCategory,
    reason: Option<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let info = match locate(state, auth.granted.principal(), id, category, &rid).await {
        Ok(info) => info,
        Err(answer) => return answer,
    };
    if let Err(refused) = audit_object(state, auth, &info, reason).await {
        return refused;
    }
    object_bytes(state, auth, &info).await
}

/// The `category` object of inspection `id`, when `principal` may read it;
/// `Err` is the API's answer (404 `not_found` outside the caller's devices,
/// 404 `no_evidence` when none is kept, 503).
pub(super) async fn locate(
    state: &AppState,
    principal: &lensguard_core::access::Principal,
    id: &str,
    category: DataCategory,
    rid: &RequestId,
) -> Result<lensguard_store::vault::ObjectInfo, Response> {
    match state.vault.find(id, category).await {
        Ok(Some(info)) if may_read_device(principal, info.device_id.as_deref()) => Ok(info),
        Ok(Some(_)) => Err(no_such_inspection(rid)),
        Ok(None) => Err(match state.db.get_inspection(id).await {
            Ok(Some(found)) if !may_read_device(principal, found.device_id.as_deref()) => {
                no_such_inspection(rid)
            }
            Ok(Some(_)) => error(
                StatusCode::NOT_FOUND,
                "no_evidence",
                format!(
                    "no {category} image is kept for this inspection (withheld, not kept by the policy, or expired)"
                ),
                rid,
            ),
            Ok(None) => no_such_inspection(rid),
            Err(_) => db_unavailable(rid),
        }),
        Err(_) => Err(db_unavailable(rid)),
    }
}

/// Audits a read of `info` (an original's with its stated reason, which the
/// log keeps as a pseudonym since it is free text); `Err` is the 503.
pub(super) async fn audit_object<S: lensguard_core::access::needs::Needs>(
    state: &AppState,
    auth: &Auth<S>,
    info: &lensguard_store::vault::ObjectInfo,
    reason: Option<String>,
) -> Result<(), Response> {
    let category = info.category;
    let action = if category == DataCategory::Original {
        "evidence.read_original"
    } else {
        "evidence.read"
    };
    let target = format!(
        "evidence:{} inspection:{} {category}",
        info.id, info.inspection_id
    );
    let reason = reason.map(|r| format!("reason {}", state.audit.pseudonym(&r)));
    audit_read(state, auth, action, target, reason).await
}

/// `info`'s bytes opened from the vault, as the answer.
pub(super) async fn object_bytes<S: lensguard_core::access::needs::Needs>(
    state: &AppState,
    auth: &Auth<S>,
    info: &lensguard_store::vault::ObjectInfo,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bytes = match state.vault.get(&info.id, &caller(auth)).await {
        Ok(bytes) => bytes,
        Err(StoreError::NotFound(_)) => return no_such_inspection(&rid),
        Err(e) => return sealed_failed(&e, &rid),
    };
    let kind = media_type(&bytes);
    sealed_bytes(bytes, kind, None)
}

/// `200` with a sealed object's bytes, never cached, as `kind`, and as an
/// attachment named `download` when given.
pub(super) fn sealed_bytes(bytes: Vec<u8>, kind: &'static str, download: Option<&str>) -> Response {
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response();
    if let Some(value) = download
        .and_then(|name| HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")).ok())
    {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The answer when the vault could not open a sealed object: `500
/// integrity_error` (audited by the vault), `503 audit_unavailable`, or `503
/// vault_unavailable`.
pub(super) fn sealed_failed(e: &StoreError, rid: &RequestId) -> Response {
    match e {
        StoreError::Integrity(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "integrity_error",
            "the stored evidence failed its integrity check; the failure is audited",
            rid,
        ),
        _ => vault_failed(e, rid, vault_unavailable),
    }
}

fn media_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        "image/png"
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "image/webp"
    } else {
        "image/jpeg"
    }
}

pub(super) fn caller<S: lensguard_core::access::needs::Needs>(auth: &Auth<S>) -> Caller {
    Caller {
        actor: auth.granted.principal().actor.to_string(),
        source_ip: Some(auth.ctx.ip.to_string()),
        request_id: Some(auth.ctx.request_id.clone()),
    }
}

/// `GET /v1/inspections/{id}/redacted`.
pub async fn redacted(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    serve_object(&state, &auth, &id, DataCategory::Redacted, None).await
}

/// `GET /v1/inspections/{id}/thumbnail`.
pub async fn thumbnail(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    serve_object(&state, &auth, &id, DataCategory::Thumbnail, None).await
}

/// Query of `GET /v1/inspections/{id}/original`.
#[derive(Debug, Deserialize)]
pub struct ReasonQuery {
    pub(super) reason: Option<String>,
}

/// `GET /v1/inspections/{id}/original?reason=...`.
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
    serve_object(&state, &auth, &id, DataCategory::Original, Some(reason)).await
}

/// The `?reason=` of a request for originals, when it is usable (1 to 500
/// characters after trimming, no control characters).
pub(super) fn stated_reason(
    query: Result<Query<ReasonQuery>, axum::extract::rejection::QueryRejection>,
) -> Option<String> {
    query
        .ok()
        .and_then(|Query(q)| q.reason)
        .and_then(|r| usable_reason(&r))
}

/// A stated reason, when usable: 1 to 500 characters after trimming, no
/// control characters.
pub(super) fn usable_reason(reason: &str) -> Option<String> {
    let r = reason.trim();
    (!r.is_empty() && r.len() <= 500 && !lensguard_core::text::has_control(r)).then(|| r.to_owned())
}

/// `400 reason_required`.
pub(super) fn reason_required(rid: &RequestId) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "reason_required",
        "reading an original needs a stated reason: ?reason=... (1 to 500 characters, no control characters); it is audited",
        rid,
    )
}

/// A deletion receipt as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReceiptView {
    /// `evidence:<id>` or `inspection:<id>`.
    pub object: String,
    /// The data category.
    pub category: String,
    /// The inspection.
    pub inspection: String,
    /// SHA-256 of what was deleted.
    pub content_sha256: String,
    /// The policy that kept it.
    pub policy: String,
    /// When (RFC 3339).
    pub deleted_at: String,
    /// `crypto-shred` or `row-delete`.
    pub method: String,
}

impl From<&DeletionReceipt> for ReceiptView {
    fn from(r: &DeletionReceipt) -> Self {
        ReceiptView {
            object: r.object.clone(),
            category: r.category.clone(),
            inspection: r.inspection.clone(),
            content_sha256: r.content_sha256.clone(),
            policy: r.policy.clone(),
            deleted_at: super::identity::rfc3339(r.deleted_at.unix_timestamp()),
            method: r.method.clone(),
        }
    }
}

/// `POST /v1/erasure` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    /// The device whose data is erased (`device_id` of its submissions).
    pub device: String,
}

/// `POST /v1/erasure` answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErasureReport {
    /// What was deleted, each with its receipt (also in the audit log).
    pub deleted: Vec<ReceiptView>,
    /// Objects kept because a legal hold covers them.
    pub held: u64,
}

pub(super) fn valid_device(d: &str) -> bool {
    (1..=128).contains(&d.len())
        && d.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// `POST /v1/erasure`: erase everything kept from one device.
pub async fn erase(
    State(state): State<AppState>,
    auth: Auth<EvidenceManage>,
    body: Body,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let req: ErasureRequest = match read_json(body, &rid).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !valid_device(&req.device) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "device must be 1 to 128 of A-Z a-z 0-9 . _ : -",
            &rid,
        );
    }
    match state
        .vault
        .erase_device(&req.device, &caller(&auth), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(report) => axum::Json(ErasureReport {
            deleted: report.deleted.iter().map(ReceiptView::from).collect(),
            held: report.held,
        })
        .into_response(),
        Err(e) => vault_failed(&e, &rid, vault_unavailable),
    }
}

/// A legal hold as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HoldView {
    /// Its id.
    pub id: String,
    /// `inspection:ID`, `device:ID` or `range:FROM..TO` (Unix seconds).
    pub target: String,
    /// Why.
    pub reason: String,
    /// Who placed it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it was lifted (RFC 3339), if it was.
    pub lifted_at: Option<String>,
}

/// `POST /v1/holds` body: exactly one of `inspection`, `device`, or
/// `from` with `to`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHold {
    /// Hold everything kept for this inspection.
    pub inspection: Option<String>,
    /// Hold everything from this device.
    pub device: Option<String>,
    /// Hold everything created at or after this time (RFC 3339), with `to`.
    pub from: Option<String>,
    /// ... and before this time (RFC 3339).
    pub to: Option<String>,
    /// Why (required, audited).
    pub reason: String,
}

/// `GET /v1/holds`.
pub async fn holds(State(state): State<AppState>, auth: Auth<EvidenceManage>) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Err(refused) = audit_read(&state, &auth, "holds.list", "holds".into(), None).await {
        return refused;
    }
    match state.vault.holds().await {
        Ok(list) => axum::Json(
            list.iter()
                .map(|h| HoldView {
                    id: h.id.clone(),
                    target: h.target.clone(),
                    reason: h.reason.clone(),
                    created_by: h.created_by.clone(),
                    created_at: super::identity::rfc3339(h.created_at),
                    lifted_at: h.lifted_at.map(super::identity::rfc3339),
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(_) => db_unavailable(&rid),
    }
}

fn parse_rfc3339(s: &str) -> Option<i64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// `POST /v1/holds`.
pub async fn place_hold(
    State(state): State<AppState>,
    auth: Auth<EvidenceManage>,
    body: Body,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let req: NewHold = match read_json(body, &rid).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let target = match (&req.inspection, &req.device, &req.from, &req.to) {
        (Some(i), None, None, None) if valid_device(i) => HoldTarget::Inspection(i.clone()),
        (None, Some(d), None, None) if valid_device(d) => HoldTarget::Device(d.clone()),
        (None, None, Some(f), Some(t)) => match (parse_rfc3339(f), parse_rfc3339(t)) {
            (Some(from), Some(to)) if from < to => HoldTarget::Range { from, to },
            _ => return bad("from and to must be RFC 3339 times, from before to"),
        },
        _ => {
            return bad(
                "name exactly one of: inspection, device, or from with to (ids: 1 to 128 of A-Z a-z 0-9 . _ : -)",
            );
        }
    };
    if req.reason.trim().is_empty()
        || req.reason.len() > 500
        || lensguard_core::text::has_control(&req.reason)
    {
        return bad("a hold needs a reason of 1 to 500 characters, no control characters");
    }
    match state
        .vault
        .place_hold(
            &target,
            req.reason.trim(),
            &caller(&auth),
            time::OffsetDateTime::now_utc(),
        )
        .await
    {
        Ok(id) => (
            StatusCode::CREATED,
            axum::Json(serde_json::json!({"id": id})),
        )
            .into_response(),
        Err(e) => vault_failed(&e, &rid, db_unavailable),
    }
}

/// `DELETE /v1/holds/{id}`.
pub async fn lift_hold(
    State(state): State<AppState>,
    auth: Auth<EvidenceManage>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    match state
        .vault
        .lift_hold(&id, &caller(&auth), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such active hold",
            &rid,
        ),
        Err(StoreError::Conflict(m)) => error(StatusCode::CONFLICT, "case_hold", m, &rid),
        Err(e) => vault_failed(&e, &rid, db_unavailable),
    }
}

/// `POST /v1/vault/rotate`: new KEK versions now; the re-wrap runs in the
/// background (and resumes after a restart).
pub async fn rotate(State(state): State<AppState>, auth: Auth<EvidenceManage>) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    match state
        .vault
        .rotate_kek(&caller(&auth), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(started) => {
            state.rewrap_soon.notify_one();
            (
                StatusCode::ACCEPTED,
                axum::Json(serde_json::json!({"started": started})),
            )
                .into_response()
        }
        Err(e) => vault_failed(&e, &rid, vault_unavailable),
    }
}
