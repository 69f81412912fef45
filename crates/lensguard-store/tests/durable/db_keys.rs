//! API keys and inspections in the embedded database.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::access::{Actor, Scope};
use lensguard_store::db::{Db, InspectionFilter, KeyCheck, NewInspection, NewKey};
use std::net::IpAddr;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

fn local() -> IpAddr {
    "127.0.0.1".parse().expect("ip")
}

async fn db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("open");
    (dir, db)
}

fn new_key(scopes: &[Scope]) -> NewKey {
    NewKey {
        name: "line 3 camera".into(),
        scopes: scopes.to_vec(),
        allowed_cidrs: vec![],
        expires_at: None,
        owner: None,
        devices: None,
    }
}

#[tokio::test]
async fn a_key_authenticates_with_its_scopes_and_only_its_secret() {
    let (_d, db) = db().await;
    let issued = db
        .create_key(&new_key(&[Scope::InspectionsWrite]), NOW)
        .await
        .expect("create");
    let token = issued.token.expose().clone();
    assert!(token.starts_with(&format!("lg_{}_", issued.id)));
    assert_eq!(format!("{:?}", issued.token), "**redacted**");
    match db
        .authenticate_key(&token, local(), NOW)
        .await
        .expect("check")
    {
        KeyCheck::Valid(p) => {
            assert_eq!(p.actor, Actor::Key(issued.id.clone()));
            assert_eq!(
                p.scopes.into_iter().collect::<Vec<_>>(),
                [Scope::InspectionsWrite]
            );
        }
        other => panic!("{other:?}"),
    }
    let mut wrong = token.clone();
    wrong.pop();
    wrong.push(if token.ends_with('A') { 'B' } else { 'A' });
    for bad in [
        wrong.as_str(),
        "lg_nothex00000_x",
        "Bearer nonsense",
        "",
        &token[..token.len() - 5],
    ] {
        assert_eq!(
            db.authenticate_key(bad, local(), NOW).await.expect("check"),
            KeyCheck::Invalid,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_stored_secret_is_only_a_hash() {
    let (dir, db) = db().await;
    let issued = db
        .create_key(&new_key(&[Scope::AuditRead]), NOW)
        .await
        .expect("create");
    drop(db);
    let secret = issued
        .token
        .expose()
        .rsplit('_')
        .next()
        .expect("secret")
        .to_owned();
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret found on disk"
        );
    }
}

#[tokio::test]
async fn rotation_keeps_the_old_secret_for_the_overlap_and_revocation_ends_both() {
    let (_d, db) = db().await;
    let first = db
        .create_key(&new_key(&[Scope::InspectionsRead]), NOW)
        .await
        .expect("create");
    let second = db
        .rotate_key(&first.id, time::Duration::hours(24), NOW)
        .await
        .expect("rotate")
        .expect("exists");
    let valid = |c: &KeyCheck| matches!(c, KeyCheck::Valid(_));
    let at = |h: i64| NOW + time::Duration::hours(h);
    assert!(valid(
        &db.authenticate_key(first.token.expose(), local(), at(23))
            .await
            .expect("check")
    ));
    assert!(valid(
        &db.authenticate_key(second.token.expose(), local(), at(23))
            .await
            .expect("check")
    ));
    assert_eq!(
        db.authenticate_key(first.token.expose(), local(), at(24))
            .await
            .expect("check"),
        KeyCheck::Invalid
    );
    assert!(valid(
        &db.authenticate_key(second.token.expose(), local(), at(24))
            .await
            .expect("check")
    ));

    let third = db
        .rotate_key(&first.id, time::Duration::hours(24), at(30))
        .await
        .expect("rotate")
        .expect("exists");
    assert!(db.revoke_key(&first.id, at(31)).await.expect("revoke"));
    for t in [&second, &third] {
        assert_eq!(
            db.authenticate_key(t.token.expose(), local(), at(31))
                .await
                .expect("check"),
            KeyCheck::Revoked(first.id.clone())
        );
    }
    assert!(
        !db.revoke_key(&first.id, at(32)).await.expect("revoke"),
        "already revoked"
    );
    assert!(
        db.rotate_key(&first.id, time::Duration::hours(1), at(32))
            .await
            .expect("rotate")
            .is_none()
    );
}

#[tokio::test]
async fn expiry_and_network_allowlists_are_enforced() {
    let (_d, db) = db().await;
    let key = NewKey {
        allowed_cidrs: vec![
            "10.20.0.0/16".parse().expect("cidr"),
            "::1/128".parse().expect("cidr"),
        ],
        expires_at: Some(NOW + time::Duration::days(30)),
        ..new_key(&[Scope::InspectionsWrite])
    };
    let issued = db.create_key(&key, NOW).await.expect("create");
    let t = issued.token.expose();
    let ok = |ip: &str| ip.parse::<IpAddr>().expect("ip");
    assert!(matches!(
        db.authenticate_key(t, ok("10.20.3.4"), NOW)
            .await
            .expect("check"),
        KeyCheck::Valid(_)
    ));
    assert!(matches!(
        db.authenticate_key(t, ok("::1"), NOW).await.expect("check"),
        KeyCheck::Valid(_)
    ));
    assert_eq!(
        db.authenticate_key(t, ok("10.21.0.1"), NOW)
            .await
            .expect("check"),
        KeyCheck::NetworkNotAllowed(issued.id.clone())
    );
    let later = NOW + time::Duration::days(30);
    assert_eq!(
        db.authenticate_key(t, ok("10.20.3.4"), later)
            .await
            .expect("check"),
        KeyCheck::Expired(issued.id.clone())
    );
    let listed = db.list_keys().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].allowed_cidrs.len(), 2);
}

