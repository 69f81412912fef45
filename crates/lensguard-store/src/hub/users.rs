//! The hub's users and their sessions, in the hub's database (SQLite or
//! PostgreSQL, so every hub process serving one database knows the same
//! people).
//!
//! The same rules as the edge's users ([`crate::identity`]): argon2id
//! passwords, a TOTP secret from creation sealed by the installation key and
//! bound to the user id, a code accepted once (`totp_last_step` is raised by
//! a conditional `UPDATE` only one login can win), the same roles and
//! scopes, session tokens `lgs_<id>_<secret>` of which only the secret's
//! SHA-256 is stored, an absolute lifetime and an idle limit. Disabling a
//! user, a new second factor or a downgraded role ends their sessions in the
//! same transaction. Hub users have no device scope: the hub's data is
//! metadata across edges.

use super::{HubDb, digest, same_digest};
use crate::Error;
use crate::db::{
    IssuedSession, KeyCheck, LoginRefusal, NewUser, SessionTerms, TotpEnrolment, User,
    VerifiedLogin,
};
use crate::identity::{
    StoredLogin, check_factors, check_password, check_username, hash_password, narrows, new_totp,
    new_user_id, parse_session, session_secret, totp_context,
};
use crate::secrets::InstallationSecrets;
use lensguard_core::Sensitive;
use lensguard_core::access::{Actor, Principal, Role};
use sqlx::Row;

/// The tables, created with the rest of the hub's schema.
pub(super) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS hub_users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        totp_secret TEXT NOT NULL,
        totp_last_step BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        disabled_at BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS hub_sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        idle_seconds BIGINT,
        last_seen_at BIGINT NOT NULL,
        client TEXT NOT NULL,
        revoked_at BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS hub_sessions_user ON hub_sessions (user_id)",
];

/// Uses closer together than this do not rewrite `last_seen_at`.
const SEEN_GRANULARITY: i64 = 5;

fn row_to_user(row: &sqlx::any::AnyRow) -> Result<User, Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: role
            .parse()
            .map_err(|_| Error::Corrupt(format!("unknown role {role:?} in the hub database")))?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
        devices: None,
    })
}

fn sealed_totp(secrets: &InstallationSecrets, id: &str, secret: &[u8]) -> Result<String, Error> {
    Ok(hex::encode(secrets.seal(&totp_context(id), secret)?))
}

fn enrolment(user: User, t: &totp_rs::TOTP) -> TotpEnrolment {
    TotpEnrolment {
        user,
        secret_base32: Sensitive::new(t.get_secret_base32()),
        otpauth_uri: Sensitive::new(t.get_url()),
    }
}

