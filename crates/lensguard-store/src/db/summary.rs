//! Counts over the stored results, for the console's overview: verdicts per
//! day, the commonest reasons, submissions per device. Aggregates only (no
//! result is returned), always within the caller's device scope.

use super::{Db, in_device_scope};
use crate::Error;
use lensguard_core::devices::DeviceScope;

/// Counts since a time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// `(day, verdict, count)`, day as days since the epoch (UTC), oldest first.
    pub per_day: Vec<(i64, String, i64)>,
    /// `(reason code, count)`, commonest first, at most 10.
    pub reasons: Vec<(String, i64)>,
    /// `(device, count)`, busiest first, at most 10 (`""`: none named).
    pub devices: Vec<(String, i64)>,
}

fn scope_json(scope: Option<&DeviceScope>) -> Option<String> {
    scope.map(|d| serde_json::to_string(d.patterns()).unwrap_or_default())
}

impl Db {
    /// Counts of results created at or after `since` (seconds since the
    /// epoch) that `scope` permits.
    pub async fn summary(&self, since: i64, scope: Option<&DeviceScope>) -> Result<Summary, Error> {
        let scoped = in_device_scope("device_id", "?2");
        let per_day: Vec<(i64, String, i64)> = sqlx::query_as(&format!(
            "SELECT created_at / 86400 AS day, verdict, COUNT(*) FROM inspections
             WHERE created_at >= ?1 AND {scoped} GROUP BY day, verdict ORDER BY day, verdict"
        ))
        .bind(since)
        .bind(scope_json(scope))
        .fetch_all(self.pool())
        .await?;
        let reasons: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT json_extract(r.value, '$.code') AS code, COUNT(*) AS n
             FROM inspections, json_each(inspections.report, '$.reasons') AS r
             WHERE created_at >= ?1 AND {scoped} AND code IS NOT NULL
             GROUP BY code ORDER BY n DESC, code LIMIT 10"
        ))
        .bind(since)
        .bind(scope_json(scope))
        .fetch_all(self.pool())
        .await?;
        let devices: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT COALESCE(device_id, '') AS d, COUNT(*) AS n FROM inspections
             WHERE created_at >= ?1 AND {scoped} GROUP BY d ORDER BY n DESC, d LIMIT 10"
        ))
        .bind(since)
        .bind(scope_json(scope))
        .fetch_all(self.pool())
        .await?;
        Ok(Summary {
            per_day,
            reasons,
            devices,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;
    use crate::db::NewInspection;

    async fn insert(db: &Db, id: &str, device: &str, verdict: &str, codes: &[&str], at: i64) {
        let reasons: Vec<serde_json::Value> = codes
            .iter()
            .map(|c| serde_json::json!({"code": c, "status": "retry"}))
            .collect();
        let report = serde_json::json!({"verdict": verdict, "reasons": reasons}).to_string();
        let now = time::OffsetDateTime::from_unix_timestamp(at).expect("time");
        db.insert_inspection(
            &NewInspection {
                id,
                actor: "key:k",
                idempotency_key: None,
                request_sha256: None,
                device_id: Some(device),
                verdict,
                report: &report,
                expires_at: at + 86400,
                policy: "p@1",
                outbox: None,
            },
            now,
        )
        .await
        .expect("insert")
        .expect("new");
    }

    #[tokio::test]
    async fn counts_per_day_reason_and_device_within_the_scope() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Db::open(&dir.path().join("db")).await.expect("open");
        let day = 20_000 * 86400;
        insert(&db, "a", "van-1", "pass", &[], day + 10).await;
        insert(&db, "b", "van-1", "retry", &["blurry"], day + 20).await;
        insert(
            &db,
            "c",
            "van-2",
            "retry",
            &["blurry", "glare"],
            day + 86400,
        )
        .await;
        insert(&db, "d", "dock-1", "fail", &["glare"], day + 86400).await;
        insert(&db, "old", "van-1", "fail", &["glare"], day - 86400).await;
        let all = db.summary(day, None).await.expect("summary");
        assert_eq!(
            all.per_day,
            [
                (20_000, "pass".into(), 1),
                (20_000, "retry".into(), 1),
                (20_001, "fail".into(), 1),
                (20_001, "retry".into(), 1)
            ]
        );
        assert_eq!(all.reasons, [("blurry".into(), 2), ("glare".into(), 2)]);
        assert_eq!(all.devices[0], ("van-1".into(), 2));
        let vans = DeviceScope::new(&["van-*".to_owned()]).expect("scope");
        let scoped = db.summary(day, Some(&vans)).await.expect("summary");
        assert_eq!(scoped.reasons, [("blurry".into(), 2), ("glare".into(), 1)]);
        assert!(scoped.devices.iter().all(|(d, _)| d.starts_with("van-")));
    }
}
