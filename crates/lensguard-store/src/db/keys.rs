//! API keys: named scopes, an optional CIDR allowlist and expiry, rotation with an
//! overlap window, and revocation.
//!
//! A key is shown once as `lg_<id>_<secret>`: `id` is 12 hex digits (public, used
//! in logs and URLs), `secret` is 32 random bytes in base64url. Only
//! SHA-256(secret) is stored (secrets are random, so a slow password hash adds
//! nothing), and comparison is constant-time. Rotating keeps the previous secret
//! valid until `previous_valid_until`; revoking ends both at once.

use super::{Db, unix};
use crate::Error;
use crate::secrets::random_bytes;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;
use lensguard_core::Sensitive;
use lensguard_core::access::{Actor, Principal, Scope};
use lensguard_core::devices::DeviceScope;
use sqlx::Row;
use std::net::IpAddr;

/// Every API key starts with this.
pub const TOKEN_PREFIX: &str = "lg_";

/// What a new key may do.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A name for people.
    pub name: String,
    /// Its scopes (at least one).
    pub scopes: Vec<Scope>,
    /// Client networks it may be used from; empty means anywhere.
    pub allowed_cidrs: Vec<IpNet>,
    /// When it stops working.
    pub expires_at: Option<time::OffsetDateTime>,
    /// The user it belongs to (`None`: made on the data directory by the
    /// local operator). Disabling that user stops the key.
    pub owner: Option<String>,
    /// The devices whose inspections and evidence it may read (`None`: all).
    pub devices: Option<DeviceScope>,
}

/// A key as stored (no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Public id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Allowed client networks (empty: any).
    pub allowed_cidrs: Vec<IpNet>,
    /// Creation time.
    pub created_at: i64,
    /// Expiry, seconds since the epoch.
    pub expires_at: Option<i64>,
    /// Revocation time.
    pub revoked_at: Option<i64>,
    /// Until when the previous secret still works after a rotation.
    pub previous_valid_until: Option<i64>,
    /// The user it belongs to, by id (`None`: the local operator's).
    pub owner: Option<String>,
    /// Its device scope (`None`: every device).
    pub devices: Option<DeviceScope>,
}

/// A freshly created or rotated key: the only time its secret exists in clear.
#[derive(Debug)]
pub struct IssuedKey {
    /// Public id.
    pub id: String,
    /// The whole token, `lg_<id>_<secret>`.
    pub token: Sensitive<String>,
}

/// The result of checking a presented token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// Good: who it is and what it may do.
    Valid(Principal),
    /// Not a lensguard token, no such key, or the wrong secret.
    Invalid,
    /// Revoked.
    Revoked(String),
    /// Expired.
    Expired(String),
    /// Used from a network outside its allowlist.
    NetworkNotAllowed(String),
    /// Its owner is disabled (or gone), so it no longer works.
    OwnerDisabled(String),
}

pub(super) fn hash(secret: &str) -> Vec<u8> {
    digest(&SHA256, secret.as_bytes()).as_ref().to_vec()
}

fn issue(id: &str) -> Result<(Sensitive<String>, Vec<u8>), Error> {
    let secret = URL_SAFE_NO_PAD.encode(random_bytes(32)?);
    let h = hash(&secret);
    Ok((Sensitive::new(format!("{TOKEN_PREFIX}{id}_{secret}")), h))
}

/// Splits `lg_<id>_<secret>`.
fn parse_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((id, secret))
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn row_to_key(row: &sqlx::sqlite::SqliteRow) -> Result<ApiKey, Error> {
    let scopes: String = row.try_get("scopes")?;
    let cidrs: String = row.try_get("allowed_cidrs")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        scopes: scopes
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
        allowed_cidrs: cidrs
            .split_whitespace()
            .filter_map(|s| s.parse().ok())
            .collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        previous_valid_until: row.try_get("previous_valid_until")?,
        owner: row.try_get("owner")?,
        devices: device_scope(row)?,
    })
}

/// The `devices` column (space-separated patterns; NULL: every device).
pub(super) fn device_scope(row: &sqlx::sqlite::SqliteRow) -> Result<Option<DeviceScope>, Error> {
    let text: Option<String> = row.try_get("devices")?;
    text.map(|t| DeviceScope::parse(&t).map_err(Error::Corrupt))
        .transpose()
}