impl HubDb {
    /// Creates a hub user with a fresh TOTP secret (returned once). A device
    /// scope is refused: hub users see every edge.
    pub async fn create_user(
        &self,
        new: NewUser,
        secrets: &InstallationSecrets,
        now: i64,
    ) -> Result<TotpEnrolment, Error> {
        check_username(&new.username)?;
        check_password(new.password.expose())?;
        if new.devices.is_some() {
            return Err(Error::Rejected(
                "hub users have no device scope: the hub holds every edge's metadata".to_owned(),
            ));
        }
        let id = new_user_id()?;
        let (secret, t) = new_totp(&new.username)?;
        let sealed = sealed_totp(secrets, &id, &secret)?;
        let phc = hash_password(new.password).await?;
        let inserted = sqlx::query(
            "INSERT INTO hub_users (id, username, role, password_hash, totp_secret, totp_last_step, created_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(&id)
        .bind(&new.username)
        .bind(new.role.as_str())
        .bind(phc)
        .bind(sealed)
        .bind(now)
        .execute(self.pool())
        .await;
        match inserted {
            Ok(_) => {}
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                return Err(Error::Conflict(format!(
                    "a hub user named {} already exists",
                    new.username
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let user = User {
            id,
            username: new.username,
            role: new.role,
            created_at: now,
            disabled_at: None,
            devices: None,
        };
        Ok(enrolment(user, &t))
    }

    /// Every hub user, by name.
    pub async fn users(&self) -> Result<Vec<User>, Error> {
        let rows = sqlx::query("SELECT * FROM hub_users ORDER BY username")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_user).collect()
    }

    /// One hub user by id.
    pub async fn user(&self, id: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query("SELECT * FROM hub_users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_user).transpose()
    }

    /// Active owners.
    pub async fn active_owners(&self) -> Result<i64, Error> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM hub_users WHERE role = 'owner' AND disabled_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?)
    }

    /// Changes an active user's role; `false` if there is none. A downgrade
    /// ends their sessions in the same transaction.
    pub async fn set_user_role(&self, id: &str, role: Role, now: i64) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let old: Option<String> =
            sqlx::query_scalar("SELECT role FROM hub_users WHERE id = $1 AND disabled_at IS NULL")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(old) = old else {
            return Ok(false);
        };
        sqlx::query("UPDATE hub_users SET role = $1 WHERE id = $2")
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

    /// Disables a user and ends their sessions; `false` if unknown or
    /// already disabled.
    pub async fn disable_user(&self, id: &str, now: i64) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE hub_users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        end_sessions(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives an active user a new TOTP secret and ends their sessions;
    /// `None` if there is no such active user.
    pub async fn reset_user_totp(
        &self,
        id: &str,
        secrets: &InstallationSecrets,
        now: i64,
    ) -> Result<Option<TotpEnrolment>, Error> {
        let Some(user) = self.user(id).await?.filter(|u| u.disabled_at.is_none()) else {
            return Ok(None);
        };
        let (secret, t) = new_totp(&user.username)?;
        let sealed = sealed_totp(secrets, id, &secret)?;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE hub_users SET totp_secret = $1, totp_last_step = 0 WHERE id = $2 AND disabled_at IS NULL",
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
        Ok(Some(enrolment(user, &t)))
    }

    /// Checks a name, password and TOTP code (the code is spent when the
    /// session is opened, [`HubDb::open_login_session`]).
    pub async fn check_login(
        &self,
        username: &str,
        password: Sensitive<String>,
        code: &str,
        secrets: &InstallationSecrets,
        now: i64,
    ) -> Result<Result<VerifiedLogin, LoginRefusal>, Error> {
        let row = sqlx::query("SELECT * FROM hub_users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        let stored = match row {
            Some(row) => {
                let sealed: String = row.try_get("totp_secret")?;
                Some(StoredLogin {
                    user: row_to_user(&row)?,
                    phc: row.try_get("password_hash")?,
                    sealed_totp: hex::decode(sealed).map_err(|_| {
                        Error::Corrupt("a hub user's TOTP secret is not hex".to_owned())
                    })?,
                    last_step: row.try_get("totp_last_step")?,
                })
            }
            None => None,
        };
        check_factors(stored, password, code, secrets, now).await
    }

    /// Spends the login's TOTP step and opens its session in one
    /// transaction; a step spent meanwhile opens nothing. The hub has no
    /// single sign-on: a session that names an identity provider
    /// (`terms.via`) is refused rather than stored without it.
    pub async fn open_login_session(
        &self,
        login: &VerifiedLogin,
        terms: &SessionTerms,
        now: i64,
    ) -> Result<Result<IssuedSession, LoginRefusal>, Error> {
        if terms.via.is_some() {
            return Err(Error::Rejected(
                "the hub has no single sign-on; its sessions come from a password and TOTP"
                    .to_owned(),
            ));
        }
        let mut tx = self.pool().begin().await?;
        let spent = sqlx::query(
            "UPDATE hub_users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $3
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
        let id = new_user_id()?;
        let secret = session_secret()?;
        let expires_at = now.saturating_add(terms.lifetime.whole_seconds());
        let client: String = terms.client.chars().take(200).collect();
        sqlx::query(
            "INSERT INTO hub_sessions (id, user_id, secret_sha256, created_at, expires_at, idle_seconds,
                 last_seen_at, client)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(&login.user.id)
        .bind(digest(&secret))
        .bind(now)
        .bind(expires_at)
        .bind(terms.idle.map(|d| d.whole_seconds()))
        .bind(now)
        .bind(client)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(IssuedSession {
            token: Sensitive::new(format!("{}{id}_{secret}", crate::identity::SESSION_PREFIX)),
            id,
            expires_at,
        }))
    }

    /// Checks a session token at `now`; a valid one is marked used, so its
    /// idle limit counts from now.
    pub async fn authenticate_session(&self, token: &str, now: i64) -> Result<KeyCheck, Error> {
        let Some((id, secret)) = parse_session(token) else {
            return Ok(KeyCheck::Invalid);
        };
        let row = sqlx::query(
            "SELECT s.secret_sha256, s.revoked_at, s.expires_at, s.idle_seconds, s.last_seen_at,
                    u.id, u.username, u.role, u.created_at, u.disabled_at
             FROM hub_sessions s JOIN hub_users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(KeyCheck::Invalid);
        };
        let stored: String = row.try_get("secret_sha256")?;
        if !same_digest(&stored, &digest(secret)) {
            return Ok(KeyCheck::Invalid);
        }
        let user = row_to_user(&row)?;
        let revoked: Option<i64> = row.try_get("revoked_at")?;
        if revoked.is_some() || user.disabled_at.is_some() {
            return Ok(KeyCheck::Revoked(id.to_owned()));
        }
        let expires_at: i64 = row.try_get("expires_at")?;
        let idle: Option<i64> = row.try_get("idle_seconds")?;
        let seen: i64 = row.try_get("last_seen_at")?;
        if now >= expires_at || idle.is_some_and(|idle| now >= seen.saturating_add(idle)) {
            return Ok(KeyCheck::Expired(id.to_owned()));
        }
        if now - seen >= SEEN_GRANULARITY {
            sqlx::query("UPDATE hub_sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(KeyCheck::Valid(Principal {
            actor: Actor::User(user.id),
            scopes: user.role.scopes().iter().copied().collect(),
            role: Some(user.role),
            devices: None,
        }))
    }

    /// Ends a session at once; `false` if it was not open.
    pub async fn close_session(&self, token: &str, now: i64) -> Result<bool, Error> {
        let Some((id, _)) = parse_session(token) else {
            return Ok(false);
        };
        let done = sqlx::query(
            "UPDATE hub_sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Ends every open session of user `id`.
async fn end_sessions(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    now: i64,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE hub_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
