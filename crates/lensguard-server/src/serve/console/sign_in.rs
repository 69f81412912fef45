//! Signing in and out, the account page (open sessions, revoke), and the
//! first owner's enrolment with a TOTP QR code rendered on the server.
//!
//! Sign-in is the API's login ([`identity::sessions::sign_in`]: password and
//! TOTP together, throttled, audited whichever way it goes) opening a console
//! session: idle limit, the client's address and browser recorded. The
//! session token goes into the `__Host-` cookie only. Every form here passes
//! the CSRF checks; the sign-in form binds its token to a random browser
//! cookie, since there is no session yet.

use super::super::identity;
use super::super::state::AppState;
use super::page::{Page, SESSION_COOKIE, TokenForm, Visitor, set_cookie};
use super::render::{self, Chrome, when};
pub use crate::web::enrolment::{EnrolledPage, qr_svg};
use crate::web::sign_in::{SignInPage, SignInQuery, safe_next};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lensguard_core::access::needs::Authenticated;
use lensguard_store::audit::Outcome;
use serde::Deserialize;

fn visitor_chrome(visitor: &Visitor) -> Chrome {
    Chrome {
        csrf: visitor.csrf.clone(),
        ..Chrome::default()
    }
}

async fn sign_in_page(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    next: &str,
    message: &str,
) -> Response {
    let first_owner = !state.db.has_owner().await.unwrap_or(true);
    let page = SignInPage {
        chrome: visitor_chrome(visitor),
        next,
        message,
        first_owner,
        providers: state.sso.as_ref().map(|s| s.buttons()).unwrap_or_default(),
    };
    let mut response = render::page(status, &page);
    if let Some(sso) = &state.sso {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            crate::web::csp_with_form_targets(&sso.form_targets()),
        );
    }
    visitor.with_cookie(response)
}

/// `GET /console/sign-in`.
pub async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    query: Result<Query<SignInQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = query.map(|q| q.0).unwrap_or_default();
    let (message, next) = (q.message(), q.next());
    sign_in_page(&state, &visitor, StatusCode::OK, &next, message).await
}

/// The sign-in form.
// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    totp: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Audits a form refused by the CSRF checks and answers 403.
async fn refuse_form(state: &AppState, visitor: &Visitor, why: &str) -> Response {
    let event = visitor
        .ctx
        .event("anonymous", "console.csrf")
        .outcome(Outcome::Denied, Some(why.to_owned()));
    let chrome = visitor_chrome(visitor);
    if state.audit(event).await.is_err() {
        return render::unavailable(&chrome);
    }
    visitor.with_cookie(render::error_page(
        &chrome,
        StatusCode::FORBIDDEN,
        "Form refused",
        &format!("{why}. Reload the page and send the form again."),
    ))
}

/// `POST /console/sign-in`.
pub async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_page(
            &state,
            &visitor,
            StatusCode::BAD_REQUEST,
            "/console/",
            "Fill in the name, password and code.",
        )
        .await;
    };
    if let Err(why) = visitor.check_form(&state, &form.csrf) {
        return refuse_form(&state, &visitor, why).await;
    }
    let next = safe_next(Some(&form.next)).to_owned();
    let lifetime = time::Duration::try_from(state.session_lifetime).unwrap_or(time::Duration::HOUR);
    let terms = lensguard_store::db::SessionTerms {
        lifetime,
        idle: time::Duration::try_from(state.console.idle).ok(),
        client: crate::web::client_label(visitor.ctx.ip, &headers),
        via: None,
    };
    let login = identity::sessions::Login {
        username: form.username,
        password: form.password,
        totp: form.totp.trim().to_owned(),
    };
    match identity::sessions::sign_in(&state, &visitor.ctx, login, &terms).await {
        Ok((session, _user)) => {
            let mut response = Redirect::to(&next).into_response();
            let age = u64::try_from(lifetime.whole_seconds()).unwrap_or(3600);
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, session.token.expose(), Some(age)),
            );
            visitor.with_cookie(response)
        }
        Err(refused) => {
            let status = refused.status();
            let message = render::api_message(refused).await;
            sign_in_page(&state, &visitor, status, &next, &message).await
        }
    }
}

