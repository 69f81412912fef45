//! The HTTP surface: routes, security headers on every response, JSON errors.
//!
//! Every response, errors included, carries `Strict-Transport-Security` (unless
//! the dangerous option turned it off), `X-Content-Type-Options: nosniff`,
//! `Cache-Control: no-store`, `Referrer-Policy: no-referrer` and the request's
//! `X-Request-Id`. Errors are JSON `{code, message, request_id}`. Routes without
//! credentials: `GET /healthz` (answers `ok`, nothing else), and the two that
//! create credentials, `POST /v1/sessions` (login) and `POST /v1/bootstrap`
//! (the first owner, with the one-time token), both throttled per address.

use super::identity;
use crate::common::error_body::ErrorBody;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};

/// The id of one request, echoed in `X-Request-Id` and in error bodies.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Builds the router. `hsts_max_age` is `None` only under `dangerous_disable_hsts`.
pub fn router(
    state: super::state::AppState,
    hsts_max_age: Option<u64>,
    body_rate: super::slow_body::BodyRate,
) -> Router {
    let hsts = hsts_max_age
        .and_then(|age| HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok());
    // A multipart submission: the photo plus a little metadata and framing.
    let body_limit = usize::try_from(state.intake.limits.max_file_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/healthz", get(health))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(super::outbox::metrics))
        .route(
            "/v1/inspections",
            post(super::inspections::submit)
                .layer(axum::extract::DefaultBodyLimit::max(body_limit))
                .get(super::inspections::list),
        )
        .route("/v1/inspections/{id}", get(super::inspections::get))
        .route(
            "/v1/inspections/{id}/overrides",
            get(super::overrides::of_inspection).post(super::overrides::create),
        )
        .route("/v1/overrides", get(super::overrides::list))
        .route(
            "/v1/inspections/{id}/redacted",
            get(super::evidence::redacted),
        )
        .route(
            "/v1/inspections/{id}/thumbnail",
            get(super::evidence::thumbnail),
        )
        .route(
            "/v1/inspections/{id}/original",
            get(super::evidence::original),
        )
        .route(
            "/v1/holds",
            get(super::evidence::holds).post(super::evidence::place_hold),
        )
        .route("/v1/holds/{id}", delete(super::evidence::lift_hold))
        .route("/v1/erasure", post(super::evidence::erase))
        .route(
            "/v1/cases",
            get(super::cases::list).post(super::cases::open),
        )
        .route("/v1/cases/{id}", get(super::cases::get))
        .route("/v1/cases/{id}/items", post(super::cases::add))
        .route("/v1/cases/{id}/close", post(super::cases::close))
        .route("/v1/cases/{id}/export", post(super::cases::export))
        .route("/v1/vault/rotate", post(super::evidence::rotate))
        .route("/v1/bootstrap", post(identity::sessions::bootstrap))
        .route(
            "/v1/sessions",
            post(identity::sessions::login).get(identity::sessions::list),
        )
        .route("/v1/sessions/current", delete(identity::sessions::logout))
        .route(
            "/v1/users",
            get(identity::users::list).post(identity::users::create),
        )
        .route(
            "/v1/users/{id}",
            patch(identity::users::change).delete(identity::users::disable),
        )
        .route("/v1/users/{id}/totp", post(identity::users::reset_totp))
        .route(
            "/v1/keys",
            get(identity::keys::list).post(identity::keys::create),
        )
        .route("/v1/keys/{id}", delete(identity::keys::revoke))
        .route("/v1/keys/{id}/rotate", post(identity::keys::rotate))
        .route(
            "/v1/policy",
            get(super::policy_api::get).put(super::policy_api::put),
        )
        .route("/v1/cameras", get(super::cameras::list))
        .route("/v1/events", get(super::events::list))
        .route("/v1/events/{id}", get(super::events::get))
        .route("/v1/events/{id}/snapshot", get(super::events::snapshot))
        .route("/v1/cameras/{name}/segments", get(super::footage::list))
        .route("/v1/cameras/{name}/live", get(super::live::live))
        .route("/v1/segments/{id}/original", get(super::footage::original))
        .route("/v1/segments/{id}/redacted", get(super::footage::redacted))
        .route("/v1/audit/checkpoint", get(super::audit_api::head))
        .route("/v1/audit/entries", get(super::audit_search::entries))
        .route(
            "/v1/audit/proofs/inclusion",
            get(super::audit_api::inclusion),
        )
        .route(
            "/v1/audit/proofs/consistency",
            get(super::audit_api::consistency),
        )
        .merge(super::scim::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::audit_body_refusals,
        ))
        .merge(super::console::routes())
        .with_state(state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(move |req, next| {
            security_headers(hsts.clone(), req, next)
        }))
        .layer(axum::middleware::from_fn(
            super::refusals::keep_request_body,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            super::slow_body::min_rate(body_rate, req, next)
        }))
}

async fn health() -> &'static str {
    "ok"
}

async fn openapi(
    _auth: super::auth::Auth<lensguard_core::access::needs::Authenticated>,
) -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

/// A response whose body is JSON text already serialised.
pub fn json(status: StatusCode, body: String) -> Response {
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

/// A JSON error body.
/// A JSON error response.
pub fn error(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
    id: &RequestId,
) -> Response {
    crate::common::error_body::respond(
        status,
        ErrorBody {
            code: code.to_owned(),
            message: message.into(),
            request_id: id.0.clone(),
        },
    )
}

/// 503: the database cannot answer.
pub fn db_unavailable(id: &RequestId) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the database is unavailable",
        id,
    )
}

/// 503: the audit log cannot record the request, so nothing was done.
pub fn audit_unavailable(id: &RequestId) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "audit_unavailable",
        "the audit log cannot record this request",
        id,
    )
}

/// 429 with `Retry-After` (whole seconds, at least 1).
pub fn too_many_requests(message: &str, retry_after_secs: u64, id: &RequestId) -> Response {
    let mut r = error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        message.to_owned(),
        id,
    );
    if let Ok(v) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Reads a JSON body of at most 64 KiB into `T`; a JSON 400 (or 413) otherwise.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    body: axum::body::Body,
    id: &RequestId,
) -> Result<T, Response> {
    use http_body_util::BodyExt;
    const MAX: usize = 64 * 1024;
    let bytes = match http_body_util::Limited::new(body, MAX).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a JSON body has at most {MAX} bytes"),
                id,
            ));
        }
        Err(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "bad_body",
                "the request body could not be read",
                id,
            ));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the body is not the JSON this operation takes: {e}"),
            id,
        )
    })
}

async fn not_found(Extension(id): Extension<RequestId>) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", "no such resource", &id)
}

async fn method_not_allowed(Extension(id): Extension<RequestId>) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed here",
        &id,
    )
}

async fn security_headers(hsts: Option<HeaderValue>, mut req: Request, next: Next) -> Response {
    let id = RequestId(uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(id.clone());
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(v) = hsts {
        h.insert(header::STRICT_TRANSPORT_SECURITY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The console's versioned static files may be kept by the browser;
    // everything else is never cached.
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // The console names its own (`same-origin`, so its forms carry their Origin).
    if !h.contains_key(header::REFERRER_POLICY) {
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id.0) {
        h.insert(HeaderName::from_static("x-request-id"), v);
    }
    res
}
