//! The frame every console page shares, on the edge and on the hub: who is
//! signed in, the navigation, the form token ([`Chrome`]); HTML answers and
//! error pages; and the small formatting helpers the pages use. Templates
//! live in `templates/console/` and are compiled into the binary by askama,
//! which escapes every value for HTML.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One entry of the navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
}

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
