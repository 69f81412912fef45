//! The one JSON error shape every HTTP answer uses, the service's and the
//! hub's: `{"code", "message", "request_id"}`.
//! `code` is stable and machine-readable; `message` is for people and never
//! carries internal error text.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON error body.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// Stable machine code.
    pub code: String,
    /// For people.
    pub message: String,
    /// The request's id, for support.
    pub request_id: String,
}

/// A JSON error response.
pub fn respond(status: StatusCode, body: ErrorBody) -> Response {
    (status, axum::Json(body)).into_response()
}
