//! The edge's outbox: what is waiting to be delivered to the hub.
//!
//! One row per record, `outbox (seq, created_at, kind, payload, bytes)`:
//! `seq` is the edge's delivery sequence (strictly increasing, never reused:
//! `AUTOINCREMENT`), which the hub deduplicates on together with the edge's
//! id, so a record sent twice counts once. A record describing an inspection
//! is written in the same transaction as the inspection ([`Db::insert_inspection`]
//! with [`NewInspection::outbox`]), so either both are durable or neither.
//! Records leave in `seq` order and are retired only after the hub
//! acknowledged them ([`Db::outbox_retire`]).
//!
//! The outbox is bounded ([`OutboxLimits`]): when it is full, the insert
//! fails with [`Error::OutboxFull`] before anything is written, and the
//! service refuses the photo (503) instead of dropping a record it accepted.
//!
//! `outbox_meta (depth, bytes)` holds the totals, changed in the same
//! transactions as the rows (and recounted when the database is opened), so
//! the bound is checked in constant time however long the backlog.
//!
//! Payloads are JSON that the egress manifest let out (the caller projects
//! them); nothing here reads or adds fields.
//!
//! [`NewInspection::outbox`]: super::NewInspection::outbox

use super::Db;
use crate::Error;
use lensguard_core::egress::EgressRecord;
use sqlx::Row;

/// Bounds on the outbox (the `Limits` of the edge's queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Most records waiting. Default 100,000.
    pub max_entries: u64,
    /// Most payload bytes waiting. Default 256 MiB.
    pub max_bytes: u64,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        OutboxLimits {
            max_entries: 100_000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A record waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Its delivery sequence number.
    pub seq: i64,
    /// When it was written (seconds since the epoch).
    pub created_at: i64,
    /// What it is (`inspection`, `deletion_receipt`, `checkpoint`).
    pub kind: String,
    /// The record, JSON.
    pub payload: String,
}

/// How full the outbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Records waiting.
    pub depth: u64,
    /// Payload bytes waiting.
    pub bytes: u64,
    /// When the oldest waiting record was written, if any.
    pub oldest_created_at: Option<i64>,
    /// The highest sequence number ever written (0 before the first).
    pub last_seq: i64,
}

/// A record to enqueue with an inspection. The outbox takes only an
/// [`EgressRecord`]: what `Egress::record` projected through the policy's
/// manifest, or a deletion receipt; never a string.
#[derive(Debug, Clone, Copy)]
pub struct NewOutboxRecord<'a> {
    /// The record.
    pub record: &'a EgressRecord,
    /// The outbox's bounds.
    pub limits: OutboxLimits,
}

/// Enqueues `record` inside `tx`, or fails with [`Error::OutboxFull`]
/// without writing anything.
pub(crate) async fn enqueue(
    tx: &mut sqlx::SqliteConnection,
    record: &NewOutboxRecord<'_>,
    now: i64,
) -> Result<i64, Error> {
    let (depth, bytes): (i64, i64) =
        sqlx::query_as("SELECT depth, bytes FROM outbox_meta WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
    let size = record.record.payload().len() as u64;
    let full = depth as u64 >= record.limits.max_entries
        || (bytes as u64).saturating_add(size) > record.limits.max_bytes;
    if full {
        return Err(Error::OutboxFull {
            depth: depth as u64,
            bytes: bytes as u64,
        });
    }
    let seq =
        sqlx::query("INSERT INTO outbox (created_at, kind, payload, bytes) VALUES (?, ?, ?, ?)")
            .bind(now)
            .bind(record.record.kind().as_str())
            .bind(record.record.payload())
            .bind(size as i64)
            .execute(&mut *tx)
            .await?
            .last_insert_rowid();
    sqlx::query("UPDATE outbox_meta SET depth = depth + 1, bytes = bytes + ? WHERE id = 1")
        .bind(size as i64)
        .execute(&mut *tx)
        .await?;
    Ok(seq)
}

/// Recomputes `outbox_meta` from the rows (on open).
pub(super) async fn recount(pool: &sqlx::SqlitePool) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO outbox_meta (id, depth, bytes)
         SELECT 1, COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox WHERE true
         ON CONFLICT (id) DO UPDATE SET depth = excluded.depth, bytes = excluded.bytes",
    )
    .execute(pool)
    .await?;
    Ok(())
}

impl Db {
    /// Up to `limit` waiting records after `after` (a sequence number), in
    /// order.
    pub async fn outbox_batch(&self, after: i64, limit: u32) -> Result<Vec<OutboxEntry>, Error> {
        let rows = sqlx::query(
            "SELECT seq, created_at, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxEntry {
                    seq: r.try_get("seq")?,
                    created_at: r.try_get("created_at")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect()
    }

    /// Retires every record up to and including `seq` (the hub acknowledged
    /// them); returns how many went.
    pub async fn outbox_retire(&self, seq: i64) -> Result<u64, Error> {
        let mut tx = self.pool().begin().await?;
        let (n, bytes): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM outbox WHERE seq <= ?")
                .bind(seq)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM outbox WHERE seq <= ?")
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE outbox_meta SET depth = depth - ?, bytes = bytes - ? WHERE id = 1")
            .bind(n)
            .bind(bytes)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n as u64)
    }

    /// How full the outbox is.
    pub async fn outbox_stats(&self) -> Result<OutboxStats, Error> {
        let (depth, bytes, oldest): (i64, i64, Option<i64>) = sqlx::query_as(
            "SELECT depth, bytes, (SELECT created_at FROM outbox ORDER BY seq LIMIT 1)
             FROM outbox_meta WHERE id = 1",
        )
        .fetch_one(self.pool())
        .await?;
        let last_seq: i64 = sqlx::query_scalar(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(OutboxStats {
            depth: depth as u64,
            bytes: bytes as u64,
            oldest_created_at: oldest,
            last_seq,
        })
    }
}
