//! KEK rotation and the re-wrap job.
//!
//! Rotating starts a new KEK version per category; new data keys are wrapped
//! under it at once. The re-wrap job then moves every object's data key to
//! its category's newest version, one row at a time: unwrap with the old
//! version, wrap with the new, and a single `UPDATE ... WHERE kek_version =
//! old` (atomic, so a kill at any point leaves each row wrapped under exactly
//! one version that still exists). Blobs are untouched: the data key does
//! not change. When no row references an old version any more, the version
//! is destroyed. The job is resumable by construction: running it again
//! continues with whatever is left.

use super::{Caller, Vault, envelope::Binding, parse_id};
use crate::Error;
use crate::audit::Outcome;
use lensguard_core::policy::DataCategory;
use sqlx::Row;

/// What a rotation or re-wrap did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// New versions started, as `category vN`.
    pub started: Vec<String>,
    /// Data keys moved to the newest version.
    pub rewrapped: u64,
    /// Old versions destroyed, as `category vN`.
    pub retired: Vec<String>,
}

impl std::fmt::Display for RewrapReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} data keys re-wrapped; retired: ", self.rewrapped)?;
        if self.retired.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&self.retired.join(", "))
        }
    }
}

impl Vault {
    /// Starts a new KEK version for every category (audited first).
    pub async fn rotate_kek(
        &self,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<Vec<String>, Error> {
        let event = caller.event("vault.rotate_kek", now).target("vault");
        self.audit.append_async(event).await?;
        let mut started = Vec::new();
        for category in DataCategory::ALL.into_iter().filter(|c| c.is_evidence()) {
            let next = self
                .keyring
                .current(category)
                .await?
                .map_or(1, |v| v.version + 1);
            self.keyring
                .add_version(category, next, now.unix_timestamp())
                .await?;
            started.push(format!("{category} v{next}"));
        }
        self.versions_changed();
        Ok(started)
    }

    /// Whether the newest KEK of any category is older than `max_age`
    /// (scheduled rotation).
    pub async fn rotation_due(
        &self,
        now: time::OffsetDateTime,
        max_age: std::time::Duration,
    ) -> Result<bool, Error> {
        let age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        for category in DataCategory::ALL.into_iter().filter(|c| c.is_evidence()) {
            let current = self.keyring.current(category).await?;
            if current.is_some_and(|v| now.unix_timestamp() - v.created_at >= age) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Objects whose data key is not under their category's newest version.
    pub async fn pending_rewrap(&self) -> Result<u64, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM vault_objects o
              WHERE o.kek_version < (SELECT MAX(version) FROM vault_keks k WHERE k.category = o.category)",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Re-wraps up to `batch` data keys; `progress` is called after each.
    /// Returns how many moved (0 when nothing is left, after which old
    /// versions nothing references are destroyed and listed in `retired`).
    pub async fn rewrap_batch(&self, batch: u32, report: &mut RewrapReport) -> Result<u64, Error> {
        let rows = sqlx::query(
            "SELECT o.id, o.category, o.kek_version, o.wrapped_key,
                    (SELECT MAX(version) FROM vault_keks k WHERE k.category = o.category) AS newest
               FROM vault_objects o
              WHERE o.kek_version < (SELECT MAX(version) FROM vault_keks k WHERE k.category = o.category)
              LIMIT ?",
        )
        .bind(i64::from(batch))
        .fetch_all(self.db.pool())
        .await?;
        let mut moved = 0;
        for row in &rows {
            let id: String = row.try_get("id")?;
            let category: String = row.try_get("category")?;
            let old: i64 = row.try_get("kek_version")?;
            let newest: i64 = row.try_get("newest")?;
            let wrapped: Vec<u8> = row.try_get("wrapped_key")?;
            let binding = Binding {
                id: parse_id(&id)?,
                category: DataCategory::parse(&category)
                    .ok_or_else(|| Error::Corrupt(format!("unknown category {category:?}")))?,
            };
            let version =
                u32::try_from(newest).map_err(|_| Error::Corrupt("bad KEK version".to_owned()))?;
            let key = self.keyring.unwrap(&binding, &wrapped)?;
            let rewrapped = self.keyring.wrap(&binding, version, &key)?;
            let mut tx = self.db.pool().begin().await?;
            let done = sqlx::query(
                "UPDATE vault_objects SET wrapped_key = ?, kek_version = ? WHERE id = ? AND kek_version = ?",
            )
            .bind(&rewrapped)
            .bind(newest)
            .bind(&id)
            .bind(old)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE vault_keks SET wraps = wraps + 1 WHERE category = ? AND version = ?",
            )
            .bind(&category)
            .bind(newest)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            moved += done.rows_affected();
        }
        report.rewrapped += moved;
        if moved > 0 {
            self.versions_changed();
        }
        if rows.is_empty() {
            self.retire_unreferenced(report).await?;
        }
        Ok(moved)
    }

    /// Re-wraps everything pending, then retires what nothing references.
    pub async fn rewrap_all(
        &self,
        caller: &Caller,
        mut progress: impl FnMut(u64),
    ) -> Result<RewrapReport, Error> {
        let mut report = RewrapReport::default();
        while self.rewrap_batch(200, &mut report).await? > 0 {
            progress(report.rewrapped);
        }
        if report.rewrapped > 0 || !report.retired.is_empty() {
            let event = caller
                .event("vault.rewrap", time::OffsetDateTime::now_utc())
                .target("vault")
                .outcome(Outcome::Success, Some(report.to_string()));
            self.audit.append_async(event).await?;
        }
        self.checkpoint().await?;
        Ok(report)
    }

    async fn retire_unreferenced(&self, report: &mut RewrapReport) -> Result<(), Error> {
        for v in self.keyring.versions().await? {
            let newest = self
                .keyring
                .current(v.category)
                .await?
                .map_or(v.version, |c| c.version);
            if v.version == newest {
                continue;
            }
            let used: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM vault_objects WHERE category = ? AND kek_version = ?",
            )
            .bind(v.category.as_str())
            .bind(i64::from(v.version))
            .fetch_one(self.db.pool())
            .await?;
            if used == 0 {
                self.versions_changed();
                self.keyring.destroy_version(v.category, v.version).await?;
                report
                    .retired
                    .push(format!("{} v{}", v.category, v.version));
            }
        }
        Ok(())
    }
}
