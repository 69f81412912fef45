//! The hub's users (`users:manage`): the list, creating a user (their TOTP
//! secret and QR code shown once), changing a role, resetting a second
//! factor, disabling. The edge's rules: nobody gives a role wider than
//! their own, the last active owner stays one, and every change is recorded
//! before it is made.

use super::super::api::Hub;
use super::page::{HubPage, unavailable};
use crate::web::enrolment::{EnrolledPage, qr_svg};
use crate::web::frame::{self, when};
use crate::web::users::{UserRow, UsersPage};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_core::access::needs::UsersManage;
use lensguard_store::audit::Outcome;
use lensguard_store::db::{NewUser, TotpEnrolment, User};
use serde::Deserialize;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `GET /console/users`: one audited read.
pub async fn list(State(hub): State<Hub>, page: HubPage<UsersManage>) -> Response {
    let Ok(all) = hub.db.users().await else {
        return unavailable(&page.chrome);
    };
    let e = page
        .event("users.list")
        .outcome(Outcome::Success, Some(format!("{} users", all.len())));
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    let users = all
        .into_iter()
        .map(|u| UserRow {
            id: u.id,
            username: u.username,
            role: u.role.to_string(),
            created: when(u.created_at),
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    frame::ok(&UsersPage {
        chrome: page.chrome,
        users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        devices: false,
    })
}

/// A "Not done" page saying `why` with `status`, after recording the
/// refusal under `action`.
async fn refuse(
    hub: &Hub,
    page: &HubPage<UsersManage>,
    action: &str,
    target: String,
    status: StatusCode,
    why: &str,
) -> Response {
    let e = page
        .event(action)
        .target(target)
        .outcome(Outcome::Denied, Some(why.to_owned()));
    if let Err(answer) = page.record(hub, e).await {
        return answer;
    }
    frame::error_page(&page.chrome, status, "Not done", why)
}

/// Whether the caller may give `role`: only roles within their own.
fn may_give(page: &HubPage<UsersManage>, role: Role) -> bool {
    let mine = &page.granted.principal().scopes;
    role.scopes().iter().all(|s| mine.contains(s))
}

fn enrolled(page: HubPage<UsersManage>, e: &TotpEnrolment) -> Response {
    frame::ok(&EnrolledPage {
        chrome: page.chrome,
        username: &e.user.username,
        secret: e.secret_base32.expose(),
        qr_svg: qr_svg(e.otpauth_uri.expose()),
        next: "/console/users",
    })
}

/// The new-user form.
// No `Debug`: it holds a password.
#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/users`.
pub async fn create(
    State(hub): State<Hub>,
    page: HubPage<UsersManage>,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Err(refused) = page.check_form(&hub, &form.csrf).await {
        return refused;
    }
    let username = form.username.trim().to_owned();
    let target = format!(
        "username:{}",
        hub.console.identity.audit.pseudonym(&username)
    );
    let Ok(role) = form.role.parse::<Role>() else {
        return frame::error_page(
            &page.chrome,
            StatusCode::BAD_REQUEST,
            "Not done",
            "Choose a role.",
        );
    };
    if !may_give(&page, role) {
        let why = format!("you may not give the role {role}, which is wider than yours");
        return refuse(
            &hub,
            &page,
            "users.create",
            target,
            StatusCode::FORBIDDEN,
            &why,
        )
        .await;
    }
    if let Err(e) = lensguard_store::db::check_username(&username)
        .and_then(|()| lensguard_store::db::check_password(&form.password))
    {
        return frame::error_page(
            &page.chrome,
            StatusCode::BAD_REQUEST,
            "Not done",
            &e.to_string(),
        );
    }
    match hub.db.users().await {
        Ok(all) if all.iter().any(|u| u.username == username) => {
            let why = format!("a hub user named {username} already exists");
            return frame::error_page(&page.chrome, StatusCode::CONFLICT, "Not done", &why);
        }
        Ok(_) => {}
        Err(_) => return unavailable(&page.chrome),
    }
    let e = page
        .event("users.create")
        .target(target)
        .outcome(Outcome::Success, Some(format!("role {role}")));
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    let new = NewUser {
        username,
        role,
        password: Sensitive::new(form.password),
        devices: None,
    };
    match hub
        .db
        .create_user(new, &hub.console.identity.secrets, now())
        .await
    {
        Ok(made) => enrolled(page, &made),
        Err(lensguard_store::Error::Conflict(why)) => {
            frame::error_page(&page.chrome, StatusCode::CONFLICT, "Not done", &why)
        }
        Err(_) => unavailable(&page.chrome),
    }
}

/// A form that carries only its token, or a role.
#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// The active user `id` and the audit target, or the answer.
async fn target_user(
    hub: &Hub,
    page: &HubPage<UsersManage>,
    action: &str,
    id: &str,
) -> Result<User, Response> {
    match hub.db.user(id).await {
        Ok(Some(u)) if u.disabled_at.is_none() => Ok(u),
        Ok(_) => Err(refuse(
            hub,
            page,
            action,
            format!("user:{id}"),
            StatusCode::NOT_FOUND,
            "there is no active user with that id",
        )
        .await),
        Err(_) => Err(unavailable(&page.chrome)),
    }
}

/// Refuses a change that would leave no active owner, or touch a role wider
/// than the caller's.
async fn guard(
    hub: &Hub,
    page: &HubPage<UsersManage>,
    action: &str,
    user: &User,
    leaves_owner: bool,
) -> Result<(), Response> {
    let target = format!("user:{}", user.id);
    if !may_give(page, user.role) {
        let why = format!("{} holds a role wider than yours", user.username);
        return Err(refuse(hub, page, action, target, StatusCode::FORBIDDEN, &why).await);
    }
    if user.role == Role::Owner && leaves_owner {
        match hub.db.active_owners().await {
            Ok(n) if n > 1 => {}
            Ok(_) => {
                let why = "the last owner must stay an active owner";
                return Err(refuse(hub, page, action, target, StatusCode::CONFLICT, why).await);
            }
            Err(_) => return Err(unavailable(&page.chrome)),
        }
    }
    Ok(())
}

/// What a change to a user does besides its own work.
struct Change {
    /// Whether it leaves the user without the owner role.
    leaves_owner: bool,
    /// The role it gives, if any (never wider than the caller's).
    gives: Option<Role>,
}

/// What every change to user `id` passes first: the form's checks, an
/// active user, the caller's rights over them and over the role given (and
/// the last owner kept), then the audit entry of `action` with `why`. `Ok`
/// is the user, to change now.
async fn changing(
    hub: &Hub,
    page: &HubPage<UsersManage>,
    csrf: &str,
    (action, id): (&str, &str),
    change: Change,
    why: impl FnOnce(&User) -> Option<String>,
) -> Result<User, Response> {
    page.check_form(hub, csrf).await?;
    let user = target_user(hub, page, action, id).await?;
    guard(hub, page, action, &user, change.leaves_owner).await?;
    if let Some(role) = change.gives.filter(|r| !may_give(page, *r)) {
        let why = format!("you may not give the role {role}, which is wider than yours");
        let target = format!("user:{id}");
        return Err(refuse(hub, page, action, target, StatusCode::FORBIDDEN, &why).await);
    }
    let e = page
        .event(action)
        .target(format!("user:{id}"))
        .outcome(Outcome::Success, why(&user));
    page.record(hub, e).await?;
    Ok(user)
}

/// `POST /console/users/{id}/role`.
pub async fn set_role(
    State(hub): State<Hub>,
    page: HubPage<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let Ok(role) = form.role.parse::<Role>() else {
        return frame::error_page(
            &page.chrome,
            StatusCode::BAD_REQUEST,
            "Not done",
            "Choose a role.",
        );
    };
    let why = |u: &User| Some(format!("{} to {role}", u.role));
    let action = ("users.set_role", id.as_str());
    let change = Change {
        leaves_owner: role != Role::Owner,
        gives: Some(role),
    };
    if let Err(answer) = changing(&hub, &page, &form.csrf, action, change, why).await {
        return answer;
    }
    match hub.db.set_user_role(&id, role, now()).await {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(_) => unavailable(&page.chrome),
    }
}

/// `POST /console/users/{id}/totp`: a new second factor, shown once; the
/// user's sessions end.
pub async fn reset_totp(
    State(hub): State<Hub>,
    page: HubPage<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let action = ("users.reset_totp", id.as_str());
    let change = Change {
        leaves_owner: false,
        gives: None,
    };
    if let Err(answer) = changing(&hub, &page, &form.csrf, action, change, |_| None).await {
        return answer;
    }
    match hub
        .db
        .reset_user_totp(&id, &hub.console.identity.secrets, now())
        .await
    {
        Ok(Some(made)) => enrolled(page, &made),
        Ok(None) => frame::error_page(
            &page.chrome,
            StatusCode::NOT_FOUND,
            "Not done",
            "The user was disabled meanwhile.",
        ),
        Err(_) => unavailable(&page.chrome),
    }
}

/// `POST /console/users/{id}/disable`: their sessions end at once.
pub async fn disable(
    State(hub): State<Hub>,
    page: HubPage<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> Response {
    let action = ("users.disable", id.as_str());
    let change = Change {
        leaves_owner: true,
        gives: None,
    };
    if let Err(answer) = changing(&hub, &page, &form.csrf, action, change, |_| None).await {
        return answer;
    }
    match hub.db.disable_user(&id, now()).await {
        Ok(_) => Redirect::to("/console/users").into_response(),
        Err(_) => unavailable(&page.chrome),
    }
}
