//! The edge console's frame: its sections by scope ([`Chrome::for_principal`])
//! and the translation of an API handler's JSON answer into a page. The
//! frame itself, HTML answers and error pages are [`crate::web::frame`]'s,
//! shared with the hub's console.

pub use crate::web::frame::{
    Chrome, NavItem, error_page, form_time, next_page, non_empty, ok, page, url_encode, when,
    when_text,
};

use super::super::state::AppState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lensguard_core::access::{Actor, Principal, Scope};
use lensguard_store::db::KeyCheck;

/// The console's sections and the scope each needs: a section is listed
/// only for sessions holding its scope (its pages check it again), and the
/// [`CAMERA_SECTIONS`] only when some camera is configured.
const SECTIONS: &[(&str, &str, Option<Scope>)] = &[
    ("/console/", "Overview", Some(Scope::InspectionsRead)),
    (
        "/console/inspections",
        "Inspections",
        Some(Scope::InspectionsRead),
    ),
    (
        "/console/overrides",
        "Overrides",
        Some(Scope::InspectionsRead),
    ),
    ("/console/cameras", "Cameras", Some(Scope::InspectionsRead)),
    ("/console/events", "Events", Some(Scope::InspectionsRead)),
    ("/console/audit", "Audit", Some(Scope::AuditRead)),
    (
        "/console/retention",
        "Retention",
        Some(Scope::EvidenceManage),
    ),
    ("/console/policy", "Policy", Some(Scope::PolicyManage)),
    ("/console/users", "Users", Some(Scope::UsersManage)),
    ("/console/keys", "Keys", Some(Scope::KeysManage)),
    ("/console/account", "Account", None),
];

/// The sections that are about cameras.
const CAMERA_SECTIONS: &[&str] = &["/console/cameras", "/console/events"];

impl Chrome {
    /// The frame for a signed-in `principal` in session `session`.
    pub async fn for_principal(state: &AppState, principal: &Principal, session: &str) -> Chrome {
        let user = match &principal.actor {
            Actor::User(id) => state
                .db
                .get_user(id)
                .await
                .ok()
                .flatten()
                .map_or_else(|| id.clone(), |u| u.username),
            other => other.to_string(),
        };
        let cameras = super::cameras::configured(state);
        let nav = SECTIONS
            .iter()
            .filter(|(_, _, scope)| scope.is_none_or(|s| principal.scopes.contains(&s)))
            .filter(|(href, _, _)| cameras || !CAMERA_SECTIONS.contains(href))
            .map(|(href, label, _)| NavItem { href, label })
            .collect();
        Chrome {
            user,
            role: principal.role.map_or_else(String::new, |r| r.to_string()),
            nav,
            csrf: state.console.csrf.token(session),
        }
    }

    /// The frame for a session token the gate refused a page (it is valid,
    /// without the page's scope); an empty frame if it cannot be read.
    pub async fn for_session(state: &AppState, token: &str, session: &str) -> Chrome {
        let now = time::OffsetDateTime::now_utc();
        match state.db.authenticate_session(token, now).await {
            Ok(KeyCheck::Valid(p)) => Chrome::for_principal(state, &p, session).await,
            _ => Chrome::default(),
        }
    }
}

/// 503: the audit log cannot record the view, so nothing is shown.
pub fn unavailable(chrome: &Chrome) -> Response {
    error_page(
        chrome,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The audit log cannot record this view right now, so nothing is shown.",
    )
}

/// 503: the database cannot answer.
pub fn db_unavailable(chrome: &Chrome) -> Response {
    error_page(
        chrome,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The database is not answering right now.",
    )
}

/// An API handler's error answer as a page: its status and message (the
/// handlers' bodies are `{code, message, request_id}`).
pub async fn api_error(chrome: &Chrome, title: &str, answer: Response) -> Response {
    let status = answer.status();
    let message = api_message(answer).await;
    error_page(chrome, status, title, &message)
}

/// The message of an API handler's error answer.
pub async fn api_message(answer: Response) -> String {
    let bytes = axum::body::to_bytes(answer.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "the request was refused".to_owned())
}

/// An API handler's answer: its JSON body when it succeeded (`Value::Null`
/// for an empty one), or the error page titled `title` to answer instead.
pub async fn api_outcome(
    chrome: &Chrome,
    title: &str,
    answer: Response,
) -> Result<serde_json::Value, Response> {
    if !answer.status().is_success() {
        return Err(api_error(chrome, title, answer).await);
    }
    Ok(api_json(answer).await.unwrap_or(serde_json::Value::Null))
}

/// After a change made by an API handler: back to `to`, or the error page
/// titled `title`.
async fn then_back(chrome: &Chrome, title: &str, answer: Response, to: &str) -> Response {
    match api_outcome(chrome, title, answer).await {
        Ok(_) => axum::response::Redirect::to(to).into_response(),
        Err(page) => page,
    }
}

/// What [`super::page::Page::act`] gave: back to `to` after the change, or
/// the page saying why not (titled `title`).
pub async fn after(acted: Result<(Chrome, Response), Response>, title: &str, to: &str) -> Response {
    match acted {
        Ok((chrome, answer)) => then_back(&chrome, title, answer, to).await,
        Err(refused) => refused,
    }
}

/// The JSON body of an API handler's answer.
pub async fn api_json(answer: Response) -> Option<serde_json::Value> {
    let bytes = axum::body::to_bytes(answer.into_body(), 16 * 1024 * 1024)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}
