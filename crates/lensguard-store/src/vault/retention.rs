//! Retention: the sweeper, legal holds, erasure on request, and the clock
//! guard.
//!
//! Deleting one object is three durable steps, each safe to repeat:
//!
//! 1. one transaction removes its row (the wrapped data key: crypto-shred)
//!    and records a tombstone (`vault_tombstones`) with the receipt's fields;
//! 2. the receipt is appended to the audit log and the tombstone marked
//!    receipted;
//! 3. the blob file is removed and the tombstone dropped.
//!
//! A sweep first finishes every tombstone a killed sweep left (so a crash
//! between 1 and 2 can at worst append the same receipt twice, never none),
//! then deletes what expired. Inspection results (`inspections` rows, the
//! `result` category) and camera events (`camera_events` rows, kept under
//! the `result` category) go the same way, with method `row-delete`.
//!
//! Nothing is deleted early: an object expires at `created + keep_days` on
//! the vault clock, and objects under an active legal hold (by inspection,
//! by device, or by a range of creation times) are skipped.
//!
//! Clock guard: `vault_clock.high_water` is the latest time a sweep ran at.
//! A clock behind it sweeps as of the high-water mark (nothing early); a
//! clock more than `max_jump` ahead of it pauses deletion, records one
//! `retention.clock_jump` alert, and waits for an operator to accept the
//! new time (`lensguard retention sweep --accept-clock-jump`).

use super::{Caller, Vault, sync_dir};
use crate::Error;
use crate::audit::{DeletionReceipt, Outcome};
use sqlx::Row;
use std::time::Duration;

/// What a legal hold covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// Everything kept for one inspection (its result and its evidence).
    Inspection(String),
    /// Everything from one device.
    Device(String),
    /// Everything created in `[from, to)` (seconds since the epoch).
    Range {
        /// Start (inclusive).
        from: i64,
        /// End (exclusive).
        to: i64,
    },
}

impl HoldTarget {
    /// As the audit log names it: a device by its pseudonym.
    fn describe(&self, audit: &crate::audit::AuditLog) -> String {
        match self {
            HoldTarget::Inspection(id) => format!("inspection:{id}"),
            HoldTarget::Device(d) => format!("device:{}", audit.pseudonym(d)),
            HoldTarget::Range { from, to } => format!("range:{from}..{to}"),
        }
    }
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    /// Its id.
    pub id: String,
    /// What it covers, as `inspection:ID`, `device:ID` or `range:FROM..TO`.
    pub target: String,
    /// Why it was placed.
    pub reason: String,
    /// Who placed it.
    pub created_by: String,
    /// When (seconds since the epoch).
    pub created_at: i64,
    /// When it was lifted, if it was.
    pub lifted_at: Option<i64>,
}

/// What a sweep or an erasure did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Receipts of what was deleted (and recorded) in this run.
    pub deleted: Vec<DeletionReceipt>,
    /// Expired objects kept because a legal hold covers them.
    pub held: u64,
    /// Why deletion was paused, when it was.
    pub paused: Option<String>,
    /// Blob files without a row (an interrupted write) that were removed.
    pub orphans_removed: u64,
}

/// One thing to delete.
pub(super) struct Doomed {
    pub(super) object: String,
    pub(super) id: String,
    pub(super) category: String,
    pub(super) inspection: String,
    pub(super) content_sha256: String,
    pub(super) policy: String,
    pub(super) kind: Kind,
}

/// What a doomed row is; its code is the tombstone's `evidence` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// An inspection result (`inspections`).
    Result,
    /// A sealed object (`vault_objects`).
    Evidence,
    /// A camera event (`camera_events`).
    CameraEvent,
}

impl Kind {
    fn of(code: i64) -> Kind {
        match code {
            1 => Kind::Evidence,
            2 => Kind::CameraEvent,
            _ => Kind::Result,
        }
    }

    fn code(self) -> i64 {
        match self {
            Kind::Result => 0,
            Kind::Evidence => 1,
            Kind::CameraEvent => 2,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Kind::Result => "inspections",
            Kind::Evidence => "vault_objects",
            Kind::CameraEvent => "camera_events",
        }
    }

