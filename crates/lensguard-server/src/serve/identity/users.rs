//! `GET /v1/users`, `POST /v1/users`, `PATCH /v1/users/{id}` (role) and
//! `DELETE /v1/users/{id}` (disable), all needing `users:manage`.

use super::super::auth::RequestCtx;
use super::super::auth::{Auth, audit_read};
use super::super::http::{db_unavailable, error, read_json};
use super::super::state::AppState;
use super::sessions::Enrolled;
use super::{Act, beyond, rfc3339, rid};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lensguard_core::Sensitive;
use lensguard_core::access::needs::UsersManage;
use lensguard_core::access::{Principal, Role};
use lensguard_store::audit::Outcome;
use lensguard_store::db::{NewUser, User};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A user (no secrets).
#[derive(Debug, Serialize, JsonSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Disabled users cannot log in.
    pub disabled: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            role: u.role,
            created_at: rfc3339(u.created_at),
            disabled: u.disabled_at.is_some(),
        }
    }
}

/// `POST /v1/users` body.
// No `Debug`: it holds a password or token, which must never be printed.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name: 1-64 of `a-z 0-9 . _ - @`.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Initial password, at least 12 characters.
    pub password: String,
    /// Only these devices' inspections and evidence (ids or `prefix*`);
    /// absent: every device the caller may read. A caller with a device
    /// scope must give one within it.
    pub devices: Option<Vec<String>>,
}

/// `PATCH /v1/users/{id}` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeUser {
    /// The new role.
    pub role: Role,
}

/// Why `principal` may not give or take away `role`, if it may not.
fn may_not_assign(principal: &Principal, role: Role) -> Option<String> {
    if role == Role::Owner && principal.role != Some(Role::Owner) {
        return Some("only an owner's session can give or take away the owner role".to_owned());
    }
    let missing = beyond(principal, role.scopes());
    (!missing.is_empty()).then(|| {
        format!(
            "the role {role} holds scopes these credentials lack: {}",
            missing.join(", ")
        )
    })
}

/// `GET /v1/users`.
pub async fn list(State(state): State<AppState>, auth: Auth<UsersManage>) -> Response {
    if let Err(refused) = audit_read(&state, &auth, "users.list", "users".into(), None).await {
        return refused;
    }
    match state.db.list_users().await {
        Ok(users) => Json(users.iter().map(UserView::from).collect::<Vec<_>>()).into_response(),
        Err(_) => db_unavailable(&rid(&auth.ctx)),
    }
}

/// `POST /v1/users`: returns the user and their TOTP secret (shown once).
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<UsersManage>,
    body: Body,
) -> Response {
    let ctx = &auth.ctx;
    let req: CreateUser = match read_json(body, &rid(ctx)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "users.create",
        target: format!("username:{}", state.audit.pseudonym(&req.username)),
    };
    if let Some(why) = may_not_assign(act.principal, req.role) {
        return act.refuse(StatusCode::FORBIDDEN, why).await;
    }
    if let Err(e) = lensguard_store::db::check_username(&req.username)
        .and_then(|()| lensguard_store::db::check_password(&req.password))
    {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            e.to_string(),
            &rid(ctx),
        );
    }
    match state.db.find_user(&req.username).await {
        Ok(Some(_)) => {
            let why = "a user with that name already exists".to_owned();
            return act.refuse(StatusCode::CONFLICT, why).await;
        }
        Ok(None) => {}
        Err(_) => return db_unavailable(&rid(ctx)),
    }
    let devices = match act.device_scope(req.devices.as_deref()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let reason = Some(format!(
        "role {}{}",
        req.role,
        state.audit.devices_note(devices.as_ref())
    ));
    if let Err(r) = act.audit(Outcome::Success, reason).await {
        return r;
    }
    let new = NewUser {
        username: req.username,
        role: req.role,
        password: Sensitive::new(req.password),
        devices,
    };
    let now = time::OffsetDateTime::now_utc();
    match state.db.create_user(new, &state.secrets, now).await {
        Ok(e) => (StatusCode::CREATED, Json(Enrolled::from(e))).into_response(),
        Err(lensguard_store::Error::Conflict(m)) => {
            error(StatusCode::CONFLICT, "conflict", m, &rid(ctx))
        }
        Err(lensguard_store::Error::Rejected(m)) => {
            error(StatusCode::BAD_REQUEST, "bad_request", m, &rid(ctx))
        }
        Err(_) => db_unavailable(&rid(ctx)),
    }
}

