//! Starting a sign-in at a provider and taking its answer.

use super::{FLOW_COOKIE, Pending, SsoState, StepUp, chrome, flow_cookie, form_refused};
use crate::serve::console::page::Visitor;
use crate::serve::console::render::{self, Chrome};
use crate::serve::identity;
use crate::serve::state::AppState;
use crate::web::cookies::{SESSION_COOKIE, cookie, set_cookie};
use crate::web::sign_in::safe_next;
use askama::Template;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::config::sso::{MfaProof, Provisioning};
use lensguard_store::audit::Outcome;
use lensguard_store::db::{ExternalPerson, SessionOrigin, SessionTerms, User};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

/// The provider button's form.
#[derive(Deserialize)]
pub struct StartForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
}

fn sso(state: &AppState) -> Option<Arc<SsoState>> {
    state.sso.clone()
}

/// The page a refused sign-in shows: nothing about why (that is in the
/// audit log).
fn refused_page(visitor: &Visitor, status: StatusCode, provider: &str) -> Response {
    visitor.with_cookie(render::error_page(
        &chrome(visitor),
        status,
        "Sign-in failed",
        &format!(
            "Signing in through {provider} did not succeed. Try again; if it fails again, ask an administrator, who can see why in the audit log."
        ),
    ))
}

/// Audits a refused sign-in through `provider`, then shows the refusal
/// (401).
async fn refuse(
    state: &AppState,
    visitor: &Visitor,
    provider: &str,
    user: Option<&str>,
    why: String,
) -> Response {
    refuse_with(
        state,
        visitor,
        StatusCode::UNAUTHORIZED,
        provider,
        user,
        why,
    )
    .await
}

/// [`refuse`] answering `status`.
async fn refuse_with(
    state: &AppState,
    visitor: &Visitor,
    status: StatusCode,
    provider: &str,
    user: Option<&str>,
    why: String,
) -> Response {
    let (actor, target) = match user {
        Some(id) => (format!("user:{id}"), format!("user:{id}")),
        None => ("anonymous".to_owned(), format!("provider:{provider}")),
    };
    // Refusals are bounded per address before they reach the audit log
    // (a flood of forged callbacks is counted, not written one by one).
    if state.refusals.admit(visitor.ctx.ip).is_err() {
        return visitor.with_cookie(render::error_page(
            &chrome(visitor),
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many failed sign-ins from this address. Wait a minute and try again.",
        ));
    }
    let reason = Some(format!("provider {provider}: {why}"));
    if identity::record(
        state,
        &visitor.ctx,
        &actor,
        "auth.login",
        &target,
        Outcome::Failure,
        reason,
    )
    .await
    .is_err()
    {
        return render::unavailable(&chrome(visitor));
    }
    refused_page(visitor, status, provider)
}

/// `POST /console/sso/{provider}`: sends the browser to the provider.
pub async fn start(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(name): Path<String>,
    form: Result<Form<StartForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Some(sso) = sso(&state) else {
        return not_configured(&visitor);
    };
    let Ok(Form(form)) = form else {
        return visitor.with_cookie(render::error_page(
            &chrome(&visitor),
            StatusCode::BAD_REQUEST,
            "Form refused",
            "The form was not understood. Reload the page and send it again.",
        ));
    };
    if let Err(why) = visitor.check_form(&state, &form.csrf) {
        return form_refused(&visitor, why);
    }
    let Some(provider) = sso.provider(&name) else {
        return not_configured(&visitor);
    };
    let authorization = match provider.authorize().await {
        Ok(a) => a,
        Err(refusal) => {
            let why = refusal.reason();
            return refuse_with(&state, &visitor, StatusCode::BAD_GATEWAY, &name, None, why).await;
        }
    };
    let flow = hex::encode(uuid::Uuid::new_v4().as_bytes());
    sso.keep(
        authorization.state,
        Pending {
            provider: name,
            flow: flow.clone(),
            nonce: authorization.nonce,
            verifier: authorization.verifier,
            next: safe_next(Some(&form.next)).to_owned(),
            started: Instant::now(),
        },
    );
    let mut response = (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, authorization.url)],
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, flow_cookie(Some(&flow)));
    visitor.with_cookie(response)
}

