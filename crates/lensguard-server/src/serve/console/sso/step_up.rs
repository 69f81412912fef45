//! lensguard's own TOTP step-up after a provider vouched for a person whose
//! role needs a second factor. A person who never used a code gets a fresh
//! secret and its QR code first (the same one on every visit to the form
//! while the step-up lasts, and never again after a code of theirs was
//! accepted).

use super::flow::{moving_on, signed_in, terms};
use super::{FLOW_COOKIE, SsoState, chrome, form_refused};
use crate::serve::console::page::Visitor;
use crate::serve::console::render::{self, Chrome};
use crate::serve::identity;
use crate::serve::state::AppState;
use crate::web::cookies::cookie;
use crate::web::enrolment::qr_svg;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use lensguard_store::audit::Outcome;
use lensguard_store::db::SessionOrigin;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "console/step_up.html")]
struct StepUpPage<'a> {
    chrome: Chrome,
    username: &'a str,
    provider: &'a str,
    message: &'a str,
    secret: &'a str,
    qr_svg: String,
}

fn expired(visitor: &Visitor) -> Response {
    visitor.with_cookie(render::error_page(
        &chrome(visitor),
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in is unknown or took too long. Sign in again.",
    ))
}

fn current(state: &AppState, headers: &HeaderMap) -> Option<(Arc<SsoState>, String)> {
    let sso = state.sso.clone()?;
    let flow = cookie(headers, FLOW_COOKIE)?.to_owned();
    Some((sso, flow))
}

/// `GET /console/sso/step-up`: the code form (with the enrolment first, for
/// someone who never used a code).
pub async fn step_up_form(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Response {
    let Some((sso, flow)) = current(&state, &headers) else {
        return expired(&visitor);
    };
    let Some(step_up) = sso.step_up(&flow) else {
        return expired(&visitor);
    };
    let Ok(Some(user)) = state.db.get_user(&step_up.user_id).await else {
        return expired(&visitor);
    };
    // A first-time secret is made once per step-up and shown again on a
    // reload; after a code of theirs was accepted, never again.
    let enrolment = match step_up.enrolment {
        Some(kept) => Some(kept),
        None => match state
            .db
            .step_up_enrolment(&step_up.user_id, &state.secrets)
            .await
        {
            Ok(Some(e)) => {
                sso.remember_enrolment(&flow, e.secret_base32.clone(), e.otpauth_uri.clone());
                Some((e.secret_base32, e.otpauth_uri))
            }
            Ok(None) => None,
            Err(_) => return render::db_unavailable(&chrome(&visitor)),
        },
    };
    let (secret, qr) = match &enrolment {
        Some((secret, uri)) => (secret.expose().clone(), qr_svg(uri.expose())),
        None => (String::new(), String::new()),
    };
    let page = StepUpPage {
        chrome: chrome(&visitor),
        username: &user.username,
        provider: &step_up.provider,
        message: "",
        secret: &secret,
        qr_svg: qr,
    };
    visitor.with_cookie(render::ok(&page))
}

/// The step-up form.
#[derive(Deserialize)]
pub struct StepUpForm {
    totp: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sso/step-up`.
pub async fn step_up_submit(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
    form: Result<Form<StepUpForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some((sso, flow)) = current(&state, &headers) else {
        return expired(&visitor);
    };
    let Some(step_up) = sso.step_up(&flow) else {
        return expired(&visitor);
    };
    let Ok(Form(form)) = form else {
        return moving_on(&visitor, "/console/sso/step-up");
    };
    if let Err(why) = visitor.check_form(&state, &form.csrf) {
        return form_refused(&visitor, why);
    }
    if state
        .logins
        .check(&step_up.user_id, visitor.ctx.ip)
        .is_err()
    {
        return visitor.with_cookie(render::error_page(
            &chrome(&visitor),
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many codes from this address. Wait a minute and try again.",
        ));
    }
    let now = time::OffsetDateTime::now_utc();
    let actor = format!("user:{}", step_up.user_id);
    let record = |outcome, reason: String| {
        identity::record(
            &state,
            &visitor.ctx,
            &actor,
            "auth.login",
            &actor,
            outcome,
            Some(format!(
                "{reason}; console; provider {}, subject {}",
                step_up.provider, step_up.subject
            )),
        )
    };
    let verified = match state
        .db
        .check_step_up(&step_up.user_id, form.totp.trim(), &state.secrets, now)
        .await
    {
        Ok(Ok(v)) => v,
        Ok(Err(refusal)) => {
            if record(Outcome::Failure, format!("step-up: {}", refusal.reason()))
                .await
                .is_err()
            {
                return render::unavailable(&chrome(&visitor));
            }
            let username = state
                .db
                .get_user(&step_up.user_id)
                .await
                .ok()
                .flatten()
                .map(|u| u.username)
                .unwrap_or_default();
            let page = StepUpPage {
                chrome: chrome(&visitor),
                username: &username,
                provider: &step_up.provider,
                message: "That code is not right. Type the current code.",
                secret: "",
                qr_svg: String::new(),
            };
            return visitor.with_cookie(render::page(StatusCode::UNAUTHORIZED, &page));
        }
        Err(_) => return render::db_unavailable(&chrome(&visitor)),
    };
    let role = verified.user.role;
    if record(Outcome::Success, format!("role {role}; TOTP step-up"))
        .await
        .is_err()
    {
        return render::unavailable(&chrome(&visitor));
    }
    let origin = SessionOrigin {
        provider: step_up.provider.clone(),
        subject: step_up.subject.clone(),
    };
    let terms = terms(&state, &sso, &visitor, &headers, origin);
    match state.db.open_login_session(&verified, &terms, now).await {
        Ok(Ok(session)) => {
            sso.end_step_up(&flow);
            signed_in(&visitor, &step_up.next, session, terms.lifetime)
        }
        Ok(Err(refusal)) => {
            let _ = record(
                Outcome::Failure,
                format!("step-up: {}; no session was opened", refusal.reason()),
            )
            .await;
            expired(&visitor)
        }
        Err(_) => render::db_unavailable(&chrome(&visitor)),
    }
}
