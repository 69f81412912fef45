//! API keys (`keys:manage`): the list, creating a key (scopes, networks,
//! expiry, devices), rotating with an overlap, revoking; a token is shown
//! once. Every change goes through the API's own handler
//! ([`super::super::identity::keys`]): a caller hands out only what it holds.

use super::super::identity::keys as api;
use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::Scope;
use lensguard_core::access::needs::KeysManage;

/// One key as the page shows it.
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub cidrs: String,
    pub created: String,
    pub expires: String,
    pub overlap_until: String,
    pub state: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    chrome: Chrome,
    keys: Vec<KeyRow>,
    scopes: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "console/token.html")]
struct TokenPage {
    chrome: Chrome,
    name: String,
    token: String,
}

fn text(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned()
}

fn joined(v: &serde_json::Value, k: &str) -> String {
    v.get(k)
        .and_then(|x| x.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `GET /console/keys` (the API's list: one audited read).
pub async fn list(State(state): State<AppState>, page: Page<KeysManage>) -> Response {
    let chrome = page.chrome.clone();
    let answer = api::list(State(state), page.auth).await;
    let json = match render::api_outcome(&chrome, "Keys", answer).await {
        Ok(j) => j,
        Err(page) => return page,
    };
    let keys = json
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| KeyRow {
            id: text(k, "id"),
            name: text(k, "name"),
            scopes: joined(k, "scopes"),
            cidrs: joined(k, "allowed_cidrs"),
            created: text(k, "created_at"),
            expires: text(k, "expires_at"),
            overlap_until: text(k, "previous_valid_until"),
            state: text(k, "state"),
        })
        .collect();
    render::ok(&KeysPage {
        chrome,
        keys,
        scopes: Scope::ALL.iter().map(|s| s.as_str()).collect(),
    })
}

/// A token shown once, from an API answer holding `key` and `token`.
fn issued(chrome: Chrome, json: &serde_json::Value) -> Response {
    render::page(
        StatusCode::CREATED,
        &TokenPage {
            chrome,
            name: json
                .pointer("/key/name")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
            token: text(json, "token"),
        },
    )
}

/// The fields of a urlencoded form, repeated names kept (the scope
/// checkboxes).
fn fields(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn field<'a>(all: &'a [(String, String)], name: &str) -> &'a str {
    all.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `POST /console/keys`.
pub async fn create(
    State(state): State<AppState>,
    page: Page<KeysManage>,
    RawForm(raw): RawForm,
) -> Response {
    let all = fields(&raw);
    if let Err(refused) = page.check_form(&state, field(&all, "csrf")).await {
        return refused;
    }
    let chrome = page.chrome.clone();
    let scopes: Vec<&str> = all
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let cidrs: Vec<&str> = field(&all, "allowed_cidrs")
        .split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let days = field(&all, "expires_in_days").trim();
    let mut body = serde_json::json!({
        "name": field(&all, "name").trim(),
        "scopes": scopes,
        "allowed_cidrs": cidrs,
        "devices": super::users::device_list(field(&all, "devices")),
    });
    if !days.is_empty() {
        match days.parse::<u32>() {
            Ok(d) => body["expires_in_days"] = d.into(),
            Err(_) => {
                return render::error_page(
                    &chrome,
                    StatusCode::BAD_REQUEST,
                    "Key not created",
                    "Expiry must be a whole number of days.",
                );
            }
        }
    }
    let answer = api::create(State(state), page.auth, Body::from(body.to_string())).await;
    match render::api_outcome(&chrome, "Key not created", answer).await {
        Ok(json) => issued(chrome, &json),
        Err(page) => page,
    }
}

/// `POST /console/keys/{id}/rotate`: a new token; the old one works for
/// the overlap.
pub async fn rotate(
    State(state): State<AppState>,
    page: Page<KeysManage>,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let all = fields(&raw);
    if let Err(refused) = page.check_form(&state, field(&all, "csrf")).await {
        return refused;
    }
    let chrome = page.chrome.clone();
    let hours = field(&all, "overlap_hours").trim();
    let body = match hours.parse::<u32>() {
        Ok(h) => serde_json::json!({"overlap_hours": h}),
        Err(_) if hours.is_empty() => serde_json::json!({}),
        Err(_) => {
            return render::error_page(
                &chrome,
                StatusCode::BAD_REQUEST,
                "Key not rotated",
                "The overlap must be a whole number of hours.",
            );
        }
    };
    let answer = api::rotate(
        State(state),
        page.auth,
        Path(id),
        Body::from(body.to_string()),
    )
    .await;
    match render::api_outcome(&chrome, "Key not rotated", answer).await {
        Ok(json) => issued(chrome, &json),
        Err(page) => page,
    }
}

/// `POST /console/keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    page: Page<KeysManage>,
    Path(id): Path<String>,
    RawForm(raw): RawForm,
) -> Response {
    let all = fields(&raw);
    let acted = page.act(&state, field(&all, "csrf"), |auth| {
        api::revoke(State(state.clone()), auth, Path(id))
    });
    render::after(acted.await, "Key not revoked", "/console/keys").await
}
