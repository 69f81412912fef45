//! Users (`users:manage`): the list, creating a user (their TOTP secret and
//! QR code shown once), changing a role, resetting a second factor,
//! disabling. Every change goes through the API's own handler
//! ([`super::super::identity::users`]): no escalation, the last owner kept,
//! audit first.

use super::super::identity::users as api;
use super::super::state::AppState;
use super::page::{Page, TokenForm};
use super::render::{self, Chrome};
use super::sign_in::{EnrolledPage, qr_svg};
use crate::web::users::{UserRow, UsersPage};
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::Role;
use lensguard_core::access::needs::UsersManage;
use serde::Deserialize;

fn text(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned()
}

/// `GET /console/users` (the API's list: one audited read).
pub async fn list(State(state): State<AppState>, page: Page<UsersManage>) -> Response {
    let chrome = page.chrome.clone();
    let answer = api::list(State(state), page.auth).await;
    let json = match render::api_outcome(&chrome, "Users", answer).await {
        Ok(j) => j,
        Err(page) => return page,
    };
    let users = json
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| UserRow {
            id: text(u, "id"),
            username: text(u, "username"),
            role: text(u, "role"),
            created: text(u, "created_at"),
            disabled: u.get("disabled").and_then(|d| d.as_bool()).unwrap_or(false),
        })
        .collect();
    render::ok(&UsersPage {
        chrome,
        users,
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        devices: true,
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
    devices: String,
    #[serde(default)]
    csrf: String,
}

/// Device patterns from a form field (`van-1, van-2*`); `None` when empty.
pub fn device_list(field: &str) -> Option<Vec<String>> {
    let list: Vec<String> = field
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// A TOTP secret shown once, from an API answer holding `user` and `totp`.
fn enrolled(chrome: Chrome, json: &serde_json::Value) -> Response {
    let pointer = |p: &str| {
        json.pointer(p)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (username, secret, uri) = (
        pointer("/user/username"),
        pointer("/totp/secret"),
        pointer("/totp/otpauth_uri"),
    );
    render::page(
        StatusCode::CREATED,
        &EnrolledPage {
            chrome,
            username: &username,
            secret: &secret,
            qr_svg: qr_svg(&uri),
            next: "/console/users",
        },
    )
}

/// A change that answers a user and their new TOTP secret: shown once.
async fn shown_once(acted: Result<(Chrome, Response), Response>, title: &str) -> Response {
    let (chrome, answer) = match acted {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    match render::api_outcome(&chrome, title, answer).await {
        Ok(json) => enrolled(chrome, &json),
        Err(page) => page,
    }
}

/// `POST /console/users`.
pub async fn create(
    State(state): State<AppState>,
    page: Page<UsersManage>,
    Form(form): Form<CreateForm>,
) -> Response {
    let body = serde_json::json!({
        "username": form.username.trim(),
        "role": form.role,
        "password": form.password,
        "devices": device_list(&form.devices),
    });
    let acted = page.act(&state, &form.csrf, |auth| {
        api::create(State(state.clone()), auth, Body::from(body.to_string()))
    });
    shown_once(acted.await, "User not created").await
}

/// The role form.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/users/{id}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    page: Page<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let body = serde_json::json!({"role": form.role}).to_string();
    let acted = page.act(&state, &form.csrf, |auth| {
        api::change(State(state.clone()), auth, Path(id), Body::from(body))
    });
    render::after(acted.await, "Role not changed", "/console/users").await
}

/// `POST /console/users/{id}/totp`: the new secret, shown once.
pub async fn reset_totp(
    State(state): State<AppState>,
    page: Page<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let acted = page.act(&state, &form.csrf, |auth| {
        api::reset_totp(State(state.clone()), auth, Path(id))
    });
    shown_once(acted.await, "Second factor not reset").await
}

/// `POST /console/users/{id}/disable`.
pub async fn disable(
    State(state): State<AppState>,
    page: Page<UsersManage>,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let acted = page.act(&state, &form.csrf, |auth| {
        api::disable(State(state.clone()), auth, Path(id))
    });
    render::after(acted.await, "User not disabled", "/console/users").await
}
