//! Cameras' recorded footage (`camera_segments`, `camera_gaps`, schema 13):
//! where each sealed segment lies in time, and where the recording has holes.
//!
//! A segment row names its sealed vault object (`object_id`, the vault's
//! `vault_objects.id`) and is written in the same transaction as that
//! object's row ([`crate::vault::Vault::put_segment`]); it goes in the same
//! transaction as the object's row when the object is deleted (retention,
//! erasure, a camera's disk quota), so a listed segment can always be read
//! and a deleted one is never listed. A gap is the span between the end of
//! a camera's last segment before its stream broke and the first segment
//! after it came back, with why it broke; gaps hold no pixels.

use super::Db;
use crate::Error;
use sqlx::Row;

/// The tables.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS camera_segments (
    object_id TEXT PRIMARY KEY,
    camera TEXT NOT NULL,
    category TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    pictures INTEGER NOT NULL,
    codec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS camera_segments_time ON camera_segments (camera, start_ms);
CREATE TABLE IF NOT EXISTS camera_gaps (
    camera TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS camera_gaps_time ON camera_gaps (camera, start_ms);";

/// Where a segment lies (its category comes with its pixels).
#[derive(Debug, Clone, Copy)]
pub struct NewSegment<'a> {
    /// The camera's name.
    pub camera: &'a str,
    /// Its first picture, ms since the epoch (the service's clock).
    pub start_ms: i64,
    /// Where its last picture ends, likewise.
    pub end_ms: i64,
    /// Pictures in it.
    pub pictures: u32,
    /// `h264` or `h265`.
    pub codec: &'a str,
}

/// A stored segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSegment {
    /// Its id (the sealed object's).
    pub id: String,
    /// The camera.
    pub camera: String,
    /// `footage_continuous`, `footage_motion` or `footage_event`.
    pub category: String,
    /// Its first picture, ms since the epoch.
    pub start_ms: i64,
    /// Where its last picture ends, ms since the epoch.
    pub end_ms: i64,
    /// The file's size.
    pub bytes: i64,
    /// Pictures in it.
    pub pictures: i64,
    /// `h264` or `h265`.
    pub codec: String,
}

/// A hole in a camera's recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingGap {
    /// The camera.
    pub camera: String,
    /// Where the recording stopped, ms since the epoch.
    pub start_ms: i64,
    /// Where it went on, ms since the epoch.
    pub end_ms: i64,
    /// Why (the stream's failure).
    pub reason: String,
}

impl Db {
    /// Segment `id`.
    pub async fn get_segment(&self, id: &str) -> Result<Option<StoredSegment>, Error> {
        let row = sqlx::query("SELECT * FROM camera_segments WHERE object_id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_segment).transpose()
    }

    /// `camera`'s segments overlapping `[from_ms, to_ms)`, oldest first,
    /// after `after` (`(start_ms, id)` of a previous page), at most `limit`.
    pub async fn list_segments(
        &self,
        camera: &str,
        (from_ms, to_ms): (i64, i64),
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<StoredSegment>, Error> {
        let (after_t, after_id) = match &after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let rows = sqlx::query(
            "SELECT * FROM camera_segments
             WHERE camera = ?1 AND end_ms > ?2 AND start_ms < ?3
               AND (?4 IS NULL OR (start_ms, object_id) > (?4, ?5))
             ORDER BY start_ms, object_id LIMIT ?6",
        )
        .bind(camera)
        .bind(from_ms)
        .bind(to_ms)
        .bind(after_t)
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row_to_segment).collect()
    }

    /// Bytes of footage `camera` keeps now.
    pub async fn footage_bytes(&self, camera: &str) -> Result<u64, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(bytes), 0) FROM camera_segments WHERE camera = ?",
        )
        .bind(camera)
        .fetch_one(self.pool())
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Records a hole in `camera`'s recording.
    pub async fn record_gap(&self, gap: &RecordingGap) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO camera_gaps (camera, start_ms, end_ms, reason) VALUES (?, ?, ?, ?)",
        )
        .bind(&gap.camera)
        .bind(gap.start_ms)
        .bind(gap.end_ms)
        .bind(&gap.reason)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// `camera`'s gaps overlapping `[from_ms, to_ms)`, oldest first, at
    /// most `limit`.
    pub async fn list_gaps(
        &self,
        camera: &str,
        (from_ms, to_ms): (i64, i64),
        limit: u32,
    ) -> Result<Vec<RecordingGap>, Error> {
        let rows = sqlx::query(
            "SELECT * FROM camera_gaps WHERE camera = ?1 AND end_ms > ?2 AND start_ms < ?3
             ORDER BY start_ms LIMIT ?4",
        )
        .bind(camera)
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(RecordingGap {
                    camera: row.try_get("camera")?,
                    start_ms: row.try_get("start_ms")?,
                    end_ms: row.try_get("end_ms")?,
                    reason: row.try_get("reason")?,
                })
            })
            .collect()
    }
}

fn row_to_segment(row: &sqlx::sqlite::SqliteRow) -> Result<StoredSegment, Error> {
    Ok(StoredSegment {
        id: row.try_get("object_id")?,
        camera: row.try_get("camera")?,
        category: row.try_get("category")?,
        start_ms: row.try_get("start_ms")?,
        end_ms: row.try_get("end_ms")?,
        bytes: row.try_get("bytes")?,
        pictures: row.try_get("pictures")?,
        codec: row.try_get("codec")?,
    })
}
