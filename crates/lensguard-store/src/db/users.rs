//! The edge's users: argon2id passwords, a TOTP second factor, and the roles
//! they hold, in the edge's SQLite database.
//!
//! The rules (names, passwords, hashes, TOTP codes) are [`crate::identity`]'s,
//! shared with the hub's users. Invariants kept here:
//! - Every user has a TOTP secret from creation; it is shown once and stored
//!   sealed by the installation key, bound to the user id ([`crate::secrets`]).
//! - `totp_last_step` is raised in the same statement that checks it, so a
//!   code works once.
//! - Disabling a user, a new password, a new second factor or a downgraded
//!   role ends their sessions in the same transaction.

use super::{Db, unix};
use crate::Error;
use crate::identity::{
    StoredLogin, check_factors, hash_password, narrows, new_totp, new_user_id, totp_context,
};
use crate::secrets::InstallationSecrets;
use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_core::devices::DeviceScope;
use sqlx::Row;

pub use crate::identity::{
    LoginRefusal, MAX_PASSWORD, MIN_PASSWORD, check_password, check_username,
};

/// A user to create.
#[derive(Debug)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Password (checked for length, then hashed).
    pub password: Sensitive<String>,
    /// The devices whose inspections and evidence the user may read
    /// (`None`: all).
    pub devices: Option<DeviceScope>,
}

/// A user as stored (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Public id (12 hex digits).
    pub id: String,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// Creation time, seconds since the epoch.
    pub created_at: i64,
    /// When disabled; a disabled user cannot log in and has no sessions.
    pub disabled_at: Option<i64>,
    /// Its device scope (`None`: every device).
    pub devices: Option<DeviceScope>,
}

/// A new user's second factor: the only time its secret exists in clear.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// The user.
    pub user: User,
    /// The TOTP secret, base32 (for typing into an authenticator).
    pub secret_base32: Sensitive<String>,
    /// `otpauth://totp/...` (for a QR code).
    pub otpauth_uri: Sensitive<String>,
}

pub(super) fn row_to_user(row: &sqlx::sqlite::SqliteRow) -> Result<User, Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role
            .parse()
            .map_err(|_| Error::Corrupt(format!("unknown role {role:?} in the database")))?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        devices: super::keys::device_scope(row)?,
    })
}

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

