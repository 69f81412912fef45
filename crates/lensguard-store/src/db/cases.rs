//! Evidence cases (`cases`, `case_items`, schema 14): a named group of
//! inspections, camera events and footage segments with a reason and an
//! owner, held while the case is open.
//!
//! Invariants: an item is named by what it is and its id, and appears in a
//! case once. An open case owns one legal hold (`legal_holds.kind = 'case'`,
//! its value the case id) that covers every item in the case (see
//! [`crate::vault::retention`]); closing the case lifts that hold. Changes
//! go through [`crate::vault::Vault`], which audits each one first; this
//! module only reads.

use super::Db;
use crate::Error;
use sqlx::Row;

/// The tables.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    reason TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed_at INTEGER,
    closed_by TEXT
);
CREATE TABLE IF NOT EXISTS case_items (
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    added_by TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, item_id)
);
CREATE INDEX IF NOT EXISTS case_items_item ON case_items (item_id);";

/// What a case item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CaseItemKind {
    /// An inspection: its result and the photos kept for it.
    Inspection,
    /// A camera event: its record and its snapshot.
    Event,
    /// A recorded footage segment.
    Segment,
}

impl CaseItemKind {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseItemKind::Inspection => "inspection",
            CaseItemKind::Event => "event",
            CaseItemKind::Segment => "segment",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<CaseItemKind> {
        [
            CaseItemKind::Inspection,
            CaseItemKind::Event,
            CaseItemKind::Segment,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One piece of evidence in a case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseItem {
    /// What it is.
    pub kind: CaseItemKind,
    /// Its id (an inspection's, an event's, a segment's).
    pub id: String,
}

/// A case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Its id.
    pub id: String,
    /// A short name people use for it.
    pub name: String,
    /// Why it was opened.
    pub reason: String,
    /// Who opened it (`user:ID`, `key:ID`, `system:cli`).
    pub owner: String,
    /// When (seconds since the epoch).
    pub created_at: i64,
    /// When it was closed, if it was.
    pub closed_at: Option<i64>,
}

/// A stored item with who added it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCaseItem {
    /// The item.
    pub item: CaseItem,
    /// When it was added (seconds since the epoch).
    pub added_at: i64,
    /// Who added it.
    pub added_by: String,
}

fn row_to_case(row: &sqlx::sqlite::SqliteRow) -> Result<Case, Error> {
    Ok(Case {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        reason: row.try_get("reason")?,
        owner: row.try_get("owner")?,
        created_at: row.try_get("created_at")?,
        closed_at: row.try_get("closed_at")?,
    })
}

impl Db {
    /// Case `id`.
    pub async fn get_case(&self, id: &str) -> Result<Option<Case>, Error> {
        let row = sqlx::query("SELECT * FROM cases WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(row_to_case).transpose()
    }

    /// Every case, newest first.
    pub async fn list_cases(&self) -> Result<Vec<Case>, Error> {
        let rows = sqlx::query("SELECT * FROM cases ORDER BY created_at DESC, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_case).collect()
    }

    /// The items of case `id`, in the order they were added.
    pub async fn case_items(&self, id: &str) -> Result<Vec<StoredCaseItem>, Error> {
        let rows = sqlx::query(
            "SELECT kind, item_id, added_at, added_by FROM case_items WHERE case_id = ?
             ORDER BY added_at, kind, item_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let kind = CaseItemKind::parse(&kind).ok_or_else(|| {
                    Error::Corrupt(format!("case {id} holds an item of unknown kind {kind:?}"))
                })?;
                Ok(StoredCaseItem {
                    item: CaseItem {
                        kind,
                        id: r.try_get("item_id")?,
                    },
                    added_at: r.try_get("added_at")?,
                    added_by: r.try_get("added_by")?,
                })
            })
            .collect()
    }

    /// Whether `item` exists now (it may have been deleted since it was
    /// added to a case, before the case held it).
    pub async fn item_exists(&self, item: &CaseItem) -> Result<bool, Error> {
        let sql = match item.kind {
            CaseItemKind::Inspection => "SELECT COUNT(*) FROM inspections WHERE id = ?",
            CaseItemKind::Event => "SELECT COUNT(*) FROM camera_events WHERE id = ?",
            CaseItemKind::Segment => "SELECT COUNT(*) FROM camera_segments WHERE object_id = ?",
        };
        let n: i64 = sqlx::query_scalar(sql)
            .bind(&item.id)
            .fetch_one(self.pool())
            .await?;
        Ok(n > 0)
    }

    /// The items a selection names now: inspections of `device` created in
    /// `[from, to)` (seconds), or a camera's events and footage segments
    /// overlapping `[from, to)`.
    pub async fn select_items(&self, selection: &Selection) -> Result<Vec<CaseItem>, Error> {
        let mut out = Vec::new();
        match selection {
            Selection::Device { device, from, to } => {
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM inspections WHERE device_id = ? AND created_at >= ? AND created_at < ?
                     ORDER BY created_at, id",
                )
                .bind(device)
                .bind(from)
                .bind(to)
                .fetch_all(self.pool())
                .await?;
                out.extend(ids.into_iter().map(|id| CaseItem {
                    kind: CaseItemKind::Inspection,
                    id,
                }));
            }
            Selection::Camera { camera, from, to } => {
                let (from_ms, to_ms) = (from.saturating_mul(1000), to.saturating_mul(1000));
                let events: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM camera_events WHERE camera = ? AND end_ms > ? AND start_ms < ?
                     ORDER BY start_ms, id",
                )
                .bind(camera)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(self.pool())
                .await?;
                let segments: Vec<String> = sqlx::query_scalar(
                    "SELECT object_id FROM camera_segments WHERE camera = ? AND end_ms > ? AND start_ms < ?
                     ORDER BY start_ms, object_id",
                )
                .bind(camera)
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(self.pool())
                .await?;
                out.extend(events.into_iter().map(|id| CaseItem {
                    kind: CaseItemKind::Event,
                    id,
                }));
                out.extend(segments.into_iter().map(|id| CaseItem {
                    kind: CaseItemKind::Segment,
                    id,
                }));
            }
        }
        Ok(out)
    }
}

/// Evidence chosen by where and when it came from, resolved to items when
/// it is added (what arrives later is not added).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A device's inspections created in `[from, to)` (seconds).
    Device {
        /// The device.
        device: String,
        /// Start (inclusive).
        from: i64,
        /// End (exclusive).
        to: i64,
    },
    /// A camera's events and segments overlapping `[from, to)` (seconds).
    Camera {
        /// The camera.
        camera: String,
        /// Start (inclusive).
        from: i64,
        /// End (exclusive).
        to: i64,
    },
}
