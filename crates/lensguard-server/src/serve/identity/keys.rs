//! `GET /v1/keys`, `POST /v1/keys`, `POST /v1/keys/{id}/rotate` and
//! `DELETE /v1/keys/{id}` (revoke), all needing `keys:manage`, and only for keys
//! whose scopes the caller holds itself. A key that creates a key also hands
//! out no more than its own networks and lifetime: the new key's networks lie
//! within the creator's, and it expires no later than the creator.

use super::super::auth::{Auth, audit_read};
use super::super::http::{db_unavailable, error, read_json};
use super::super::state::AppState;
use super::{Act, beyond, rfc3339, rid};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::KeysManage;
use lensguard_core::access::{Actor, Scope};
use lensguard_store::audit::Outcome;
use lensguard_store::db::{ApiKey, NewKey};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An API key (no secret).
#[derive(Debug, Serialize, JsonSchema)]
pub struct KeyView {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Client networks it may be used from (empty: any).
    pub allowed_cidrs: Vec<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Expiry (RFC 3339), if any.
    pub expires_at: Option<String>,
    /// Until when the previous secret still works after a rotation.
    pub previous_valid_until: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    /// The user it belongs to, by id (`null`: made on the data directory);
    /// disabling that user stops the key.
    pub owner: Option<String>,
    /// The devices (ids or `prefix*`) whose inspections and evidence it may
    /// read; `null`: every device.
    pub devices: Option<Vec<String>>,
}

impl From<&ApiKey> for KeyView {
    fn from(k: &ApiKey) -> Self {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            scopes: k.scopes.clone(),
            allowed_cidrs: k.allowed_cidrs.iter().map(ToString::to_string).collect(),
            created_at: rfc3339(k.created_at),
            expires_at: k.expires_at.map(rfc3339),
            previous_valid_until: k.previous_valid_until.filter(|&t| t > now).map(rfc3339),
            owner: k.owner.clone(),
            devices: k.devices.as_ref().map(|d| d.patterns().to_vec()),
            state: if k.revoked_at.is_some() {
                "revoked"
            } else if k.expires_at.is_some_and(|e| e <= now) {
                "expired"
            } else {
                "active"
            },
        }
    }
}

/// A key with its secret: the only time the secret is shown.
// No `Debug`: it holds a secret shown once.
#[derive(Serialize, JsonSchema)]
pub struct IssuedKeyView {
    /// The key.
    pub key: KeyView,
    /// `lg_<id>_<secret>`: send as `Authorization: Bearer`. Shown once.
    pub token: String,
}

/// `POST /v1/keys` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name for people.
    pub name: String,
    /// Scopes (at least one; only scopes the caller holds).
    pub scopes: Vec<Scope>,
    /// Client networks (CIDR) it may be used from; empty or absent: any.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
    /// Days until it stops working; absent: never.
    pub expires_in_days: Option<u32>,
    /// Only these devices' inspections and evidence (ids or `prefix*`, such
    /// as `van-*`); absent: every device the caller may read. A caller with a
    /// device scope must give one within it.
    pub devices: Option<Vec<String>>,
}

/// `POST /v1/keys/{id}/rotate` body (optional).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// Hours the old secret keeps working; default from the configuration (24).
    pub overlap_hours: Option<u32>,
}

/// `GET /v1/keys`.
pub async fn list(State(state): State<AppState>, auth: Auth<KeysManage>) -> Response {
    if let Err(refused) = audit_read(&state, &auth, "keys.list", "keys".into(), None).await {
        return refused;
    }
    match state.db.list_keys().await {
        Ok(keys) => Json(keys.iter().map(KeyView::from).collect::<Vec<_>>()).into_response(),
        Err(_) => db_unavailable(&rid(&auth.ctx)),
    }
}

fn bad(auth: &Auth<KeysManage>, message: String) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        message,
        &rid(&auth.ctx),
    )
}

