//! What every request handler shares.

use lensguard_core::{Limits, Policy};
use lensguard_store::audit::{AuditEvent, AuditLog};
use lensguard_store::db::Db;
use std::sync::Arc;

/// The service's shared state.
#[derive(Clone)]
pub struct AppState {
    /// The embedded database.
    pub db: Db,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The policy photos are judged by.
    pub policy: Arc<Policy>,
    /// Limits on untrusted sizes.
    pub limits: Limits,
    /// Requests per API key (token bucket per actor).
    pub rate: Arc<KeyedLimiter>,
}

/// A rate limiter keyed by actor (`key:ID`).
pub type KeyedLimiter = governor::DefaultKeyedRateLimiter<String>;

/// A limiter allowing `per_second` sustained and `burst` at once, per key.
pub fn limiter(per_second: u32, burst: u32) -> KeyedLimiter {
    let rate = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN);
    governor::RateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
}

impl AppState {
    /// Appends an audit event without blocking the async runtime. `Err` means the
    /// event is not recorded and the caller must refuse what it was about to do.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), String> {
        let log = Arc::clone(&self.audit);
        match tokio::task::spawn_blocking(move || log.append(event)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }
}
