//! Cameras' footage in the vault: sealing a segment with its place in time
//! ([`Vault::put_segment`]) and holding a camera to its disk quota
//! ([`Vault::enforce_footage_quota`]).
//!
//! Invariants: a segment's vault row and its `camera_segments` row commit
//! together; only the footage categories are stored this way; the quota
//! deletes through the same shred-and-receipt steps as retention
//! ([`super::retention`]), continuous footage first, never anything held.

use super::retention::{Doomed, Kind, held_sql};
use super::{NewObject, ObjectInfo, Sealable, SweepReport, Vault};
use crate::Error;
use sqlx::Row;

impl Vault {
    /// Seals and stores one segment of a camera's footage (its category
    /// comes with its pixels) with its place in time, in one commit;
    /// durable when this returns. The object's inspection is `camera:NAME`
    /// and its device the camera, so holds and erasures by device cover it.
    pub async fn put_segment(
        &self,
        segment: &crate::db::NewSegment<'_>,
        keep_days: u32,
        policy: &str,
        pixels: impl Into<Sealable>,
        now: time::OffsetDateTime,
    ) -> Result<ObjectInfo, Error> {
        let pixels = pixels.into();
        if !pixels.category.is_footage() {
            return Err(Error::Rejected(format!(
                "{} is not footage",
                pixels.category
            )));
        }
        let inspection = format!("camera:{}", segment.camera);
        let new = NewObject {
            inspection_id: &inspection,
            device_id: Some(segment.camera),
            keep_days,
            policy,
        };
        let mut stored = self
            .put_written(vec![(new, pixels)], now, Some(segment))
            .await?;
        stored
            .pop()
            .ok_or_else(|| Error::Internal("nothing was stored".to_owned()))
    }

    /// Deletes `camera`'s footage until it keeps at most `quota` bytes:
    /// continuous footage first, then motion, then event clips, the oldest
    /// first within each; never anything a legal hold covers. Each deletion
    /// is a crypto-shred with a receipt (`retention.quota_delete`). When
    /// held footage alone is over the quota, the report's `held` counts it
    /// and nothing more can go.
    pub async fn enforce_footage_quota(
        &self,
        camera: &str,
        quota: u64,
    ) -> Result<SweepReport, Error> {
        let _one_at_a_time = self.deleting.lock().await;
        let mut report = SweepReport::default();
        self.finish_tombstones(&mut report).await?;
        let held = held_sql("inspection_id");
        while self.db.footage_bytes(camera).await? > quota {
            let row = sqlx::query(&format!(
                "SELECT o.id, o.inspection_id, o.category, o.content_sha256, o.policy
                   FROM camera_segments s JOIN vault_objects o ON o.id = s.object_id
                  WHERE s.camera = ?1 AND NOT {held}
                  ORDER BY CASE s.category WHEN 'footage_continuous' THEN 0
                                           WHEN 'footage_motion' THEN 1 ELSE 2 END,
                           s.start_ms, s.object_id
                  LIMIT 1"
            ))
            .bind(camera)
            .fetch_optional(self.db.pool())
            .await?;
            let Some(row) = row else {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM camera_segments WHERE camera = ?")
                        .bind(camera)
                        .fetch_one(self.db.pool())
                        .await?;
                report.held = u64::try_from(n).unwrap_or(0);
                break;
            };
            let id: String = row.try_get("id")?;
            let doomed = Doomed {
                object: format!("{}:{id}", Kind::Evidence.object()),
                id,
                category: row.try_get("category")?,
                inspection: row.try_get("inspection_id")?,
                content_sha256: row.try_get("content_sha256")?,
                policy: row.try_get("policy")?,
                kind: Kind::Evidence,
            };
            self.shred(&doomed, "retention.quota_delete").await?;
            self.finish_tombstones(&mut report).await?;
        }
        if !report.deleted.is_empty() {
            self.checkpoint().await?;
        }
        Ok(report)
    }
}
