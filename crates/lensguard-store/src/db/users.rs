//! Users: argon2id passwords, a TOTP second factor, and the roles they hold.
//!
//! Invariants:
//! - Passwords are stored only as argon2id PHC strings (RustCrypto defaults:
//!   19 MiB, 2 passes, 1 lane, random 16-byte salt); verification runs off the
//!   async runtime, and an unknown name costs the same as a wrong password.
//! - Every user has a TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s) from creation;
//!   it is shown once and stored sealed by the installation key, bound to the
//!   user id ([`crate::secrets`]).
//! - A TOTP code is accepted for the current step and one step either side, and
//!   only for a step later than the last one used (`totp_last_step` is raised in
//!   the same statement that checks it), so a code works once.
//! - Names are 1-64 characters of `a-z 0-9 . _ - @`; passwords 12-1024 characters.

use super::{Db, unix};
use crate::Error;
use crate::secrets::{InstallationSecrets, random_bytes};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_core::devices::DeviceScope;
use sqlx::Row;
use std::sync::OnceLock;
use totp_rs::{Algorithm, TOTP};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_PASSWORD: usize = 1024;
/// Seconds per TOTP step.
pub const TOTP_STEP: i64 = 30;

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

/// Why a login was refused. Clients are told only "invalid credentials"; the
/// audit log gets the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefusal {
    /// No user by that name.
    UnknownUser,
    /// The password is wrong.
    WrongPassword(String),
    /// The user is disabled.
    Disabled(String),
    /// The TOTP code is wrong or out of its window.
    WrongCode(String),
    /// The TOTP code was right but already used.
    ReusedCode(String),
}

impl LoginRefusal {
    /// The user id, when the name was known.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            LoginRefusal::UnknownUser => None,
            LoginRefusal::WrongPassword(id)
            | LoginRefusal::Disabled(id)
            | LoginRefusal::WrongCode(id)
            | LoginRefusal::ReusedCode(id) => Some(id),
        }
    }

    /// For the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginRefusal::UnknownUser => "unknown user",
            LoginRefusal::WrongPassword(_) => "wrong password",
            LoginRefusal::Disabled(_) => "user disabled",
            LoginRefusal::WrongCode(_) => "wrong TOTP code",
            LoginRefusal::ReusedCode(_) => "TOTP code already used",
        }
    }
}

/// Checks a login name.
pub fn check_username(name: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Rejected(
            "a user name is 1-64 characters of a-z, 0-9, '.', '_', '-' and '@'".to_owned(),
        ))
    }
}

/// Checks a password's length.
pub fn check_password(password: &str) -> Result<(), Error> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::Rejected(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > MAX_PASSWORD {
        return Err(Error::Rejected(format!(
            "a password has at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

async fn hash_password(password: Sensitive<String>) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&random_bytes(16)?)
        .map_err(|e| Error::Internal(format!("salt: {e}")))?;
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing stopped: {e}")))?
}

/// A hash to verify against when the name is unknown, so that case costs the
/// same as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"lensguard-decoy!").ok();
        salt.and_then(|s| {
            argon2::Argon2::default()
                .hash_password(b"no such user, no such password", &s)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

async fn verify_password(password: Sensitive<String>, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.expose().as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

fn totp(secret: Vec<u8>, username: &str) -> Result<TOTP, Error> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP as u64,
        secret,
        Some("lensguard".to_owned()),
        username.to_owned(),
    )
    .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

/// The step a valid, unused code belongs to: current step or one either side,
/// later than `last_used`.
fn matching_step(totp: &TOTP, code: &str, now: i64, last_used: i64) -> Option<i64> {
    let current = now.div_euclid(TOTP_STEP);
    (current - 1..=current + 1)
        .filter(|&step| step > last_used && step >= 0)
        .find(|&step| {
            let expected = totp.generate((step * TOTP_STEP) as u64);
            verify_slices_are_equal(expected.as_bytes(), code.trim().as_bytes()).is_ok()
        })
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
        let downgrade = old.parse::<Role>().map_or(true, |old| {
            old.scopes().iter().any(|s| !role.scopes().contains(s))
        });
        if downgrade {
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
        let secret = random_bytes(20)?;
        let t = totp(secret.clone(), &user.username)?;
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
        let Some(row) = row else {
            verify_password(password, decoy_hash().to_owned()).await;
            return Ok(Err(LoginRefusal::UnknownUser));
        };
        let user = row_to_user(&row)?;
        let phc: String = row.try_get("password_hash")?;
        if !verify_password(password, phc).await {
            return Ok(Err(LoginRefusal::WrongPassword(user.id)));
        }
        if user.disabled_at.is_some() {
            return Ok(Err(LoginRefusal::Disabled(user.id)));
        }
        let sealed: Vec<u8> = row.try_get("totp_secret")?;
        let last_used: i64 = row.try_get("totp_last_step")?;
        let totp = totp(
            secrets.open(&totp_context(&user.id), &sealed)?,
            &user.username,
        )?;
        let Some(step) = matching_step(&totp, code, unix(now), last_used) else {
            // A right code for an already used step is a replay; say so in the log.
            let replay = matching_step(&totp, code, unix(now), i64::MIN).is_some();
            return Ok(Err(if replay {
                LoginRefusal::ReusedCode(user.id)
            } else {
                LoginRefusal::WrongCode(user.id)
            }));
        };
        Ok(Ok(VerifiedLogin { user, step }))
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
    pub(super) fn step(&self) -> i64 {
        self.step
    }
}

fn totp_context(user_id: &str) -> String {
    format!("totp:user:{user_id}")
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
    let id = hex::encode(random_bytes(6)?);
    let secret = random_bytes(20)?;
    let t = totp(secret.clone(), &new.username)?;
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

/// Ends every open session of user `id`.
async fn end_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<(), Error> {
    sqlx::query("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(unix(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows, truncated to the 6 digits lensguard uses.
    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let t = totp(b"12345678901234567890".to_vec(), "rfc").expect("totp");
        for (time, eight_digits) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.generate(time), eight_digits[2..], "t={time}");
        }
    }

    #[test]
    fn codes_match_one_step_either_side_and_only_after_the_last_used() {
        let t = totp(b"12345678901234567890".to_vec(), "rfc").expect("totp");
        let now = 1_111_111_111;
        let step = now / TOTP_STEP;
        let code = |s: i64| t.generate((s * TOTP_STEP) as u64);
        assert_eq!(matching_step(&t, &code(step), now, 0), Some(step));
        assert_eq!(matching_step(&t, &code(step - 1), now, 0), Some(step - 1));
        assert_eq!(matching_step(&t, &code(step + 1), now, 0), Some(step + 1));
        assert_eq!(matching_step(&t, &code(step - 2), now, 0), None);
        assert_eq!(matching_step(&t, &code(step + 2), now, 0), None);
        assert_eq!(matching_step(&t, &code(step), now, step), None, "spent");
        assert_eq!(matching_step(&t, "", now, 0), None);
        assert_eq!(matching_step(&t, "12345", now, 0), None);
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_username("alice@example.com").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("Alice").is_err());
        assert!(check_username("a:b").is_err());
        assert!(check_username(&"a".repeat(65)).is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD + 1)).is_err());
    }
}
