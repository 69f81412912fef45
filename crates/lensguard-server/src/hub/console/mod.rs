//! The hub's console: server-rendered pages under `/console/` on the hub's
//! port, for the people who watch a fleet: its edges and their flags
//! (rollback, fork), revocation, the records across edges, what left each
//! edge under which egress manifest, and the hub's own users.
//!
//! The edge console's rules hold here too, with the same code where it can
//! be shared ([`crate::web`]: frame, cookies, form checks, CSP; the store's
//! identity rules): hub users sign in with a password and a TOTP code, hold
//! the edge's roles, and every page checks its scope with
//! [`lensguard_core::access::authorize`] on the session's principal; forms
//! pass the same-origin check and a session-bound token; sessions are
//! `__Host-` cookies with an idle limit and an absolute lifetime; every
//! sign-in, refusal, view and change is recorded in the hub's audit log
//! ([`super::identity`]).

mod edges;
mod page;
mod records;
mod sign_in;
mod users;

use super::api::Hub;
use super::identity::HubIdentity;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use std::sync::Arc;

/// What the hub's console keeps in memory.
pub struct HubConsole {
    /// Makes and checks form tokens.
    pub csrf: crate::web::csrf::CsrfKey,
    /// Secrets, audit log, login throttle.
    pub identity: Arc<HubIdentity>,
    /// A console session ends after this long without use.
    pub idle: time::Duration,
    /// And after this long in any case.
    pub lifetime: time::Duration,
}

/// How long console sessions last (`hub serve --console-idle-minutes`,
/// `--console-session-hours`).
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Without use.
    pub idle: time::Duration,
    /// In any case.
    pub lifetime: time::Duration,
}

impl HubConsole {
    /// The console with a fresh form key.
    pub fn new(identity: Arc<HubIdentity>, sessions: SessionLimits) -> HubConsole {
        HubConsole {
            csrf: crate::web::csrf::CsrfKey::random(),
            identity,
            idle: sessions.idle,
            lifetime: sessions.lifetime,
        }
    }
}

/// The console's routes.
pub fn routes() -> Router<Hub> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(edges::list))
        .route("/console/assets/{name}", get(crate::web::assets::serve))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/account", get(sign_in::account))
        .route("/console/edges/{id}", get(edges::detail))
        .route("/console/edges/{id}/revoke", post(edges::revoke))
        .route("/console/records", get(records::list))
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/{id}/role", post(users::set_role))
        .route("/console/users/{id}/totp", post(users::reset_totp))
        .route("/console/users/{id}/disable", post(users::disable))
        .layer(axum::middleware::from_fn(crate::web::policy_headers))
}
