//! `POST /v1/bootstrap` (the first owner), `POST /v1/sessions` (log in) and
//! `DELETE /v1/sessions/current` (log out).
//!
//! Logins need the password and a TOTP code together, so every session is
//! TOTP-verified. All refusals say only "invalid credentials" to the client; the
//! audit log records which factor failed, under the user's id when the name is
//! known and under an HMAC pseudonym of the typed name when it is not (it could
//! be a password typed into the wrong field). Attempts are throttled per (name,
//! client address) and per address, never per account, so nobody can lock a
//! user out by failing on purpose.

use super::super::auth::{Auth, RequestCtx, bearer};
use super::super::http::{db_unavailable, error, read_json, too_many_requests};
use super::super::state::AppState;
use super::users::UserView;
use super::{TotpView, record, rfc3339, rid};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use lensguard_core::Sensitive;
use lensguard_core::access::needs::Authenticated;
use lensguard_store::audit::Outcome;
use lensguard_store::db::SESSION_PREFIX;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/sessions` body.
// No `Debug`: it holds a password or token, which must never be printed.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The current 6-digit TOTP code.
    pub totp: String,
}

/// A new session.
// No `Debug`: it holds a secret shown once.
#[derive(Serialize, JsonSchema)]
pub struct SessionView {
    /// `lgs_<id>_<secret>`: send as `Authorization: Bearer`. Shown once.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Who logged in.
    pub user: UserView,
}

/// `POST /v1/bootstrap` body.
// No `Debug`: it holds a password or token, which must never be printed.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    /// The one-time token `lensguard serve` printed at start (`lgb_...`).
    pub token: String,
    /// The owner's login name.
    pub username: String,
    /// The owner's password (at least 12 characters).
    pub password: String,
}

/// A created user and their second factor.
// No `Debug`: it holds a secret shown once.
#[derive(Serialize, JsonSchema)]
pub struct Enrolled {
    /// The user.
    pub user: UserView,
    /// Their TOTP secret, shown once: add it to an authenticator app.
    pub totp: TotpView,
}

impl From<lensguard_store::db::TotpEnrolment> for Enrolled {
    fn from(e: lensguard_store::db::TotpEnrolment) -> Self {
        Enrolled {
            user: UserView::from(&e.user),
            totp: TotpView {
                secret: e.secret_base32.expose().clone(),
                otpauth_uri: e.otpauth_uri.expose().clone(),
            },
        }
    }
}

fn invalid(ctx: &RequestCtx, message: &str) -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        message.to_owned(),
        &rid(ctx),
    )
}

/// `POST /v1/sessions`.
pub async fn login(State(state): State<AppState>, ctx: RequestCtx, body: Body) -> Response {
    let login: Login = match read_json(body, &rid(&ctx)).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let terms = lensguard_store::db::SessionTerms {
        lifetime: time::Duration::try_from(state.session_lifetime).unwrap_or(time::Duration::HOUR),
        idle: None,
        client: ctx.ip.to_string(),
        via: None,
    };
    match sign_in(&state, &ctx, login, &terms).await {
        Ok((session, user)) => (
            StatusCode::CREATED,
            Json(SessionView {
                token: session.token.expose().clone(),
                expires_at: rfc3339(session.expires_at),
                user: UserView::from(&user),
            }),
        )
            .into_response(),
        Err(refused) => refused,
    }
}

/// Checks a login (throttled, audited whichever way it goes) and opens a
/// session on `terms`: the one way in for the API and the console. `Err` is
/// the API's answer (401 "invalid credentials", 429 or 503).
pub async fn sign_in(
    state: &AppState,
    ctx: &RequestCtx,
    login: Login,
    terms: &lensguard_store::db::SessionTerms,
) -> Result<
    (
        lensguard_store::db::IssuedSession,
        lensguard_store::db::User,
    ),
    Response,
> {
    if let Err(wait) = state.logins.check(&login.username, ctx.ip) {
        return Err(too_many_requests(
            "too many login attempts from this address",
            wait,
            &rid(ctx),
        ));
    }
    let now = time::OffsetDateTime::now_utc();
    let checked = state
        .db
        .check_login(
            &login.username,
            Sensitive::new(login.password),
            &login.totp,
            &state.secrets,
            now,
        )
        .await;
    let verified = match checked {
        Ok(Ok(verified)) => verified,
        Ok(Err(refusal)) => {
            let (actor, target) = match refusal.user_id() {
                Some(id) => (format!("user:{id}"), format!("user:{id}")),
                None => (
                    "anonymous".to_owned(),
                    format!(
                        "username:{}",
                        state.secrets.pseudonyms().pseudonym(&login.username)
                    ),
                ),
            };
            let reason = Some(refusal.reason().to_owned());
            record(
                state,
                ctx,
                &actor,
                "auth.login",
                &target,
                Outcome::Failure,
                reason,
            )
            .await?;
            return Err(invalid(ctx, "invalid credentials"));
        }
        Err(_) => return Err(db_unavailable(&rid(ctx))),
    };
    let user = verified.user.clone();
    let actor = format!("user:{}", user.id);
    let login_entry =
        |outcome, reason| record(state, ctx, &actor, "auth.login", &actor, outcome, reason);
    // Audited before the code's step is spent: a login that cannot be
    // recorded changes nothing, and the same code still works.
    let mut how = if terms.idle.is_some() {
        format!("role {}; console", user.role)
    } else {
        format!("role {}", user.role)
    };
    // With single sign-on configured, a password login is the break-glass
    // way in: say so, so the SIEM can alert on it.
    if state.sso.is_some() {
        how.push_str("; local password login while single sign-on is configured (break-glass)");
    }
    login_entry(Outcome::Success, Some(how)).await?;
    match state.db.open_login_session(&verified, terms, now).await {
        Ok(Ok(session)) => Ok((session, user)),
        Ok(Err(refusal)) => {
            // A concurrent login spent the code (or the user was disabled)
            // after this one was recorded as a success: say so too.
            let reason = Some(format!("{}; no session was opened", refusal.reason()));
            login_entry(Outcome::Failure, reason).await?;
            Err(invalid(ctx, "invalid credentials"))
        }
        Err(_) => Err(db_unavailable(&rid(ctx))),
    }
}

/// One of the caller's open sessions.
#[derive(Serialize, JsonSchema)]
pub struct OpenSession {
    /// Public id (the `<id>` of `lgs_<id>_...`).
    pub id: String,
    /// Whether it is the session making this request.
    pub current: bool,
    /// The client it was opened from (address and user agent).
    pub client: String,
    /// The identity provider it was opened through (`null`: password and
    /// TOTP).
    pub provider: Option<String>,
    /// The person's subject at that provider.
    pub subject: Option<String>,
    /// When it was opened (RFC 3339).
    pub created_at: String,
    /// When it was last used (RFC 3339).
    pub last_seen_at: String,
    /// When it ends at the latest (RFC 3339); an idle limit may end it
    /// sooner.
    pub expires_at: String,
    /// Its idle limit in seconds, if any.
    pub idle_seconds: Option<i64>,
}

/// `GET /v1/sessions` answer.
#[derive(Serialize, JsonSchema)]
pub struct OpenSessions {
    /// Newest first.
    pub sessions: Vec<OpenSession>,
}

/// `GET /v1/sessions`: the calling user's open sessions, each with the
/// provider and subject it was opened through. An API key gets 409.
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<Authenticated>,
    Token(token): Token,
) -> Response {
    let ctx = &auth.ctx;
    let token = token.unwrap_or_default();
    let (Some(current), lensguard_core::access::Actor::User(user)) = (
        lensguard_store::db::session_id(&token),
        &auth.granted.principal().actor,
    ) else {
        return error(
            StatusCode::CONFLICT,
            "not_a_session",
            "these credentials are an API key, not a session",
            &rid(ctx),
        );
    };
    let now = time::OffsetDateTime::now_utc();
    match state.db.list_sessions(user, now).await {
        Ok(sessions) => Json(OpenSessions {
            sessions: sessions
                .into_iter()
                .map(|s| OpenSession {
                    current: s.id == current,
                    id: s.id,
                    client: s.client,
                    provider: s.via.as_ref().map(|v| v.provider.clone()),
                    subject: s.via.map(|v| v.subject),
                    created_at: rfc3339(s.created_at),
                    last_seen_at: rfc3339(s.last_seen_at),
                    expires_at: rfc3339(s.expires_at),
                    idle_seconds: s.idle_seconds,
                })
                .collect(),
        })
        .into_response(),
        Err(_) => db_unavailable(&rid(ctx)),
    }
}

/// The bearer token of the request (for logout).
pub struct Token(pub Option<String>);

impl axum::extract::FromRequestParts<AppState> for Token {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Token(bearer(parts).map(str::to_owned)))
    }
}

/// `DELETE /v1/sessions/current`: ends the calling session. API keys are revoked
/// instead (`DELETE /v1/keys/{id}`), so a key calling this gets 409.
pub async fn logout(
    State(state): State<AppState>,
    auth: Auth<Authenticated>,
    Token(token): Token,
) -> Response {
    let ctx = &auth.ctx;
    let token = token.unwrap_or_default();
    if !token.starts_with(SESSION_PREFIX) {
        return error(
            StatusCode::CONFLICT,
            "not_a_session",
            "these credentials are an API key, not a session; revoke keys with DELETE /v1/keys/{id}",
            &rid(ctx),
        );
    }
    let actor = auth.granted.principal().actor.to_string();
    if let Err(r) = record(
        &state,
        ctx,
        &actor,
        "auth.logout",
        &actor,
        Outcome::Success,
        None,
    )
    .await
    {
        return r;
    }
    match state
        .db
        .close_session(&token, time::OffsetDateTime::now_utc())
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(_) => db_unavailable(&rid(ctx)),
    }
}

/// `POST /v1/bootstrap`: creates the first owner with the one-time token.
pub async fn bootstrap(State(state): State<AppState>, ctx: RequestCtx, body: Body) -> Response {
    let req: Bootstrap = match read_json(body, &rid(&ctx)).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(wait) = state.logins.check("\u{0}bootstrap", ctx.ip) {
        return too_many_requests(
            "too many bootstrap attempts from this address",
            wait,
            &rid(&ctx),
        );
    }
    if let Err(e) = lensguard_store::db::check_username(&req.username)
        .and_then(|()| lensguard_store::db::check_password(&req.password))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            e.to_string(),
            &rid(&ctx),
        );
    }
    let now = time::OffsetDateTime::now_utc();
    let valid = match state.db.bootstrap_token_valid(&req.token, now).await {
        Ok(v) => v,
        Err(_) => return db_unavailable(&rid(&ctx)),
    };
    let target = format!("username:{}", state.audit.pseudonym(&req.username));
    let (outcome, reason) = if valid {
        (Outcome::Success, Some("first owner".to_owned()))
    } else {
        (
            Outcome::Failure,
            Some("wrong, expired or spent bootstrap token".to_owned()),
        )
    };
    if let Err(r) = record(
        &state,
        &ctx,
        "anonymous",
        "users.bootstrap",
        &target,
        outcome,
        reason,
    )
    .await
    {
        return r;
    }
    if !valid {
        return invalid(&ctx, "invalid, expired or already used bootstrap token");
    }
    match state
        .db
        .complete_bootstrap(
            &req.token,
            req.username,
            Sensitive::new(req.password),
            &state.secrets,
            now,
        )
        .await
    {
        Ok(Some(enrolment)) => {
            super::super::bootstrap::forget(&state.data_dir);
            (StatusCode::CREATED, Json(Enrolled::from(enrolment))).into_response()
        }
        Ok(None) => invalid(&ctx, "invalid, expired or already used bootstrap token"),
        Err(lensguard_store::Error::Rejected(m)) => {
            error(StatusCode::BAD_REQUEST, "bad_request", m, &rid(&ctx))
        }
        Err(lensguard_store::Error::Conflict(m)) => {
            error(StatusCode::CONFLICT, "conflict", m, &rid(&ctx))
        }
        Err(_) => db_unavailable(&rid(&ctx)),
    }
}
