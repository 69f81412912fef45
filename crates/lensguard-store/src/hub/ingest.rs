//! Storing a batch of an edge's records, exactly once.
//!
//! A batch is one transaction of multi-row `INSERT ... ON CONFLICT (edge_id,
//! seq) DO NOTHING`: records the hub already holds (the edge resent a batch
//! whose acknowledgement it never saw) are counted as duplicates and left
//! as they are, so the effect of delivering a record any number of times is
//! one row. The acknowledgement ([`IngestOutcome::acknowledged_through`]) is
//! given only after the commit.

use super::HubDb;
use crate::Error;

/// Rows per `INSERT` statement (10 parameters each; well under both
/// backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 100;

/// One record of a batch, as the edge sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRecord {
    /// The edge's outbox sequence number.
    pub seq: i64,
    /// When the edge wrote it (seconds since the epoch).
    pub created_at: i64,
    /// What it is (`inspection`).
    pub kind: String,
    /// The egress manifest it was projected through (`policy@revision`).
    pub manifest: String,
    /// The inspection it describes, if any.
    pub inspection_id: Option<String>,
    /// The device that submitted it, if the manifest let that out.
    pub device_id: Option<String>,
    /// The verdict, if the manifest let it out.
    pub verdict: Option<String>,
    /// The record itself, JSON.
    pub payload: String,
}

/// What a batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Records stored now.
    pub stored: u64,
    /// Records the hub already held.
    pub duplicates: u64,
    /// The highest sequence number of the batch: the edge may retire
    /// everything up to it.
    pub acknowledged_through: i64,
}

impl HubDb {
    /// Stores `records` from edge `edge_id` in one transaction.
    pub async fn ingest(
        &self,
        edge_id: &str,
        records: &[IngestRecord],
        now: i64,
    ) -> Result<IngestOutcome, Error> {
        let mut tx = self.pool().begin().await?;
        let mut stored = 0;
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let mut sql = String::from(
                "INSERT INTO hub_records (edge_id, seq, kind, created_at, received_at, manifest, \
                 inspection_id, device_id, verdict, payload) VALUES ",
            );
            for i in 0..chunk.len() {
                let b = i * 10;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 7,
                    b + 8,
                    b + 9,
                    b + 10
                ));
            }
            sql.push_str(" ON CONFLICT (edge_id, seq) DO NOTHING");
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q
                    .bind(edge_id)
                    .bind(r.seq)
                    .bind(&r.kind)
                    .bind(r.created_at)
                    .bind(now)
                    .bind(&r.manifest)
                    .bind(&r.inspection_id)
                    .bind(&r.device_id)
                    .bind(&r.verdict)
                    .bind(&r.payload);
            }
            stored += q.execute(&mut *tx).await?.rows_affected();
        }
        sqlx::query("UPDATE hub_edges SET last_seen = $1 WHERE id = $2")
            .bind(now)
            .bind(edge_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(IngestOutcome {
            stored,
            duplicates: records.len() as u64 - stored,
            acknowledged_through: records.iter().map(|r| r.seq).max().unwrap_or(0),
        })
    }

    /// The highest sequence number held from edge `edge_id` (0 for none).
    pub async fn last_seq(&self, edge_id: &str) -> Result<i64, Error> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT MAX(seq) FROM hub_records WHERE edge_id = $1")
                .bind(edge_id)
                .fetch_one(self.pool())
                .await?;
        Ok(seq.unwrap_or(0))
    }
}
