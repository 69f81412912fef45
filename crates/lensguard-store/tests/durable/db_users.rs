//! Users, TOTP, sessions and the owner bootstrap in the embedded database.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::Sensitive;
use lensguard_core::access::{Actor, Role, Scope};
use lensguard_store::db::{Db, KeyCheck, LoginRefusal, NewUser, SessionTerms, TotpEnrolment};
use lensguard_store::secrets::InstallationSecrets;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 10:00 UTC);
const PASSWORD: &str = "correct horse battery";

async fn setup() -> (tempfile::TempDir, Db, InstallationSecrets) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("open");
    let secrets = InstallationSecrets::load_or_create(dir.path()).expect("secrets");
    (dir, db, secrets)
}

/// An hour-long session with no idle limit, as the API opens them.
fn hour() -> SessionTerms {
    SessionTerms {
        lifetime: time::Duration::hours(1),
        idle: None,
        client: "127.0.0.1".into(),
        via: None,
    }
}

fn pw(p: &str) -> Sensitive<String> {
    Sensitive::new(p.to_owned())
}

/// The code an authenticator app shows at `t`.
pub(crate) fn code(enrolment: &TotpEnrolment, t: time::OffsetDateTime) -> String {
    let secret = totp_rs::Secret::Encoded(enrolment.secret_base32.expose().clone())
        .to_bytes()
        .expect("base32");
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    );
    totp.generate(t.unix_timestamp() as u64)
}

async fn user(db: &Db, secrets: &InstallationSecrets, name: &str, role: Role) -> TotpEnrolment {
    let new = NewUser {
        username: name.to_owned(),
        role,
        password: pw(PASSWORD),
        devices: None,
    };
    db.create_user(new, secrets, NOW).await.expect("create")
}

#[tokio::test]
async fn a_login_needs_the_password_and_a_fresh_totp_code_used_once() {
    let (_d, db, secrets) = setup().await;
    let alice = user(&db, &secrets, "alice", Role::Viewer).await;
    assert!(
        alice
            .otpauth_uri
            .expose()
            .starts_with("otpauth://totp/lensguard:alice?"),
        "{}",
        alice.otpauth_uri.expose()
    );
    let id = alice.user.id.clone();
    let login = |password: &str, code: String, at: time::OffsetDateTime| {
        let db = db.clone();
        let secrets = &secrets;
        let password = pw(password);
        async move {
            // A login spends its code's step when its session opens.
            match db
                .check_login("alice", password, &code, secrets, at)
                .await
                .expect("db")
            {
                Ok(verified) => db
                    .open_login_session(&verified, &hour(), at)
                    .await
                    .expect("db")
                    .map(|_| verified.user),
                Err(refusal) => Err(refusal),
            }
        }
    };
    let good = code(&alice, NOW);
    assert_eq!(
        login("wrong password here", good.clone(), NOW).await,
        Err(LoginRefusal::WrongPassword(id.clone()))
    );
    assert_eq!(
        login(PASSWORD, "000000".into(), NOW).await.err(),
        Some(LoginRefusal::WrongCode(id.clone()))
    );
    let stale = code(&alice, NOW - time::Duration::seconds(90));
    assert_eq!(
        login(PASSWORD, stale, NOW).await.err(),
        Some(LoginRefusal::WrongCode(id.clone())),
        "two steps old"
    );
    // Checking a code does not spend it: only opening the session does.
    let checked = db
        .check_login("alice", pw(PASSWORD), &good, &secrets, NOW)
        .await
        .expect("db")
        .expect("verified");
    assert!(
        db.check_login("alice", pw(PASSWORD), &good, &secrets, NOW)
            .await
            .expect("db")
            .is_ok()
    );
    drop(checked);
    assert_eq!(login(PASSWORD, good.clone(), NOW).await.expect("ok").id, id);
    assert_eq!(
        login(PASSWORD, good, NOW).await.err(),
        Some(LoginRefusal::ReusedCode(id.clone())),
        "single use"
    );
    // One step of drift either way is accepted (the next step, here).
    let later = NOW + time::Duration::seconds(30);
    assert!(login(PASSWORD, code(&alice, later), NOW).await.is_ok());
    assert_eq!(
        db.check_login("nobody", pw(PASSWORD), "123456", &secrets, NOW)
            .await
            .expect("db"),
        Err(LoginRefusal::UnknownUser)
    );
}

