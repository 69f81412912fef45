//! The edge's outbox and delivery metrics (OpenMetrics text at `/metrics`,
//! behind the `metrics:read` scope). Queue depth, bytes and the oldest
//! record's age are read from the database at each scrape; the counters
//! count since this process started (a delivery rate is their `rate()`).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The outbox's metrics.
pub struct EdgeMetrics {
    registry: Registry,
    /// Records waiting.
    pub depth: Gauge,
    /// Payload bytes waiting.
    pub bytes: Gauge,
    /// Age of the oldest waiting record, seconds (0 when empty).
    pub oldest_age: Gauge,
    /// Records the hub acknowledged.
    pub delivered: Counter,
    /// Batches the hub acknowledged.
    pub batches: Counter,
    /// Records the hub already held (a resend after a lost acknowledgement).
    pub duplicates: Counter,
    /// Delivery attempts that failed (no hub, refused, timed out).
    pub failures: Counter,
    /// Photos refused because the outbox was full.
    pub refused_full: Counter,
    /// 1 while the audit log cannot be written (every change is refused).
    pub audit_unwritable: Gauge,
    /// Signed checkpoints a witness (the database anchor, a checkpoint
    /// file) could not keep.
    pub audit_witness_failures: Gauge,
}

impl EdgeMetrics {
    /// Registers every metric.
    pub fn new() -> EdgeMetrics {
        let mut registry = Registry::default();
        let gauge = |r: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            r.register(name, help, g.clone());
            g
        };
        let counter = |r: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            r.register(name, help, c.clone());
            c
        };
        let r = &mut registry;
        let depth = gauge(r, "lensguard_outbox_depth", "Records waiting for the hub");
        let bytes = gauge(
            r,
            "lensguard_outbox_bytes",
            "Payload bytes waiting for the hub",
        );
        let oldest_age = gauge(
            r,
            "lensguard_outbox_oldest_age_seconds",
            "Age of the oldest record waiting (0 when none)",
        );
        let delivered = counter(
            r,
            "lensguard_outbox_delivered_records",
            "Records the hub acknowledged",
        );
        let batches = counter(
            r,
            "lensguard_outbox_delivered_batches",
            "Batches the hub acknowledged",
        );
        let duplicates = counter(
            r,
            "lensguard_outbox_hub_duplicates",
            "Records the hub already held when they were sent again",
        );
        let failures = counter(
            r,
            "lensguard_outbox_delivery_failures",
            "Failed delivery attempts",
        );
        let refused_full = counter(
            r,
            "lensguard_outbox_refused_photos",
            "Photos refused with 503 because the outbox was full",
        );
        let audit_unwritable = gauge(
            r,
            "lensguard_audit_unwritable",
            "1 while the audit log cannot be written and every change is refused",
        );
        let audit_witness_failures = gauge(
            r,
            "lensguard_audit_witness_failures",
            "Signed audit checkpoints a witness could not keep",
        );
        EdgeMetrics {
            registry,
            audit_unwritable,
            audit_witness_failures,
            depth,
            bytes,
            oldest_age,
            delivered,
            batches,
            duplicates,
            failures,
            refused_full,
        }
    }

    /// The text exposition, after refreshing the gauges from `stats`.
    pub fn encode(&self, stats: &lensguard_store::db::OutboxStats, now: i64) -> String {
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.depth.set(clamp(stats.depth));
        self.bytes.set(clamp(stats.bytes));
        self.oldest_age
            .set(stats.oldest_created_at.map_or(0, |t| (now - t).max(0)));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
