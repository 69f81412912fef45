//! The audit log's proofs over the API (`audit:read`):
//! `GET /v1/audit/checkpoint`, `GET /v1/audit/proofs/inclusion` and
//! `GET /v1/audit/proofs/consistency`.
//!
//! A client keeps the newest signed checkpoint it has seen; later it asks for a
//! consistency proof from that size to a newer checkpoint's size and checks it
//! (RFC 9162 section 2.1.4.2), so the log cannot rewrite its past without the
//! client noticing. An inclusion proof shows one entry (by its leaf hash, which
//! the client computes from the entry's bytes in an export) is in the tree.
//! Hashes are hex; `lensguard audit proof` prints the same answers offline.

use super::auth::{Auth, audit_read};
use super::http::{RequestId, error};
use super::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::AuditRead;
use lensguard_store::audit::proofs::{self, Consistency, Inclusion};
use lensguard_store::audit::{Checkpoint, key_id};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The log's state and its newest signed checkpoint.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AuditHead {
    /// Entries in the log now.
    pub size: u64,
    /// Merkle root over them, hex.
    pub root: String,
    /// Ed25519 public key that signs checkpoints, hex.
    pub public_key: String,
    /// Its key id.
    pub key_id: String,
    /// The newest signed checkpoint (`null` before the first).
    pub checkpoint: Option<CheckpointView>,
}

/// A signed checkpoint, as written in `checkpoints.jsonl`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckpointView {
    /// Entries covered.
    pub size: u64,
    /// Merkle root, hex.
    pub root: String,
    /// Signing time (RFC 3339).
    pub time: String,
    /// Signing key id.
    pub key_id: String,
    /// Ed25519 signature over `lensguard-audit-checkpoint/v1\n<size>\n<root>\n<time>\n`, base64.
    pub signature: String,
}

impl From<&Checkpoint> for CheckpointView {
    fn from(c: &Checkpoint) -> Self {
        CheckpointView {
            size: c.size,
            root: c.root.clone(),
            time: c
                .time
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            key_id: c.key_id.clone(),
            signature: c.signature.clone(),
        }
    }
}

/// Query of the inclusion proof.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// An inclusion proof.
#[derive(Debug, Serialize, JsonSchema)]
pub struct InclusionProof {
    /// Entry index (0-based; the entry's `seq`).
    pub index: u64,
    /// Tree size the proof is for.
    pub size: u64,
    /// The entry's leaf hash, hex.
    pub leaf_hash: String,
    /// Root of the tree of `size` entries, hex.
    pub root: String,
    /// Audit path, leaf to root, hex.
    pub path: Vec<String>,
}

/// Query of the consistency proof.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// A consistency proof.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConsistencyProof {
    /// Older tree size.
    pub from: u64,
    /// Newer tree size.
    pub to: u64,
    /// Root of the older tree, hex.
    pub from_root: String,
    /// Root of the newer tree, hex.
    pub to_root: String,
    /// The proof, hex.
    pub path: Vec<String>,
}

fn hexes(v: &[[u8; 32]]) -> Vec<String> {
    v.iter().map(hex::encode).collect()
}

impl From<&Inclusion> for InclusionProof {
    fn from(p: &Inclusion) -> Self {
        InclusionProof {
            index: p.index,
            size: p.size,
            leaf_hash: hex::encode(p.leaf),
            root: hex::encode(p.root),
            path: hexes(&p.path),
        }
    }
}

impl From<&Consistency> for ConsistencyProof {
    fn from(p: &Consistency) -> Self {
        ConsistencyProof {
            from: p.from,
            to: p.to,
            from_root: hex::encode(p.from_root),
            to_root: hex::encode(p.to_root),
            path: hexes(&p.path),
        }
    }
}

fn bad(rid: &RequestId, message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message, rid)
}

/// `GET /v1/audit/checkpoint`.
pub async fn head(State(state): State<AppState>, auth: Auth<AuditRead>) -> Response {
    // Recorded first: the answer's size includes this read's own entry.
    if let Err(refused) = audit_read(&state, &auth, "audit.checkpoint", "audit".into(), None).await
    {
        return refused;
    }
    let log = &state.audit;
    let size = log.len();
    Json(AuditHead {
        size,
        root: log.root(size).map(hex::encode).unwrap_or_default(),
        public_key: hex::encode(log.public_key()),
        key_id: key_id(log.public_key()),
        checkpoint: log.checkpoints().last().map(CheckpointView::from),
    })
    .into_response()
}

/// `GET /v1/audit/proofs/inclusion?index=N[&size=M]` (size defaults to the log's).
pub async fn inclusion(
    State(state): State<AppState>,
    auth: Auth<AuditRead>,
    query: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let Ok(Query(q)) = query else {
        return bad(&rid, "give index (and optionally size) as integers".into());
    };
    let target = format!("inclusion:{}", q.index);
    if let Err(refused) = audit_read(&state, &auth, "audit.proof", target, None).await {
        return refused;
    }
    match proofs::inclusion(state.audit.as_ref(), q.index, q.size) {
        Ok(p) => Json(InclusionProof::from(&p)).into_response(),
        Err(e) => proof_failed(&rid, e),
    }
}

/// 400 with the reason for a request the log cannot answer (out of range);
/// any other failure is the service's own: 500 without its text (which goes
/// to stderr).
fn proof_failed(rid: &RequestId, e: lensguard_store::Error) -> Response {
    match e {
        lensguard_store::Error::Rejected(m) => bad(rid, m),
        other => {
            eprintln!("lensguard: an audit proof failed: {other}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the proof could not be computed; the reason is in the service's log",
                rid,
            )
        }
    }
}

/// `GET /v1/audit/proofs/consistency?from=A[&to=B]` (to defaults to the log's size).
pub async fn consistency(
    State(state): State<AppState>,
    auth: Auth<AuditRead>,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let Ok(Query(q)) = query else {
        return bad(&rid, "give from (and optionally to) as integers".into());
    };
    let target = format!("consistency:{}", q.from);
    if let Err(refused) = audit_read(&state, &auth, "audit.proof", target, None).await {
        return refused;
    }
    match proofs::consistency(state.audit.as_ref(), q.from, q.to) {
        Ok(p) => Json(ConsistencyProof::from(&p)).into_response(),
        Err(e) => proof_failed(&rid, e),
    }
}

#[cfg(test)]
mod proof_failure_tests {
    use super::*;

    async fn body(r: Response) -> (StatusCode, String) {
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    #[tokio::test]
    async fn a_bad_range_is_explained_and_an_internal_failure_is_not() {
        let rid = RequestId("r1".to_owned());
        let (status, text) = body(proof_failed(
            &rid,
            lensguard_store::Error::Rejected("index 9 is outside the log's 3 entries".into()),
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(text.contains("outside the log"), "{text}");
        let (status, text) = body(proof_failed(
            &rid,
            lensguard_store::Error::Corrupt("/srv/lensguard/audit/log.jsonl line 7".into()),
        ))
        .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!text.contains("/srv/lensguard"), "{text}");
    }
}
