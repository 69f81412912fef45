//! The hub's Prometheus metrics (OpenMetrics text at `/metrics`, operator
//! token required).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// Counters since this hub process started.
pub struct HubMetrics {
    registry: Registry,
    /// Batches committed.
    pub batches: Counter,
    /// Records stored.
    pub stored: Counter,
    /// Records received again and not stored twice.
    pub duplicates: Counter,
    /// Requests refused (unknown or revoked certificate, malformed batch).
    pub refused: Counter,
    /// Checkpoints that flagged an edge.
    pub flagged: Counter,
}

impl HubMetrics {
    /// Registers every metric.
    pub fn new() -> HubMetrics {
        let mut registry = Registry::default();
        let m = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let batches = m(&mut registry, "lensguard_hub_batches", "Batches committed");
        let stored = m(
            &mut registry,
            "lensguard_hub_records_stored",
            "Records stored",
        );
        let duplicates = m(
            &mut registry,
            "lensguard_hub_records_duplicate",
            "Records received again (a lost acknowledgement) and stored once",
        );
        let refused = m(
            &mut registry,
            "lensguard_hub_requests_refused",
            "Edge requests refused (unknown or revoked certificate, malformed batch)",
        );
        let flagged = m(
            &mut registry,
            "lensguard_hub_checkpoints_flagged",
            "Audit checkpoints that showed a rollback or fork",
        );
        HubMetrics {
            registry,
            batches,
            stored,
            duplicates,
            refused,
            flagged,
        }
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