    pub(super) fn object(self) -> &'static str {
        match self {
            Kind::Result => "inspection",
            Kind::Evidence => "evidence",
            Kind::CameraEvent => "event",
        }
    }
}

/// The SQL condition "covered by an active hold", for a table aliased `o`
/// with `id`, `inspection` id, `device_id` and `created_at` columns. A
/// case's hold covers each item of the case: an inspection's row and
/// objects, an event's row and snapshot (`event:ID`), a segment's object.
pub(super) fn held_sql(inspection_col: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM legal_holds h WHERE h.lifted_at IS NULL AND (
            (h.kind = 'inspection' AND h.value = o.{inspection_col})
            OR (h.kind = 'device' AND h.value = o.device_id)
            OR (h.kind = 'range' AND o.created_at >= h.range_from AND o.created_at < h.range_to)
            OR (h.kind = 'case' AND EXISTS (SELECT 1 FROM case_items ci WHERE ci.case_id = h.value
                AND (ci.item_id = o.id OR ci.item_id = o.{inspection_col}
                     OR ('event:' || ci.item_id) = o.{inspection_col})))))"
    )
}

/// Which objects a pass selects.
enum Selection<'a> {
    ExpiredBy(i64),
    Device(&'a str),
}

impl Vault {
    /// Deletes everything expired as of `now` and not on hold, with receipts.
    /// `max_jump` is the clock guard's threshold; `accepted_by` accepts a
    /// forward jump an operator has confirmed.
    pub async fn sweep(
        &self,
        now: time::OffsetDateTime,
        max_jump: Duration,
        accepted_by: Option<&Caller>,
    ) -> Result<SweepReport, Error> {
        let _one_at_a_time = self.deleting.lock().await;
        let mut report = SweepReport::default();
        self.finish_tombstones(&mut report).await?;
        let (high_water, paused_at): (i64, Option<i64>) =
            sqlx::query_as("SELECT high_water, paused_at FROM vault_clock WHERE id = 1")
                .fetch_one(self.db.pool())
                .await?;
        let t = now.unix_timestamp();
        let jump = i64::try_from(max_jump.as_secs()).unwrap_or(i64::MAX);
        if t > high_water.saturating_add(jump) && accepted_by.is_none() {
            let why = format!(
                "the clock is {} h ahead of the last sweep (more than {} h): deletion paused until an operator accepts the new time",
                (t - high_water) / 3600,
                jump / 3600
            );
            if paused_at.is_none() {
                let event = Caller::system()
                    .event("retention.clock_jump", now)
                    .target("vault")
                    .outcome(Outcome::Failure, Some(why.clone()));
                self.audit.append_async(event).await?;
                sqlx::query("UPDATE vault_clock SET paused_at = ? WHERE id = 1")
                    .bind(t)
                    .execute(self.db.pool())
                    .await?;
            }
            report.paused = Some(why);
            return Ok(report);
        }
        // A clock behind the mark sweeps as of the mark: nothing early.
        let as_of = t.max(high_water);
        if let (Some(operator), Some(_)) = (accepted_by, paused_at) {
            let event = operator
                .event("retention.clock_accepted", now)
                .target("vault")
                .outcome(
                    Outcome::Success,
                    Some(format!("high-water mark moved to {t}")),
                );
            self.audit.append_async(event).await?;
        }
        sqlx::query("UPDATE vault_clock SET high_water = ?, paused_at = NULL WHERE id = 1")
            .bind(as_of)
            .execute(self.db.pool())
            .await?;
        self.set_high_water(as_of);
        self.delete_selected(Selection::ExpiredBy(as_of), "retention.delete", &mut report)
            .await?;
        report.orphans_removed = self.remove_orphans().await?;
        self.checkpoint().await?;
        Ok(report)
    }

