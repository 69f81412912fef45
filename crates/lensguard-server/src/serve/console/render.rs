//! Rendering: the frame every page shares ([`Chrome`]), HTML answers, and
//! error pages. Templates live in `templates/console/` and are compiled into
//! the binary by askama, which escapes every value for HTML.

use super::super::state::AppState;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::{Actor, Principal, Scope};
use lensguard_store::db::KeyCheck;

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
}

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

/// What every page's frame shows: who is signed in, where they may go, and
/// the token their forms carry.
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// The user's name; empty before sign-in.
    pub user: String,
    /// Their role.
    pub role: String,
    /// The sections they may open.
    pub nav: Vec<NavItem>,
    /// The form token.
    pub csrf: String,
}

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

    /// The Subresource Integrity value of static file `name`.
    pub fn sri(&self, name: &str) -> &'static str {
        super::assets::integrity(name)
    }
}

/// A template rendered as a `status` page.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            html,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
            "the page could not be rendered",
        )
            .into_response(),
    }
}

/// A template rendered as a `200` page.
pub fn ok(template: &impl Template) -> Response {
    page(StatusCode::OK, template)
}

/// A page that says what went wrong.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage<'a> {
    pub chrome: &'a Chrome,
    pub title: &'a str,
    pub message: &'a str,
    pub status: u16,
}

/// `status` with a page titled `title` saying `message`.
pub fn error_page(chrome: &Chrome, status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        &ErrorPage {
            chrome,
            title,
            message,
            status: status.as_u16(),
        },
    )
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

/// A form field as an optional filter: `None` when blank.
pub fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// The query string of a listing's filters (`(name, value)`, blanks left
/// out) on its next page, `cursor`.
pub fn next_page(filters: &[(&str, &str)], cursor: &str) -> String {
    let mut q: Vec<String> = filters
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v.trim())))
        .collect();
    q.push(format!("cursor={}", url_encode(cursor)));
    q.join("&")
}

/// The JSON body of an API handler's answer.
pub async fn api_json(answer: Response) -> Option<serde_json::Value> {
    let bytes = axum::body::to_bytes(answer.into_body(), 16 * 1024 * 1024)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `s` percent-encoded for a query string value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn when(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .map_or_else(String::new, |t| format!("{t} UTC"))
}

/// An RFC 3339 time as [`when`] writes it (the text itself when it is not
/// one).
pub fn when_text(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map_or_else(|_| rfc3339.to_owned(), |t| when(t.unix_timestamp()))
}

/// `t` as a `datetime-local` field's value in UTC, to the second
/// (`2026-12-07T14:30:05`).
pub fn form_time(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    t.to_offset(time::UtcOffset::UTC)
        .format(format)
        .unwrap_or_default()
}
