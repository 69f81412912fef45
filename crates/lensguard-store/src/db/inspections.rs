//! Stored inspection results (the `result` data category), with
//! idempotency and retention: each row carries its expiry, the policy that
//! set it and the SHA-256 of the report, for the sweeper's deletion receipt
//! (`crate::vault::retention`). No pixels are stored here; evidence lives in
//! the vault.

use super::{Db, unix};
use crate::Error;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// An inspection as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInspection {
    /// Its id.
    pub id: String,
    /// Who submitted it (`key:ID` or `user:ID`).
    pub actor: String,
    /// Seconds since the epoch.
    pub created_at: i64,
    /// The report, as JSON (`lensguard.inspection.v1`).
    pub report: String,
    /// The device that sent it, when named.
    pub device_id: Option<String>,
    /// When the result itself expires (seconds since the epoch).
    pub expires_at: Option<i64>,
}

fn row_to_inspection(row: &sqlx::sqlite::SqliteRow) -> Result<StoredInspection, Error> {
    Ok(StoredInspection {
        id: row.try_get("id")?,
        actor: row.try_get("actor")?,
        created_at: row.try_get("created_at")?,
        report: row.try_get("report")?,
        device_id: row.try_get("device_id")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// The inspection an `Idempotency-Key` already names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentOriginal {
    /// The stored inspection.
    pub inspection: StoredInspection,
    /// SHA-256 of the request that made it, hex (`None` for inspections
    /// stored before schema 7, which kept no digest).
    pub request_sha256: Option<String>,
}

impl IdempotentOriginal {
    /// Whether a request with digest `sha256` is the same request (an
    /// original stored without a digest matches any).
    pub fn same_request(&self, sha256: &str) -> bool {
        self.request_sha256.as_deref().is_none_or(|d| d == sha256)
    }
}

/// An inspection to store.
#[derive(Debug, Clone, Copy)]
pub struct NewInspection<'a> {
    /// Its id.
    pub id: &'a str,
    /// Who submitted it.
    pub actor: &'a str,
    /// The submitter's `Idempotency-Key`, if any.
    pub idempotency_key: Option<&'a str>,
    /// SHA-256 of the request (photo and metadata), hex, stored with the
    /// key so a replay with a different request can be told apart.
    pub request_sha256: Option<&'a str>,
    /// The submitting device, if the submission named one (for filtering).
    pub device_id: Option<&'a str>,
    /// `pass`, `retry` or `fail`.
    pub verdict: &'a str,
    /// The report as JSON.
    pub report: &'a str,
    /// When the result expires (seconds since the epoch, from
    /// `Vault::expiry`).
    pub expires_at: i64,
    /// The policy that set its retention (`name@revision`).
    pub policy: &'a str,
    /// Its record for the hub, enqueued in the same transaction (when a hub
    /// is configured); a full outbox refuses the whole insert.
    pub outbox: Option<super::NewOutboxRecord<'a>>,
}

impl Db {
    /// Stores an inspection. With an idempotency key already used by `actor`, stores
    /// nothing and returns the original instead (`Err(original)`).
    pub async fn insert_inspection(
        &self,
        new: &NewInspection<'_>,
        now: time::OffsetDateTime,
    ) -> Result<Result<(), IdempotentOriginal>, Error> {
        let (id, actor, idempotency_key) = (new.id, new.actor, new.idempotency_key);
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO inspections (id, created_at, actor, idempotency_key, request_sha256, verdict,
                 report, device_id, expires_at, content_sha256, policy)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(unix(now))
        .bind(actor)
        .bind(idempotency_key)
        .bind(new.request_sha256)
        .bind(new.verdict)
        .bind(new.report)
        .bind(new.device_id)
        .bind(new.expires_at)
        .bind(hex::encode(Sha256::digest(new.report.as_bytes())))
        .bind(new.policy)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            if let Some(record) = &new.outbox {
                super::outbox::enqueue(&mut tx, record, unix(now)).await?;
            }
            tx.commit().await?;
            return Ok(Ok(()));
        }
        tx.rollback().await?;
        match idempotency_key {
            Some(k) => match self.find_idempotent(actor, k).await? {
                Some(original) => Ok(Err(original)),
                None => Err(Error::Conflict("inspection id collision".to_owned())),
            },
            None => Err(Error::Conflict("inspection id collision".to_owned())),
        }
    }

    /// The inspection `actor` stored under `idempotency_key`, if any, with
    /// the digest of the request that made it.
    pub async fn find_idempotent(
        &self,
        actor: &str,
        idempotency_key: &str,
    ) -> Result<Option<IdempotentOriginal>, Error> {
        let row = sqlx::query(
            "SELECT id, actor, created_at, report, device_id, expires_at, request_sha256 FROM inspections
              WHERE actor = ? AND idempotency_key = ?",
        )
        .bind(actor)
        .bind(idempotency_key)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(IdempotentOriginal {
            inspection: row_to_inspection(&row)?,
            request_sha256: row.try_get("request_sha256")?,
        }))
    }

    /// One inspection by id.
    pub async fn get_inspection(&self, id: &str) -> Result<Option<StoredInspection>, Error> {
        let row = sqlx::query(
            "SELECT id, actor, created_at, report, device_id, expires_at FROM inspections WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(row_to_inspection).transpose()
    }
}

