//! Sessions for users, and the one-time token that creates the first owner.
//!
//! A session exists only after a password and a TOTP code were both checked
//! ([`Db::check_login`]), so every session is TOTP-verified: there is no
//! password-only session for an owner or admin (or anyone) to act through.
//! Tokens are `lgs_<id>_<secret>` (the id is public, only SHA-256 of the secret is
//! stored, like API keys), expire after a fixed lifetime (and, for the
//! console's sessions, after an idle time without use), and end at once on
//! logout or when the user is disabled. A session's scopes are its user's role,
//! looked up on every request, so a role change applies at once.
//!
//! The bootstrap token (`lgb_<secret>`) exists only while no active owner does;
//! each service start replaces it (so only the newest printed token works), it
//! expires after [`BOOTSTRAP_TTL`], and using it deletes it in the same
//! transaction that creates the owner.

use super::keys::hash;
use super::users::{LoginRefusal, NewUser, TotpEnrolment, User, insert_user, row_to_user};
use super::{Db, KeyCheck, unix};
use crate::Error;
use crate::secrets::{InstallationSecrets, random_bytes};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use lensguard_core::Sensitive;
use lensguard_core::access::{Actor, Principal, Role};
use sqlx::Row;

pub use crate::identity::{SESSION_PREFIX, session_id};
/// The bootstrap token starts with this.
pub const BOOTSTRAP_PREFIX: &str = "lgb_";
/// How long a bootstrap token works.
pub const BOOTSTRAP_TTL: time::Duration = time::Duration::hours(24);

/// A new session: the only time its token exists in clear.
#[derive(Debug)]
pub struct IssuedSession {
    /// Public id.
    pub id: String,
    /// `lgs_<id>_<secret>`.
    pub token: Sensitive<String>,
    /// When it ends, seconds since the epoch.
    pub expires_at: i64,
}

/// How a new session ends and whom it was opened for.
#[derive(Debug, Clone)]
pub struct SessionTerms {
    /// Its absolute lifetime.
    pub lifetime: time::Duration,
    /// It ends after this long without use (`None`: only the lifetime).
    pub idle: Option<time::Duration>,
    /// The client it was opened from, as the session list shows it
    /// (address and user agent, at most 200 characters).
    pub client: String,
    /// The identity provider that vouched for the person (`None`: a local
    /// password and TOTP login).
    pub via: Option<SessionOrigin>,
}

/// The identity provider and subject a session was opened through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionOrigin {
    /// The provider's configured name.
    pub provider: String,
    /// The person's `sub` at that provider.
    pub subject: String,
}

/// A session as its user's session list shows it (never its secret).
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Public id (the `<id>` of `lgs_<id>_...`).
    pub id: String,
    /// When it was opened, seconds since the epoch.
    pub created_at: i64,
    /// When it was last used, seconds since the epoch.
    pub last_seen_at: i64,
    /// When it ends at the latest, seconds since the epoch.
    pub expires_at: i64,
    /// Its idle limit in seconds, if any.
    pub idle_seconds: Option<i64>,
    /// The client it was opened from.
    pub client: String,
    /// The provider and subject it was opened through, if any.
    pub via: Option<SessionOrigin>,
}

/// Uses closer together than this do not rewrite `last_seen_at`: one write
/// per session per interval, not one per request.
const SEEN_GRANULARITY: i64 = 5;

use crate::identity::{parse_session as parse, session_secret as secret};

impl Db {
    /// Opens a session for `user` (whose login was just checked) on `terms`.
    pub async fn open_session(
        &self,
        user: &User,
        terms: &SessionTerms,
        now: time::OffsetDateTime,
    ) -> Result<IssuedSession, Error> {
        let mut conn = self.pool().acquire().await?;
        insert_session(&mut conn, &user.id, terms, now).await
    }

