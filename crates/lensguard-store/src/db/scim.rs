//! What a directory provisions over SCIM 2.0: its Users and Groups, and the
//! lensguard users they become.
//!
//! Invariants:
//! - A SCIM resource is one row of `scim_resources`: its kind, its
//!   attributes as JSON (only the attributes lensguard keeps; the server
//!   decides which), and a version raised by every write (the ETag).
//! - A SCIM User is the lensguard user with the same id (`users.scim_id =
//!   users.id`). Its access is whatever the server computed from its groups
//!   and `active` flag, written in the same transaction as the resources
//!   ([`Db::scim_commit`]): there is no moment where a directory change is
//!   stored but the user still holds what it took away.
//! - A user left without access (inactive, deleted, or in no mapped group)
//!   is deprovisioned at once: disabled, every session ended, every API key
//!   it owns revoked. Keys stay revoked if access comes back.
//! - A narrower role or fewer devices end the user's sessions.
//! - A deleted SCIM User keeps its row (the audit log names it), disabled,
//!   no longer SCIM's, under the name `deleted-<id>` so its name is free.

use super::sso::{Deprovisioned, NO_PASSWORD, devices_narrowed, revoke_all};
use super::users::{end_sessions, row_to_user};
use super::{Db, unix};
use crate::Error;
use crate::identity::{narrows, new_totp, new_user_id, totp_context};
use crate::secrets::InstallationSecrets;
use lensguard_core::access::Role;
use lensguard_core::devices::DeviceScope;
use sqlx::Row;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scim_resources (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS scim_resources_kind ON scim_resources (kind, created_at, id);
";

/// The two SCIM resource types lensguard serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimKind {
    /// A person.
    User,
    /// A group of people.
    Group,
}

impl ScimKind {
    /// The resource type's name (`User`, `Group`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScimKind::User => "User",
            ScimKind::Group => "Group",
        }
    }
}

/// A stored SCIM resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResource {
    /// Its id (for a User, also the lensguard user id).
    pub id: String,
    /// User or Group.
    pub kind: ScimKind,
    /// The attributes kept, as JSON.
    pub doc: serde_json::Value,
    /// Raised by every write; the ETag.
    pub version: i64,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// Seconds since the epoch.
    pub modified_at: i64,
}

/// A resource to write: created when `expect_version` is `None`, else
/// replaced if it is still at that version.
#[derive(Debug, Clone)]
pub struct ScimPut {
    /// Its id ([`new_scim_id`] for a new one).
    pub id: String,
    /// User or Group.
    pub kind: ScimKind,
    /// The attributes to keep.
    pub doc: serde_json::Value,
    /// The version read before the change.
    pub expect_version: Option<i64>,
}

/// Where a SCIM User's access stands after a change.
#[derive(Debug, Clone)]
pub struct ScimAccess {
    /// The SCIM (and lensguard) user id.
    pub id: String,
    /// The lensguard user name (the SCIM `userName`, lower case).
    pub username: String,
    /// What its groups grant while it is active; `None`: no access.
    pub grant: Option<(Role, Option<DeviceScope>)>,
}

/// One transaction of directory changes.
#[derive(Debug, Clone, Default)]
pub struct ScimWrite {
    /// Resources created or replaced.
    pub puts: Vec<ScimPut>,
    /// Resources deleted (a User's lensguard user is deprovisioned).
    pub deletes: Vec<(ScimKind, String)>,
    /// The access of every User the change touched.
    pub access: Vec<ScimAccess>,
}

/// Why a change was not stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimConflict {
    /// The resource changed (or went) since it was read: read it again.
    Version(String),
    /// Another user already has this user name.
    NameTaken(String),
}

/// What a stored change did to lensguard users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimApplied {
    /// Users created.
    pub created: Vec<String>,
    /// Users whose access ended, with what ended.
    pub deprovisioned: Vec<(String, Deprovisioned)>,
    /// Users whose access came back (their keys stay revoked).
    pub restored: Vec<String>,
    /// Users whose role or devices narrowed (sessions ended).
    pub narrowed: Vec<String>,
}

/// A fresh id for a SCIM resource.
pub fn new_scim_id() -> Result<String, Error> {
    new_user_id()
}

