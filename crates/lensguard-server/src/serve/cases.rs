//! Evidence cases over the API (the same operations as `lensguard case`).
//!
//! - `GET /v1/cases`, `GET /v1/cases/{id}` (`cases:read`): cases, and one
//!   case with its items (audited as `cases.list`, `cases.read`).
//! - `POST /v1/cases`, `POST /v1/cases/{id}/items`, `POST
//!   /v1/cases/{id}/close` (`cases:manage`): open, add (held from then on,
//!   each addition audited), close (the hold is lifted).
//! - `POST /v1/cases/{id}/export` (`cases:manage`): the bundle as a tar
//!   archive of one folder, signed with the installation's evidence
//!   certificate; only redacted media leave. Audited as `case.export`.
//!
//! Cases span devices, so a caller whose access is limited to some devices
//! is refused (403 `device_scoped`).

use super::auth::{Auth, audit_read};
use super::evidence::{caller, valid_device};
use super::http::{RequestId, audit_unavailable, db_unavailable, error, read_json};
use super::state::AppState;
use crate::common::time_text::rfc3339;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::{CasesManage, CasesRead, Needs};
use lensguard_store::Error as StoreError;
use lensguard_store::db::{Case, CaseItem, CaseItemKind, Selection};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A case as the API shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CaseView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who opened it.
    pub owner: String,
    /// When (RFC 3339).
    pub opened_at: String,
    /// When it was closed (RFC 3339), if it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
    /// Its items (`GET /v1/cases/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<CaseItemView>>,
}

/// One item of a case.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CaseItemView {
    /// `inspection`, `event` or `segment`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Who added it.
    pub added_by: String,
}

/// `POST /v1/cases` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// A short name (1 to 200 characters).
    pub name: String,
    /// Why it is opened (1 to 500 characters; the audit log keeps a pseudonym).
    pub reason: String,
}

/// `POST /v1/cases/{id}/items` body: ids, and/or one selection by device or
/// camera over `[from, to)`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItems {
    /// Inspections, by id.
    #[serde(default)]
    pub inspections: Vec<String>,
    /// Camera events, by id.
    #[serde(default)]
    pub events: Vec<String>,
    /// Footage segments, by id.
    #[serde(default)]
    pub segments: Vec<String>,
    /// A device's inspections between `from` and `to`.
    pub device: Option<String>,
    /// A camera's events and segments between `from` and `to`.
    pub camera: Option<String>,
    /// Start of the range (RFC 3339).
    pub from: Option<String>,
    /// End of the range (RFC 3339, exclusive).
    pub to: Option<String>,
}

fn view(c: Case, items: Option<Vec<CaseItemView>>) -> CaseView {
    CaseView {
        id: c.id,
        name: c.name,
        owner: c.owner,
        opened_at: rfc3339(c.created_at),
        closed_at: c.closed_at.map(rfc3339),
        items,
    }
}

/// 403 for a device-scoped caller, else `None`.
fn refuse_device_scoped<S: Needs>(auth: &Auth<S>, rid: &RequestId) -> Option<Response> {
    auth.granted.principal().devices.as_ref().map(|_| {
        error(
            StatusCode::FORBIDDEN,
            "device_scoped",
            "cases span devices: a caller limited to some devices cannot use them",
            rid,
        )
    })
}

fn no_such_case(rid: &RequestId) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such case", rid)
}

fn store_failed(e: &StoreError, rid: &RequestId) -> Response {
    match e {
        StoreError::AuditUnavailable(_) => audit_unavailable(rid),
        StoreError::NotFound(m) => error(StatusCode::NOT_FOUND, "not_found", m.clone(), rid),
        StoreError::Conflict(m) => error(StatusCode::CONFLICT, "case_closed", m.clone(), rid),
        StoreError::Rejected(m) => error(StatusCode::BAD_REQUEST, "bad_request", m.clone(), rid),
        _ => db_unavailable(rid),
    }
}

/// `GET /v1/cases`.
pub async fn list(State(state): State<AppState>, auth: Auth<CasesRead>) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    if let Err(refused) = audit_read(&state, &auth, "cases.list", "cases".into(), None).await {
        return refused;
    }
    match state.db.list_cases().await {
        Ok(cases) => {
            let items: Vec<CaseView> = cases.into_iter().map(|c| view(c, None)).collect();
            axum::Json(serde_json::json!({ "items": items })).into_response()
        }
        Err(_) => db_unavailable(&rid),
    }
}

/// `GET /v1/cases/{id}`.
pub async fn get(
    State(state): State<AppState>,
    auth: Auth<CasesRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    let case = match state.db.get_case(&id).await {
        Ok(Some(c)) => c,
        Ok(None) => return no_such_case(&rid),
        Err(_) => return db_unavailable(&rid),
    };
    if let Err(refused) = audit_read(&state, &auth, "cases.read", format!("case:{id}"), None).await
    {
        return refused;
    }
    match state.db.case_items(&id).await {
        Ok(items) => {
            let items = items
                .into_iter()
                .map(|i| CaseItemView {
                    kind: i.item.kind.as_str().to_owned(),
                    id: i.item.id,
                    added_by: i.added_by,
                })
                .collect();
            axum::Json(view(case, Some(items))).into_response()
        }
        Err(_) => db_unavailable(&rid),
    }
}

fn plain_text(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.len() <= max && !lensguard_core::text::has_control(s)
}

