//! SCIM 2.0 (RFC 7643, RFC 7644) as lensguard speaks it, apart from HTTP:
//! the attributes kept ([`schema`]), reading and writing resources
//! ([`resource`]), filters ([`filter`]) and PATCH ([`patch`]).
//!
//! Invariant: every refusal is a [`ScimError`], which the HTTP layer sends
//! as a SCIM error body with its status; nothing here touches the store.

pub mod filter;
pub mod patch;
pub mod resource;
pub mod schema;

use serde_json::json;

/// A refusal in SCIM's terms (RFC 7644 §3.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: u16,
    /// `scimType` (for 400 and 409), e.g. `invalidFilter`.
    pub scim_type: Option<&'static str>,
    /// What the client should know.
    pub detail: String,
}

impl ScimError {
    /// 400 with `scim_type`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// Any status without a `scimType`.
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::status(404, detail)
    }

    /// The error body.
    pub fn body(&self) -> serde_json::Value {
        let mut v = json!({
            "schemas": [schema::ERROR],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            v["scimType"] = json!(t);
        }
        v
    }
}