fn not_configured(visitor: &Visitor) -> Response {
    visitor.with_cookie(render::error_page(
        &chrome(visitor),
        StatusCode::NOT_FOUND,
        "No such provider",
        "That identity provider is not configured here.",
    ))
}

/// The provider's answer.
#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/sso/{provider}/callback`.
pub async fn callback(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(name): Path<String>,
    headers: HeaderMap,
    query: Result<Query<CallbackQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(sso) = sso(&state) else {
        return not_configured(&visitor);
    };
    let Some(provider) = sso.provider(&name) else {
        return not_configured(&visitor);
    };
    let Ok(Query(q)) = query else {
        return refuse(&state, &visitor, &name, None, "malformed callback".into()).await;
    };
    let Some(pending) = q.state.as_deref().and_then(|s| sso.take(s)) else {
        return refuse(
            &state,
            &visitor,
            &name,
            None,
            "the state is unknown, expired or already used".into(),
        )
        .await;
    };
    let presented = cookie(&headers, FLOW_COOKIE).unwrap_or("");
    if verify_slices_are_equal(presented.as_bytes(), pending.flow.as_bytes()).is_err()
        || pending.provider != name
    {
        return refuse(
            &state,
            &visitor,
            &name,
            None,
            "the state does not belong to this browser's sign-in".into(),
        )
        .await;
    }
    if let Some(error) = q.error {
        let detail: String = q
            .error_description
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let why = format!("the provider answered {error:?} {detail:?}");
        return refuse(&state, &visitor, &name, None, why).await;
    }
    let Some(code) = q.code else {
        return refuse(
            &state,
            &visitor,
            &name,
            None,
            "no code in the callback".into(),
        )
        .await;
    };
    let person = match provider
        .redeem(&code, &pending.verifier, &pending.nonce)
        .await
    {
        Ok(p) => p,
        Err(refusal @ crate::oidc::Refusal::Unreachable(_)) => {
            let why = refusal.reason();
            return refuse_with(&state, &visitor, StatusCode::BAD_GATEWAY, &name, None, why).await;
        }
        Err(refusal) => return refuse(&state, &visitor, &name, None, refusal.reason()).await,
    };
    let user = match admit(&state, &sso, &name, &person).await {
        Ok(user) => user,
        Err((user, why)) => return refuse(&state, &visitor, &name, user.as_deref(), why).await,
    };
    let origin = SessionOrigin {
        provider: name.clone(),
        subject: person.subject.clone(),
    };
    if sso.config.needs_mfa(user.role) {
        match &provider.config.mfa {
            MfaProof::Provider { amr, acr } => {
                let asserted = person.amr.iter().any(|a| amr.contains(a))
                    || person.acr.as_ref().is_some_and(|a| acr.contains(a));
                if !asserted {
                    let why = format!(
                        "role {} needs a second factor and the provider asserted none accepted (amr {:?}, acr {:?})",
                        user.role, person.amr, person.acr
                    );
                    return refuse(&state, &visitor, &name, Some(&user.id), why).await;
                }
            }
            MfaProof::Totp => {
                sso.keep_step_up(
                    pending.flow.clone(),
                    StepUp {
                        user_id: user.id.clone(),
                        provider: name,
                        subject: person.subject,
                        next: pending.next,
                        started: Instant::now(),
                        enrolment: None,
                    },
                );
                let mut response = moving_on(&visitor, "/console/sso/step-up");
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, flow_cookie(Some(&pending.flow)));
                return response;
            }
        }
    }
    let how = format!(
        "role {}; console; provider {name}, subject {}",
        user.role, origin.subject
    );
    if identity::record(
        &state,
        &visitor.ctx,
        &format!("user:{}", user.id),
        "auth.login",
        &format!("user:{}", user.id),
        Outcome::Success,
        Some(how),
    )
    .await
    .is_err()
    {
        return render::unavailable(&chrome(&visitor));
    }
    let terms = terms(&state, &sso, &visitor, &headers, origin);
    match state
        .db
        .open_session(&user, &terms, time::OffsetDateTime::now_utc())
        .await
    {
        Ok(session) => signed_in(&visitor, &pending.next, session, terms.lifetime),
        Err(_) => render::db_unavailable(&chrome(&visitor)),
    }
}

