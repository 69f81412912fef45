//! Exponential backoff with jitter, for every task that retries a
//! destination or a resource (hub delivery, SIEM export, watched folders).
//!
//! Invariant: each delay lies uniformly in the upper half of its cap, so a
//! fleet that failed together does not come back in lockstep.

use std::time::Duration;

/// Exponential backoff with jitter.
#[derive(Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Starting at `initial`, never above `max`.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            failures: 0,
        }
    }

    /// After a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The delay after one more failure: uniformly in `[cap/2, cap]`, where
    /// `cap = min(max, initial * 2^(failures-1))`.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.failures.min(30);
        self.failures = self.failures.saturating_add(1);
        let cap = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let half = cap / 2;
        let mut r = [0u8; 8];
        let _ = aws_lc_rs::rand::fill(&mut r);
        let span = u64::try_from(half.as_millis()).unwrap_or(u64::MAX).max(1);
        half + Duration::from_millis(u64::from_le_bytes(r) % (span + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let delays: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        for (i, d) in delays.iter().enumerate() {
            let cap = Duration::from_millis(100 * (1 << i)).min(Duration::from_secs(2));
            assert!(
                *d >= cap / 2 && *d <= cap,
                "delay {i}: {d:?} outside [{:?}, {cap:?}]",
                cap / 2
            );
        }
        assert!(delays[7] >= Duration::from_secs(1));
        // Jitter: a hundred edges failing together do not all wait the same.
        let spread: std::collections::BTreeSet<u128> = (0..100)
            .map(|_| {
                let mut b = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60));
                b.next_delay().as_millis()
            })
            .collect();
        assert!(spread.len() > 20, "{spread:?}");
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
