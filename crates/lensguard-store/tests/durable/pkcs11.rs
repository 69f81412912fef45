//! The evidence vault with its key-encryption keys in a PKCS#11 token
//! (SoftHSMv2): keys made non-extractable in the token, a wrong PIN, a
//! missing token or module, and a destroyed key.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use lensguard_core::Sensitive;
use lensguard_core::pixels::OriginalPhoto;
use lensguard_store::Error;
use lensguard_store::audit::{AuditLog, AuditOptions};
use lensguard_store::db::Db;
use lensguard_store::vault::pkcs11::{self, Token};
use lensguard_store::vault::{Caller, KeySource, NewObject, Pkcs11Config, Vault};
use lensguard_testkit::softhsm;
use std::path::Path;
use std::sync::Arc;

fn config(token: &softhsm::Token, label: &str, pin: &str) -> Pkcs11Config {
    Pkcs11Config {
        module: token.module.clone(),
        token_label: label.to_owned(),
        pin: Sensitive::new(pin.to_owned()),
    }
}

async fn open(dir: &Path, cfg: Pkcs11Config) -> Result<Vault, Error> {
    let db = Db::open(&dir.join("lensguard.db")).await.expect("db");
    let audit =
        Arc::new(AuditLog::open(&dir.join("audit"), AuditOptions::default()).expect("audit"));
    Vault::open(
        &db,
        &dir.join("vault"),
        KeySource::Pkcs11(cfg),
        audit,
        time::OffsetDateTime::now_utc(),
    )
    .await
}

fn object(i: usize) -> NewObject<'static> {
    NewObject {
        inspection_id: ["i0", "i1", "i2"][i % 3],
        device_id: None,
        keep_days: 7,
        policy: "test@1",
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn keys_are_made_in_the_token_and_never_leave_it() {
    let Some(token) =
        softhsm::child_or_spawn("pkcs11::keys_are_made_in_the_token_and_never_leave_it")
    else {
        return;
    };
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = open(dir.path(), config(&token, softhsm::LABEL, softhsm::PIN))
            .await
            .expect("open");
        assert!(vault.keyring().is_hsm());
        let info = vault
            .put(
                &object(0),
                OriginalPhoto::received(b"sealed by the HSM".to_vec()),
                time::OffsetDateTime::now_utc(),
            )
            .await
            .expect("put");
        assert_eq!(
            vault.get(&info.id, &Caller::system()).await.expect("get"),
            b"sealed by the HSM"
        );
        let probe =
            Token::open(&config(&token, softhsm::LABEL, softhsm::PIN)).expect("probe session");
        assert!(
            probe
                .is_locked_in(&pkcs11::label("original", 1))
                .expect("attributes"),
            "sensitive, never extractable"
        );
        // Rotation makes version 2 in the token, and retiring version 1 destroys it there.
        vault
            .rotate_kek(&Caller::system(), time::OffsetDateTime::now_utc())
            .await
            .expect("rotate");
        let report = vault
            .rewrap_all(&Caller::system(), |_| {})
            .await
            .expect("rewrap");
        assert_eq!(report.rewrapped, 1);
        assert!(report.retired.contains(&"original v1".to_owned()));
        assert!(
            probe
                .is_locked_in(&pkcs11::label("original", 2))
                .expect("v2")
        );
        assert!(matches!(
            probe.is_locked_in(&pkcs11::label("original", 1)),
            Err(Error::KeyUnavailable(_))
        ));
        assert_eq!(
            vault
                .get(&info.id, &Caller::system())
                .await
                .expect("get after rewrap"),
            b"sealed by the HSM"
        );
    });
}

#[test]
fn a_wrong_pin_a_missing_token_or_module_is_refused() {
    let Some(token) =
        softhsm::child_or_spawn("pkcs11::a_wrong_pin_a_missing_token_or_module_is_refused")
    else {
        return;
    };
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = open(dir.path(), config(&token, softhsm::LABEL, "0000"))
            .await
            .expect_err("wrong PIN");
        assert!(
            matches!(&err, Error::KeyUnavailable(m) if m.contains("PIN is wrong")),
            "{err}"
        );
        let err = open(dir.path(), config(&token, "no-such-token", softhsm::PIN))
            .await
            .expect_err("no token");
        assert!(
            matches!(&err, Error::KeyUnavailable(m) if m.contains("no token labelled")),
            "{err}"
        );
        let mut cfg = config(&token, softhsm::LABEL, softhsm::PIN);
        cfg.module = "/nonexistent/libpkcs11.so".into();
        let err = open(dir.path(), cfg).await.expect_err("no module");
        assert!(
            matches!(&err, Error::KeyUnavailable(m) if m.contains("cannot load")),
            "{err}"
        );
    });
}

