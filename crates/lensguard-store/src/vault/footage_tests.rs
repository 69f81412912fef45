//! Cameras' footage in the vault: sealed with its place in time, deleted
//! by the camera's disk quota (continuous first, oldest first, never what a
//! hold covers) and by retention, always with receipts, never listed once
//! deleted.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::tests::{audit_actions, caller, fixture, scan, t0};
use super::*;
use crate::db::NewSegment;
use lensguard_core::pixels::{ContinuousFootage, EventFootage, MotionFootage, OriginalPhoto};
use std::time::Duration;

const SECOND: i64 = 1000;

fn at(s: i64) -> (i64, i64) {
    let base = t0().unix_timestamp() * 1000;
    (base + s * SECOND, base + (s + 4) * SECOND)
}

async fn put(f: &super::tests::Fixture, camera: &str, s: i64, pixels: Sealable) -> String {
    let (start_ms, end_ms) = at(s);
    let segment = NewSegment {
        camera,
        start_ms,
        end_ms,
        pictures: 40,
        codec: "h264",
    };
    f.vault
        .put_segment(&segment, 7, "test@1", pixels, t0())
        .await
        .expect("stored")
        .id
}

fn listed(segments: &[crate::db::StoredSegment]) -> Vec<(&str, i64)> {
    let base = t0().unix_timestamp() * 1000;
    segments
        .iter()
        .map(|s| (s.category.as_str(), (s.start_ms - base) / SECOND))
        .collect()
}

#[tokio::test]
async fn a_full_camera_loses_its_oldest_continuous_footage_first_with_receipts_and_never_held_footage()
 {
    let f = fixture().await;
    let bytes = |tag: u8| vec![tag; 1000];
    let old_continuous = put(
        &f,
        "dock-2",
        0,
        ContinuousFootage::recorded(bytes(1)).into(),
    )
    .await;
    put(&f, "dock-2", 4, EventFootage::recorded(bytes(2)).into()).await;
    put(&f, "dock-2", 8, MotionFootage::recorded(bytes(3)).into()).await;
    put(
        &f,
        "dock-2",
        12,
        ContinuousFootage::recorded(bytes(4)).into(),
    )
    .await;
    put(
        &f,
        "dock-1",
        0,
        ContinuousFootage::recorded(bytes(5)).into(),
    )
    .await;
    let all = (i64::MIN, i64::MAX);
    assert_eq!(f.db.footage_bytes("dock-2").await.expect("bytes"), 4000);
    // The segment reads back as sealed, and its blob holds no plaintext.
    assert_eq!(
        f.vault.get(&old_continuous, &caller()).await.expect("read"),
        bytes(1)
    );
    assert!(scan(f.dir.path(), &[1u8; 64]).is_empty());

    // Over a 2500-byte quota: both continuous segments go (oldest first),
    // the motion and event segments stay; the other camera is untouched.
    let report = f
        .vault
        .enforce_footage_quota("dock-2", 2500)
        .await
        .expect("quota");
    let gone: Vec<_> = report.deleted.iter().map(|r| r.category.as_str()).collect();
    assert_eq!(gone, ["footage_continuous", "footage_continuous"]);
    assert_eq!(
        report.deleted[0].object,
        format!("evidence:{old_continuous}")
    );
    assert_eq!(report.deleted[0].method, "crypto-shred");
    let left =
        f.db.list_segments("dock-2", all, None, 10)
            .await
            .expect("list");
    assert_eq!(listed(&left), [("footage_event", 4), ("footage_motion", 8)]);
    assert!(f.vault.get(&old_continuous, &caller()).await.is_err());
    assert!(!f.vault.blob_file(&old_continuous).exists());
    let receipts = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action == "retention.quota_delete")
        .count();
    assert_eq!(receipts, 2);
    assert_eq!(
        f.db.list_segments("dock-1", all, None, 10)
            .await
            .expect("list")
            .len(),
        1
    );

    // Held footage stays even when it alone is over the quota.
    f.vault
        .place_hold(
            &HoldTarget::Device("dock-2".into()),
            "incident 9",
            &caller(),
            t0(),
        )
        .await
        .expect("hold");
    let report = f
        .vault
        .enforce_footage_quota("dock-2", 0)
        .await
        .expect("quota");
    assert!(report.deleted.is_empty());
    assert_eq!(report.held, 2);
    assert_eq!(f.db.footage_bytes("dock-2").await.expect("bytes"), 2000);
}

#[tokio::test]
async fn footage_expires_with_receipts_and_is_no_longer_listed() {
    let f = fixture().await;
    let id = put(&f, "door-1", 0, EventFootage::recorded(vec![7; 100]).into()).await;
    let mut now = t0();
    let mut deleted = Vec::new();
    while now < t0() + time::Duration::days(9) {
        now += time::Duration::days(1);
        deleted.extend(
            f.vault
                .sweep(now, Duration::from_secs(30 * 86_400), None)
                .await
                .expect("sweep")
                .deleted,
        );
    }
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].object, format!("evidence:{id}"));
    assert_eq!(deleted[0].inspection, "camera:door-1");
    assert!(f.db.get_segment(&id).await.expect("get").is_none());
}

#[tokio::test]
async fn only_footage_is_stored_as_a_segment() {
    let f = fixture().await;
    let segment = NewSegment {
        camera: "door-1",
        start_ms: 0,
        end_ms: 1,
        pictures: 1,
        codec: "h264",
    };
    let refused = f
        .vault
        .put_segment(
            &segment,
            7,
            "test@1",
            OriginalPhoto::received(vec![0xff, 0xd8]),
            t0(),
        )
        .await;
    assert!(matches!(refused, Err(Error::Rejected(_))), "{refused:?}");
}
