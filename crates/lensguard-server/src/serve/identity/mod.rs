//! Identity over the API: the owner bootstrap, logins and sessions, users, and
//! API keys.
//!
//! Rules that hold for every handler here:
//! - No escalation: a caller can only hand out (create, rotate, assign) what it
//!   holds itself. A new key's scopes, a rotated or revoked key's scopes, and a
//!   role given to a user must all be within the caller's own scopes; the owner
//!   role is given, changed or taken away only by an owner's session. The last
//!   active owner cannot be demoted or disabled.
//! - Audit first: each change is written to the audit log before it is made; if
//!   the log cannot take it, the answer is 503 and nothing changes. Refusals are
//!   audited too (`denied` for a known caller, `failure` for bad credentials).
//! - Secrets (key tokens, session tokens, TOTP secrets) appear once, in the
//!   answer that creates them, and never in the audit log.

pub mod keys;
pub mod sessions;
pub mod users;

use super::auth::RequestCtx;
use super::http::{RequestId, audit_unavailable, error};
use super::state::AppState;
pub use crate::common::time_text::rfc3339;
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::{Principal, Scope};
use lensguard_core::devices::DeviceScope;
use lensguard_store::audit::Outcome;
use schemars::JsonSchema;
use serde::Serialize;

/// A new user's second factor, shown once.
// No `Debug`: it holds a secret shown once.
#[derive(Serialize, JsonSchema)]
pub struct TotpView {
    /// The TOTP secret in base32 (RFC 6238: SHA-1, 6 digits, 30 s).
    pub secret: String,
    /// `otpauth://` URI for an authenticator app's QR code.
    pub otpauth_uri: String,
}

/// Audits `action` on `target` by the caller with `outcome`; `Err` is the 503
/// to answer when the log cannot take it.
pub async fn record(
    state: &AppState,
    ctx: &RequestCtx,
    actor: &str,
    action: &str,
    target: &str,
    outcome: Outcome,
    reason: Option<String>,
) -> Result<(), Response> {
    let event = ctx
        .event(actor.to_owned(), action)
        .target(target.to_owned())
        .outcome(outcome, reason);
    state
        .audit(event)
        .await
        .map_err(|_| audit_unavailable(&rid(ctx)))
}

/// The request id of `ctx`.
pub fn rid(ctx: &RequestCtx) -> RequestId {
    RequestId(ctx.request_id.clone())
}

/// One privileged action by a known caller on one target: what every audit
/// event and refusal of it carries.
pub struct Act<'a> {
    /// Shared state.
    pub state: &'a AppState,
    /// The request.
    pub ctx: &'a RequestCtx,
    /// The caller.
    pub principal: &'a Principal,
    /// The audit action, e.g. `keys.revoke`.
    pub action: &'static str,
    /// The audit target, e.g. `key:ID`.
    pub target: String,
}

impl Act<'_> {
    /// The device scope `requested` for a new key or user, held to the
    /// no-escalation rule: a caller with a device scope hands out only a
    /// scope within it (never "every device"). `Err` is the answer (a 400 for
    /// a malformed pattern, an audited 403 beyond the caller's scope).
    pub async fn device_scope(
        &self,
        requested: Option<&[String]>,
    ) -> Result<Option<DeviceScope>, Response> {
        let scope = match requested.map(DeviceScope::new).transpose() {
            Ok(s) => s,
            Err(why) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    why,
                    &rid(self.ctx),
                ));
            }
        };
        if let Some(own) = &self.principal.devices
            && !scope.as_ref().is_some_and(|d| d.within(own))
        {
            let why = format!(
                "these credentials read only {} device pattern(s): give devices within them",
                own.patterns().len()
            );
            return Err(self.refuse(StatusCode::FORBIDDEN, why).await);
        }
        Ok(scope)
    }

    /// Audits the refusal and answers `status` (403 or 409).
    pub async fn refuse(&self, status: StatusCode, message: String) -> Response {
        let outcome = if status == StatusCode::FORBIDDEN {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        if let Err(r) = self.audit(outcome, Some(message.clone())).await {
            return r;
        }
        // A distinct code from the scope check's `forbidden`: the caller may use
        // the route, but not to hand out more than it holds.
        let code = if status == StatusCode::FORBIDDEN {
            "beyond_caller_access"
        } else {
            "conflict"
        };
        error(status, code, message, &rid(self.ctx))
    }

    /// Audits the action; `Err` is the 503 to answer when the log cannot take it.
    pub async fn audit(&self, outcome: Outcome, reason: Option<String>) -> Result<(), Response> {
        let actor = self.principal.actor.to_string();
        record(
            self.state,
            self.ctx,
            &actor,
            self.action,
            &self.target,
            outcome,
            reason,
        )
        .await
    }

    /// The answer to a change that reports whether its target existed.
    pub fn applied(
        &self,
        result: Result<bool, lensguard_store::Error>,
        done: Response,
        missing: &'static str,
    ) -> Response {
        match result {
            Ok(true) => done,
            Ok(false) => error(StatusCode::NOT_FOUND, "not_found", missing, &rid(self.ctx)),
            Err(_) => super::http::db_unavailable(&rid(self.ctx)),
        }
    }
}

/// The scopes in `wanted` that `principal` does not hold.
pub fn beyond(principal: &Principal, wanted: &[Scope]) -> Vec<&'static str> {
    wanted
        .iter()
        .filter(|s| !principal.scopes.contains(s))
        .map(|s| s.as_str())
        .collect()
}