/// `POST /v1/cases`.
pub async fn open(State(state): State<AppState>, auth: Auth<CasesManage>, body: Body) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    let req: NewCase = match read_json(body, &rid).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !plain_text(&req.name, 200) || !plain_text(&req.reason, 500) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a case needs a name (1 to 200 characters) and a reason (1 to 500), no control characters",
            &rid,
        );
    }
    match state
        .vault
        .open_case(
            &req.name,
            &req.reason,
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
        Err(e) => store_failed(&e, &rid),
    }
}

/// `POST /v1/cases/{id}/items`.
pub async fn add(
    State(state): State<AppState>,
    auth: Auth<CasesManage>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    let req: NewItems = match read_json(body, &rid).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let mut items = Vec::new();
    for (kind, ids) in [
        (CaseItemKind::Inspection, &req.inspections),
        (CaseItemKind::Event, &req.events),
        (CaseItemKind::Segment, &req.segments),
    ] {
        for item in ids {
            if !valid_device(item) {
                return bad("ids are 1 to 128 of A-Z a-z 0-9 . _ : -");
            }
            items.push(CaseItem {
                kind,
                id: item.clone(),
            });
        }
    }
    let range = || -> Option<(i64, i64)> {
        let parse = |t: &Option<String>| {
            time::OffsetDateTime::parse(
                t.as_deref()?,
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
            .map(time::OffsetDateTime::unix_timestamp)
        };
        let (from, to) = (parse(&req.from)?, parse(&req.to)?);
        (from < to).then_some((from, to))
    };
    let selection = match (&req.device, &req.camera) {
        (Some(_), Some(_)) => return bad("select by device or by camera, not both"),
        (None, None) => None,
        (device, camera) => {
            let name = device
                .as_ref()
                .or(camera.as_ref())
                .cloned()
                .unwrap_or_default();
            let Some((from, to)) = range().filter(|_| valid_device(&name)) else {
                return bad(
                    "a selection needs a valid device id or camera name, and from before to (RFC 3339)",
                );
            };
            Some(if device.is_some() {
                Selection::Device {
                    device: name,
                    from,
                    to,
                }
            } else {
                Selection::Camera {
                    camera: name,
                    from,
                    to,
                }
            })
        }
    };
    if let Some(s) = &selection {
        match state.db.select_items(s).await {
            Ok(found) => items.extend(found),
            Err(_) => return db_unavailable(&rid),
        }
    }
    if items.is_empty() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "nothing_to_add",
            "nothing to add: no ids were given, or the selection found no evidence in that range",
            &rid,
        );
    }
    let total = items.len();
    match state
        .vault
        .add_to_case(&id, &items, &caller(&auth), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(added) => axum::Json(serde_json::json!({"added": added, "already": total - added}))
            .into_response(),
        Err(e) => store_failed(&e, &rid),
    }
}

/// `POST /v1/cases/{id}/close`.
pub async fn close(
    State(state): State<AppState>,
    auth: Auth<CasesManage>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    match state
        .vault
        .close_case(&id, &caller(&auth), time::OffsetDateTime::now_utc())
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_failed(&e, &rid),
    }
}

/// `POST /v1/cases/{id}/export`.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth<CasesManage>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    if let Some(r) = refuse_device_scoped(&auth, &rid) {
        return r;
    }
    match state.db.get_case(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return no_such_case(&rid),
        Err(_) => return db_unavailable(&rid),
    }
    let work = state.data_dir.join("case-exports");
    let folder = work.join(format!("case-{id}-{}", uuid::Uuid::new_v4()));
    let signer = match std::fs::create_dir_all(&work)
        .map_err(anyhow::Error::from)
        .and_then(|()| crate::cases::signing::EvidenceSigner::installation(&state.data_dir))
    {
        Ok(s) => s,
        Err(_) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "signing_unavailable",
                "the evidence signing certificate cannot be read or made; nothing was exported",
                &rid,
            );
        }
    };
    let policy = state.policy();
    let cameras = std::sync::Arc::clone(&state.cameras);
    let masks = move |camera: &str| cameras.masks(camera);
    let who = caller(&auth);
    let audit_dir = state.data_dir.join("audit");
    let cx = crate::cases::export::ExportContext {
        db: &state.db,
        vault: &state.vault,
        audit: &state.audit,
        audit_dir: &audit_dir,
        signer: &signer,
        detectors: &state.intake.detectors,
        policy: &policy,
        masks: &masks,
        max_pixels: state.intake.limits.max_camera_pixels,
        caller: &who,
    };
    let done = crate::cases::export::export(&id, &folder, &cx, &|_, _| {}).await;
    let done = match done {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&folder);
            if let Some(StoreError::AuditUnavailable(_)) = e.downcast_ref::<StoreError>() {
                return audit_unavailable(&rid);
            }
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "cannot_export",
                format!("the case cannot be exported: {e:#}"),
                &rid,
            );
        }
    };
    let name = format!("case-{id}");
    let archive = tokio::task::spawn_blocking(move || {
        let mut tar = tar::Builder::new(Vec::new());
        let result = tar
            .append_dir_all(&name, &done.dir)
            .and_then(|()| tar.into_inner());
        let _ = std::fs::remove_dir_all(&done.dir);
        result
    })
    .await;
    match archive {
        Ok(Ok(bytes)) => {
            let mut response = (
                StatusCode::OK,
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/x-tar"),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                ],
                bytes,
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"case-{id}.tar\""))
            {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the bundle could not be packed; its export is in the audit log, nothing was sent",
            &rid,
        ),
    }
}