    /// Spends the login's TOTP step and opens its session, in one
    /// transaction; a step spent meanwhile (a concurrent login with the same
    /// code) or a user disabled meanwhile opens nothing.
    pub async fn open_login_session(
        &self,
        login: &super::users::VerifiedLogin,
        terms: &SessionTerms,
        now: time::OffsetDateTime,
    ) -> Result<Result<IssuedSession, LoginRefusal>, Error> {
        let mut tx = self.pool().begin().await?;
        let spent = sqlx::query(
            "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?
             AND disabled_at IS NULL",
        )
        .bind(login.step())
        .bind(&login.user.id)
        .bind(login.step())
        .execute(&mut *tx)
        .await?;
        if spent.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Err(LoginRefusal::ReusedCode(login.user.id.clone())));
        }
        let session = insert_session(&mut tx, &login.user.id, terms, now).await?;
        tx.commit().await?;
        Ok(Ok(session))
    }

    /// Checks a session token at `now`; a valid one is marked used, so its
    /// idle limit (if any) counts from now.
    pub async fn authenticate_session(
        &self,
        token: &str,
        now: time::OffsetDateTime,
    ) -> Result<KeyCheck, Error> {
        let Some((id, secret)) = parse(token) else {
            return Ok(KeyCheck::Invalid);
        };
        let row = sqlx::query(
            "SELECT s.secret_hash, s.expires_at, s.revoked_at, s.idle_seconds, s.last_seen_at,
                    u.* FROM sessions s
             JOIN users u ON u.id = s.user_id WHERE s.id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(KeyCheck::Invalid);
        };
        let stored: Vec<u8> = row.try_get("secret_hash")?;
        if verify_slices_are_equal(&hash(secret), &stored).is_err() {
            return Ok(KeyCheck::Invalid);
        }
        let user = row_to_user(&row)?;
        let revoked: Option<i64> = row.try_get("revoked_at")?;
        if revoked.is_some() || user.disabled_at.is_some() {
            return Ok(KeyCheck::Revoked(id.to_owned()));
        }
        let expires_at: i64 = row.try_get("expires_at")?;
        if unix(now) >= expires_at {
            return Ok(KeyCheck::Expired(id.to_owned()));
        }
        let idle: Option<i64> = row.try_get("idle_seconds")?;
        let seen: Option<i64> = row.try_get("last_seen_at")?;
        if let (Some(idle), Some(seen)) = (idle, seen)
            && unix(now) >= seen.saturating_add(idle)
        {
            return Ok(KeyCheck::Expired(id.to_owned()));
        }
        if seen.is_none_or(|seen| unix(now) - seen >= SEEN_GRANULARITY) {
            sqlx::query("UPDATE sessions SET last_seen_at = ? WHERE id = ?")
                .bind(unix(now))
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(KeyCheck::Valid(Principal {
            actor: Actor::User(user.id),
            scopes: user.role.scopes().iter().copied().collect(),
            role: Some(user.role),
            devices: user.devices,
        }))
    }

    /// Ends a session at once; false if it was not open.
    pub async fn close_session(
        &self,
        token: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let Some((id, _)) = parse(token) else {
            return Ok(false);
        };
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(unix(now))
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The open sessions of `user_id` at `now`, newest first.
    pub async fn list_sessions(
        &self,
        user_id: &str,
        now: time::OffsetDateTime,
    ) -> Result<Vec<SessionInfo>, Error> {
        let rows = sqlx::query(
            "SELECT id, created_at, COALESCE(last_seen_at, created_at) AS seen, expires_at,
                    idle_seconds, COALESCE(client, '') AS client, provider, subject
             FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
               AND (idle_seconds IS NULL OR COALESCE(last_seen_at, created_at) + idle_seconds > ?2)
             ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .bind(unix(now))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SessionInfo {
                    id: r.try_get("id")?,
                    created_at: r.try_get("created_at")?,
                    last_seen_at: r.try_get("seen")?,
                    expires_at: r.try_get("expires_at")?,
                    idle_seconds: r.try_get("idle_seconds")?,
                    client: r.try_get("client")?,
                    via: origin(r)?,
                })
            })
            .collect()
    }

    /// Ends the session `id` of `user_id` at once; false if no such session
    /// of theirs was open.
    pub async fn revoke_session(
        &self,
        user_id: &str,
        id: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
        )
        .bind(unix(now))
        .bind(id)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many active owners exist.
    pub async fn active_owners(&self) -> Result<i64, Error> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE role = 'owner' AND disabled_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Whether an active owner exists.
    pub async fn has_owner(&self) -> Result<bool, Error> {
        Ok(self.active_owners().await? > 0)
    }

    /// A new bootstrap token (replacing any earlier one) when no active owner
    /// exists; `None` once one does.
    pub async fn begin_bootstrap(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<Option<Sensitive<String>>, Error> {
        if self.has_owner().await? {
            sqlx::query("DELETE FROM bootstrap")
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        let secret = secret()?;
        sqlx::query(
            "INSERT OR REPLACE INTO bootstrap (id, token_hash, created_at) VALUES (1, ?, ?)",
        )
        .bind(hash(&secret))
        .bind(unix(now))
        .execute(self.pool())
        .await?;
        Ok(Some(Sensitive::new(format!("{BOOTSTRAP_PREFIX}{secret}"))))
    }

    /// Whether `token` would create the first owner now (checked again, atomically,
    /// by [`Db::complete_bootstrap`]).
    pub async fn bootstrap_token_valid(
        &self,
        token: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let mut conn = self.pool().acquire().await?;
        bootstrap_valid(&mut conn, token, now).await
    }

    /// Creates the first owner with the bootstrap token, spending it. `Ok(None)`
    /// for a wrong, expired or spent token, or when an owner already exists.
    pub async fn complete_bootstrap(
        &self,
        token: &str,
        username: String,
        password: Sensitive<String>,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Option<TotpEnrolment>, Error> {
        let mut tx = self.pool().begin().await?;
        if !bootstrap_valid(&mut tx, token, now).await? {
            return Ok(None);
        }
        sqlx::query("DELETE FROM bootstrap")
            .execute(&mut *tx)
            .await?;
        let new = NewUser {
            username,
            role: Role::Owner,
            password,
            devices: None,
        };
        let enrolment = insert_user(&mut tx, new, secrets, now).await?;
        tx.commit().await?;
        Ok(Some(enrolment))
    }
}

/// The token matches the pending one, is fresh, and no active owner exists.
async fn bootstrap_valid(
    conn: &mut sqlx::SqliteConnection,
    token: &str,
    now: time::OffsetDateTime,
) -> Result<bool, Error> {
    let Some(secret) = token.strip_prefix(BOOTSTRAP_PREFIX) else {
        return Ok(false);
    };
    let row = sqlx::query("SELECT token_hash, created_at FROM bootstrap WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let stored: Vec<u8> = row.try_get("token_hash")?;
    let created: i64 = row.try_get("created_at")?;
    let owners: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'owner' AND disabled_at IS NULL",
    )
    .fetch_one(&mut *conn)
    .await?;
    let fresh = unix(now) < created + BOOTSTRAP_TTL.whole_seconds();
    Ok(verify_slices_are_equal(&hash(secret), &stored).is_ok() && fresh && owners == 0)
}

/// Inserts a new session for `user_id` through `conn`.
async fn insert_session(
    conn: &mut sqlx::SqliteConnection,
    user_id: &str,
    terms: &SessionTerms,
    now: time::OffsetDateTime,
) -> Result<IssuedSession, Error> {
    let id = hex::encode(random_bytes(6)?);
    let secret = secret()?;
    let expires_at = unix(now + terms.lifetime);
    let client: String = terms.client.chars().take(200).collect();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, secret_hash, created_at, expires_at, idle_seconds,
                               last_seen_at, client, provider, subject)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(hash(&secret))
    .bind(unix(now))
    .bind(expires_at)
    .bind(terms.idle.map(|d| d.whole_seconds()))
    .bind(unix(now))
    .bind(client)
    .bind(terms.via.as_ref().map(|v| v.provider.as_str()))
    .bind(terms.via.as_ref().map(|v| v.subject.as_str()))
    .execute(conn)
    .await?;
    Ok(IssuedSession {
        token: Sensitive::new(format!("{SESSION_PREFIX}{id}_{secret}")),
        id,
        expires_at,
    })
}

/// The origin columns of a session row.
fn origin(row: &sqlx::sqlite::SqliteRow) -> Result<Option<SessionOrigin>, Error> {
    let provider: Option<String> = row.try_get("provider")?;
    let subject: Option<String> = row.try_get("subject")?;
    Ok(provider
        .zip(subject)
        .map(|(provider, subject)| SessionOrigin { provider, subject }))
}
