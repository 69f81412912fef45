//! The hub's edge API, as JSON.
//!
//! - `POST /v1/enroll` ([`EnrolRequest`] -> [`EnrolResponse`]): no client
//!   certificate; the one-time token authorises it.
//! - `GET /v1/edge/state` (-> [`EdgeState`]) and `POST /v1/edge/batches`
//!   ([`Batch`] -> [`BatchAck`]): mutual TLS with the edge's certificate.
//!
//! - `GET /v1/edge/models/plan` (-> [`ModelPlan`]), `POST
//!   /v1/edge/models/report` ([`ModelReport`]), and the model repository
//!   under `GET /v1/edge/models/metadata/` and `.../targets/`: mutual TLS.
//!
//! A batch carries records in outbox order and, optionally, the edge's latest
//! signed audit checkpoint with a consistency proof from the size the hub
//! last accepted.

use lensguard_store::audit::Checkpoint;
use serde::{Deserialize, Serialize};

/// The hub's error code for a request from a revoked edge's certificate.
pub const EDGE_REVOKED: &str = "edge_revoked";

/// An edge asking to enrol.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// `<id>.<secret>` of the enrolment token (the CA pin stays with the edge).
    pub token: String,
    /// A PKCS#10 certificate signing request, PEM, for the edge's new key.
    pub csr_pem: String,
    /// The edge's audit log public key (Ed25519, 32 bytes), hex.
    pub audit_key: String,
}

/// The hub's answer to an enrolment.
#[derive(Debug, Serialize, Deserialize)]
pub struct EnrolResponse {
    /// The id the hub gave the edge.
    pub edge_id: String,
    /// The edge's client certificate, PEM.
    pub certificate_pem: String,
    /// The hub CA's certificate, PEM.
    pub ca_pem: String,
}

/// What the hub holds from an edge.
#[derive(Debug, Serialize, Deserialize)]
pub struct EdgeState {
    /// The edge's id.
    pub edge_id: String,
    /// The highest outbox sequence number stored.
    pub last_seq: i64,
    /// The size of the last accepted audit checkpoint.
    pub checkpoint_size: u64,
}

/// One outbox record on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireRecord {
    /// Outbox sequence number.
    pub seq: i64,
    /// When the edge wrote it (seconds since the epoch).
    pub created_at: i64,
    /// What it is (`inspection`).
    pub kind: String,
    /// The record: `{"manifest": "policy@revision", "data": {...}}`.
    pub payload: serde_json::Value,
}

/// An audit checkpoint and its consistency proof.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCheckpoint {
    /// The signed checkpoint.
    pub checkpoint: Checkpoint,
    /// The size the proof starts from.
    pub from_size: u64,
    /// The proof's hashes, hex.
    pub proof: Vec<String>,
}

/// A batch of records.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Records in sequence order.
    pub records: Vec<WireRecord>,
    /// The edge's latest checkpoint, when its log grew.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<WireCheckpoint>,
}

/// The hub's acknowledgement of a batch (sent only after it committed).
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchAck {
    /// Every record up to this sequence number is stored.
    pub acknowledged_through: i64,
    /// Records stored now.
    pub stored: u64,
    /// Records the hub already held.
    pub duplicates: u64,
    /// `accepted`, `stale` or `flagged`, when a checkpoint was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The checkpoint size the hub holds now.
    pub checkpoint_size: u64,
}

/// Which release of each detector the hub wants this edge to run.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPlan {
    /// By detector: the release to run, or `None` to keep what runs (the
    /// edge is not in a wave yet and no earlier release was rolled out). A
    /// detector not named follows the repository's current release.
    pub releases: std::collections::BTreeMap<String, Option<String>>,
}

/// What an edge runs, after a round of updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelReport {
    /// By detector.
    pub models: Vec<ModelState>,
}

/// One detector's state on an edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelState {
    /// The detector.
    pub name: String,
    /// Its active release, or `built-in`.
    pub version: String,
    /// `active`, `on-trial` or `refused` (the release the plan named was
    /// not activated: `detail` says why).
    pub state: String,
    /// Why, or what else to know.
    pub detail: String,
}