#[tokio::test]
async fn a_totp_reset_replaces_the_secret_and_ends_the_sessions() {
    let (_d, db, secrets) = setup().await;
    let bob = user(&db, &secrets, "bob", Role::Operator).await;
    let session = db.open_session(&bob.user, &hour(), NOW).await.expect("s");
    let fresh = db
        .reset_totp(&bob.user.id, &secrets, NOW)
        .await
        .expect("db")
        .expect("an active user");
    assert_ne!(fresh.secret_base32.expose(), bob.secret_base32.expose());
    assert!(matches!(
        db.authenticate_session(session.token.expose(), NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));
    let at = NOW + time::Duration::minutes(2);
    let old = db
        .check_login("bob", pw(PASSWORD), &code(&bob, at), &secrets, at)
        .await
        .expect("db");
    assert!(
        matches!(old, Err(LoginRefusal::WrongCode(_))),
        "the old secret no longer works"
    );
    let new = db
        .check_login("bob", pw(PASSWORD), &code(&fresh, at), &secrets, at)
        .await
        .expect("db");
    assert!(new.is_ok(), "the new secret works");
    assert!(db.disable_user(&bob.user.id, NOW).await.expect("db"));
    assert!(
        db.reset_totp(&bob.user.id, &secrets, NOW)
            .await
            .expect("db")
            .is_none()
    );
}

#[tokio::test]
async fn an_idle_session_ends_and_its_user_lists_and_revokes_their_own() {
    let (_d, db, secrets) = setup().await;
    let bob = user(&db, &secrets, "bob", Role::Operator).await;
    let eve = user(&db, &secrets, "eve", Role::Operator).await;
    let console = SessionTerms {
        lifetime: time::Duration::hours(12),
        idle: Some(time::Duration::minutes(15)),
        client: "10.0.0.7 Firefox".into(),
        via: None,
    };
    let idle = db.open_session(&bob.user, &console, NOW).await.expect("s");
    let token = idle.token.expose().clone();
    let valid = |t: time::OffsetDateTime| {
        let db = db.clone();
        let token = token.clone();
        async move {
            matches!(
                db.authenticate_session(&token, t).await.expect("db"),
                KeyCheck::Valid(_)
            )
        }
    };
    // Each use moves the idle limit on; fifteen minutes without one end it.
    assert!(valid(NOW + time::Duration::minutes(14)).await);
    assert!(valid(NOW + time::Duration::minutes(28)).await);
    let listed = db
        .list_sessions(&bob.user.id, NOW + time::Duration::minutes(28))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, idle.id);
    assert_eq!(listed[0].client, "10.0.0.7 Firefox");
    assert_eq!(listed[0].idle_seconds, Some(900));
    assert_eq!(
        listed[0].last_seen_at,
        (NOW + time::Duration::minutes(28)).unix_timestamp()
    );
    let later = NOW + time::Duration::minutes(43);
    assert!(matches!(
        db.authenticate_session(&token, later).await.expect("db"),
        KeyCheck::Expired(_)
    ));
    assert!(
        db.list_sessions(&bob.user.id, later)
            .await
            .expect("list")
            .is_empty()
    );

    // Sessions without an idle limit (the API's) last their lifetime.
    let api = db.open_session(&bob.user, &hour(), NOW).await.expect("s");
    let other = db.open_session(&bob.user, &hour(), NOW).await.expect("s");
    let at = NOW + time::Duration::minutes(59);
    assert!(matches!(
        db.authenticate_session(api.token.expose(), at)
            .await
            .expect("db"),
        KeyCheck::Valid(_)
    ));
    assert_eq!(
        db.list_sessions(&bob.user.id, at).await.expect("l").len(),
        2
    );
    // Only the owner of a session revokes it through the list.
    assert!(
        !db.revoke_session(&eve.user.id, &api.id, at)
            .await
            .expect("r")
    );
    assert!(
        db.revoke_session(&bob.user.id, &api.id, at)
            .await
            .expect("r")
    );
    assert!(
        !db.revoke_session(&bob.user.id, &api.id, at)
            .await
            .expect("r")
    );
    assert!(matches!(
        db.authenticate_session(api.token.expose(), at)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));
    let left = db.list_sessions(&bob.user.id, at).await.expect("l");
    assert_eq!(
        left.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [other.id.as_str()]
    );
}

