//! Refusals from one address, bounded before they reach the audit log.
//!
//! Every refused request is audited, so without a bound anyone could write
//! the audit log full without credentials (22,386 synced entries in 10 s
//! from one client; about 53 GiB a day). Refusals are therefore limited per
//! client address ([`RefusalLimits`]): within the rate (default 5 a second,
//! bursts of 20) each one is audited as before, so the first refusal is
//! always recorded at once; past it the request is answered `429
//! rate_limited` with `Retry-After` and only counted, and the counts are
//! written as one `auth.refusals_suppressed` entry per address and interval
//! (every minute, and at shutdown) with the number and the interval.
//!
//! Invariant: a suppressed refusal is never lost from the record: its count
//! stays until an entry holding it is durable (a failed write puts it back).

use governor::clock::{Clock, DefaultClock};
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// The per-address bound and the counts of what it suppressed.
#[derive(Debug)]
pub struct RefusalLimits {
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    suppressed: Mutex<Suppressed>,
}

#[derive(Debug)]
struct Suppressed {
    counts: HashMap<IpAddr, u64>,
    since: time::OffsetDateTime,
}

impl RefusalLimits {
    /// `per_second` audited refusals from one address, bursts of `burst`.
    pub fn new(per_second: u32, burst: u32) -> RefusalLimits {
        let rate = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
        let burst = std::num::NonZeroU32::new(burst).unwrap_or(std::num::NonZeroU32::MIN);
        RefusalLimits {
            limiter: governor::RateLimiter::keyed(
                governor::Quota::per_second(rate).allow_burst(burst),
            ),
            suppressed: Mutex::new(Suppressed {
                counts: HashMap::new(),
                since: time::OffsetDateTime::now_utc(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Suppressed> {
        self.suppressed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// `Ok` when a refusal from `ip` gets an audit entry of its own;
    /// otherwise it is counted and `Err` holds the seconds to wait.
    pub fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        match self.limiter.check_key(&ip) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                *self.lock().counts.entry(ip).or_insert(0) += 1;
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
            }
        }
    }

    /// Writes one entry per address whose refusals were suppressed since
    /// the last flush; counts that cannot be written are kept for the next.
    pub async fn flush(&self, audit: &AuditLog) {
        let now = time::OffsetDateTime::now_utc();
        let (counts, since) = {
            let mut s = self.lock();
            let counts = std::mem::take(&mut s.counts);
            let since = std::mem::replace(&mut s.since, now);
            (counts, since)
        };
        let mut unwritten = HashMap::new();
        for (ip, n) in counts {
            let event = AuditEvent {
                source_ip: Some(ip.to_string()),
                ..AuditEvent::new(now, "anonymous", "auth.refusals_suppressed")
            }
            .outcome(
                Outcome::Denied,
                Some(format!(
                    "{n} more refusals from this address between {since} and {now}, answered \
                     429 without an entry each"
                )),
            );
            if audit.append_async(event).await.is_err() {
                unwritten.insert(ip, n);
            }
        }
        if !unwritten.is_empty() {
            let mut s = self.lock();
            s.since = since;
            for (ip, n) in unwritten {
                *s.counts.entry(ip).or_insert(0) += n;
            }
        }
    }

    /// Drops the state of addresses that have gone quiet.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}