fn row_to_resource(row: &sqlx::sqlite::SqliteRow) -> Result<ScimResource, Error> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "User" => ScimKind::User,
        "Group" => ScimKind::Group,
        other => return Err(Error::Corrupt(format!("unknown SCIM kind {other:?}"))),
    };
    let doc: String = row.try_get("doc")?;
    Ok(ScimResource {
        id: row.try_get("id")?,
        kind,
        doc: serde_json::from_str(&doc)
            .map_err(|e| Error::Corrupt(format!("a SCIM resource is not JSON: {e}")))?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

impl Db {
    /// Every resource of `kind`, oldest first.
    pub async fn scim_resources(&self, kind: ScimKind) -> Result<Vec<ScimResource>, Error> {
        let rows =
            sqlx::query("SELECT * FROM scim_resources WHERE kind = ? ORDER BY created_at, id")
                .bind(kind.as_str())
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(row_to_resource).collect()
    }

    /// The resource of `kind` with `id`.
    pub async fn scim_resource(
        &self,
        kind: ScimKind,
        id: &str,
    ) -> Result<Option<ScimResource>, Error> {
        let row = sqlx::query("SELECT * FROM scim_resources WHERE kind = ? AND id = ?")
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_resource).transpose()
    }

    /// Stores `write` in one transaction: resources first (each put checked
    /// against the version it was read at), then every touched user's access.
    pub async fn scim_commit(
        &self,
        write: &ScimWrite,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Result<ScimApplied, ScimConflict>, Error> {
        let at = unix(now);
        let mut tx = self.pool().begin().await?;
        for put in &write.puts {
            let doc = put.doc.to_string();
            let done = match put.expect_version {
                None => sqlx::query(
                    "INSERT INTO scim_resources (id, kind, doc, version, created_at, modified_at)
                     VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING",
                )
                .bind(&put.id)
                .bind(put.kind.as_str())
                .bind(&doc)
                .bind(at)
                .bind(at),
                Some(version) => sqlx::query(
                    "UPDATE scim_resources SET doc = ?, version = version + 1, modified_at = ?
                     WHERE id = ? AND kind = ? AND version = ?",
                )
                .bind(&doc)
                .bind(at)
                .bind(&put.id)
                .bind(put.kind.as_str())
                .bind(version),
            }
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(Err(ScimConflict::Version(put.id.clone())));
            }
        }
        let mut applied = ScimApplied::default();
        for (kind, id) in &write.deletes {
            let done = sqlx::query("DELETE FROM scim_resources WHERE kind = ? AND id = ?")
                .bind(kind.as_str())
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Ok(Err(ScimConflict::Version(id.clone())));
            }
            if *kind == ScimKind::User {
                let ended = revoke_all(&mut tx, id, now).await?;
                sqlx::query("UPDATE users SET scim_id = NULL, username = ? WHERE id = ?")
                    .bind(format!("deleted-{id}"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                applied.deprovisioned.push((id.clone(), ended));
            }
        }
        for access in &write.access {
            if let Err(conflict) = apply_access(&mut tx, access, secrets, now, &mut applied).await?
            {
                return Ok(Err(conflict));
            }
        }
        tx.commit().await?;
        Ok(Ok(applied))
    }

    /// Binds the SCIM user `id` to the provider's subject at its first
    /// sign-in; `false` when it is bound to another subject already (a
    /// different account at the provider with the same user name).
    pub async fn bind_scim_sign_in(
        &self,
        id: &str,
        provider: &str,
        subject: &str,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE users SET provider = ?, subject = ?
             WHERE id = ? AND scim_id IS NOT NULL
               AND ((provider IS NULL AND subject IS NULL) OR (provider = ? AND subject = ?))",
        )
        .bind(provider)
        .bind(subject)
        .bind(id)
        .bind(provider)
        .bind(subject)
        .execute(self.pool())
        .await;
        match done {
            Ok(done) => Ok(done.rows_affected() == 1),
            // The unique (provider, subject) index: another user holds it.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Brings the user of `access` to it, creating the user if needed.
async fn apply_access(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    access: &ScimAccess,
    secrets: &InstallationSecrets,
    now: time::OffsetDateTime,
    applied: &mut ScimApplied,
) -> Result<Result<(), ScimConflict>, Error> {
    crate::identity::check_username(&access.username)?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE username = ? AND id != ?")
            .bind(&access.username)
            .bind(&access.id)
            .fetch_optional(&mut **tx)
            .await?;
    if taken.is_some() {
        return Ok(Err(ScimConflict::NameTaken(access.username.clone())));
    }
    let row = sqlx::query("SELECT * FROM users WHERE id = ? AND scim_id = id")
        .bind(&access.id)
        .fetch_optional(&mut **tx)
        .await?;
    // A user with no access keeps the least role, disabled.
    let (role, devices) = access.grant.clone().unwrap_or((Role::Operator, None));
    let devices_text = devices.as_ref().map(ToString::to_string);
    let Some(row) = row else {
        let (secret, _) = new_totp(&access.username)?;
        let sealed = secrets.seal(&totp_context(&access.id), &secret)?;
        let disabled = access.grant.is_none().then(|| unix(now));
        sqlx::query(
            "INSERT INTO users (id, username, role, password_hash, totp_secret, totp_last_step,
                 created_at, disabled_at, devices, scim_id)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        )
        .bind(&access.id)
        .bind(&access.username)
        .bind(role.as_str())
        .bind(NO_PASSWORD)
        .bind(sealed)
        .bind(unix(now))
        .bind(disabled)
        .bind(&devices_text)
        .bind(&access.id)
        .execute(&mut **tx)
        .await?;
        applied.created.push(access.id.clone());
        return Ok(Ok(()));
    };
    let user = row_to_user(&row)?;
    sqlx::query("UPDATE users SET username = ?, role = ?, devices = ? WHERE id = ?")
        .bind(&access.username)
        .bind(role.as_str())
        .bind(&devices_text)
        .bind(&access.id)
        .execute(&mut **tx)
        .await?;
    match (&access.grant, user.disabled_at) {
        (None, _) => {
            let ended = revoke_all(tx, &access.id, now).await?;
            if ended != Deprovisioned::default() {
                applied.deprovisioned.push((access.id.clone(), ended));
            }
        }
        (Some(_), Some(_)) => {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = ?")
                .bind(&access.id)
                .execute(&mut **tx)
                .await?;
            applied.restored.push(access.id.clone());
        }
        (Some((role, devices)), None) => {
            if narrows(user.role.as_str(), *role) || devices_narrowed(&user.devices, devices) {
                end_sessions(tx, &access.id, now).await?;
                applied.narrowed.push(access.id.clone());
            }
        }
    }
    Ok(Ok(()))
}
