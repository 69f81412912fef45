//! `[outbox]` and `[hub]`: how much the edge may queue for the hub, and how
//! it delivers. The hub itself (its URL, CA and this edge's certificate) is
//! not configured here: `lensguard edge enroll` writes it to the data
//! directory, and an edge that never enrolled has no hub and makes no
//! outbound connection at all.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[outbox]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// Most records waiting for the hub; past it new photos are refused
    /// (503). Default 100,000.
    pub max_records: Option<u64>,
    /// Most bytes waiting. Default 256 MiB.
    pub max_bytes: Option<u64>,
}

/// `[hub]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubSection {
    /// Records per batch. Default 500, at most 1000.
    pub batch_records: Option<u32>,
    /// First retry delay after a failed delivery, milliseconds. Default 500.
    pub retry_initial_ms: Option<u64>,
    /// Longest retry delay, seconds. Default 60.
    pub retry_max_seconds: Option<u64>,
    /// Deadline for connecting and for each exchange, seconds. Default 30.
    pub request_timeout_seconds: Option<u64>,
    /// Time between asking the hub for model updates, seconds. Default 600.
    pub model_check_seconds: Option<u64>,
}

/// Validated `[outbox]` and `[hub]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Most records waiting.
    pub max_records: u64,
    /// Most bytes waiting.
    pub max_bytes: u64,
    /// Records per batch.
    pub batch_records: u32,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
    /// Deadline per connection and exchange.
    pub request_timeout: Duration,
    /// Time between asking the hub for model updates.
    pub model_check: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        validate(
            &OutboxSection::default(),
            &HubSection::default(),
            &mut Vec::new(),
        )
    }
}

/// Validates both sections, adding problems to `problems`.
pub fn validate(
    outbox: &OutboxSection,
    hub: &HubSection,
    problems: &mut Vec<String>,
) -> DeliveryConfig {
    let mut check = |name: &str, v: u64, lo: u64, hi: u64| {
        if !(lo..=hi).contains(&v) {
            problems.push(format!("{name}: must be {lo} to {hi}, got {v}"));
        }
        v.clamp(lo, hi)
    };
    let max_records = check(
        "outbox.max_records",
        outbox.max_records.unwrap_or(100_000),
        1,
        100_000_000,
    );
    let max_bytes = check(
        "outbox.max_bytes",
        outbox.max_bytes.unwrap_or(256 * 1024 * 1024),
        64 * 1024,
        64 * 1024 * 1024 * 1024,
    );
    let batch = check(
        "hub.batch_records",
        u64::from(hub.batch_records.unwrap_or(500)),
        1,
        1000,
    );
    let initial = check(
        "hub.retry_initial_ms",
        hub.retry_initial_ms.unwrap_or(500),
        10,
        60_000,
    );
    let max = check(
        "hub.retry_max_seconds",
        hub.retry_max_seconds.unwrap_or(60),
        1,
        3600,
    );
    let timeout = check(
        "hub.request_timeout_seconds",
        hub.request_timeout_seconds.unwrap_or(30),
        1,
        600,
    );
    let model_check = check(
        "hub.model_check_seconds",
        hub.model_check_seconds.unwrap_or(600),
        1,
        86_400,
    );
    DeliveryConfig {
        model_check: Duration::from_secs(model_check),
        max_records,
        max_bytes,
        batch_records: u32::try_from(batch).unwrap_or(500),
        retry_initial: Duration::from_millis(initial),
        retry_max: Duration::from_secs(max).max(Duration::from_millis(initial)),
        request_timeout: Duration::from_secs(timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let d = DeliveryConfig::default();
        assert_eq!((d.max_records, d.batch_records), (100_000, 500));
        let mut problems = Vec::new();
        validate(
            &OutboxSection {
                max_records: Some(0),
                max_bytes: Some(1),
            },
            &HubSection {
                batch_records: Some(5000),
                ..Default::default()
            },
            &mut problems,
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("outbox.max_records")));
    }
}