/// `POST /v1/keys`.
pub async fn create(State(state): State<AppState>, auth: Auth<KeysManage>, body: Body) -> Response {
    let ctx = &auth.ctx;
    let req: CreateKey = match read_json(body, &rid(ctx)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "keys.create",
        target: format!("name:{}", req.name.trim()),
    };
    let missing = beyond(act.principal, &req.scopes);
    if !missing.is_empty() {
        let why = format!("these credentials cannot grant {}", missing.join(", "));
        return act.refuse(StatusCode::FORBIDDEN, why).await;
    }
    if req.scopes.is_empty()
        || req.name.trim().is_empty()
        || req.name.len() > 200
        || lensguard_core::text::has_control(&req.name)
    {
        return bad(
            &auth,
            "a key needs a name (up to 200 bytes, no control characters) and at least one scope"
                .into(),
        );
    }
    let mut allowed_cidrs = Vec::new();
    for c in &req.allowed_cidrs {
        match c.parse() {
            Ok(net) => allowed_cidrs.push(net),
            Err(_) => return bad(&auth, format!("{c:?} is not a network such as 10.0.0.0/8")),
        }
    }
    let devices = match act.device_scope(req.devices.as_deref()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let now = time::OffsetDateTime::now_utc();
    if req.expires_in_days.is_some_and(|d| d == 0 || d > 3650) {
        return bad(&auth, "expires_in_days must be 1 to 3650".into());
    }
    let mut new = NewKey {
        name: req.name,
        scopes: req.scopes,
        allowed_cidrs,
        expires_at: req
            .expires_in_days
            .map(|d| now + time::Duration::days(i64::from(d))),
        owner: None,
        devices,
    };
    // A key belongs to the user who made it, or to its creating key's owner:
    // disabling that user stops it.
    match &act.principal.actor {
        Actor::User(user) => new.owner = Some(user.clone()),
        // A key creating a key hands out no network or lifetime it lacks itself.
        Actor::Key(creator) => {
            let creator = match state.db.get_key(creator).await {
                Ok(Some(k)) => k,
                _ => return db_unavailable(&rid(ctx)),
            };
            let expires = new.expires_at.map(time::OffsetDateTime::unix_timestamp);
            if let Some(why) = beyond_creator(&creator, &new.allowed_cidrs, expires) {
                return act.refuse(StatusCode::FORBIDDEN, why).await;
            }
            new.owner = creator.owner;
        }
    }
    let scopes: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
    let reason = Some(format!(
        "scopes {}{}",
        scopes.join(" "),
        state.audit.devices_note(new.devices.as_ref())
    ));
    if let Err(r) = act.audit(Outcome::Success, reason).await {
        return r;
    }
    let issued = match state.db.create_key(&new, now).await {
        Ok(i) => i,
        Err(e) => {
            // The success above is already recorded: record that the key
            // does not exist after all (if the log can still take it).
            let why = format!("the key was not stored ({e}); it does not exist");
            let _ = act.audit(Outcome::Failure, Some(why)).await;
            return db_unavailable(&rid(ctx));
        }
    };
    issued_answer(&state, &auth, &issued, StatusCode::CREATED).await
}

/// What a new key with `networks` (empty: any) and expiry `expires_at` would
/// hold beyond the key `creator` that makes it: a network outside the
/// creator's, or a lifetime past the creator's expiry.
fn beyond_creator(
    creator: &ApiKey,
    networks: &[ipnet::IpNet],
    expires_at: Option<i64>,
) -> Option<String> {
    let own: Vec<String> = creator
        .allowed_cidrs
        .iter()
        .map(ToString::to_string)
        .collect();
    if !creator.allowed_cidrs.is_empty() {
        if networks.is_empty() {
            return Some(format!(
                "these credentials are limited to {}; a new key must be too (allowed_cidrs)",
                own.join(", ")
            ));
        }
        if let Some(wider) = networks
            .iter()
            .find(|n| !creator.allowed_cidrs.iter().any(|c| c.contains(*n)))
        {
            return Some(format!(
                "{wider} is outside the networks of these credentials ({})",
                own.join(", ")
            ));
        }
    }
    let limit = creator.expires_at?;
    match expires_at {
        Some(e) if e <= limit => None,
        _ => Some(format!(
            "these credentials expire at {}; a new key may not outlive them (expires_in_days)",
            rfc3339(limit)
        )),
    }
}

async fn issued_answer(
    state: &AppState,
    auth: &Auth<KeysManage>,
    issued: &lensguard_store::db::IssuedKey,
    status: StatusCode,
) -> Response {
    match state.db.get_key(&issued.id).await {
        Ok(Some(key)) => (
            status,
            Json(IssuedKeyView {
                key: KeyView::from(&key),
                token: issued.token.expose().clone(),
            }),
        )
            .into_response(),
        _ => db_unavailable(&rid(&auth.ctx)),
    }
}

/// Loads the active key `id` if the caller holds all its scopes; otherwise the
/// answer to give (404, or 403 audited as `act`).
async fn managed_key(act: &Act<'_>, id: &str) -> Result<ApiKey, Response> {
    let key = match act.state.db.get_key(id).await {
        Ok(Some(k)) if k.revoked_at.is_none() => k,
        Ok(_) => {
            return Err(error(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such active key",
                &rid(act.ctx),
            ));
        }
        Err(_) => return Err(db_unavailable(&rid(act.ctx))),
    };
    let missing = beyond(act.principal, &key.scopes);
    if missing.is_empty() {
        return Ok(key);
    }
    let why = format!(
        "the key holds scopes these credentials lack: {}",
        missing.join(", ")
    );
    Err(act.refuse(StatusCode::FORBIDDEN, why).await)
}

/// `POST /v1/keys/{id}/rotate`: a new secret; the old one keeps working for the
/// overlap window.
pub async fn rotate(
    State(state): State<AppState>,
    auth: Auth<KeysManage>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let ctx = &auth.ctx;
    let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) => b,
        Err(_) => return bad(&auth, "the body could not be read".into()),
    };
    let req: RotateKey = if bytes.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        match read_json(Body::from(bytes), &rid(ctx)).await {
            Ok(r) => r,
            Err(r) => return r,
        }
    };
    let default_hours = u32::try_from(state.key_rotation_overlap.as_secs() / 3600).unwrap_or(24);
    let hours = req.overlap_hours.unwrap_or(default_hours);
    if hours > 720 {
        return bad(&auth, "overlap_hours must be 0 to 720".into());
    }
    let act = Act {
        state: &state,
        ctx,
        principal: auth.granted.principal(),
        action: "keys.rotate",
        target: format!("key:{id}"),
    };
    if let Err(r) = managed_key(&act, &id).await {
        return r;
    }
    if let Err(r) = act
        .audit(Outcome::Success, Some(format!("overlap {hours} h")))
        .await
    {
        return r;
    }
    let now = time::OffsetDateTime::now_utc();
    let overlap = time::Duration::hours(i64::from(hours));
    match state.db.rotate_key(&id, overlap, now).await {
        Ok(Some(issued)) => issued_answer(&state, &auth, &issued, StatusCode::OK).await,
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such active key",
            &rid(ctx),
        ),
        Err(_) => db_unavailable(&rid(ctx)),
    }
}

/// `DELETE /v1/keys/{id}`: revokes the key (current and previous secrets) at once.
pub async fn revoke(
    State(state): State<AppState>,
    auth: Auth<KeysManage>,
    Path(id): Path<String>,
) -> Response {
    let act = Act {
        state: &state,
        ctx: &auth.ctx,
        principal: auth.granted.principal(),
        action: "keys.revoke",
        target: format!("key:{id}"),
    };
    if let Err(r) = managed_key(&act, &id).await {
        return r;
    }
    if let Err(r) = act.audit(Outcome::Success, None).await {
        return r;
    }
    let now = time::OffsetDateTime::now_utc();
    let done = StatusCode::NO_CONTENT.into_response();
    act.applied(
        state.db.revoke_key(&id, now).await,
        done,
        "no such active key",
    )
}