#[test]
fn a_destroyed_key_leaves_every_data_key_it_wrapped_unreadable() {
    let Some(token) = softhsm::child_or_spawn(
        "pkcs11::a_destroyed_key_leaves_every_data_key_it_wrapped_unreadable",
    ) else {
        return;
    };
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = open(dir.path(), config(&token, softhsm::LABEL, softhsm::PIN))
            .await
            .expect("open");
        let mut ids = Vec::new();
        for i in 0..3 {
            let info = vault
                .put(
                    &object(i),
                    OriginalPhoto::received(vec![i as u8; 32]),
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .expect("put");
            ids.push(info.id);
        }
        let admin =
            Token::open(&config(&token, softhsm::LABEL, softhsm::PIN)).expect("admin session");
        admin
            .destroy(&pkcs11::label("original", 1))
            .expect("destroy");
        for id in &ids {
            let err = vault
                .get(id, &Caller::system())
                .await
                .expect_err("unreadable");
            assert!(matches!(err, Error::KeyUnavailable(_)), "{err}");
        }
        drop(vault);
        let err = open(dir.path(), config(&token, softhsm::LABEL, softhsm::PIN))
            .await
            .expect_err("refused at start");
        assert!(
            matches!(&err, Error::KeyUnavailable(m) if m.contains("not in the token")),
            "{err}"
        );
    });
}

/// The audit log's signing key as a key pair in the token: checkpoints are
/// signed there, the private key is sensitive and never extractable, no
/// `signing.key` file exists, offline verification uses `signing.pub`, and
/// the log refuses to open with a software key instead.
#[test]
fn the_audit_log_signs_in_the_token_and_its_key_never_leaves_it() {
    use lensguard_store::audit::verify::verify_dir;
    use lensguard_store::audit::{AuditEvent, OpenWith, Signer, files};
    let Some(token) = softhsm::child_or_spawn(
        "pkcs11::the_audit_log_signs_in_the_token_and_its_key_never_leaves_it",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Arc::new(Token::open(&config(&token, softhsm::LABEL, softhsm::PIN)).expect("token"));
    let open = || {
        AuditLog::open_with(
            dir.path(),
            AuditOptions {
                checkpoint_every: 4,
                ..AuditOptions::default()
            },
            OpenWith {
                signer: Some(Signer::in_token(Arc::clone(&t)).expect("signer")),
                ..OpenWith::default()
            },
        )
    };
    {
        let log = open().expect("open");
        for i in 0..10 {
            log.append(
                AuditEvent::new(time::OffsetDateTime::now_utc(), "user:1", "keys.create")
                    .target(format!("key:{i}")),
            )
            .expect("append");
        }
    }
    assert!(!dir.path().join(files::SIGNING_KEY).exists());
    let s = verify_dir(dir.path(), None, &[]).expect("verifies with signing.pub");
    assert_eq!(
        s.public_key,
        hex::encode(t.ed25519_key(pkcs11::AUDIT_SIGNING_LABEL).expect("key"))
    );
    assert!(s.checkpoints >= 3, "{s:?}");
    assert!(
        t.private_key_locked_in(pkcs11::AUDIT_SIGNING_LABEL)
            .expect("attributes"),
        "sensitive, never extractable"
    );
    let err = AuditLog::open(dir.path(), AuditOptions::default()).expect_err("no software key");
    assert!(err.to_string().contains("held elsewhere"), "{err}");
    assert!(
        !dir.path().join(files::SIGNING_KEY).exists(),
        "and none is made"
    );
    let log = open().expect("reopens with the token");
    log.append(AuditEvent::new(
        time::OffsetDateTime::now_utc(),
        "user:1",
        "keys.list",
    ))
    .expect("append");
}