impl Db {
    /// Creates a user with a fresh TOTP secret (returned once).
    pub async fn create_user(
        &self,
        new: NewUser,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<TotpEnrolment, Error> {
        let mut tx = self.pool().begin().await?;
        let enrolment = insert_user(&mut tx, new, secrets, now).await?;
        tx.commit().await?;
        Ok(enrolment)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<User>, Error> {
        let rows = sqlx::query("SELECT * FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_user).collect()
    }

    /// One user by id.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_user).transpose()
    }

    /// One user by login name.
    pub async fn find_user(&self, username: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_user).transpose()
    }

    /// Changes a user's role; false if there is no such active user. A
    /// downgrade (the new role lacks a scope the old one had) ends the user's
    /// sessions in the same transaction, so a session opened under the wider
    /// role cannot outlive it; otherwise sessions go on with the new role
    /// (roles are looked up on every request).
    pub async fn set_role(
        &self,
        id: &str,
        role: Role,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT role FROM users WHERE id = ? AND disabled_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Ok(false);
        };
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if narrows(&old, role) {
            end_sessions(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Disables a user and ends their sessions at once; false if unknown or
    /// already disabled.
    pub async fn disable_user(&self, id: &str, now: time::OffsetDateTime) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL")
                .bind(unix(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        end_sessions(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a new password and ends the user's sessions (in one
    /// transaction: whoever held the old password holds no session after);
    /// false if there is no such active user.
    pub async fn set_password(
        &self,
        id: &str,
        password: Sensitive<String>,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        check_password(password.expose())?;
        let phc = hash_password(password).await?;
        let mut tx = self.pool().begin().await?;
        let done =
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ? AND disabled_at IS NULL")
                .bind(phc)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 1 {
            end_sessions(&mut tx, id, now).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives an active user a new TOTP secret (the old one stops working)
    /// and ends their sessions; `None` if there is no such active user.
    pub async fn reset_totp(
        &self,
        id: &str,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Option<TotpEnrolment>, Error> {
        let Some(user) = self.get_user(id).await?.filter(|u| u.disabled_at.is_none()) else {
            return Ok(None);
        };
        let (secret, t) = new_totp(&user.username)?;
        let sealed = secrets.seal(&totp_context(id), &secret)?;
        let mut tx = self.pool().begin().await?;
        // The step counter restarts: no code of the new secret was used.
        let done = sqlx::query(
            "UPDATE users SET totp_secret = ?, totp_last_step = 0 WHERE id = ? AND disabled_at IS NULL",
        )
        .bind(sealed)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        end_sessions(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(Some(TotpEnrolment {
            secret_base32: Sensitive::new(t.get_secret_base32()),
            otpauth_uri: Sensitive::new(t.get_url()),
            user,
        }))
    }

    /// Checks a name, password and TOTP code; on success the code is spent.
    pub async fn check_login(
        &self,
        username: &str,
        password: Sensitive<String>,
        code: &str,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Result<VerifiedLogin, LoginRefusal>, Error> {
        let row = sqlx::query("SELECT * FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        let stored = match row {
            Some(row) => Some(StoredLogin {
                user: row_to_user(&row)?,
                phc: row.try_get("password_hash")?,
                sealed_totp: row.try_get("totp_secret")?,
                last_step: row.try_get("totp_last_step")?,
            }),
            None => None,
        };
        check_factors(stored, password, code, secrets, unix(now)).await
    }
}

/// A password and TOTP code that checked out ([`Db::check_login`]). The
/// code's time step is spent only when the session is opened
/// ([`Db::open_login_session`]), after the login is audited: a login that
/// cannot be audited leaves the code usable and nothing changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLogin {
    /// The user.
    pub user: User,
    step: i64,
}

impl VerifiedLogin {
    pub(crate) fn new(user: User, step: i64) -> VerifiedLogin {
        VerifiedLogin { user, step }
    }

    pub(crate) fn step(&self) -> i64 {
        self.step
    }
}

/// Inserts a user inside `tx` (shared with the owner bootstrap).
pub(super) async fn insert_user(
    tx: &mut sqlx::SqliteConnection,
    new: NewUser,
    secrets: &InstallationSecrets,
    now: time::OffsetDateTime,
) -> Result<TotpEnrolment, Error> {
    check_username(&new.username)?;
    check_password(new.password.expose())?;
    let id = new_user_id()?;
    let (secret, t) = new_totp(&new.username)?;
    let enrolment_secret = Sensitive::new(t.get_secret_base32());
    let uri = Sensitive::new(t.get_url());
    let sealed = secrets.seal(&totp_context(&id), &secret)?;
    let phc = hash_password(new.password).await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, role, password_hash, totp_secret, totp_last_step, created_at,
             devices)
         VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(&id)
    .bind(&new.username)
    .bind(new.role.as_str())
    .bind(phc)
    .bind(sealed)
    .bind(unix(now))
    .bind(new.devices.as_ref().map(ToString::to_string))
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if unique_violation(&e) => {
            return Err(Error::Conflict(format!(
                "a user named {} already exists",
                new.username
            )));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(TotpEnrolment {
        user: User {
            id,
            username: new.username,
            role: new.role,
            created_at: unix(now),
            disabled_at: None,
            devices: new.devices,
        },
        secret_base32: enrolment_secret,
        otpauth_uri: uri,
    })
}

/// Ends every open session of user `id`; how many.
pub(super) async fn end_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<u64, Error> {
    Ok(
        sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(unix(now))
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}
