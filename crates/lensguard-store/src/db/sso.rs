//! People who sign in through an identity provider, and deprovisioning.
//!
//! Invariants:
//! - A person from a provider is one user row keyed by `(provider,
//!   subject)`; they have no password (the stored hash is [`NO_PASSWORD`],
//!   which no password matches), so they can only come in through that
//!   provider. A local user's name is never taken over by a provider's
//!   person.
//! - Just-in-time: each sign-in brings the row's role and devices to what
//!   the provider's groups grant now; a narrower role or fewer devices end
//!   the person's other sessions in the same transaction (as
//!   [`Db::set_role`] does for roles).
//! - Deprovisioning ([`revoke_all`], for SCIM) disables the user, ends
//!   every session and revokes every API key they own in one transaction.
//! - A TOTP step-up secret that was never used may be replaced and shown
//!   again ([`Db::step_up_enrolment`]); one that was used never is.

use super::users::{TotpEnrolment, User, end_sessions, row_to_user};
use super::{Db, unix};
use crate::Error;
use crate::identity::{LoginRefusal, check_code, narrows, new_totp, new_user_id, totp_context};
use crate::secrets::InstallationSecrets;
use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_core::devices::DeviceScope;
use sqlx::Row;

/// The password hash of a person who signs in only through a provider.
pub const NO_PASSWORD: &str = "!no-password: signs in through an identity provider";

/// A person as an identity provider vouched for them just now.
#[derive(Debug, Clone)]
pub struct ExternalPerson {
    /// The provider's configured name.
    pub provider: String,
    /// Their `sub` there.
    pub subject: String,
    /// Their lensguard user name (from the configured claim).
    pub username: String,
    /// The role their groups grant.
    pub role: Role,
    /// The devices their groups grant (`None`: every device).
    pub devices: Option<DeviceScope>,
}

/// Why a provider's person has no user here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoRefusal {
    /// The user was disabled here (or deprovisioned).
    Disabled(String),
    /// A local user already has that name.
    NameTaken,
}

impl SsoRefusal {
    /// For the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoRefusal::Disabled(_) => "user disabled",
            SsoRefusal::NameTaken => "the user name belongs to a local user",
        }
    }
}

/// What deprovisioning ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deprovisioned {
    /// Whether the user was active until now.
    pub disabled: bool,
    /// Sessions ended.
    pub sessions: u64,
    /// API keys revoked.
    pub keys: u64,
}

impl Db {
    /// The user a provider's person maps to, creating it on first sign-in
    /// and bringing its role and devices to `person`'s grant.
    pub async fn provision_sso_user(
        &self,
        person: &ExternalPerson,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Result<User, SsoRefusal>, Error> {
        crate::identity::check_username(&person.username)?;
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query("SELECT * FROM users WHERE provider = ? AND subject = ?")
            .bind(&person.provider)
            .bind(&person.subject)
            .fetch_optional(&mut *tx)
            .await?;
        let devices = person.devices.as_ref().map(ToString::to_string);
        if let Some(row) = row {
            let user = row_to_user(&row)?;
            if user.disabled_at.is_some() {
                return Ok(Err(SsoRefusal::Disabled(user.id)));
            }
            sqlx::query("UPDATE users SET role = ?, devices = ? WHERE id = ?")
                .bind(person.role.as_str())
                .bind(&devices)
                .bind(&user.id)
                .execute(&mut *tx)
                .await?;
            if narrows(user.role.as_str(), person.role)
                || devices_narrowed(&user.devices, &person.devices)
            {
                end_sessions(&mut tx, &user.id, now).await?;
            }
            tx.commit().await?;
            return Ok(Ok(User {
                role: person.role,
                devices: person.devices.clone(),
                ..user
            }));
        }
        let taken: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(&person.username)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(Err(SsoRefusal::NameTaken));
        }
        let id = new_user_id()?;
        let (secret, _) = new_totp(&person.username)?;
        let sealed = secrets.seal(&totp_context(&id), &secret)?;
        sqlx::query(
            "INSERT INTO users (id, username, role, password_hash, totp_secret, totp_last_step,
                 created_at, devices, provider, subject)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(&person.username)
        .bind(person.role.as_str())
        .bind(NO_PASSWORD)
        .bind(sealed)
        .bind(unix(now))
        .bind(&devices)
        .bind(&person.provider)
        .bind(&person.subject)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(User {
            id,
            username: person.username.clone(),
            role: person.role,
            created_at: unix(now),
            disabled_at: None,
            devices: person.devices.clone(),
        }))
    }

    /// The SCIM-provisioned user named `username` (SCIM user names compare
    /// without case), for a sign-in under SCIM provisioning.
    pub async fn scim_user_named(&self, username: &str) -> Result<Option<User>, Error> {
        let row = sqlx::query(
            "SELECT * FROM users WHERE scim_id IS NOT NULL AND username = ? COLLATE NOCASE",
        )
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(row_to_user).transpose()
    }

    /// Checks a TOTP step-up code of `user_id`; on success the code is spent
    /// when the session opens ([`Db::open_login_session`]).
    pub async fn check_step_up(
        &self,
        user_id: &str,
        code: &str,
        secrets: &InstallationSecrets,
        now: time::OffsetDateTime,
    ) -> Result<Result<super::VerifiedLogin, LoginRefusal>, Error> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(Err(LoginRefusal::UnknownUser));
        };
        let sealed: Vec<u8> = row.try_get("totp_secret")?;
        let last_step: i64 = row.try_get("totp_last_step")?;
        check_code(
            row_to_user(&row)?,
            &sealed,
            last_step,
            code,
            secrets,
            unix(now),
        )
    }

    /// A fresh TOTP secret for `user_id`'s step-up, when no code of theirs
    /// was ever accepted (so none is in use); `None` otherwise.
    pub async fn step_up_enrolment(
        &self,
        user_id: &str,
        secrets: &InstallationSecrets,
    ) -> Result<Option<TotpEnrolment>, Error> {
        let Some(user) = self.get_user(user_id).await? else {
            return Ok(None);
        };
        let (secret, t) = new_totp(&user.username)?;
        let sealed = secrets.seal(&totp_context(user_id), &secret)?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = ? WHERE id = ? AND totp_last_step = 0
             AND disabled_at IS NULL",
        )
        .bind(sealed)
        .bind(user_id)
        .execute(self.pool())
        .await?;
        Ok((done.rows_affected() == 1).then(|| TotpEnrolment {
            secret_base32: Sensitive::new(t.get_secret_base32()),
            otpauth_uri: Sensitive::new(t.get_url()),
            user,
        }))
    }
}

/// Whether going from `old` to `new` devices takes some away.
pub(super) fn devices_narrowed(old: &Option<DeviceScope>, new: &Option<DeviceScope>) -> bool {
    match (old, new) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(old), Some(new)) => !old.within(new),
    }
}

/// Disables `id`, ends its sessions and revokes its keys, inside `tx`.
pub(super) async fn revoke_all(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    now: time::OffsetDateTime,
) -> Result<Deprovisioned, Error> {
    let disabled =
        sqlx::query("UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL")
            .bind(unix(now))
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1;
    let sessions = end_sessions(tx, id, now).await?;
    let keys =
        sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE owner = ? AND revoked_at IS NULL")
            .bind(unix(now))
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(Deprovisioned {
        disabled,
        sessions,
        keys,
    })
}