/// The cookie-clearing redirect to the sign-in page.
fn signed_out() -> Response {
    let mut response = Redirect::to("/console/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    response
}

/// `POST /console/sign-out`: audited, then the session ends.
pub async fn sign_out(
    State(state): State<AppState>,
    page: Page<Authenticated>,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let actor = page.auth.granted.principal().actor.to_string();
    let ctx = &page.auth.ctx;
    if identity::record(
        &state,
        ctx,
        &actor,
        "auth.logout",
        &actor,
        Outcome::Success,
        None,
    )
    .await
    .is_err()
    {
        return render::unavailable(&page.chrome);
    }
    let user = user_id(&page);
    let now = time::OffsetDateTime::now_utc();
    match state.db.revoke_session(&user, &page.session, now).await {
        Ok(_) => signed_out(),
        Err(_) => render::db_unavailable(&page.chrome),
    }
}

fn user_id(page: &Page<Authenticated>) -> String {
    match &page.auth.granted.principal().actor {
        lensguard_core::access::Actor::User(id) => id.clone(),
        other => other.to_string(),
    }
}

struct SessionRow {
    id: String,
    client: String,
    via: String,
    created: String,
    last_seen: String,
    ends: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    chrome: Chrome,
    sessions: Vec<SessionRow>,
}

/// `GET /console/account`: who is signed in and their open sessions.
pub async fn account(State(state): State<AppState>, page: Page<Authenticated>) -> Response {
    let now = time::OffsetDateTime::now_utc();
    let Ok(sessions) = state.db.list_sessions(&user_id(&page), now).await else {
        return render::db_unavailable(&page.chrome);
    };
    let sessions = sessions
        .into_iter()
        .map(|s| {
            let ends = s.idle_seconds.map_or(s.expires_at, |idle| {
                s.expires_at.min(s.last_seen_at.saturating_add(idle))
            });
            SessionRow {
                current: s.id == page.session,
                client: s.client,
                via: s.via.map_or_else(
                    || "password and TOTP".to_owned(),
                    |v| format!("{} (subject {})", v.provider, v.subject),
                ),
                created: when(s.created_at),
                last_seen: when(s.last_seen_at),
                ends: when(ends),
                id: s.id,
            }
        })
        .collect();
    render::ok(&AccountPage {
        chrome: page.chrome,
        sessions,
    })
}

/// `POST /console/account/sessions/{id}/revoke`: ends one of the user's own
/// sessions (audited first); ending the current one signs out.
pub async fn revoke(
    State(state): State<AppState>,
    page: Page<Authenticated>,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let actor = page.auth.granted.principal().actor.to_string();
    let target = format!("session:{id}");
    let ctx = &page.auth.ctx;
    if identity::record(
        &state,
        ctx,
        &actor,
        "sessions.revoke",
        &target,
        Outcome::Success,
        None,
    )
    .await
    .is_err()
    {
        return render::unavailable(&page.chrome);
    }
    let now = time::OffsetDateTime::now_utc();
    match state.db.revoke_session(&user_id(&page), &id, now).await {
        Ok(true) if id == page.session => signed_out(),
        Ok(true) => Redirect::to("/console/account").into_response(),
        Ok(false) => render::error_page(
            &page.chrome,
            StatusCode::NOT_FOUND,
            "No such session",
            "That session is not one of yours, or has already ended.",
        ),
        Err(_) => render::db_unavailable(&page.chrome),
    }
}

#[derive(Template)]
#[template(path = "console/first_owner.html")]
struct FirstOwnerPage<'a> {
    chrome: Chrome,
    message: &'a str,
}

/// `GET /console/first-owner`: the form that spends the bootstrap token.
pub async fn first_owner_form(State(state): State<AppState>, visitor: Visitor) -> Response {
    if state.db.has_owner().await.unwrap_or(true) {
        return Redirect::to("/console/sign-in").into_response();
    }
    let page = FirstOwnerPage {
        chrome: visitor_chrome(&visitor),
        message: "",
    };
    visitor.with_cookie(render::ok(&page))
}

/// The first-owner form.
// No `Debug`: it holds a password and the bootstrap token.
#[derive(Deserialize)]
pub struct FirstOwnerForm {
    token: String,
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/first-owner`: the API's bootstrap, then the new owner's
/// TOTP secret and QR code, once.
pub async fn first_owner(
    State(state): State<AppState>,
    visitor: Visitor,
    form: Result<Form<FirstOwnerForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let chrome = visitor_chrome(&visitor);
    let Ok(Form(form)) = form else {
        let page = FirstOwnerPage {
            chrome,
            message: "Fill in the token, a name and a password.",
        };
        return visitor.with_cookie(render::page(StatusCode::BAD_REQUEST, &page));
    };
    if let Err(why) = visitor.check_form(&state, &form.csrf) {
        return refuse_form(&state, &visitor, why).await;
    }
    let body = serde_json::json!({
        "token": form.token.trim(),
        "username": form.username,
        "password": form.password,
    });
    let answer = identity::sessions::bootstrap(
        State(state.clone()),
        visitor.ctx.clone(),
        axum::body::Body::from(body.to_string()),
    )
    .await;
    if answer.status() != StatusCode::CREATED {
        let status = answer.status();
        let message = render::api_message(answer).await;
        let page = FirstOwnerPage {
            chrome,
            message: &message,
        };
        return visitor.with_cookie(render::page(status, &page));
    }
    let json = render::api_json(answer).await.unwrap_or_default();
    let text = |p: &str| {
        json.pointer(p)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (username, secret, uri) = (
        text("/user/username"),
        text("/totp/secret"),
        text("/totp/otpauth_uri"),
    );
    let page = EnrolledPage {
        chrome,
        username: &username,
        secret: &secret,
        qr_svg: qr_svg(&uri),
        next: "/console/sign-in",
    };
    visitor.with_cookie(render::page(StatusCode::CREATED, &page))
}
