//! The ledger of files a watched-folder source has taken
//! (`source_claims`, schema 11): what makes a file inspected exactly once
//! across crashes and restarts.
//!
//! A file is identified as it was found: its path, inode, size and
//! modification time. The source records the claim (with the inspection id
//! it will use) durably **before** it processes the file, marks it
//! `inspected` once the result is stored, and forgets it once the file is
//! deleted or moved. After a crash the source resumes every claim: a file
//! still there with the same identity is submitted again under the same
//! inspection id (the intake's idempotency finds a result that was already
//! stored, so nothing is inspected twice), or only deleted or moved when it
//! was already inspected; a claim whose file is gone or changed is
//! forgotten.
//!
//! Invariant: at most one claim per (source, path); a claim for a file
//! with another identity replaces it (a new file under an old name is a
//! new submission).

use super::Db;
use crate::Error;

/// The table.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS source_claims (
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inspection_id TEXT NOT NULL,
    inspected INTEGER NOT NULL DEFAULT 0,
    claimed_at INTEGER NOT NULL,
    PRIMARY KEY (source, path)
);";

/// A file as a source found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// Inode number.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// A recorded claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The file's path (as the source names it).
    pub path: String,
    /// The file as it was when claimed.
    pub identity: FileIdentity,
    /// The inspection id the file is submitted under.
    pub inspection_id: String,
    /// Whether its result is stored (only the delete or move is left).
    pub inspected: bool,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Db {
    /// The claim on `path` by `source` for a file with `identity`: the one
    /// recorded, or a new one under `new_id` (replacing a claim on another
    /// file under the same path). Durable when it returns.
    pub async fn claim_file(
        &self,
        source: &str,
        path: &str,
        identity: FileIdentity,
        new_id: &str,
        now: time::OffsetDateTime,
    ) -> Result<Claim, Error> {
        let mut tx = self.pool().begin().await?;
        let found: Option<(i64, i64, i64, String, i64)> = sqlx::query_as(
            "SELECT inode, size, mtime_ns, inspection_id, inspected FROM source_claims
             WHERE source = ? AND path = ?",
        )
        .bind(source)
        .bind(path)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((inode, size, mtime_ns, id, inspected)) = found
            && (inode, size, mtime_ns)
                == (
                    to_i64(identity.inode),
                    to_i64(identity.size),
                    identity.mtime_ns,
                )
        {
            tx.commit().await?;
            return Ok(Claim {
                path: path.to_owned(),
                identity,
                inspection_id: id,
                inspected: inspected != 0,
            });
        }
        sqlx::query(
            "INSERT INTO source_claims (source, path, inode, size, mtime_ns, inspection_id, inspected, claimed_at)
             VALUES (?, ?, ?, ?, ?, ?, 0, ?)
             ON CONFLICT (source, path) DO UPDATE SET inode = excluded.inode, size = excluded.size,
                 mtime_ns = excluded.mtime_ns, inspection_id = excluded.inspection_id,
                 inspected = 0, claimed_at = excluded.claimed_at",
        )
        .bind(source)
        .bind(path)
        .bind(to_i64(identity.inode))
        .bind(to_i64(identity.size))
        .bind(identity.mtime_ns)
        .bind(new_id)
        .bind(super::unix(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Claim {
            path: path.to_owned(),
            identity,
            inspection_id: new_id.to_owned(),
            inspected: false,
        })
    }

    /// Records that the claimed file's result is stored.
    pub async fn mark_claim_inspected(&self, source: &str, path: &str) -> Result<(), Error> {
        sqlx::query("UPDATE source_claims SET inspected = 1 WHERE source = ? AND path = ?")
            .bind(source)
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets the claim on `path` (its file is deleted, moved or gone).
    pub async fn forget_claim(&self, source: &str, path: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM source_claims WHERE source = ? AND path = ?")
            .bind(source)
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every claim `source` holds, oldest first.
    pub async fn claims(&self, source: &str) -> Result<Vec<Claim>, Error> {
        let rows: Vec<(String, i64, i64, i64, String, i64)> = sqlx::query_as(
            "SELECT path, inode, size, mtime_ns, inspection_id, inspected FROM source_claims
             WHERE source = ? ORDER BY claimed_at, path",
        )
        .bind(source)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(path, inode, size, mtime_ns, inspection_id, inspected)| Claim {
                    path,
                    identity: FileIdentity {
                        inode: u64::try_from(inode).unwrap_or(0),
                        size: u64::try_from(size).unwrap_or(0),
                        mtime_ns,
                    },
                    inspection_id,
                    inspected: inspected != 0,
                },
            )
            .collect())
    }
}
