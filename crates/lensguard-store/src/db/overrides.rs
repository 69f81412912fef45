//! Overrides: a person's decision that a retry or fail result stands as
//! another verdict, with their stated reason (schema 15).
//!
//! An override never changes the stored result: it is a record of its own
//! on the inspection (who, when, why, from which verdict to which), listed
//! beside it. Its hub record, when the egress manifest names override
//! fields, is queued in the same transaction. Overrides go with their
//! inspection (`ON DELETE CASCADE`): when the result is deleted by retention
//! or erasure, so are the decisions about it.

use super::{Db, NewOutboxRecord, unix};
use crate::Error;
use sqlx::Row;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS overrides (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL REFERENCES inspections (id) ON DELETE CASCADE,
    actor TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    from_verdict TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason_codes TEXT NOT NULL,
    device_id TEXT
);
CREATE INDEX IF NOT EXISTS overrides_inspection ON overrides (inspection_id);
CREATE INDEX IF NOT EXISTS overrides_time ON overrides (created_at);
";

/// A new override.
#[derive(Debug)]
pub struct NewOverride<'a> {
    /// The inspection.
    pub inspection_id: &'a str,
    /// Who (`user:ID`, `key:ID`).
    pub actor: &'a str,
    /// Their stated reason.
    pub reason: &'a str,
    /// The verdict overridden.
    pub from_verdict: &'a str,
    /// The verdict that stands.
    pub verdict: &'a str,
    /// The reason codes overridden.
    pub reason_codes: &'a [String],
    /// The inspection's device.
    pub device_id: Option<&'a str>,
    /// Its record for the hub, in the same transaction (when one leaves).
    pub outbox: Option<NewOutboxRecord<'a>>,
}

/// A stored override.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOverride {
    /// Its id.
    pub id: String,
    /// The inspection.
    pub inspection_id: String,
    /// Who.
    pub actor: String,
    /// When, seconds since the epoch.
    pub created_at: i64,
    /// Their stated reason.
    pub reason: String,
    /// The verdict overridden.
    pub from_verdict: String,
    /// The verdict that stands.
    pub verdict: String,
    /// The reason codes overridden.
    pub reason_codes: Vec<String>,
    /// The inspection's device.
    pub device_id: Option<String>,
}

/// Which overrides to list.
#[derive(Debug, Clone, Default)]
pub struct OverrideFilter {
    /// At or after this time (seconds since the epoch).
    pub from: Option<i64>,
    /// Before this time.
    pub to: Option<i64>,
    /// Only by this actor.
    pub actor: Option<String>,
    /// Only of this device's inspections.
    pub device: Option<String>,
    /// Only this resulting verdict.
    pub verdict: Option<String>,
    /// Only devices this scope permits (the caller's device scope).
    pub devices: Option<lensguard_core::devices::DeviceScope>,
    /// Continue after this `(created_at, id)`.
    pub after: Option<(i64, String)>,
}

fn row_to_override(row: &sqlx::sqlite::SqliteRow) -> Result<StoredOverride, Error> {
    let codes: String = row.try_get("reason_codes")?;
    Ok(StoredOverride {
        id: row.try_get("id")?,
        inspection_id: row.try_get("inspection_id")?,
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
        reason: row.try_get("reason")?,
        from_verdict: row.try_get("from_verdict")?,
        verdict: row.try_get("verdict")?,
        reason_codes: serde_json::from_str(&codes).map_err(|e| Error::Corrupt(e.to_string()))?,
        device_id: row.try_get("device_id")?,
    })
}

impl Db {
    /// Stores an override (and its outbox record) at `now`.
    pub async fn add_override(
        &self,
        new: &NewOverride<'_>,
        id: &str,
        now: time::OffsetDateTime,
    ) -> Result<StoredOverride, Error> {
        let mut tx = self.pool().begin().await?;
        let codes = serde_json::to_string(new.reason_codes).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO overrides (id, inspection_id, actor, created_at, reason, from_verdict,
                                    verdict, reason_codes, device_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(new.inspection_id)
        .bind(new.actor)
        .bind(unix(now))
        .bind(new.reason)
        .bind(new.from_verdict)
        .bind(new.verdict)
        .bind(&codes)
        .bind(new.device_id)
        .execute(&mut *tx)
        .await?;
        if let Some(record) = &new.outbox {
            super::outbox::enqueue(&mut tx, record, unix(now)).await?;
        }
        tx.commit().await?;
        Ok(StoredOverride {
            id: id.to_owned(),
            inspection_id: new.inspection_id.to_owned(),
            actor: new.actor.to_owned(),
            created_at: unix(now),
            reason: new.reason.to_owned(),
            from_verdict: new.from_verdict.to_owned(),
            verdict: new.verdict.to_owned(),
            reason_codes: new.reason_codes.to_vec(),
            device_id: new.device_id.map(str::to_owned),
        })
    }

    /// The overrides of one inspection, oldest first.
    pub async fn overrides_of(&self, inspection_id: &str) -> Result<Vec<StoredOverride>, Error> {
        let rows =
            sqlx::query("SELECT * FROM overrides WHERE inspection_id = ? ORDER BY created_at, id")
                .bind(inspection_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(row_to_override).collect()
    }

    /// Newest first, at most `limit`, matching `filter`.
    pub async fn list_overrides(
        &self,
        filter: &OverrideFilter,
        limit: u32,
    ) -> Result<Vec<StoredOverride>, Error> {
        let (after_t, after_id) = match &filter.after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT * FROM overrides
             WHERE (?1 IS NULL OR created_at >= ?1)
               AND (?2 IS NULL OR created_at < ?2)
               AND (?3 IS NULL OR actor = ?3)
               AND (?4 IS NULL OR device_id = ?4)
               AND (?5 IS NULL OR verdict = ?5)
               AND (?6 IS NULL OR (created_at, id) < (?6, ?7))
               AND {scope}
             ORDER BY created_at DESC, id DESC
             LIMIT ?9",
            scope = super::in_device_scope("device_id", "?8")
        );
        let rows = sqlx::query(&sql)
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.actor.as_deref())
            .bind(filter.device.as_deref())
            .bind(filter.verdict.as_deref())
            .bind(after_t)
            .bind(after_id)
            .bind(
                filter
                    .devices
                    .as_ref()
                    .map(|d| serde_json::to_string(d.patterns()).unwrap_or_default()),
            )
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_override).collect()
    }
}