    /// Erases everything kept from `device` that no legal hold covers (a
    /// data-subject or device erasure request), with receipts.
    pub async fn erase_device(
        &self,
        device: &str,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<SweepReport, Error> {
        let _one_at_a_time = self.deleting.lock().await;
        let mut report = SweepReport::default();
        self.finish_tombstones(&mut report).await?;
        let event = caller
            .event("erasure.request", now)
            .target(format!("device:{}", self.audit.pseudonym(device)));
        self.audit.append_async(event).await?;
        self.delete_selected(Selection::Device(device), "erasure.delete", &mut report)
            .await?;
        self.forget_lifted_holds(device).await?;
        self.checkpoint().await?;
        Ok(report)
    }

    /// Lifted holds on an erased device protect nothing any more: their
    /// records keep the device's and the reason's pseudonyms (as the audit
    /// log does), not the clear text. Active holds keep theirs: they still
    /// select what they hold.
    async fn forget_lifted_holds(&self, device: &str) -> Result<(), Error> {
        let lifted: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, reason FROM legal_holds
              WHERE kind = 'device' AND value = ? AND lifted_at IS NOT NULL",
        )
        .bind(device)
        .fetch_all(self.db.pool())
        .await?;
        for (id, reason) in lifted {
            sqlx::query("UPDATE legal_holds SET value = ?, reason = ? WHERE id = ?")
                .bind(self.audit.pseudonym(device))
                .bind(self.audit.pseudonym(&reason))
                .bind(&id)
                .execute(self.db.pool())
                .await?;
        }
        Ok(())
    }

