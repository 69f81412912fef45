//! Checking each edge's signed audit checkpoints: its log history may only
//! grow.
//!
//! The hub keeps, per edge, the last checkpoint it accepted (size and root).
//! A new one is accepted only when its Ed25519 signature verifies with the
//! audit key the edge registered at enrolment and an RFC 9162 consistency
//! proof shows the stored tree is a prefix of the new one. A smaller tree
//! (rollback), a different root at the same size or a proof that does not
//! verify (fork), or a bad signature flags the edge: the flag and its reason
//! stay until an operator looks (`lensguard hub edges` shows it). The update
//! is a compare-and-swap on the stored size, so two hub processes cannot both
//! advance it from the same base.

use super::HubDb;
use crate::Error;
use crate::audit::Checkpoint;
use crate::audit::merkle::{Hash, verify_consistency};

/// A checkpoint an edge presents, with its proof.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointUpdate<'a> {
    /// The signed checkpoint.
    pub checkpoint: &'a Checkpoint,
    /// The tree size the proof starts from (the hub's stored size, which the
    /// edge learnt from the hub).
    pub from_size: u64,
    /// Consistency proof from `from_size` to the checkpoint's size.
    pub proof: &'a [Hash],
}

/// What the hub made of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointOutcome {
    /// Accepted; the stored size is now this.
    Accepted(u64),
    /// The proof starts from a size the hub does not hold (another hub
    /// process moved on, or the edge is behind): nothing changed; the edge
    /// should ask again from this size.
    Stale(u64),
    /// The history was rewritten or the signature is wrong: the edge is now
    /// flagged, for this reason.
    Flagged(String),
}

impl HubDb {
    /// Checks `update` from edge `edge_id` and stores it when consistent.
    pub async fn accept_checkpoint(
        &self,
        edge_id: &str,
        update: CheckpointUpdate<'_>,
        now: i64,
    ) -> Result<CheckpointOutcome, Error> {
        let Some(edge) = self.edge(edge_id).await? else {
            return Err(Error::NotFound(format!("edge {edge_id}")));
        };
        let stored_size = u64::try_from(edge.checkpoint_size).unwrap_or(0);
        let cp = update.checkpoint;
        let key = hex::decode(&edge.audit_key).unwrap_or_default();
        let verdict = if !cp.verify(&key) {
            Some("a checkpoint's signature does not verify with the edge's audit key".to_owned())
        } else if cp.size < stored_size {
            Some(format!(
                "rollback: a checkpoint of {} entries after one of {stored_size}",
                cp.size
            ))
        } else if update.from_size != stored_size {
            return Ok(CheckpointOutcome::Stale(stored_size));
        } else {
            let old_root = edge
                .checkpoint_root
                .as_deref()
                .and_then(|r| hex::decode(r).ok())
                .and_then(|v| Hash::try_from(v).ok());
            let new_root = cp.root_hash();
            match (stored_size, old_root, new_root) {
                (_, _, None) => Some("a checkpoint's root is malformed".to_owned()),
                (0, _, Some(_)) => None,
                (_, None, Some(_)) => Some("the stored checkpoint is unreadable".to_owned()),
                (_, Some(old), Some(new)) => {
                    verify_consistency(stored_size, cp.size, &old, &new, update.proof)
                        .err()
                        .map(|e| {
                            format!(
                                "fork: the log of {} entries does not extend the one of {stored_size} ({e})",
                                cp.size
                            )
                        })
                }
            }
        };
        if let Some(reason) = verdict {
            sqlx::query(
                "UPDATE hub_edges SET flagged_at = COALESCE(flagged_at, $1),
                     flag_reason = COALESCE(flag_reason, $2) WHERE id = $3",
            )
            .bind(now)
            .bind(&reason)
            .bind(edge_id)
            .execute(self.pool())
            .await?;
            return Ok(CheckpointOutcome::Flagged(reason));
        }
        if cp.size == stored_size {
            return Ok(CheckpointOutcome::Accepted(stored_size));
        }
        let size = i64::try_from(cp.size).map_err(|_| Error::Rejected("tree too large".into()))?;
        let signed_at = cp.time.unix_timestamp();
        let mut tx = self.pool().begin().await?;
        let moved = sqlx::query(
            "UPDATE hub_edges SET checkpoint_size = $1, checkpoint_root = $2, checkpoint_time = $3
             WHERE id = $4 AND checkpoint_size = $5",
        )
        .bind(size)
        .bind(&cp.root)
        .bind(signed_at)
        .bind(edge_id)
        .bind(edge.checkpoint_size)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved != 1 {
            tx.rollback().await?;
            let now_size = self.edge(edge_id).await?.map_or(0, |e| e.checkpoint_size);
            return Ok(CheckpointOutcome::Stale(
                u64::try_from(now_size).unwrap_or(0),
            ));
        }
        let text = serde_json::to_string(cp).map_err(|e| Error::Internal(e.to_string()))?;
        sqlx::query(
            "INSERT INTO hub_checkpoints (edge_id, size, root, signed_at, received_at, checkpoint)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (edge_id, size) DO NOTHING",
        )
        .bind(edge_id)
        .bind(size)
        .bind(&cp.root)
        .bind(signed_at)
        .bind(now)
        .bind(text)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(CheckpointOutcome::Accepted(cp.size))
    }
}

impl HubDb {
    /// Every checkpoint accepted from `edge_id`, oldest first, as the edge
    /// signed them: what `lensguard audit verify --trusted-checkpoint` on
    /// the edge checks its log against.
    pub async fn checkpoints(&self, edge_id: &str) -> Result<Vec<Checkpoint>, Error> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT checkpoint FROM hub_checkpoints WHERE edge_id = $1 ORDER BY size",
        )
        .bind(edge_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|t| {
                serde_json::from_str(t).map_err(|e| {
                    Error::Corrupt(format!(
                        "a stored checkpoint of {edge_id} is unreadable ({e})"
                    ))
                })
            })
            .collect()
    }
}
