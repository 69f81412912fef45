//! What every request handler shares.

use ipnet::IpNet;
use lensguard_core::Policy;
use lensguard_store::audit::{AuditEvent, AuditLog};
use lensguard_store::db::Db;
use lensguard_store::secrets::InstallationSecrets;
use std::sync::Arc;
use std::time::Duration;

/// The service's shared state.
#[derive(Clone)]
pub struct AppState {
    /// The embedded database.
    pub db: Db,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The installation key (sealed TOTP secrets, audit pseudonyms).
    pub secrets: Arc<InstallationSecrets>,
    /// The data directory.
    pub data_dir: Arc<std::path::PathBuf>,
    /// Where every submission goes in: the policy in force, limits,
    /// detectors, decoding turns, the outbox.
    pub intake: Arc<crate::intake::Intake>,
    /// Requests per credential (token bucket per actor).
    pub rate: Arc<KeyedLimiter>,
    /// Login attempts per (name, client address), and per client address.
    pub logins: Arc<LoginLimits>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpNet>>,
    /// Lifetime of a user session.
    pub session_lifetime: Duration,
    /// Default overlap when an API key is rotated.
    pub key_rotation_overlap: Duration,
    /// The evidence vault.
    pub vault: Arc<lensguard_store::vault::Vault>,
    /// Wakes the vault maintenance task (after a KEK rotation).
    pub rewrap_soon: Arc<tokio::sync::Notify>,
    /// Refusals audited per client address (`serve/refusal_flood.rs`).
    pub refusals: Arc<super::refusal_flood::RefusalLimits>,
    /// Each camera's live status.
    pub cameras: Arc<crate::sources::camera::Registry>,
    /// The console's form key and view grants.
    pub console: Arc<super::console::ConsoleState>,
    /// Single sign-on (`[sso]`), when configured.
    pub sso: Option<Arc<super::console::sso::SsoState>>,
    /// SCIM provisioning (`sso.provisioning = "scim"`), when on.
    pub scim: Option<Arc<super::scim::ScimState>>,
}

pub use crate::common::login_limits::{KeyedLimiter, LoginLimits, limiter};

impl AppState {
    /// Forgets limiter entries whose buckets are full again, so the limiters'
    /// memory follows current traffic rather than every caller ever seen.
    pub fn forget_idle_limits(&self) {
        for limiter in [&*self.rate, &self.logins.per_name, &self.logins.per_address] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.refusals.forget_idle();
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.intake.policy()
    }

    /// Puts `policy` in force for the next submission.
    pub fn set_policy(&self, policy: Policy) {
        self.intake.set_policy(policy);
    }

    /// Appends an audit event without blocking the async runtime. `Err` means the
    /// event is not recorded and the caller must refuse what it was about to do.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), String> {
        crate::common::audit_alert::append(&self.audit, event).await
    }
}
