//! People from an identity provider: just-in-time users, role changes at
//! each sign-in, names that stay local, and the TOTP step-up.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_core::devices::DeviceScope;
use lensguard_store::db::{
    Db, ExternalPerson, KeyCheck, LoginRefusal, NewUser, SessionOrigin, SessionTerms, SsoRefusal,
};
use lensguard_store::secrets::InstallationSecrets;
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

fn person(role: Role, devices: Option<&[&str]>) -> ExternalPerson {
    ExternalPerson {
        provider: "corp".into(),
        subject: "sub-ada".into(),
        username: "ada".into(),
        role,
        devices: devices.map(|d| DeviceScope::new(d).expect("scope")),
    }
}

fn terms() -> SessionTerms {
    SessionTerms {
        lifetime: time::Duration::hours(8),
        idle: None,
        client: "127.0.0.1".into(),
        via: Some(SessionOrigin {
            provider: "corp".into(),
            subject: "sub-ada".into(),
        }),
    }
}

#[tokio::test]
async fn a_provider_person_becomes_one_user_whose_role_follows_each_sign_in() {
    let (_dir, db, secrets) = setup().await;
    let first = db
        .provision_sso_user(&person(Role::Admin, None), &secrets, NOW)
        .await
        .expect("db")
        .expect("admitted");
    assert_eq!(first.role, Role::Admin);
    let session = db
        .open_session(&first, &terms(), NOW)
        .await
        .expect("session");
    let listed = db.list_sessions(&first.id, NOW).await.expect("list");
    assert_eq!(
        listed[0].via,
        terms().via,
        "the session carries provider and subject"
    );

    // They have no password: a local login with any password is refused.
    let local = db
        .check_login(
            "ada",
            Sensitive::new("whatever it is!".into()),
            "000000",
            &secrets,
            NOW,
        )
        .await
        .expect("db");
    assert!(
        matches!(local, Err(LoginRefusal::WrongPassword(_))),
        "{local:?}"
    );

    // Same subject, narrower role: the same user, and its sessions end.
    let again = db
        .provision_sso_user(&person(Role::Viewer, Some(&["dock-*"])), &secrets, NOW)
        .await
        .expect("db")
        .expect("admitted");
    assert_eq!(again.id, first.id);
    assert_eq!(again.role, Role::Viewer);
    assert!(matches!(
        db.authenticate_session(session.token.expose(), NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));
    let stored = db.get_user(&first.id).await.expect("db").expect("user");
    assert_eq!(stored.role, Role::Viewer);
    assert_eq!(stored.devices.expect("scoped").patterns(), ["dock-*"]);
}

#[tokio::test]
async fn a_local_name_is_never_taken_over_and_a_disabled_person_stays_out() {
    let (_dir, db, secrets) = setup().await;
    db.create_user(
        NewUser {
            username: "ada".into(),
            role: Role::Owner,
            password: Sensitive::new("correct horse battery".into()),
            devices: None,
        },
        &secrets,
        NOW,
    )
    .await
    .expect("local user");
    let refused = db
        .provision_sso_user(&person(Role::Admin, None), &secrets, NOW)
        .await
        .expect("db");
    assert_eq!(refused, Err(SsoRefusal::NameTaken));

    let mut other = person(Role::Viewer, None);
    other.username = "ada.sso".into();
    let user = db
        .provision_sso_user(&other, &secrets, NOW)
        .await
        .expect("db")
        .expect("admitted");
    db.disable_user(&user.id, NOW).await.expect("disable");
    let refused = db
        .provision_sso_user(&other, &secrets, NOW)
        .await
        .expect("db");
    assert_eq!(refused, Err(SsoRefusal::Disabled(user.id)));
}

#[tokio::test]
async fn a_step_up_secret_is_shown_again_only_until_a_code_was_used() {
    let (_dir, db, secrets) = setup().await;
    let user = db
        .provision_sso_user(&person(Role::Admin, None), &secrets, NOW)
        .await
        .expect("db")
        .expect("admitted");
    let enrolment = db
        .step_up_enrolment(&user.id, &secrets)
        .await
        .expect("db")
        .expect("never used: shown");
    let code = super::db_users::code(&enrolment, NOW);
    let verified = db
        .check_step_up(&user.id, &code, &secrets, NOW)
        .await
        .expect("db")
        .expect("right code");
    db.open_login_session(&verified, &terms(), NOW)
        .await
        .expect("db")
        .expect("opened");
    assert!(
        db.step_up_enrolment(&user.id, &secrets)
            .await
            .expect("db")
            .is_none(),
        "after a code was used the secret is never shown again"
    );
    let replay = db
        .check_step_up(&user.id, &code, &secrets, NOW)
        .await
        .expect("db");
    assert!(
        matches!(replay, Err(LoginRefusal::ReusedCode(_))),
        "{replay:?}"
    );
}
