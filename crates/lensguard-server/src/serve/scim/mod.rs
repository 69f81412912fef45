//! `/scim/v2/`: the directory's provisioning endpoint (RFC 7644), on when
//! `sso.provisioning = "scim"`.
//!
//! Invariants:
//! - Every request passes the gate with the scope `scim:provision`, and
//!   only an API key may use it (a person's session is refused, audited).
//! - Every answer, refusals included, is `application/scim+json`; a
//!   refusal is a SCIM error body.
//! - Writes take one lock, so each reads the directory, computes the
//!   change and commits it (resources and users' access in one
//!   transaction) without another write in between.
//! - Reads of Users and Groups are audited (`scim.read`), writes too
//!   (`scim.create`, `scim.replace`, `scim.patch`, `scim.delete`), and each
//!   user whose access ended, narrowed or came back gets its own event.

mod reads;
mod writes;

use super::auth::{Auth, audit_read, bearer, gate};
use super::state::AppState;
use crate::scim::resource::etag;
use crate::scim::{ScimError, schema};
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::HeaderMap;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use lensguard_core::access::Actor;
use lensguard_core::access::needs::ScimProvision;
use lensguard_core::config::sso::SsoConfig;
use lensguard_store::audit::Outcome;
use serde_json::{Value, json};

/// What the SCIM endpoint holds between requests.
#[derive(Debug)]
pub struct ScimState {
    /// Groups to roles (`[[sso.roles]]`).
    pub config: SsoConfig,
    /// Held by every write from read to commit.
    pub writes: tokio::sync::Mutex<()>,
}

impl ScimState {
    /// The state for `config`, when it provisions by SCIM.
    pub fn for_config(config: Option<&SsoConfig>) -> Option<std::sync::Arc<ScimState>> {
        config
            .filter(|c| c.provisioning == lensguard_core::config::sso::Provisioning::Scim)
            .map(|c| {
                std::sync::Arc::new(ScimState {
                    config: c.clone(),
                    writes: tokio::sync::Mutex::new(()),
                })
            })
    }
}

/// The routes, under `/scim/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{id}", get(one_schema))
        .route(
            "/scim/v2/Users",
            get(reads::list_users).post(writes::create_user),
        )
        .route("/scim/v2/Users/.search", post(reads::search_users))
        .route(
            "/scim/v2/Users/{id}",
            get(reads::get_user)
                .put(writes::replace_user)
                .patch(writes::patch_user)
                .delete(writes::delete_user),
        )
        .route(
            "/scim/v2/Groups",
            get(reads::list_groups).post(writes::create_group),
        )
        .route("/scim/v2/Groups/.search", post(reads::search_groups))
        .route(
            "/scim/v2/Groups/{id}",
            get(reads::get_group)
                .put(writes::replace_group)
                .patch(writes::patch_group)
                .delete(writes::delete_group),
        )
        .route("/scim/v2/.search", post(reads::search_all))
        .route("/scim/v2", any(nothing_here))
        .route("/scim/v2/{*rest}", any(nothing_here))
}

/// An admitted SCIM client.
pub struct Client {
    /// The gate's proof.
    pub auth: Auth<ScimProvision>,
    /// The endpoint's own state.
    pub scim: std::sync::Arc<ScimState>,
    /// `https://<host>/scim/v2`, for locations.
    pub base: String,
}

impl Client {
    /// The actor, as the audit log names it.
    pub fn actor(&self) -> String {
        self.auth.granted.principal().actor.to_string()
    }
}

/// A SCIM answer with `status` and `body`.
pub fn answer(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/scim+json"),
    );
    r
}

/// The SCIM error body for `e`.
pub fn refusal(e: &ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    answer(status, &e.body())
}

