//! What SCIM provisions: resources with versions, users whose access is
//! committed with them, and deprovisioning at once.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::Sensitive;
use lensguard_core::access::{Role, Scope};
use lensguard_store::db::{
    Db, KeyCheck, NewKey, NewUser, ScimAccess, ScimConflict, ScimKind, ScimPut, ScimWrite,
    SessionTerms,
};
use lensguard_store::secrets::InstallationSecrets;
use serde_json::json;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-12-07 10:00 UTC);

async fn setup() -> (tempfile::TempDir, Db, InstallationSecrets) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("open");
    let secrets = InstallationSecrets::load_or_create(dir.path()).expect("secrets");
    (dir, db, secrets)
}

fn user_put(id: &str, name: &str, expect: Option<i64>) -> ScimPut {
    ScimPut {
        id: id.into(),
        kind: ScimKind::User,
        doc: json!({"userName": name}),
        expect_version: expect,
    }
}

fn access(id: &str, name: &str, role: Option<Role>) -> ScimAccess {
    ScimAccess {
        id: id.into(),
        username: name.into(),
        grant: role.map(|r| (r, None)),
    }
}

#[tokio::test]
async fn access_commits_with_the_directory_and_ends_at_once() {
    let (_dir, db, secrets) = setup().await;
    let write = ScimWrite {
        puts: vec![user_put("a1b2c3d4e5f6", "ada", None)],
        access: vec![access("a1b2c3d4e5f6", "ada", Some(Role::Developer))],
        ..Default::default()
    };
    let applied = db
        .scim_commit(&write, &secrets, NOW)
        .await
        .expect("db")
        .expect("stored");
    assert_eq!(applied.created, vec!["a1b2c3d4e5f6".to_owned()]);
    let user = db
        .scim_user_named("ADA")
        .await
        .expect("db")
        .expect("a SCIM user, found without case");
    assert_eq!((user.role, user.disabled_at), (Role::Developer, None));
    let stored = db
        .scim_resource(ScimKind::User, "a1b2c3d4e5f6")
        .await
        .expect("db")
        .expect("kept");
    assert_eq!(stored.version, 1);

    let terms = SessionTerms {
        lifetime: time::Duration::hours(8),
        idle: None,
        client: "127.0.0.1".into(),
        via: None,
    };
    let session = db.open_session(&user, &terms, NOW).await.expect("session");
    let key = db
        .create_key(
            &NewKey {
                name: "ada's integration".into(),
                scopes: vec![Scope::InspectionsWrite],
                allowed_cidrs: vec![],
                expires_at: None,
                owner: Some(user.id.clone()),
                devices: None,
            },
            NOW,
        )
        .await
        .expect("key");

    // A stale version changes nothing, access included.
    let stale = ScimWrite {
        puts: vec![user_put("a1b2c3d4e5f6", "ada", Some(7))],
        access: vec![access("a1b2c3d4e5f6", "ada", None)],
        ..Default::default()
    };
    assert_eq!(
        db.scim_commit(&stale, &secrets, NOW).await.expect("db"),
        Err(ScimConflict::Version("a1b2c3d4e5f6".into()))
    );
    let ip = "127.0.0.1".parse().expect("ip");
    assert!(matches!(
        db.authenticate_session(session.token.expose(), NOW)
            .await
            .expect("db"),
        KeyCheck::Valid(_)
    ));

    // Access ends: sessions and keys go in the same commit.
    let off = ScimWrite {
        puts: vec![user_put("a1b2c3d4e5f6", "ada", Some(1))],
        access: vec![access("a1b2c3d4e5f6", "ada", None)],
        ..Default::default()
    };
    let applied = db
        .scim_commit(&off, &secrets, NOW)
        .await
        .expect("db")
        .expect("stored");
    assert_eq!(applied.deprovisioned.len(), 1);
    let ended = applied.deprovisioned[0].1;
    assert!(ended.disabled);
    assert_eq!((ended.sessions, ended.keys), (1, 1));
    assert!(matches!(
        db.authenticate_key(key.token.expose(), ip, NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));
    assert!(matches!(
        db.authenticate_session(session.token.expose(), NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));

    // Back again: enabled, the key stays revoked.
    let on = ScimWrite {
        puts: vec![user_put("a1b2c3d4e5f6", "ada", Some(2))],
        access: vec![access("a1b2c3d4e5f6", "ada", Some(Role::Viewer))],
        ..Default::default()
    };
    let applied = db
        .scim_commit(&on, &secrets, NOW)
        .await
        .expect("db")
        .expect("stored");
    assert_eq!(applied.restored, vec!["a1b2c3d4e5f6".to_owned()]);
    assert!(matches!(
        db.authenticate_key(key.token.expose(), ip, NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));

    // Deleted: the record stays, disabled and renamed, no longer SCIM's.
    let delete = ScimWrite {
        deletes: vec![(ScimKind::User, "a1b2c3d4e5f6".into())],
        ..Default::default()
    };
    db.scim_commit(&delete, &secrets, NOW)
        .await
        .expect("db")
        .expect("stored");
    let kept = db
        .get_user("a1b2c3d4e5f6")
        .await
        .expect("db")
        .expect("kept");
    assert_eq!(kept.username, "deleted-a1b2c3d4e5f6");
    assert!(kept.disabled_at.is_some());
    assert!(db.scim_user_named("ada").await.expect("db").is_none());
    assert!(
        db.scim_resource(ScimKind::User, "a1b2c3d4e5f6")
            .await
            .expect("db")
            .is_none()
    );
}

#[tokio::test]
async fn a_local_name_is_never_taken_and_a_subject_binds_once() {
    let (_dir, db, secrets) = setup().await;
    db.create_user(
        NewUser {
            username: "keeper".into(),
            role: Role::Owner,
            password: Sensitive::new("correct horse battery".into()),
            devices: None,
        },
        &secrets,
        NOW,
    )
    .await
    .expect("local owner");
    let clash = ScimWrite {
        puts: vec![user_put("0a0b0c0d0e0f", "Keeper", None)],
        access: vec![access("0a0b0c0d0e0f", "keeper", Some(Role::Viewer))],
        ..Default::default()
    };
    assert_eq!(
        db.scim_commit(&clash, &secrets, NOW).await.expect("db"),
        Err(ScimConflict::NameTaken("keeper".into()))
    );
    assert!(
        db.scim_resource(ScimKind::User, "0a0b0c0d0e0f")
            .await
            .expect("db")
            .is_none(),
        "nothing of a refused commit is kept"
    );

    let ok = ScimWrite {
        puts: vec![user_put("0a0b0c0d0e0f", "bo", None)],
        access: vec![access("0a0b0c0d0e0f", "bo", Some(Role::Viewer))],
        ..Default::default()
    };
    db.scim_commit(&ok, &secrets, NOW)
        .await
        .expect("db")
        .expect("stored");
    assert!(
        db.bind_scim_sign_in("0a0b0c0d0e0f", "corp", "sub-bo")
            .await
            .expect("db")
    );
    assert!(
        db.bind_scim_sign_in("0a0b0c0d0e0f", "corp", "sub-bo")
            .await
            .expect("db"),
        "the same subject again"
    );
    assert!(
        !db.bind_scim_sign_in("0a0b0c0d0e0f", "corp", "sub-mallory")
            .await
            .expect("db"),
        "another subject with the same user name"
    );
}
