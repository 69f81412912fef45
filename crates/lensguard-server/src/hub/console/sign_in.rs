//! Signing in to the hub's console and out again, and the account page.
//!
//! Sign-in is [`super::super::identity::HubIdentity::sign_in`]: password and
//! TOTP together, throttled, recorded whichever way it goes; the session
//! token goes into the `__Host-` cookie only. The form's token is bound to a
//! random browser cookie, since there is no session yet.

use super::super::api::Hub;
use super::super::identity::SignInRefused;
use super::page::{HubPage, HubVisitor, unavailable};
use crate::web::cookies::{SESSION_COOKIE, set_cookie};
use crate::web::frame::{self, Chrome};
use crate::web::sign_in::{SignInPage, SignInQuery, safe_next};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lensguard_core::access::needs::Authenticated;
use lensguard_store::audit::Outcome;
use lensguard_store::db::SessionTerms;
use serde::Deserialize;

async fn sign_in_page(
    hub: &Hub,
    visitor: &HubVisitor,
    status: StatusCode,
    next: &str,
    message: &str,
) -> Response {
    let no_users = hub.db.users().await.is_ok_and(|u| u.is_empty());
    let none_yet = "No hub user exists yet: create the first owner on the hub's machine with \
                    `lensguard hub users create --role owner` (with the hub stopped).";
    let page = SignInPage {
        chrome: visitor.chrome(),
        next,
        message: if no_users && message.is_empty() {
            none_yet
        } else {
            message
        },
        first_owner: false,
        providers: Vec::new(),
    };
    visitor.browser.with_cookie(frame::page(status, &page))
}

/// `GET /console/sign-in`.
pub async fn form(
    State(hub): State<Hub>,
    visitor: HubVisitor,
    query: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (message, next) = (q.message(), q.next());
    sign_in_page(&hub, &visitor, StatusCode::OK, &next, message).await
}

/// The sign-in form.
// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// `POST /console/sign-in`.
pub async fn submit(
    State(hub): State<Hub>,
    visitor: HubVisitor,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if let Err(why) = visitor.browser.check_form(&hub.console.csrf, &form.csrf) {
        let e = super::page::event("anonymous", "console.csrf", visitor.ip)
            .outcome(Outcome::Denied, Some(why.to_owned()));
        if hub.console.identity.record(e).await.is_err() {
            return unavailable(&visitor.chrome());
        }
        return visitor.browser.with_cookie(frame::error_page(
            &visitor.chrome(),
            StatusCode::FORBIDDEN,
            "Form refused",
            &format!("{why}. Reload the page and send the form again."),
        ));
    }
    let next = safe_next(Some(&form.next)).to_owned();
    let terms = SessionTerms {
        lifetime: hub.console.lifetime,
        idle: Some(hub.console.idle),
        client: crate::web::client_label(visitor.ip, &headers),
        via: None,
    };
    let signed = hub
        .console
        .identity
        .sign_in(
            &hub.db,
            visitor.ip,
            form.username.trim(),
            form.password,
            &form.totp,
            &terms,
        )
        .await;
    let (status, message) = match signed {
        Ok((session, _user)) => {
            let mut response = Redirect::to(&next).into_response();
            let age = u64::try_from(hub.console.lifetime.whole_seconds()).unwrap_or(0);
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, session.token.expose(), Some(age)),
            );
            return response;
        }
        Err(SignInRefused::Invalid) => (
            StatusCode::UNAUTHORIZED,
            "Invalid credentials: check the name, the password and the code.".to_owned(),
        ),
        Err(SignInRefused::Throttled(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many attempts from this address; try again in {wait} seconds."),
        ),
        Err(SignInRefused::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The hub cannot sign anyone in right now (its database or audit log is not answering)."
                .to_owned(),
        ),
    };
    sign_in_page(&hub, &visitor, status, &next, &message).await
}

/// The sign-out form.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`: ends the session, recorded.
pub async fn sign_out(
    State(hub): State<Hub>,
    page: HubPage<Authenticated>,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(refused) = page.check_form(&hub, &form.csrf).await {
        return refused;
    }
    let e = page
        .event("auth.logout")
        .target(format!("session:{}", page.session));
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if hub.db.close_session(&page.token, now).await.is_err() {
        return unavailable(&page.chrome);
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    response
}

#[derive(Template)]
#[template(path = "hub/account.html")]
struct AccountPage {
    chrome: Chrome,
    idle_minutes: i64,
    hours: i64,
}

/// `GET /console/account`: who is signed in, and how sessions end.
pub async fn account(page: HubPage<Authenticated>, State(hub): State<Hub>) -> Response {
    frame::ok(&AccountPage {
        chrome: page.chrome,
        idle_minutes: hub.console.idle.whole_minutes(),
        hours: hub.console.lifetime.whole_hours(),
    })
}
