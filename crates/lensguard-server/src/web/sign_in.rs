//! The sign-in page both consoles show, and where it may send the browser
//! afterwards.

use super::frame::Chrome;
use askama::Template;
use serde::Deserialize;

/// The sign-in form.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage<'a> {
    /// The frame (the form token, no navigation).
    pub chrome: Chrome,
    /// Where to go after signing in.
    pub next: &'a str,
    /// Why the visitor is here again (a refusal, an ended session).
    pub message: &'a str,
    /// Whether to offer creating the first owner (the edge, while it has
    /// none; the hub's first owner is made by `lensguard hub users create`).
    pub first_owner: bool,
    /// `(name, label)` of each identity provider to offer (the edge's
    /// `[sso]` providers).
    pub providers: Vec<(String, String)>,
}

/// Query of the sign-in page.
#[derive(Deserialize, Default)]
pub struct SignInQuery {
    /// The page asked for before signing in.
    pub next: Option<String>,
    /// Set when a session ended.
    pub ended: Option<String>,
}

impl SignInQuery {
    /// What the page says on arrival (why the visitor is here again).
    pub fn message(&self) -> &'static str {
        if self.ended.is_some() {
            "Your session ended. Sign in again."
        } else {
            ""
        }
    }

    /// Where to go after signing in ([`safe_next`]).
    pub fn next(&self) -> String {
        safe_next(self.next.as_deref()).to_owned()
    }
}

/// Where to go after signing in: a console page, never elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") && !n.contains('\\') => n,
        _ => "/console/",
    }
}
