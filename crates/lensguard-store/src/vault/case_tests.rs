//! Evidence cases hold what they hold until they are closed.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::tests::{audit_actions, caller, fixture, object, pixels, t0};
use super::*;
use crate::db::{CaseItem, CaseItemKind, NewCameraEvent, Selection};
use std::time::Duration;

#[tokio::test]
async fn a_case_holds_its_items_until_it_is_closed_and_audits_every_change() {
    let f = fixture().await;
    let max_jump = Duration::from_secs(30 * 86_400);
    let (_, expires_at) = f.vault.expiry(t0(), 7).await.expect("expiry");
    for id in ["e1", "e2"] {
        let new = NewCameraEvent {
            id,
            camera: "dock-1",
            label: "person",
            start_ms: t0().unix_timestamp() * 1000,
            end_ms: t0().unix_timestamp() * 1000 + 4000,
            event: "{\"label\":\"person\"}",
            expires_at,
            policy: "test@1",
            outbox: None,
        };
        assert!(f.db.insert_camera_event(&new, t0()).await.expect("insert"));
        // Each event's redacted snapshot, sealed as `event:ID`.
        let inspection = format!("event:{id}");
        f.vault
            .put(
                &object(&inspection, Some("dock-1")),
                pixels(DataCategory::Redacted, vec![7; 64]),
                t0(),
            )
            .await
            .expect("snapshot");
    }
    let case = f
        .vault
        .open_case("dock incident", "claim 42", &caller(), t0())
        .await
        .expect("open");
    let e1 = CaseItem {
        kind: CaseItemKind::Event,
        id: "e1".into(),
    };
    assert_eq!(
        f.vault
            .add_to_case(&case, std::slice::from_ref(&e1), &caller(), t0())
            .await
            .expect("add"),
        1
    );
    assert_eq!(
        f.vault
            .add_to_case(&case, std::slice::from_ref(&e1), &caller(), t0())
            .await
            .expect("again"),
        0,
        "an item is in a case once"
    );
    let missing = CaseItem {
        kind: CaseItemKind::Segment,
        id: "nope".into(),
    };
    assert!(matches!(
        f.vault
            .add_to_case(&case, &[missing], &caller(), t0())
            .await,
        Err(Error::NotFound(_))
    ));
    // The case's hold cannot be lifted on its own.
    let hold = f.vault.holds().await.expect("holds").remove(0);
    assert_eq!(hold.target, format!("case:{case}"));
    assert!(matches!(
        f.vault.lift_hold(&hold.id, &caller(), t0()).await,
        Err(Error::Conflict(_))
    ));

    // Past retention, only what the case does not hold goes.
    let now = t0() + time::Duration::days(8);
    let swept = f.vault.sweep(now, max_jump, None).await.expect("sweep");
    let mut gone: Vec<_> = swept.deleted.iter().map(|r| r.inspection.clone()).collect();
    gone.sort();
    assert_eq!(gone, ["", "event:e2"], "e2's row and snapshot: {swept:?}");
    assert_eq!(swept.held, 2, "e1's row and snapshot are held");

    // A camera selection finds what is left; a closed case takes nothing
    // and holds nothing.
    let found =
        f.db.select_items(&Selection::Camera {
            camera: "dock-1".into(),
            from: t0().unix_timestamp() - 60,
            to: t0().unix_timestamp() + 60,
        })
        .await
        .expect("select");
    assert_eq!(found, std::slice::from_ref(&e1));
    f.vault
        .close_case(&case, &caller(), now)
        .await
        .expect("close");
    assert!(matches!(
        f.vault.add_to_case(&case, &[e1], &caller(), now).await,
        Err(Error::Conflict(_))
    ));
    let swept = f.vault.sweep(now, max_jump, None).await.expect("sweep");
    assert_eq!(swept.deleted.len(), 2, "{swept:?}");

    let actions: Vec<String> = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action.starts_with("case."))
        .map(|e| format!("{} {}", e.event.action, e.event.target.unwrap_or_default()))
        .collect();
    assert_eq!(
        actions,
        [
            format!("case.open case:{case}"),
            format!("case.add case:{case} event:e1"),
            format!("case.close case:{case}"),
        ]
    );
}