/// Filters for [`Db::list_inspections`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectionFilter {
    /// Only at or after this time (seconds since the epoch).
    pub from: Option<i64>,
    /// Only before this time (seconds since the epoch).
    pub to: Option<i64>,
    /// Only this verdict (`pass`, `retry`, `fail`).
    pub verdict: Option<String>,
    /// Only this submitter (`key:ID`).
    pub actor: Option<String>,
    /// Only this device.
    pub device: Option<String>,
    /// Only devices this scope permits (the caller's device scope).
    pub devices: Option<lensguard_core::devices::DeviceScope>,
    /// Only results with a reason of this code (`blurry`, `face_present`...).
    pub reason: Option<String>,
    /// Only what came in through this source: `api` (a key or a user), or a
    /// watched folder's or camera's source name.
    pub source: Option<String>,
    /// Only results that were (`true`) or were not (`false`) overridden.
    pub overridden: Option<bool>,
    /// Continue after this `(created_at, id)`, from a previous page.
    pub after: Option<(i64, String)>,
}

impl Db {
    /// Newest first, at most `limit`, matching `filter`.
    pub async fn list_inspections(
        &self,
        filter: &InspectionFilter,
        limit: u32,
    ) -> Result<Vec<StoredInspection>, Error> {
        let (after_t, after_id) = match &filter.after {
            Some((t, id)) => (Some(*t), Some(id.as_str())),
            None => (None, None),
        };
        let sql = format!(
            "SELECT id, actor, created_at, report, device_id, expires_at FROM inspections
             WHERE (?1 IS NULL OR created_at >= ?1)
               AND (?2 IS NULL OR created_at < ?2)
               AND (?3 IS NULL OR verdict = ?3)
               AND (?4 IS NULL OR actor = ?4)
               AND (?5 IS NULL OR (created_at, id) < (?5, ?6))
               AND (?8 IS NULL OR device_id = ?8)
               AND {scope}
               AND (?10 IS NULL OR EXISTS (SELECT 1 FROM json_each(report, '$.reasons') AS r
                    WHERE json_extract(r.value, '$.code') = ?10))
               AND (?11 IS NULL OR (?11 = 'api' AND actor NOT LIKE 'source:%')
                    OR actor = 'source:' || ?11)
               AND (?12 IS NULL OR ?12 = EXISTS (SELECT 1 FROM overrides o
                    WHERE o.inspection_id = inspections.id))
             ORDER BY created_at DESC, id DESC
             LIMIT ?7",
            scope = super::in_device_scope("device_id", "?9")
        );
        let rows = sqlx::query(&sql)
            .bind(filter.from)
            .bind(filter.to)
            .bind(filter.verdict.as_deref())
            .bind(filter.actor.as_deref())
            .bind(after_t)
            .bind(after_id)
            .bind(i64::from(limit))
            .bind(filter.device.as_deref())
            .bind(
                filter
                    .devices
                    .as_ref()
                    .map(|d| serde_json::to_string(d.patterns()).unwrap_or_default()),
            )
            .bind(filter.reason.as_deref())
            .bind(filter.source.as_deref())
            .bind(filter.overridden)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(row_to_inspection).collect()
    }
}