#[tokio::test]
async fn keys_need_a_name_and_a_scope() {
    let (_d, db) = db().await;
    assert!(db.create_key(&new_key(&[]), NOW).await.is_err());
    assert!(
        db.create_key(
            &NewKey {
                name: " ".into(),
                ..new_key(&[Scope::AuditRead])
            },
            NOW
        )
        .await
        .is_err()
    );
}

fn new<'a>(id: &'a str, actor: &'a str, verdict: &'a str, report: &'a str) -> NewInspection<'a> {
    NewInspection {
        id,
        actor,
        idempotency_key: Some("k-1"),
        request_sha256: Some(report),
        device_id: Some("cam-7"),
        verdict,
        report,
        expires_at: 4_000_000_000,
        policy: "test@1",
        outbox: None,
    }
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_original() {
    let (_d, db) = db().await;
    assert_eq!(
        db.insert_inspection(&new("a", "key:1", "pass", "{\"n\":1}"), NOW)
            .await
            .expect("insert"),
        Ok(())
    );
    let original = db
        .insert_inspection(&new("b", "key:1", "retry", "{\"n\":2}"), NOW)
        .await
        .expect("insert")
        .expect_err("duplicate");
    assert_eq!(
        (
            original.inspection.id.as_str(),
            original.inspection.report.as_str()
        ),
        ("a", "{\"n\":1}")
    );
    // The digest of the first request is kept with the key.
    assert!(original.same_request("{\"n\":1}"));
    assert!(!original.same_request("{\"n\":2}"));
    // Another actor may use the same idempotency key.
    assert_eq!(
        db.insert_inspection(&new("c", "key:2", "pass", "{}"), NOW)
            .await
            .expect("insert"),
        Ok(())
    );
    assert!(db.get_inspection("b").await.expect("get").is_none());
    let by_device = |device: &str| InspectionFilter {
        device: Some(device.to_owned()),
        ..InspectionFilter::default()
    };
    let found = db
        .list_inspections(&by_device("cam-7"), 10)
        .await
        .expect("list");
    assert_eq!(found.len(), 2);
    assert!(
        db.list_inspections(&by_device("cam-8"), 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(
        db.get_inspection("c").await.expect("get").map(|i| i.actor),
        Some("key:2".to_owned())
    );
}