#[tokio::test]
async fn sessions_carry_the_role_and_end_on_logout_expiry_or_disable() {
    let (_d, db, secrets) = setup().await;
    let bob = user(&db, &secrets, "bob", Role::Operator).await;
    let session = db
        .open_session(&bob.user, &hour(), NOW)
        .await
        .expect("session");
    let token = session.token.expose().clone();
    assert!(token.starts_with("lgs_"));
    let KeyCheck::Valid(p) = db.authenticate_session(&token, NOW).await.expect("db") else {
        panic!("valid")
    };
    assert_eq!(p.actor, Actor::User(bob.user.id.clone()));
    assert_eq!(p.role, Some(Role::Operator));
    assert!(p.scopes.contains(&Scope::InspectionsWrite));
    assert!(!p.scopes.contains(&Scope::AuditRead));

    // A wider role applies to the open session at once.
    assert!(
        db.set_role(&bob.user.id, Role::Admin, NOW)
            .await
            .expect("role")
    );
    let KeyCheck::Valid(p) = db.authenticate_session(&token, NOW).await.expect("db") else {
        panic!("valid")
    };
    assert!(p.scopes.contains(&Scope::KeysManage));
    assert!(p.scopes.contains(&Scope::InspectionsWrite));
    // A downgrade (Viewer lacks keys:manage) ends it; a new one has the new role.
    assert!(
        db.set_role(&bob.user.id, Role::Viewer, NOW)
            .await
            .expect("role")
    );
    assert!(matches!(
        db.authenticate_session(&token, NOW).await.expect("db"),
        KeyCheck::Revoked(_)
    ));
    let viewer = db.get_user(&bob.user.id).await.expect("db").expect("bob");
    let session = db
        .open_session(&viewer, &hour(), NOW)
        .await
        .expect("session");
    let token = session.token.expose().clone();
    let KeyCheck::Valid(p) = db.authenticate_session(&token, NOW).await.expect("db") else {
        panic!("valid")
    };
    assert!(p.scopes.contains(&Scope::AuditRead));
    assert!(!p.scopes.contains(&Scope::InspectionsWrite));
    // A new password (here the same text again) ends every session too.
    assert!(
        db.set_password(&viewer.id, pw(PASSWORD), NOW)
            .await
            .expect("password")
    );
    assert!(matches!(
        db.authenticate_session(&token, NOW).await.expect("db"),
        KeyCheck::Revoked(_)
    ));
    let session = db
        .open_session(&viewer, &hour(), NOW)
        .await
        .expect("session");
    let token = session.token.expose().clone();

    let later = NOW + time::Duration::hours(1);
    assert!(matches!(
        db.authenticate_session(&token, later).await.expect("db"),
        KeyCheck::Expired(_)
    ));
    let mut forged = token.clone();
    forged.push('x');
    assert_eq!(
        db.authenticate_session(&forged, NOW).await.expect("db"),
        KeyCheck::Invalid
    );

    assert!(db.close_session(&token, NOW).await.expect("logout"));
    assert!(matches!(
        db.authenticate_session(&token, NOW).await.expect("db"),
        KeyCheck::Revoked(_)
    ));

    let other = db
        .open_session(&bob.user, &hour(), NOW)
        .await
        .expect("session");
    assert!(db.disable_user(&bob.user.id, NOW).await.expect("disable"));
    assert!(matches!(
        db.authenticate_session(other.token.expose(), NOW)
            .await
            .expect("db"),
        KeyCheck::Revoked(_)
    ));
    assert_eq!(
        db.check_login("bob", pw(PASSWORD), &code(&bob, NOW), &secrets, NOW)
            .await
            .expect("db"),
        Err(LoginRefusal::Disabled(bob.user.id.clone()))
    );
}

#[tokio::test]
async fn duplicate_names_and_weak_passwords_are_refused() {
    let (_d, db, secrets) = setup().await;
    user(&db, &secrets, "carol", Role::Viewer).await;
    let again = NewUser {
        username: "carol".into(),
        role: Role::Admin,
        password: pw(PASSWORD),
        devices: None,
    };
    let err = db.create_user(again, &secrets, NOW).await.expect_err("dup");
    assert!(err.to_string().contains("already exists"), "{err}");
    let weak = NewUser {
        username: "dave".into(),
        role: Role::Viewer,
        password: pw("short"),
        devices: None,
    };
    assert!(db.create_user(weak, &secrets, NOW).await.is_err());
}

#[tokio::test]
async fn the_bootstrap_token_makes_one_owner_once() {
    let (_d, db, secrets) = setup().await;
    let first = db.begin_bootstrap(NOW).await.expect("db").expect("token");
    let second = db.begin_bootstrap(NOW).await.expect("db").expect("token");
    let complete = |token: String, at| {
        let db = db.clone();
        let secrets = &secrets;
        async move {
            db.complete_bootstrap(&token, "root".into(), pw(PASSWORD), secrets, at)
                .await
                .expect("db")
        }
    };
    assert!(
        complete(first.expose().clone(), NOW).await.is_none(),
        "a newer token replaces the older"
    );
    let expired = NOW + lensguard_store::db::BOOTSTRAP_TTL;
    assert!(complete(second.expose().clone(), expired).await.is_none());
    let owner = complete(second.expose().clone(), NOW).await.expect("owner");
    assert_eq!(owner.user.role, Role::Owner);
    assert!(
        complete(second.expose().clone(), NOW).await.is_none(),
        "spent"
    );
    assert!(db.has_owner().await.expect("db"));
    assert!(db.begin_bootstrap(NOW).await.expect("db").is_none());
}
