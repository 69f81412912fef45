//! Rate limits keyed by a string, and the login throttle the edge's and the
//! hub's sign-ins share.

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
