//! Who is looking at a hub console page: the session cookie, checked against
//! the hub's sessions, the page's scope checked by the one permission check
//! ([`authorize`]), and the page's frame.
//!
//! No cookie sends the browser to sign in. A refused cookie (expired, idle
//! too long, revoked, forged) is recorded (`auth.session`, denied), cleared
//! and sent to sign in; a session without the page's scope gets a 403 page.

use super::super::api::Hub;
use crate::web::cookies::{Browser, SESSION_COOKIE, cookie, to_sign_in};
use crate::web::csrf;
use crate::web::frame::{self, Chrome, NavItem};
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use lensguard_core::access::needs::Needs;
use lensguard_core::access::{Actor, Granted, Principal, Scope, authorize};
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::db::{KeyCheck, SESSION_PREFIX, session_id};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The hub console's sections and the scope each needs.
const SECTIONS: &[(&str, &str, Option<Scope>)] = &[
    ("/console/", "Edges", Some(Scope::InspectionsRead)),
    ("/console/records", "Records", Some(Scope::InspectionsRead)),
    ("/console/users", "Users", Some(Scope::UsersManage)),
    ("/console/account", "Account", None),
];

/// The client's address (the TCP peer: the hub trusts no proxy header).
pub fn client_ip(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

/// An audit event by `actor` from `ip`.
pub fn event(actor: impl Into<String>, action: &str, ip: IpAddr) -> AuditEvent {
    let mut e = AuditEvent::new(time::OffsetDateTime::now_utc(), actor, action);
    e.source_ip = Some(ip.to_string());
    e
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The frame for `principal` in session `session`.
async fn chrome(hub: &Hub, principal: &Principal, session: &str) -> Chrome {
    let user = match &principal.actor {
        Actor::User(id) => hub
            .db
            .user(id)
            .await
            .ok()
            .flatten()
            .map_or_else(|| id.clone(), |u| u.username),
        other => other.to_string(),
    };
    Chrome {
        user,
        role: principal.role.map_or_else(String::new, |r| r.to_string()),
        nav: SECTIONS
            .iter()
            .filter(|(_, _, scope)| scope.is_none_or(|s| principal.scopes.contains(&s)))
            .map(|(href, label, _)| NavItem { href, label })
            .collect(),
        csrf: hub.console.csrf.token(session),
    }
}

/// A hub console page for a session holding `S`.
pub struct HubPage<S: Needs> {
    /// The capability.
    pub granted: Granted<S>,
    /// The session's public id.
    pub session: String,
    /// The session token (to end it on sign-out).
    pub token: String,
    /// The page's frame.
    pub chrome: Chrome,
    /// The client's address.
    pub ip: IpAddr,
    origin: Result<(), &'static str>,
}

impl<S: Needs> HubPage<S> {
    /// An audit event by this page's user.
    pub fn event(&self, action: &str) -> AuditEvent {
        event(self.granted.principal().actor.to_string(), action, self.ip)
    }

    /// Records `e`; `Err` is the 503 page to answer instead (nothing that
    /// cannot be recorded happens or is shown).
    pub async fn record(&self, hub: &Hub, e: AuditEvent) -> Result<(), Response> {
        hub.console
            .identity
            .record(e)
            .await
            .map_err(|()| unavailable(&self.chrome))
    }

    /// Checks a state-changing request: from this origin, with this
    /// session's token. A refusal is recorded (`console.csrf`) and answered
    /// with a 403 page.
    pub async fn check_form(&self, hub: &Hub, presented: &str) -> Result<(), Response> {
        let why = match self.origin {
            Err(why) => why,
            Ok(()) if hub.console.csrf.verify(&self.session, presented) => return Ok(()),
            Ok(()) => "the form's token is missing or is not this session's",
        };
        let e = self
            .event("console.csrf")
            .outcome(Outcome::Denied, Some(why.to_owned()));
        self.record(hub, e).await?;
        Err(frame::error_page(
            &self.chrome,
            StatusCode::FORBIDDEN,
            "Form refused",
            &format!("{why}. Reload the page and send the form again."),
        ))
    }
}

/// 503: the audit log cannot record it, so nothing is done or shown.
pub fn unavailable(chrome: &Chrome) -> Response {
    frame::error_page(
        chrome,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The hub's audit log or database cannot record this right now, so nothing is shown or changed.",
    )
}

impl<S: Needs> axum::extract::FromRequestParts<Hub> for HubPage<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE)
            .filter(|t| t.starts_with(SESSION_PREFIX))
            .map(str::to_owned)
        else {
            return Err(to_sign_in(parts, false));
        };
        let ip = client_ip(parts);
        let session = session_id(&token).unwrap_or_default().to_owned();
        let principal = match hub.db.authenticate_session(&token, now()).await {
            Ok(KeyCheck::Valid(p)) => p,
            Ok(refused) => {
                let why = match refused {
                    KeyCheck::Expired(_) => "session ended (idle or past its lifetime)",
                    KeyCheck::Revoked(_) => "session revoked",
                    _ => "no such session",
                };
                let e = event("anonymous", "auth.session", ip)
                    .target(format!("session:{session}"))
                    .outcome(Outcome::Denied, Some(why.to_owned()));
                if hub.console.identity.record(e).await.is_err() {
                    return Err(unavailable(&Chrome::default()));
                }
                return Err(to_sign_in(parts, true));
            }
            Err(_) => return Err(unavailable(&Chrome::default())),
        };
        let chrome = chrome(hub, &principal, &session).await;
        let granted = match authorize::<S>(principal) {
            Ok(g) => g,
            Err(denied) => {
                return Err(frame::error_page(
                    &chrome,
                    StatusCode::FORBIDDEN,
                    "Not for your role",
                    &format!("this page needs the scope {}", denied.needed),
                ));
            }
        };
        Ok(HubPage {
            granted,
            session,
            token,
            chrome,
            ip,
            origin: csrf::same_origin(&parts.headers, parts.uri.authority().map(|a| a.as_str())),
        })
    }
}

/// Someone not signed in: the sign-in form's token is bound to a random
/// browser cookie.
pub struct HubVisitor {
    /// The browser: its form-token binding and origin.
    pub browser: Browser,
    /// The form token.
    pub csrf: String,
    /// The client's address.
    pub ip: IpAddr,
}

impl HubVisitor {
    /// The frame of a page for this visitor (no navigation).
    pub fn chrome(&self) -> Chrome {
        Chrome {
            csrf: self.csrf.clone(),
            ..Chrome::default()
        }
    }
}

impl axum::extract::FromRequestParts<Hub> for HubVisitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Self, Self::Rejection> {
        let browser = Browser::of(parts);
        Ok(HubVisitor {
            csrf: browser.token(&hub.console.csrf),
            browser,
            ip: client_ip(parts),
        })
    }
}
