//! Model rollouts on the hub: for each detector the rollout in force (the
//! release going out, the one it replaces, its waves and whether it is
//! paused), per-edge version locks, and what each edge last reported
//! running.
//!
//! Invariants: one rollout per detector name (a new one replaces the old,
//! in one statement); a lock is per (edge, name); a report replaces the
//! edge's previous one for that name. Which edges a wave takes is decided
//! by the caller from these rows (so every hub process decides alike).

use super::HubDb;
use crate::Error;
use sqlx::Row;

pub(super) const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS hub_model_rollouts (
        name TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        previous TEXT,
        started_at BIGINT NOT NULL,
        wave_percent BIGINT NOT NULL,
        wave_seconds BIGINT NOT NULL,
        paused_at BIGINT
    )",
    "CREATE TABLE IF NOT EXISTS hub_model_locks (
        edge_id TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        locked_at BIGINT NOT NULL,
        PRIMARY KEY (edge_id, name)
    )",
    "CREATE TABLE IF NOT EXISTS hub_edge_models (
        edge_id TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        reported_at BIGINT NOT NULL,
        PRIMARY KEY (edge_id, name)
    )",
];

/// A rollout of one detector's release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    /// The detector (bundle name).
    pub name: String,
    /// The release going out.
    pub version: String,
    /// The release edges not yet in a wave keep (`None`: their built-in model).
    pub previous: Option<String>,
    /// When the first wave began.
    pub started_at: i64,
    /// The share of edges each wave adds, percent.
    pub wave_percent: i64,
    /// How long each wave lasts before the next.
    pub wave_seconds: i64,
    /// When it was paused.
    pub paused_at: Option<i64>,
}

impl Rollout {
    /// The share of edges taken at `now`, percent: one wave at the start,
    /// one more each `wave_seconds`, frozen while paused, at most 100.
    pub fn share_at(&self, now: i64) -> i64 {
        let at = self.paused_at.map_or(now, |p| p.min(now));
        let waves = 1 + (at - self.started_at).max(0) / self.wave_seconds.max(1);
        (waves.saturating_mul(self.wave_percent)).clamp(0, 100)
    }
}

/// What an edge last reported for one detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeModel {
    /// The edge.
    pub edge_id: String,
    /// The detector.
    pub name: String,
    /// The active release (`built-in` for none).
    pub version: String,
    /// `active`, `on-trial`, `switched-back` or `refused`.
    pub state: String,
    /// Why, for the last two.
    pub detail: String,
    /// When.
    pub reported_at: i64,
}

fn row_to_rollout(r: &sqlx::any::AnyRow) -> Result<Rollout, Error> {
    Ok(Rollout {
        name: r.try_get("name")?,
        version: r.try_get("version")?,
        previous: r.try_get("previous")?,
        started_at: r.try_get("started_at")?,
        wave_percent: r.try_get("wave_percent")?,
        wave_seconds: r.try_get("wave_seconds")?,
        paused_at: r.try_get("paused_at")?,
    })
}

impl HubDb {
    /// Makes `rollout` the one in force for its detector.
    pub async fn start_rollout(&self, rollout: &Rollout) -> Result<(), Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM hub_model_rollouts WHERE name = $1")
            .bind(&rollout.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO hub_model_rollouts
             (name, version, previous, started_at, wave_percent, wave_seconds, paused_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)",
        )
        .bind(&rollout.name)
        .bind(&rollout.version)
        .bind(&rollout.previous)
        .bind(rollout.started_at)
        .bind(rollout.wave_percent)
        .bind(rollout.wave_seconds)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends the rollout of `name`, if any: its edges follow the
    /// repository's current release.
    pub async fn end_rollout(&self, name: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM hub_model_rollouts WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every rollout in force.
    pub async fn rollouts(&self) -> Result<Vec<Rollout>, Error> {
        let rows = sqlx::query(
            "SELECT name, version, previous, started_at, wave_percent, wave_seconds, paused_at
             FROM hub_model_rollouts ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row_to_rollout).collect()
    }

    /// Pauses (`pause`) or resumes the rollout of `name` at `now`; false
    /// when there is none in that state. Resuming continues the waves from
    /// the share reached: the paused time is added to the start.
    pub async fn pause_rollout(&self, name: &str, pause: bool, now: i64) -> Result<bool, Error> {
        let sql = if pause {
            "UPDATE hub_model_rollouts SET paused_at = $2
             WHERE name = $1 AND paused_at IS NULL"
        } else {
            "UPDATE hub_model_rollouts
             SET started_at = started_at + ($2 - paused_at), paused_at = NULL
             WHERE name = $1 AND paused_at IS NOT NULL"
        };
        let done = sqlx::query(sql)
            .bind(name)
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Locks `edge_id` to release `version` of `name` (`None` unlocks).
    pub async fn lock_model(
        &self,
        edge_id: &str,
        name: &str,
        version: Option<&str>,
        now: i64,
    ) -> Result<(), Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM hub_model_locks WHERE edge_id = $1 AND name = $2")
            .bind(edge_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        if let Some(version) = version {
            sqlx::query(
                "INSERT INTO hub_model_locks (edge_id, name, version, locked_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(edge_id)
            .bind(name)
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The locks of `edge_id`: (name, version).
    pub async fn model_locks(&self, edge_id: &str) -> Result<Vec<(String, String)>, Error> {
        let rows = sqlx::query(
            "SELECT name, version FROM hub_model_locks WHERE edge_id = $1 ORDER BY name",
        )
        .bind(edge_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("name")?, r.try_get("version")?)))
            .collect()
    }

    /// Records what an edge reports running.
    pub async fn report_model(&self, report: &EdgeModel) -> Result<(), Error> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM hub_edge_models WHERE edge_id = $1 AND name = $2")
            .bind(&report.edge_id)
            .bind(&report.name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO hub_edge_models (edge_id, name, version, state, detail, reported_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&report.edge_id)
        .bind(&report.name)
        .bind(&report.version)
        .bind(&report.state)
        .bind(&report.detail)
        .bind(report.reported_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// What every edge last reported, by edge then detector.
    pub async fn edge_models(&self) -> Result<Vec<EdgeModel>, Error> {
        let rows = sqlx::query(
            "SELECT edge_id, name, version, state, detail, reported_at
             FROM hub_edge_models ORDER BY edge_id, name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EdgeModel {
                    edge_id: r.try_get("edge_id")?,
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    state: r.try_get("state")?,
                    detail: r.try_get("detail")?,
                    reported_at: r.try_get("reported_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(paused_at: Option<i64>) -> Rollout {
        Rollout {
            name: "faces".into(),
            version: "2".into(),
            previous: Some("1".into()),
            started_at: 1000,
            wave_percent: 30,
            wave_seconds: 60,
            paused_at,
        }
    }

    #[test]
    fn waves_add_a_share_each_period_up_to_all() {
        let r = rollout(None);
        assert_eq!(r.share_at(1000), 30);
        assert_eq!(r.share_at(1059), 30);
        assert_eq!(r.share_at(1060), 60);
        assert_eq!(r.share_at(1120), 90);
        assert_eq!(r.share_at(1180), 100);
        assert_eq!(r.share_at(999_999), 100);
    }

    #[test]
    fn a_paused_rollout_keeps_its_share() {
        let r = rollout(Some(1010));
        assert_eq!(r.share_at(5000), 30);
    }
}
