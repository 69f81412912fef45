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
}

/// A rate limiter keyed by a string (`key:ID`, `user:ID`, a login pair).
pub type KeyedLimiter = governor::DefaultKeyedRateLimiter<String>;

/// A limiter allowing `per_second` sustained and `burst` at once, per key.
pub fn limiter(per_second: u32, burst: u32) -> KeyedLimiter {
    let rate = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
}

/// Login throttling that cannot lock anyone out: an attacker guessing `alice`'s
/// password from one address exhausts only the bucket for (alice, that address)
/// and the bucket for that address; alice logging in from her own address is
/// untouched. There is no account lockout.
pub struct LoginLimits {
    /// Per (name, address): `n` a minute.
    pub per_name: KeyedLimiter,
    /// Per address, across names (password spraying): `10 n` a minute.
    pub per_address: KeyedLimiter,
}

impl LoginLimits {
    /// `n` attempts a minute per (name, address), `10 n` per address.
    pub fn new(n: u32) -> Self {
        let quota = |per_minute: u32| {
            let per_minute =
                std::num::NonZeroU32::new(per_minute).unwrap_or(std::num::NonZeroU32::MIN);
            governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute))
        };
        LoginLimits {
            per_name: quota(n),
            per_address: quota(n.saturating_mul(10)),
        }
    }

    /// `Err(seconds to wait)` when either bucket is empty.
    pub fn check(&self, name: &str, ip: std::net::IpAddr) -> Result<(), u64> {
        let wait = |not_until: governor::NotUntil<governor::clock::QuantaInstant>| {
            let w = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            (w.as_secs() + u64::from(w.subsec_nanos() > 0)).max(1)
        };
        self.per_address.check_key(&ip.to_string()).map_err(wait)?;
        // Names are at most 64 bytes; a longer one cannot log in, and must not
        // make the limiter's memory grow with whatever was typed.
        let name = name
            .char_indices()
            .nth(64)
            .map_or(name, |(i, _)| &name[..i]);
        self.per_name
            .check_key(&format!("{name}\u{0}{ip}"))
            .map_err(wait)
    }
}

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
