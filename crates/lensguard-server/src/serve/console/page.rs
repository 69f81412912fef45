//! Who is looking at a console page: the session cookie, the same gate as
//! the API, and what the page's frame (navigation, form token) needs.
//!
//! The session token lives in the `__Host-lensguard-session` cookie
//! (`Secure; HttpOnly; SameSite=Strict; Path=/`), never in a URL or a page.
//! [`Page<S>`] takes it through [`gate`], the check every API route passes, so
//! a page reaches only what the API would answer the same session. No cookie
//! is not a refusal (a browser arriving): it is sent to sign in. A refused
//! cookie (expired, idle too long, revoked) is audited by the gate, cleared,
//! and sent to sign in; a session without the page's scope gets a 403 page.

use super::super::auth::{Auth, gate};
use super::super::state::AppState;
use super::render::{self, Chrome};
use crate::web::cookies::{Browser, cookie, to_sign_in};
pub use crate::web::cookies::{SESSION_COOKIE, set_cookie};
use crate::web::csrf;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use lensguard_core::access::needs::Needs;
use lensguard_store::audit::Outcome;
use lensguard_store::db::{SESSION_PREFIX, session_id};

/// A form that carries only its token (a button that changes something).
#[derive(serde::Deserialize)]
pub struct TokenForm {
    /// The form token.
    #[serde(default)]
    pub csrf: String,
}

/// A page for a session holding `S`.
pub struct Page<S: Needs> {
    /// The capability and request context, exactly as an API handler gets them.
    pub auth: Auth<S>,
    /// The session's public id.
    pub session: String,
    /// Navigation, user and form token for the page's frame.
    pub chrome: Chrome,
    origin: Result<(), &'static str>,
}

/// Who is looking, without the capability: what a page needs to show
/// what the gate already allowed and to audit the view.
pub struct Seen<'a> {
    /// The caller.
    pub principal: &'a lensguard_core::access::Principal,
    /// The request.
    pub ctx: &'a super::super::auth::RequestCtx,
    /// The session's public id.
    pub session: &'a str,
    /// The page's frame.
    pub chrome: &'a Chrome,
}

impl<S: Needs> Page<S> {
    /// The page's caller, for code shared by pages of different scopes.
    pub fn seen(&self) -> Seen<'_> {
        Seen {
            principal: self.auth.granted.principal(),
            ctx: &self.auth.ctx,
            session: &self.session,
            chrome: &self.chrome,
        }
    }

    /// Acts on a form through an API handler: the form is checked first
    /// ([`Page::check_form`]), then `call` runs with the page's capability.
    /// `Ok` holds the page's frame and the handler's answer; `Err` the
    /// refusal page.
    pub async fn act<F, Fut>(
        self,
        state: &AppState,
        csrf: &str,
        call: F,
    ) -> Result<(Chrome, Response), Response>
    where
        F: FnOnce(Auth<S>) -> Fut,
        Fut: std::future::Future<Output = Response>,
    {
        self.check_form(state, csrf).await?;
        let chrome = self.chrome;
        Ok((chrome, call(self.auth).await))
    }

    /// Checks a state-changing request: it came from this service's pages
    /// and carries this session's form token. A refusal is audited
    /// (`console.csrf`, denied) and answered with a 403 page.
    pub async fn check_form(&self, state: &AppState, presented: &str) -> Result<(), Response> {
        let why = match self.origin {
            Err(why) => why,
            Ok(()) if state.console.csrf.verify(&self.session, presented) => return Ok(()),
            Ok(()) => "the form's token is missing or is not this session's",
        };
        let actor = self.auth.granted.principal().actor.to_string();
        let event = self
            .auth
            .ctx
            .event(actor, "console.csrf")
            .outcome(Outcome::Denied, Some(why.to_owned()));
        if state.audit(event).await.is_err() {
            return Err(render::unavailable(&self.chrome));
        }
        Err(render::error_page(
            &self.chrome,
            StatusCode::FORBIDDEN,
            "Form refused",
            &format!("{why}. Reload the page and send the form again."),
        ))
    }
}

impl<S: Needs> axum::extract::FromRequestParts<AppState> for Page<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.starts_with(SESSION_PREFIX))
            .map(str::to_owned)
        else {
            return Err(to_sign_in(parts, false));
        };
        let session = session_id(&token).unwrap_or_default().to_owned();
        let auth = match gate::<S>(parts, state, Some(&token)).await {
            Ok(auth) => auth,
            Err(refused) if refused.status == StatusCode::UNAUTHORIZED => {
                return Err(to_sign_in(parts, true));
            }
            Err(refused) => {
                // The session is valid but not enough: show the page's frame
                // for what it may do, and why this page is not part of it.
                let chrome = Chrome::for_session(state, &token, &session).await;
                let title = if refused.status == StatusCode::FORBIDDEN {
                    "Not for your role"
                } else {
                    "Not now"
                };
                return Err(render::error_page(
                    &chrome,
                    refused.status,
                    title,
                    &refused.message,
                ));
            }
        };
        let chrome = Chrome::for_principal(state, auth.granted.principal(), &session).await;
        Ok(Page {
            auth,
            session,
            chrome,
            origin: csrf::same_origin(&parts.headers, parts.uri.authority().map(|a| a.as_str())),
        })
    }
}

/// Someone not (yet) signed in: the sign-in and first-owner forms.
pub struct Visitor {
    /// The browser: its form-token binding and origin.
    pub browser: Browser,
    /// The form token.
    pub csrf: String,
    /// The request's context, for audit events.
    pub ctx: super::super::auth::RequestCtx,
}

impl Visitor {
    /// Whether a form from this visitor may be acted on; `Err` says why not.
    pub fn check_form(&self, state: &AppState, presented: &str) -> Result<(), &'static str> {
        self.browser.check_form(&state.console.csrf, presented)
    }

    /// `response` with the browser cookie set, when it is new.
    pub fn with_cookie(&self, response: Response) -> Response {
        self.browser.with_cookie(response)
    }
}

impl axum::extract::FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let browser = Browser::of(parts);
        Ok(Visitor {
            csrf: browser.token(&state.console.csrf),
            browser,
            ctx: super::super::auth::context(parts, state),
        })
    }
}