/// The user `person` signs in as, or who (if known) and why not.
async fn admit(
    state: &AppState,
    sso: &SsoState,
    provider: &str,
    person: &crate::oidc::Person,
) -> Result<User, (Option<String>, String)> {
    let claim = &sso
        .config
        .provider(provider)
        .map(|p| p.username_claim.clone())
        .unwrap_or_default();
    let Some(username) = person.username.clone() else {
        return Err((None, format!("the ID token has no {claim} claim")));
    };
    let now = time::OffsetDateTime::now_utc();
    match sso.config.provisioning {
        Provisioning::Scim => match state.db.scim_user_named(&username).await {
            Ok(Some(user)) if user.disabled_at.is_none() => {
                // The first sign-in binds the SCIM user to this provider's
                // subject; another account with the same name is refused.
                match state
                    .db
                    .bind_scim_sign_in(&user.id, provider, &person.subject)
                    .await
                {
                    Ok(true) => Ok(user),
                    Ok(false) => Err((
                        Some(user.id),
                        format!(
                            "subject {}: the SCIM user {username:?} signs in as another subject",
                            person.subject
                        ),
                    )),
                    Err(e) => Err((None, format!("database: {e}"))),
                }
            }
            Ok(Some(user)) => Err((Some(user.id), "user disabled or deprovisioned".into())),
            Ok(None) => Err((
                None,
                format!(
                    "subject {} is not provisioned by SCIM (no user named by its {claim})",
                    person.subject
                ),
            )),
            Err(e) => Err((None, format!("database: {e}"))),
        },
        Provisioning::JustInTime => {
            let Some((role, devices)) = sso.config.grant(&person.groups) else {
                return Err((
                    None,
                    format!(
                        "subject {}: no group maps to a role (groups {:?})",
                        person.subject, person.groups
                    ),
                ));
            };
            let external = ExternalPerson {
                provider: provider.to_owned(),
                subject: person.subject.clone(),
                username: username.to_lowercase(),
                role,
                devices,
            };
            match state
                .db
                .provision_sso_user(&external, &state.secrets, now)
                .await
            {
                Ok(Ok(user)) => Ok(user),
                Ok(Err(refusal)) => {
                    let id = match &refusal {
                        lensguard_store::db::SsoRefusal::Disabled(id) => Some(id.clone()),
                        lensguard_store::db::SsoRefusal::NameTaken => None,
                    };
                    Err((
                        id,
                        format!("subject {}: {}", person.subject, refusal.reason()),
                    ))
                }
                Err(e) => Err((None, format!("subject {}: {e}", person.subject))),
            }
        }
    }
}

/// The terms of a session opened through a provider.
pub(super) fn terms(
    state: &AppState,
    sso: &SsoState,
    visitor: &Visitor,
    headers: &HeaderMap,
    origin: SessionOrigin,
) -> SessionTerms {
    SessionTerms {
        lifetime: sso.lifetime(),
        idle: time::Duration::try_from(state.console.idle).ok(),
        client: crate::web::client_label(visitor.ctx.ip, headers),
        via: Some(origin),
    }
}

#[derive(Template)]
#[template(path = "console/moving_on.html")]
struct MovingOn<'a> {
    chrome: Chrome,
    next: &'a str,
}

/// A page of this origin that moves on to `next` (so cookies set here are
/// sent there, whatever site the navigation began at).
pub(super) fn moving_on(visitor: &Visitor, next: &str) -> Response {
    let page = MovingOn {
        chrome: chrome(visitor),
        next,
    };
    visitor.with_cookie(render::ok(&page))
}

/// The session cookie set, the flow cookie cleared, on to `next`.
pub(super) fn signed_in(
    visitor: &Visitor,
    next: &str,
    session: lensguard_store::db::IssuedSession,
    lifetime: time::Duration,
) -> Response {
    let mut response = moving_on(visitor, next);
    let age = u64::try_from(lifetime.whole_seconds()).unwrap_or(3600);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, session.token.expose(), Some(age)),
    );
    headers.append(header::SET_COOKIE, flow_cookie(None));
    response
}