    async fn delete_selected(
        &self,
        selection: Selection<'_>,
        action: &str,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        let (evidence_where, result_where, bind_t, bind_device) = match &selection {
            Selection::ExpiredBy(t) => ("o.expires_at <= ?1", "o.expires_at <= ?1", Some(*t), None),
            Selection::Device(d) => ("o.device_id = ?2", "o.device_id = ?2", None, Some(*d)),
        };
        let held_evidence = held_sql("inspection_id");
        let held_result = held_sql("id");
        let held: i64 = sqlx::query_scalar(&format!(
            "SELECT (SELECT COUNT(*) FROM vault_objects o WHERE {evidence_where} AND {held_evidence})
                  + (SELECT COUNT(*) FROM inspections o WHERE {result_where} AND o.expires_at IS NOT NULL AND {held_result})
                  + (SELECT COUNT(*) FROM camera_events o WHERE {result_where} AND {held_result})"
        ))
        .bind(bind_t)
        .bind(bind_device)
        .fetch_one(self.db.pool())
        .await?;
        report.held = u64::try_from(held).unwrap_or(0);
        loop {
            let rows = sqlx::query(&format!(
                "SELECT id, inspection_id AS inspection, category, content_sha256, policy, 1 AS evidence
                   FROM vault_objects o WHERE {evidence_where} AND NOT {held_evidence}
                 UNION ALL
                 SELECT id, id AS inspection, 'result' AS category, content_sha256, policy, 0 AS evidence
                   FROM inspections o WHERE {result_where} AND o.expires_at IS NOT NULL AND NOT {held_result}
                 UNION ALL
                 SELECT id, '' AS inspection, 'result' AS category, content_sha256, policy, 2 AS evidence
                   FROM camera_events o WHERE {result_where} AND NOT {held_result}
                 LIMIT 500"
            ))
            .bind(bind_t)
            .bind(bind_device)
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(());
            }
            for row in rows {
                let evidence: i64 = row.try_get("evidence")?;
                let id: String = row.try_get("id")?;
                let kind = Kind::of(evidence);
                let doomed = Doomed {
                    object: format!("{}:{id}", kind.object()),
                    id,
                    category: row.try_get("category")?,
                    inspection: row.try_get("inspection")?,
                    content_sha256: row
                        .try_get::<Option<String>, _>("content_sha256")?
                        .unwrap_or_default(),
                    policy: row
                        .try_get::<Option<String>, _>("policy")?
                        .unwrap_or_default(),
                    kind,
                };
                self.shred(&doomed, action).await?;
            }
            self.finish_tombstones(report).await?;
        }
    }

    /// Step 1: the row goes (with its wrapped key) and a tombstone comes, in
    /// one transaction.
    pub(super) async fn shred(&self, d: &Doomed, action: &str) -> Result<(), Error> {
        let mut tx = self.db.pool().begin().await?;
        let table = d.kind.table();
        let gone = sqlx::query(&format!("DELETE FROM {table} WHERE id = ?"))
            .bind(&d.id)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 1 {
            if d.kind == Kind::Evidence {
                // A deleted segment is never listed.
                sqlx::query("DELETE FROM camera_segments WHERE object_id = ?")
                    .bind(&d.id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO vault_tombstones (id, object, category, inspection, content_sha256, policy, action, deleted_at, method, evidence)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&d.id)
            .bind(&d.object)
            .bind(&d.category)
            .bind(&d.inspection)
            .bind(&d.content_sha256)
            .bind(&d.policy)
            .bind(action)
            .bind(time::OffsetDateTime::now_utc().unix_timestamp())
            .bind(if d.kind == Kind::Evidence {
                "crypto-shred"
            } else {
                "row-delete"
            })
            .bind(d.kind.code())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Steps 2 and 3 for every tombstone.
    pub(super) async fn finish_tombstones(&self, report: &mut SweepReport) -> Result<(), Error> {
        let rows = sqlx::query("SELECT * FROM vault_tombstones ORDER BY deleted_at, id")
            .fetch_all(self.db.pool())
            .await?;
        for row in rows {
            let id: String = row.try_get("id")?;
            let receipted: i64 = row.try_get("receipted")?;
            let evidence: i64 = row.try_get("evidence")?;
            let deleted_at = time::OffsetDateTime::from_unix_timestamp(row.try_get("deleted_at")?)
                .map_err(|_| Error::Corrupt("bad deletion time".to_owned()))?;
            let receipt = DeletionReceipt {
                object: row.try_get("object")?,
                category: row.try_get("category")?,
                inspection: row.try_get("inspection")?,
                content_sha256: row.try_get("content_sha256")?,
                policy: row.try_get("policy")?,
                deleted_at,
                method: row.try_get("method")?,
            };
            if receipted == 0 {
                let action: String = row.try_get("action")?;
                let mut event = Caller::system()
                    .event(&action, time::OffsetDateTime::now_utc())
                    .target(receipt.object.clone());
                event.receipt = Some(Box::new(receipt.clone()));
                self.audit.append_async(event).await?;
                let mut tx = self.db.pool().begin().await?;
                sqlx::query("UPDATE vault_tombstones SET receipted = 1 WHERE id = ?")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                if self.forwards_receipts() {
                    let egress = lensguard_core::egress::EgressRecord::deletion_receipt(&receipt);
                    let record = crate::db::NewOutboxRecord {
                        record: &egress,
                        limits: crate::db::OutboxLimits {
                            max_entries: u64::MAX,
                            max_bytes: u64::MAX,
                        },
                    };
                    crate::db::enqueue_outbox(&mut tx, &record, deleted_at.unix_timestamp())
                        .await?;
                }
                tx.commit().await?;
                report.deleted.push(receipt);
            }
            if evidence == 1 {
                let path = self.blob_path(&id);
                match std::fs::remove_file(&path) {
                    Ok(()) => {
                        if let Some(parent) = path.parent() {
                            sync_dir(parent)?;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::Io {
                            context: format!("cannot remove {}", path.display()),
                            source: e,
                        });
                    }
                }
            }
            sqlx::query("DELETE FROM vault_tombstones WHERE id = ?")
                .bind(&id)
                .execute(self.db.pool())
                .await?;
        }
        Ok(())
    }

    /// Removes blob files that have no row and are older than an hour (a
    /// write interrupted before its row committed; younger files may be a
    /// write in progress).
    async fn remove_orphans(&self) -> Result<u64, Error> {
        let mut removed = 0;
        let cutoff = std::time::SystemTime::now() - Duration::from_secs(3600);
        let Ok(shards) = std::fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        for shard in shards.flatten() {
            let Ok(files) = std::fs::read_dir(shard.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                let id = name.trim_end_matches(".tmp");
                let young = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .map_or(true, |t| t > cutoff);
                if young {
                    continue;
                }
                let known: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM vault_objects WHERE id = ?1)
                          + (SELECT COUNT(*) FROM vault_tombstones WHERE id = ?1)",
                )
                .bind(id)
                .fetch_one(self.db.pool())
                .await?;
                if known == 0 || name.ends_with(".tmp") {
                    std::fs::remove_file(file.path()).map_err(Error::io(format!(
                        "cannot remove {}",
                        file.path().display()
                    )))?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Folds the WAL back into the database and truncates it, so destroyed
    /// wrapped keys do not linger in the log file.
    pub async fn checkpoint(&self) -> Result<(), Error> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Places a legal hold (audited first); returns its id.
    pub async fn place_hold(
        &self,
        target: &HoldTarget,
        reason: &str,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<String, Error> {
        if reason.trim().is_empty() {
            return Err(Error::Rejected("a legal hold needs a reason".to_owned()));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let event = caller
            .event("hold.place", now)
            .target(format!("hold:{id} {}", target.describe(&self.audit)))
            .outcome(
                Outcome::Success,
                Some(format!("reason {}", self.audit.pseudonym(reason))),
            );
        self.audit.append_async(event).await?;
        let (kind, value, from, to) = match target {
            HoldTarget::Inspection(i) => ("inspection", Some(i.as_str()), None, None),
            HoldTarget::Device(d) => ("device", Some(d.as_str()), None, None),
            HoldTarget::Range { from, to } => ("range", None, Some(*from), Some(*to)),
        };
        sqlx::query(
            "INSERT INTO legal_holds (id, kind, value, range_from, range_to, reason, created_at, created_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(kind)
        .bind(value)
        .bind(from)
        .bind(to)
        .bind(reason)
        .bind(now.unix_timestamp())
        .bind(&caller.actor)
        .execute(self.db.pool())
        .await?;
        Ok(id)
    }

    /// Lifts hold `id` (audited first). `Ok(false)` when there is no such
    /// active hold.
    pub async fn lift_hold(
        &self,
        id: &str,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<bool, Error> {
        let active: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT kind, value FROM legal_holds WHERE id = ? AND lifted_at IS NULL",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        if let Some((kind, Some(case))) = &active
            && kind == "case"
        {
            return Err(Error::Conflict(format!(
                "hold {id} belongs to case {case}; it is lifted when the case is closed"
            )));
        }
        if active.is_none() {
            let event = caller
                .event("hold.lift", now)
                .target(format!("hold:{id}"))
                .outcome(Outcome::Failure, Some("no such active hold".to_owned()));
            self.audit.append_async(event).await?;
            return Ok(false);
        }
        let event = caller.event("hold.lift", now).target(format!("hold:{id}"));
        self.audit.append_async(event).await?;
        sqlx::query("UPDATE legal_holds SET lifted_at = ?, lifted_by = ? WHERE id = ?")
            .bind(now.unix_timestamp())
            .bind(&caller.actor)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(true)
    }

    /// Every hold, newest first.
    pub async fn holds(&self) -> Result<Vec<LegalHold>, Error> {
        let rows = sqlx::query("SELECT * FROM legal_holds ORDER BY created_at DESC, id")
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let target = match kind.as_str() {
                    "range" => format!(
                        "range:{}..{}",
                        r.try_get::<i64, _>("range_from")?,
                        r.try_get::<i64, _>("range_to")?
                    ),
                    k => format!("{k}:{}", r.try_get::<String, _>("value")?),
                };
                Ok(LegalHold {
                    id: r.try_get("id")?,
                    target,
                    reason: r.try_get("reason")?,
                    created_by: r.try_get("created_by")?,
                    created_at: r.try_get("created_at")?,
                    lifted_at: r.try_get("lifted_at")?,
                })
            })
            .collect()
    }
}
