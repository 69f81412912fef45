//! The console: server-rendered web pages for operators, security reviewers
//! and administrators, under `/console/`, on by default in `lensguard serve`.
//!
//! Invariants every page keeps:
//! - **The API's gate**: a page takes [`page::Page<S>`], which runs the very
//!   check an API route runs ([`super::auth::gate`]) on the session cookie, so
//!   no page reaches data the API would refuse that session. Changes go
//!   through the API's own handlers (no escalation, audit first), called
//!   in-process with the page's capability.
//! - **Forms**: every state-changing request passes [`csrf`] (same origin and
//!   a session-bound token); refusals are audited.
//! - **Audit**: a page that shows evidence is one audited read; a listing is
//!   one audited read per page view naming what it showed; the images on it
//!   load under that page's [`grants`] instead of auditing again.
//! - **Content Security Policy**: `default-src 'self'`, no inline script or
//!   style, no `eval`, `frame-ancestors 'none'`; scripts are files served
//!   here ([`assets`]) with Subresource Integrity.
//! - **Sessions**: the cookie is `Secure; HttpOnly; SameSite=Strict`; a
//!   console session ends after `[auth] console_idle_minutes` without use
//!   (default 15) and after `[auth] session_hours` in any case (default 12).

mod audit;
mod cameras;
mod events;
mod glance;
mod grants;
mod inspections;
mod keys;
mod overrides;
mod overview;
mod page;
mod policy;
mod render;
mod retention;
mod sign_in;
pub mod sso;
mod users;

use super::state::AppState;
use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

/// What the console keeps in memory.
pub struct ConsoleState {
    /// Makes and checks form tokens.
    pub csrf: crate::web::csrf::CsrfKey,
    /// Images that audited pages may load.
    pub grants: grants::ViewGrants,
    /// How long a console session lasts without use.
    pub idle: std::time::Duration,
    /// The at-a-glance lists of the audit and retention pages.
    pub glances: glance::Glances,
}

impl ConsoleState {
    /// Fresh state (a new form key) with sessions idle after `idle`.
    pub fn new(idle: std::time::Duration) -> Self {
        ConsoleState {
            csrf: crate::web::csrf::CsrfKey::random(),
            grants: grants::ViewGrants::default(),
            idle,
            glances: glance::Glances::default(),
        }
    }
}

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(overview::page))
        .route("/console/assets/{name}", get(crate::web::assets::serve))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route(
            "/console/sso/step-up",
            get(sso::step_up_form).post(sso::step_up_submit),
        )
        .route("/console/sso/{provider}", post(sso::start))
        .route("/console/sso/{provider}/callback", get(sso::callback))
        .route(
            "/console/first-owner",
            get(sign_in::first_owner_form).post(sign_in::first_owner),
        )
        .route("/console/account", get(sign_in::account))
        .route(
            "/console/account/sessions/{id}/revoke",
            post(sign_in::revoke),
        )
        .route("/console/inspections", get(inspections::list))
        .route("/console/inspections/{id}", get(inspections::detail))
        .route(
            "/console/inspections/{id}/original",
            post(inspections::original),
        )
        .route("/console/audit", get(audit::list))
        .route("/console/audit/verify", post(audit::verify))
        .route("/console/audit/export", get(audit::export))
        .route(
            "/console/inspections/{id}/override",
            post(overrides::create),
        )
        .route("/console/overrides", get(overrides::review))
        .route("/console/cameras", get(cameras::list))
        .route("/console/cameras/{name}", get(cameras::camera))
        .route("/console/cameras/{name}/live", get(cameras::live))
        .route("/console/cameras/{name}/stream", get(cameras::stream))
        .route("/console/segments/{id}/redacted", get(cameras::redacted))
        .route("/console/segments/{id}/original", post(cameras::original))
        .route("/console/events", get(events::list))
        .route("/console/events/{id}/snapshot", get(events::snapshot))
        .route("/console/users", get(users::list).post(users::create))
        .route("/console/users/{id}/role", post(users::set_role))
        .route("/console/users/{id}/totp", post(users::reset_totp))
        .route("/console/users/{id}/disable", post(users::disable))
        .route("/console/policy", get(policy::view).post(policy::edit))
        .route(
            "/console/policy/explain",
            post(policy::explain).layer(axum::extract::DefaultBodyLimit::max(51 * 1024 * 1024)),
        )
        .route("/console/retention", get(retention::page))
        .route("/console/retention/holds", post(retention::place))
        .route("/console/retention/holds/{id}/lift", post(retention::lift))
        .route("/console/retention/erase", post(retention::erase))
        .route("/console/keys", get(keys::list).post(keys::create))
        .route("/console/keys/{id}/rotate", post(keys::rotate))
        .route("/console/keys/{id}/revoke", post(keys::revoke))
        .route("/console/images/{kind}/{id}", get(inspections::image))
        .route("/console/originals/{id}", get(inspections::original_image))
        .layer(axum::middleware::from_fn(crate::web::policy_headers))
}