impl Db {
    /// Creates a key; its token is returned once and never stored.
    pub async fn create_key(
        &self,
        new: &NewKey,
        now: time::OffsetDateTime,
    ) -> Result<IssuedKey, Error> {
        if new.scopes.is_empty() {
            return Err(Error::Rejected("a key needs at least one scope".to_owned()));
        }
        if new.name.trim().is_empty() {
            return Err(Error::Rejected("a key needs a name".to_owned()));
        }
        let id = hex::encode(random_bytes(6)?);
        let (token, h) = issue(&id)?;
        sqlx::query(
            "INSERT INTO api_keys (id, name, scopes, allowed_cidrs, secret_hash, created_at, expires_at,
                 owner, devices)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(new.name.trim())
        .bind(join(&new.scopes))
        .bind(join(&new.allowed_cidrs))
        .bind(h)
        .bind(unix(now))
        .bind(new.expires_at.map(unix))
        .bind(&new.owner)
        .bind(new.devices.as_ref().map(ToString::to_string))
        .execute(self.pool())
        .await?;
        Ok(IssuedKey { id, token })
    }

    /// Every key, newest first.
    pub async fn list_keys(&self) -> Result<Vec<ApiKey>, Error> {
        let rows = sqlx::query("SELECT * FROM api_keys ORDER BY created_at DESC, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_key).collect()
    }

    /// One key by id.
    pub async fn get_key(&self, id: &str) -> Result<Option<ApiKey>, Error> {
        let row = sqlx::query("SELECT * FROM api_keys WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_key).transpose()
    }

    /// Checks a presented token from `ip` at `now`.
    pub async fn authenticate_key(
        &self,
        token: &str,
        ip: IpAddr,
        now: time::OffsetDateTime,
    ) -> Result<KeyCheck, Error> {
        let Some((id, secret)) = parse_token(token) else {
            return Ok(KeyCheck::Invalid);
        };
        let Some(row) = sqlx::query("SELECT * FROM api_keys WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(KeyCheck::Invalid);
        };
        let key = row_to_key(&row)?;
        let presented = hash(secret);
        let current: Vec<u8> = row.try_get("secret_hash")?;
        let previous: Option<Vec<u8>> = row.try_get("previous_hash")?;
        let t = unix(now);
        let matches_current = verify_slices_are_equal(&presented, &current).is_ok();
        let matches_previous = previous
            .is_some_and(|p| verify_slices_are_equal(&presented, &p).is_ok())
            && key.previous_valid_until.is_some_and(|until| t < until);
        if !(matches_current || matches_previous) {
            return Ok(KeyCheck::Invalid);
        }
        if key.revoked_at.is_some() {
            return Ok(KeyCheck::Revoked(key.id));
        }
        if key.expires_at.is_some_and(|e| t >= e) {
            return Ok(KeyCheck::Expired(key.id));
        }
        if let Some(owner) = &key.owner {
            let active: Option<i64> = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE id = ? AND disabled_at IS NULL",
            )
            .bind(owner)
            .fetch_optional(self.pool())
            .await?;
            if active.unwrap_or(0) == 0 {
                return Ok(KeyCheck::OwnerDisabled(key.id));
            }
        }
        if !key.allowed_cidrs.is_empty() && !key.allowed_cidrs.iter().any(|net| net.contains(&ip)) {
            return Ok(KeyCheck::NetworkNotAllowed(key.id));
        }
        Ok(KeyCheck::Valid(Principal {
            actor: Actor::Key(key.id),
            scopes: key.scopes.into_iter().collect(),
            role: None,
            devices: key.devices,
        }))
    }

    /// Issues a new secret; the old one keeps working for `overlap`.
    pub async fn rotate_key(
        &self,
        id: &str,
        overlap: time::Duration,
        now: time::OffsetDateTime,
    ) -> Result<Option<IssuedKey>, Error> {
        let (token, h) = issue(id)?;
        let done = sqlx::query(
            "UPDATE api_keys SET previous_hash = secret_hash, previous_valid_until = ?, secret_hash = ?
             WHERE id = ? AND revoked_at IS NULL",
        )
        .bind(unix(now + overlap))
        .bind(h)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok((done.rows_affected() == 1).then(|| IssuedKey {
            id: id.to_owned(),
            token,
        }))
    }

    /// Revokes a key (current and previous secrets) at once. False if unknown or
    /// already revoked.
    pub async fn revoke_key(&self, id: &str, now: time::OffsetDateTime) -> Result<bool, Error> {
        let done =
            sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(unix(now))
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }
}
