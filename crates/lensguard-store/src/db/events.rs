//! Camera events (`camera_events`, schema 12): what a camera saw, as
//! metadata only (label, times, best score, zones, box trail in fractions of
//! the frame); never a pixel.
//!
//! An event is stored with its outbox record in one transaction (as an
//! inspection is), kept under the `result` data category: each row carries
//! its expiry, the policy that set it and the SHA-256 of its JSON, and the
//! sweeper deletes it with a receipt (`crate::vault::retention`). An event
//! id is unique; storing the same id twice stores nothing the second time.
//! `device_id` is the camera's name, so a legal hold or an erasure by
//! device covers a camera's events.

use super::{Db, unix};
use crate::Error;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The table.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS camera_events (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    camera TEXT NOT NULL,
    device_id TEXT NOT NULL,
    label TEXT NOT NULL,
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    event TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    policy TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS camera_events_start ON camera_events (start_ms, id);
CREATE INDEX IF NOT EXISTS camera_events_expiry ON camera_events (expires_at);";

/// An event to store.
#[derive(Debug, Clone, Copy)]
pub struct NewCameraEvent<'a> {
    /// Its id.
    pub id: &'a str,
    /// The camera's name.
    pub camera: &'a str,
    /// What was seen (`person`, `car`).
    pub label: &'a str,
    /// Its start, milliseconds since the epoch (the service's clock).
    pub start_ms: i64,
    /// Its end, likewise.
    pub end_ms: i64,
    /// The event as JSON.
    pub event: &'a str,
    /// When it expires (seconds since the epoch, from `Vault::expiry`).
    pub expires_at: i64,
    /// The policy that set its retention (`name@revision`).
    pub policy: &'a str,
    /// Its record for the hub, in the same transaction (when one leaves).
    pub outbox: Option<super::NewOutboxRecord<'a>>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCameraEvent {
    /// Its id.
    pub id: String,
    /// The camera.
    pub camera: String,
    /// Its start, ms since the epoch (the paging cursor's first half).
    pub start_ms: i64,
    /// The event as JSON.
    pub event: String,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct CameraEventFilter {
    /// Only this camera's.
    pub camera: Option<String>,
    /// Only this label.
    pub label: Option<String>,
    /// Only events ending at or after this (ms since the epoch).
    pub from_ms: Option<i64>,
    /// Only events starting before this (ms since the epoch).
    pub to_ms: Option<i64>,
    /// Continue after this `(start_ms, id)`, from a previous page.
    pub after: Option<(i64, String)>,
    /// Only cameras matching these device patterns (`dock-*`), for a
    /// caller whose scope names devices; `None`: every camera.
    pub devices: Option<Vec<String>>,
}

impl Db {
    /// Stores an event (and its outbox record); `false` when the id was
    /// already stored (nothing changes).
    pub async fn insert_camera_event(
        &self,
        new: &NewCameraEvent<'_>,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO camera_events (id, created_at, camera, device_id, label, start_ms, end_ms,
                 event, expires_at, content_sha256, policy)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(new.id)
        .bind(unix(now))
        .bind(new.camera)
        .bind(new.camera)
        .bind(new.label)
        .bind(new.start_ms)
        .bind(new.end_ms)
        .bind(new.event)
        .bind(new.expires_at)
        .bind(hex::encode(Sha256::digest(new.event.as_bytes())))
        .bind(new.policy)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(record) = &new.outbox {
            super::outbox::enqueue(&mut tx, record, unix(now)).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// One event by id.
    pub async fn get_camera_event(&self, id: &str) -> Result<Option<StoredCameraEvent>, Error> {
        let row = sqlx::query("SELECT id, camera, start_ms, event FROM camera_events WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_event).transpose()
    }

    /// Newest first by start, at most `limit`, matching `filter`.
    pub async fn list_camera_events(
        &self,
        filter: &CameraEventFilter,
        limit: u32,
    ) -> Result<Vec<StoredCameraEvent>, Error> {
        let (after_t, after_id) = match &filter.after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT id, camera, start_ms, event FROM camera_events
             WHERE (?1 IS NULL OR camera = ?1)
               AND (?2 IS NULL OR label = ?2)
               AND (?3 IS NULL OR end_ms >= ?3)
               AND (?4 IS NULL OR start_ms < ?4)
               AND (?5 IS NULL OR (start_ms, id) < (?5, ?6))
               AND {scope}
             ORDER BY start_ms DESC, id DESC
             LIMIT ?7",
            scope = super::in_device_scope("device_id", "?8")
        );
        let rows = sqlx::query(&sql)
            .bind(filter.camera.as_deref())
            .bind(filter.label.as_deref())
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(after_t)
            .bind(after_id)
            .bind(i64::from(limit))
            .bind(
                filter
                    .devices
                    .as_ref()
                    .map(|d| serde_json::to_string(d).unwrap_or_default()),
            )
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_event).collect()
    }
}

fn row_to_event(row: &sqlx::sqlite::SqliteRow) -> Result<StoredCameraEvent, Error> {
    Ok(StoredCameraEvent {
        id: row.try_get("id")?,
        camera: row.try_get("camera")?,
        start_ms: row.try_get("start_ms")?,
        event: row.try_get("event")?,
    })
}
