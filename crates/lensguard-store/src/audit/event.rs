//! One audit event: who did what to what, when, from where, and how it ended.

use serde::{Deserialize, Serialize};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action happened.
    Success,
    /// The action was attempted and failed (bad password, invalid input).
    Failure,
    /// The actor was not allowed to do it.
    Denied,
}

/// An audit event. Secrets never go in here; values that identify people but must
/// not be stored in clear (a username typed at a failed login) are HMAC'd first
/// with [`crate::audit::Pseudonymizer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When it happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub time: time::OffsetDateTime,
    /// Who: `user:ID`, `key:ID`, `system` or `anonymous`.
    pub actor: String,
    /// Where from (client IP), when there is a client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// The request that caused it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What: a dotted name such as `auth.login` or `keys.rotate`.
    pub action: String,
    /// To what, when it acted on something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, when a reason was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For a deletion: what was deleted and how, to prove it later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Box<DeletionReceipt>>,
    /// For a batch that left the edge (`egress.batch`): what, where to, under
    /// which manifest, to reconcile against the manifest and the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<Box<EgressReceipt>>,
    /// For `audit.cadence`: the most entries the log may hold between two
    /// signed checkpoints from here on (what an offline verifier enforces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<u64>,
}

/// Proof of one batch leaving the edge, written to the audit log before the
/// batch is sent (no receipt, no sending): the SHA-256 of the exact bytes
/// sent, the destination, the egress manifests the records were projected
/// through, and which records (outbox sequence numbers) it held. A batch sent
/// again after a lost acknowledgement gets a receipt of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EgressReceipt {
    /// Where it went (`https://host:port`, hub edge id).
    pub destination: String,
    /// SHA-256 of the request body, hex.
    pub content_sha256: String,
    /// Bytes sent.
    pub bytes: u64,
    /// The manifests (`policy@revision`) of its records.
    pub manifests: Vec<String>,
    /// How many records.
    pub records: u64,
    /// Outbox sequence numbers of the first and last record (0 for a batch
    /// carrying only an audit checkpoint).
    pub first_seq: i64,
    /// See `first_seq`.
    pub last_seq: i64,
}

pub use lensguard_core::egress::DeletionReceipt;

impl AuditEvent {
    /// A successful action by `actor` at `time`.
    pub fn new(
        time: time::OffsetDateTime,
        actor: impl Into<String>,
        action: impl Into<String>,
    ) -> Self {
        AuditEvent {
            time,
            actor: actor.into(),
            source_ip: None,
            request_id: None,
            action: action.into(),
            target: None,
            outcome: Outcome::Success,
            reason: None,
            receipt: None,
            egress: None,
            checkpoint_every: None,
        }
    }

    /// Sets the target.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets the outcome and reason.
    pub fn outcome(mut self, outcome: Outcome, reason: Option<String>) -> Self {
        self.outcome = outcome;
        self.reason = reason;
        self
    }
}

/// The JSON object a log line carries: the sequence number, then the event.
#[derive(Serialize)]
pub(crate) struct EntryBody<'a> {
    pub(crate) seq: u64,
    #[serde(flatten)]
    pub(crate) event: &'a AuditEvent,
}

/// A parsed entry body (for export and verification).
#[derive(Debug, Clone, Deserialize)]
pub struct ParsedEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}
