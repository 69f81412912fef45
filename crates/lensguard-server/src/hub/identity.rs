//! Who may use the hub's console, and the hub's own audit log.
//!
//! The hub's users live in the hub database ([`lensguard_store::hub::users`],
//! the edge's rules: argon2id, TOTP once per code, the same roles). Their
//! TOTP secrets are sealed by `installation.key` in the hub's data directory
//! (several hub processes serving one database need the same file, like the
//! CA). Sign-in is throttled per (name, address) and per address with the
//! edge's limits, and recorded whichever way it goes in the hub's audit log
//! (`<hub dir>/audit/`, the edge's signed, hash-chained log; one per hub
//! process, since each holds its log's writer lock): refusals with the
//! factor that failed, under the user's id or an HMAC pseudonym of the typed
//! name. The client is told only "invalid credentials".

use crate::common::login_limits::LoginLimits;
use anyhow::Context;
use lensguard_core::Sensitive;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions, Outcome};
use lensguard_store::db::{IssuedSession, SessionTerms, User};
use lensguard_store::hub::HubDb;
use lensguard_store::secrets::InstallationSecrets;
use std::net::IpAddr;
use std::path::Path;

/// Sign-in attempts a minute per (name, address); ten times that per address.
const LOGINS_PER_MINUTE: u32 = 10;

/// The hub's secrets, audit log and login throttle.
pub struct HubIdentity {
    /// Seals TOTP secrets; keys the audit log's pseudonyms.
    pub secrets: InstallationSecrets,
    /// The hub's audit log.
    pub audit: AuditLog,
    logins: LoginLimits,
}

/// Why a sign-in opened no session.
#[derive(Debug)]
pub enum SignInRefused {
    /// Too many attempts: wait this many seconds.
    Throttled(u64),
    /// Wrong name, password or code (recorded with which).
    Invalid,
    /// The database or the audit log cannot answer: nothing was done.
    Unavailable,
}

impl HubIdentity {
    /// Opens the hub's secrets and audit log in `dir` (creating them the
    /// first time). Fails while another process holds the log.
    pub fn open(dir: &Path) -> anyhow::Result<HubIdentity> {
        let secrets = InstallationSecrets::load_or_create(dir)
            .with_context(|| format!("cannot open {}/installation.key", dir.display()))?;
        let audit = AuditLog::open(&dir.join("audit"), AuditOptions::default())
            .map_err(|e| match e {
                lensguard_store::Error::Locked(_) => anyhow::anyhow!(
                    "the hub's audit log in {} is held by a running `lensguard hub serve`; \
                     stop it first, or manage users in its console",
                    dir.display()
                ),
                other => anyhow::Error::new(other).context("cannot open the hub's audit log"),
            })?
            .with_pseudonyms(secrets.pseudonyms().clone());
        Ok(HubIdentity {
            secrets,
            audit,
            logins: LoginLimits::new(LOGINS_PER_MINUTE),
        })
    }

    /// Appends `event`; `Err` when the log cannot take it (then nothing it
    /// records may happen).
    pub async fn record(&self, event: AuditEvent) -> Result<(), ()> {
        self.audit
            .append_async(event)
            .await
            .map(|_| ())
            .map_err(|_| ())
    }

    /// Checks a sign-in and opens a session on `terms`, audited as
    /// `auth.login`.
    pub async fn sign_in(
        &self,
        db: &HubDb,
        ip: IpAddr,
        username: &str,
        password: String,
        code: &str,
        terms: &SessionTerms,
    ) -> Result<(IssuedSession, User), SignInRefused> {
        if let Err(wait) = self.logins.check(username, ip) {
            return Err(SignInRefused::Throttled(wait));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let event = |actor: &str| {
            let mut e = AuditEvent::new(time::OffsetDateTime::now_utc(), actor, "auth.login");
            e.source_ip = Some(ip.to_string());
            e
        };
        let checked = db
            .check_login(username, Sensitive::new(password), code, &self.secrets, now)
            .await
            .map_err(|_| SignInRefused::Unavailable)?;
        let verified = match checked {
            Ok(v) => v,
            Err(refusal) => {
                let (actor, target) = match refusal.user_id() {
                    Some(id) => (format!("user:{id}"), format!("user:{id}")),
                    None => (
                        "anonymous".to_owned(),
                        format!("username:{}", self.audit.pseudonym(username)),
                    ),
                };
                let e = event(&actor)
                    .target(target)
                    .outcome(Outcome::Failure, Some(refusal.reason().to_owned()));
                self.record(e)
                    .await
                    .map_err(|()| SignInRefused::Unavailable)?;
                return Err(SignInRefused::Invalid);
            }
        };
        let user = verified.user.clone();
        let actor = format!("user:{}", user.id);
        // Audit first: a sign-in that cannot be recorded opens nothing and
        // leaves the code unspent.
        let e = event(&actor)
            .target(actor.clone())
            .outcome(Outcome::Success, Some("hub console".to_owned()));
        self.record(e)
            .await
            .map_err(|()| SignInRefused::Unavailable)?;
        match db.open_login_session(&verified, terms, now).await {
            Ok(Ok(session)) => Ok((session, user)),
            Ok(Err(_)) => Err(SignInRefused::Invalid),
            Err(_) => Err(SignInRefused::Unavailable),
        }
    }
}