/// The caller, if it may provision; else the SCIM refusal to send.
pub async fn admit(
    state: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<Client, Response> {
    let auth = match gate::<ScimProvision>(parts, state, bearer(parts)).await {
        Ok(a) => a,
        Err(refused) => {
            let mut r = refusal(&ScimError::status(refused.status.as_u16(), refused.message));
            if let Some(wait) = refused.retry_after {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            return Err(r);
        }
    };
    if !matches!(auth.granted.principal().actor, Actor::Key(_)) {
        let why = "SCIM takes an API key with the scope scim:provision, not a session";
        let event = auth
            .ctx
            .event(
                auth.granted.principal().actor.to_string(),
                "auth.scim:provision",
            )
            .outcome(Outcome::Denied, Some(why.to_owned()));
        if state.audit(event).await.is_err() {
            return Err(unavailable_audit());
        }
        return Err(refusal(&ScimError::status(403, why)));
    }
    let Some(scim) = state.scim.clone() else {
        return Err(refusal(&ScimError::not_found(
            "SCIM provisioning is off on this server (set sso.provisioning = \"scim\")",
        )));
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    Ok(Client {
        auth,
        scim,
        base: format!("https://{host}/scim/v2"),
    })
}

/// 503 when the audit log cannot take an event.
pub fn unavailable_audit() -> Response {
    refusal(&ScimError::status(
        503,
        "the audit log cannot record this request, so nothing was done",
    ))
}

/// 503 when the database is unavailable.
pub fn unavailable_db() -> Response {
    refusal(&ScimError::status(503, "the database is unavailable"))
}

/// Audits a read of `target`, or the 503 to send.
pub async fn audited_read(
    state: &AppState,
    client: &Client,
    target: String,
) -> Result<(), Response> {
    audit_read(state, &client.auth, "scim.read", target, None)
        .await
        .map_err(|_| unavailable_audit())
}

async fn service_provider_config(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(c) => answer(StatusCode::OK, &schema::service_provider_config(&c.base)),
        Err(r) => r,
    }
}

fn listed(items: Vec<Value>) -> Value {
    json!({
        "schemas": [schema::LIST],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}

fn one_of(items: Vec<Value>, id: &str, what: &str) -> Response {
    match items.into_iter().find(|i| i["id"].as_str() == Some(id)) {
        Some(found) => answer(StatusCode::OK, &found),
        None => refusal(&ScimError::not_found(format!("no {what} {id:?}"))),
    }
}

async fn resource_types(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(c) => answer(StatusCode::OK, &listed(schema::resource_types(&c.base))),
        Err(r) => r,
    }
}

async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(c) => one_of(schema::resource_types(&c.base), &id, "resource type"),
        Err(r) => r,
    }
}

async fn schemas(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(c) => answer(StatusCode::OK, &listed(schema::schemas(&c.base))),
        Err(r) => r,
    }
}

async fn one_schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(c) => one_of(schema::schemas(&c.base), &id, "schema"),
        Err(r) => r,
    }
}

async fn nothing_here(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    match admit(&state, &parts).await {
        Ok(_) => refusal(&ScimError::not_found(format!(
            "no SCIM endpoint at {}",
            parts.uri.path()
        ))),
        Err(r) => r,
    }
}

/// The largest request body (a group of many thousands of members).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The request body as JSON, at most [`MAX_BODY`] bytes.
pub async fn body_json(body: Body) -> Result<Value, ScimError> {
    use http_body_util::BodyExt;
    let bytes = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|_| ScimError::status(413, format!("bodies are at most {MAX_BODY} bytes")))?
        .to_bytes();
    serde_json::from_slice(&bytes)
        .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
}

/// `r` with the ETag of `version`.
pub fn with_etag(mut r: Response, version: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&etag(version)) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

/// Whether the precondition header `name` holds for `version` (absent: yes).
pub fn precondition(headers: &HeaderMap, name: header::HeaderName, version: i64) -> Option<bool> {
    let given = headers.get(name)?.to_str().ok()?;
    let ours = etag(version);
    let strong = ours.trim_start_matches("W/");
    Some(
        given
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == ours || t == strong || t.trim_start_matches("W/") == strong),
    )
}
