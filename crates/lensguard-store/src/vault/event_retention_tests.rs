//! Camera events under retention: the sweeper deletes them with receipts
//! like results, and a hold on the camera keeps them.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::tests::{audit_actions, caller, fixture, t0};
use super::*;
use std::time::Duration;

#[tokio::test]
async fn camera_events_expire_with_receipts_unless_their_camera_is_held() {
    use crate::db::{CameraEventFilter, NewCameraEvent};
    let f = fixture().await;
    let max_jump = Duration::from_secs(30 * 86_400);
    let (_, expires_at) = f.vault.expiry(t0(), 7).await.expect("expiry");
    for (id, camera) in [("e1", "dock-1"), ("e2", "dock-2")] {
        let new = NewCameraEvent {
            id,
            camera,
            label: "person",
            start_ms: t0().unix_timestamp() * 1000,
            end_ms: t0().unix_timestamp() * 1000 + 4000,
            event: "{\"label\":\"person\"}",
            expires_at,
            policy: "test@1",
            outbox: None,
        };
        assert!(f.db.insert_camera_event(&new, t0()).await.expect("insert"));
        assert!(
            !f.db.insert_camera_event(&new, t0()).await.expect("again"),
            "ids are unique"
        );
    }
    f.vault
        .place_hold(
            &HoldTarget::Device("dock-2".into()),
            "incident 7",
            &caller(),
            t0(),
        )
        .await
        .expect("hold");
    let early = f
        .vault
        .sweep(t0() + time::Duration::days(6), max_jump, None)
        .await
        .expect("sweep");
    assert!(early.deleted.is_empty(), "nothing goes early");
    let mut now = t0() + time::Duration::days(6);
    let mut deleted = Vec::new();
    while now < t0() + time::Duration::days(9) {
        now += time::Duration::days(1);
        deleted.extend(
            f.vault
                .sweep(now, max_jump, None)
                .await
                .expect("sweep")
                .deleted,
        );
    }
    let objects: Vec<_> = deleted.iter().map(|r| r.object.as_str()).collect();
    assert_eq!(objects, ["event:e1"]);
    assert_eq!(deleted[0].method, "row-delete");
    let left =
        f.db.list_camera_events(&CameraEventFilter::default(), 10)
            .await
            .expect("list");
    assert_eq!(
        left.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["e2"],
        "held"
    );
    let receipts = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action == "retention.delete")
        .count();
    assert_eq!(receipts, 1);
}