/// Loads an active user, or the answer to give when there is none.
async fn active_user(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<User, Response> {
    match state.db.get_user(id).await {
        Ok(Some(u)) if u.disabled_at.is_none() => Ok(u),
        Ok(_) => Err(error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such active user",
            &rid(ctx),
        )),
        Err(_) => Err(db_unavailable(&rid(ctx))),
    }
}

/// Refuses (409, audited) to leave the installation without an active owner.
async fn keep_an_owner(act: &Act<'_>, user: &User, why: &str) -> Result<(), Response> {
    if user.role != Role::Owner {
        return Ok(());
    }
    match act.state.db.active_owners().await {
        Ok(n) if n > 1 => Ok(()),
        Ok(_) => Err(act.refuse(StatusCode::CONFLICT, why.to_owned()).await),
        Err(_) => Err(db_unavailable(&rid(act.ctx))),
    }
}

/// `PATCH /v1/users/{id}`: changes the role.
pub async fn change(
    State(state): State<AppState>,
    auth: Auth<UsersManage>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let ctx = &auth.ctx;
    let req: ChangeUser = match read_json(body, &rid(ctx)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let user = match active_user(&state, ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "users.role",
        target: format!("user:{id}"),
    };
    if let Some(why) =
        may_not_assign(act.principal, user.role).or_else(|| may_not_assign(act.principal, req.role))
    {
        return act.refuse(StatusCode::FORBIDDEN, why).await;
    }
    if req.role != Role::Owner {
        let why = "the last owner cannot stop being an owner";
        if let Err(r) = keep_an_owner(&act, &user, why).await {
            return r;
        }
    }
    let reason = Some(format!("{} -> {}", user.role, req.role));
    if let Err(r) = act.audit(Outcome::Success, reason).await {
        return r;
    }
    let done = Json(UserView::from(&User {
        role: req.role,
        ..user
    }))
    .into_response();
    act.applied(
        state
            .db
            .set_role(&id, req.role, time::OffsetDateTime::now_utc())
            .await,
        done,
        "no such active user",
    )
}

/// `DELETE /v1/users/{id}`: disables the user and ends their sessions.
pub async fn disable(
    State(state): State<AppState>,
    auth: Auth<UsersManage>,
    Path(id): Path<String>,
) -> Response {
    let ctx = &auth.ctx;
    let user = match active_user(&state, ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "users.disable",
        target: format!("user:{id}"),
    };
    if let Some(why) = may_not_assign(act.principal, user.role) {
        return act.refuse(StatusCode::FORBIDDEN, why).await;
    }
    if let Err(r) = keep_an_owner(&act, &user, "the last owner cannot be disabled").await {
        return r;
    }
    if let Err(r) = act.audit(Outcome::Success, None).await {
        return r;
    }
    let now = time::OffsetDateTime::now_utc();
    let done = StatusCode::NO_CONTENT.into_response();
    act.applied(
        state.db.disable_user(&id, now).await,
        done,
        "no such active user",
    )
}

/// `POST /v1/users/{id}/totp`: a new TOTP secret for the user (shown once,
/// as at creation); the old one stops working and their sessions end. For
/// a lost or exposed authenticator. Held to the no-escalation rule.
pub async fn reset_totp(
    State(state): State<AppState>,
    auth: Auth<UsersManage>,
    Path(id): Path<String>,
) -> Response {
    let ctx = &auth.ctx;
    let user = match active_user(&state, ctx, &id).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "users.totp_reset",
        target: format!("user:{id}"),
    };
    if let Some(why) = may_not_assign(act.principal, user.role) {
        return act.refuse(StatusCode::FORBIDDEN, why).await;
    }
    if let Err(r) = act.audit(Outcome::Success, None).await {
        return r;
    }
    let now = time::OffsetDateTime::now_utc();
    match state.db.reset_totp(&id, &state.secrets, now).await {
        Ok(Some(enrolment)) => Json(Enrolled::from(enrolment)).into_response(),
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such active user",
            &rid(ctx),
        ),
        Err(_) => db_unavailable(&rid(ctx)),
    }
}
