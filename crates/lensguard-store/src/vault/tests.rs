#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::*;
use crate::audit::{AuditOptions, verify};
use std::time::Duration;

pub(crate) struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub audit: Arc<AuditLog>,
    pub vault: Vault,
}

pub(crate) fn t0() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-30 12:00 UTC)
}

pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("db");
    let audit = Arc::new(
        AuditLog::open(&dir.path().join("audit"), AuditOptions::default()).expect("audit"),
    );
    let master = MasterKey::from_file(&dir.path().join("master.key"), true).expect("master");
    let vault = Vault::open(
        &db,
        &dir.path().join("vault"),
        KeySource::MasterKey(master),
        Arc::clone(&audit),
        t0(),
    )
    .await
    .expect("vault");
    Fixture {
        dir,
        db,
        audit,
        vault,
    }
}

pub(crate) fn object<'a>(inspection: &'a str, device: Option<&'a str>) -> NewObject<'a> {
    NewObject {
        inspection_id: inspection,
        device_id: device,
        keep_days: 7,
        policy: "test@1",
    }
}

/// Test bytes as the typed pixels of `category`.
pub(crate) fn pixels(category: DataCategory, bytes: Vec<u8>) -> Sealable {
    use lensguard_core::pixels::{__from_redaction, OriginalPhoto};
    match category {
        DataCategory::Original => OriginalPhoto::received(bytes).into(),
        DataCategory::Redacted => __from_redaction::redacted(bytes).into(),
        DataCategory::Thumbnail => __from_redaction::thumbnail(bytes).into(),
        other => panic!("{other} is not kept in the vault"),
    }
}

pub(crate) fn caller() -> Caller {
    Caller::named("key:test")
}

/// Every audit entry so far (appends are durable when they return).
pub(crate) fn audit_actions(f: &Fixture) -> Vec<crate::audit::ParsedEntry> {
    let text = std::fs::read_to_string(f.dir.path().join("audit").join("log.jsonl")).expect("log");
    text.lines()
        .map(|l| {
            let (_, json) = l.split_once(' ').expect("hash and entry");
            serde_json::from_str(json).expect("entry")
        })
        .collect()
}

#[tokio::test]
async fn objects_round_trip_sealed_with_no_plaintext_on_disk() {
    let f = fixture().await;
    let canary = b"CANARY-7f3e9a-plaintext-that-must-never-touch-disk".repeat(20);
    let info = f
        .vault
        .put(
            &object("i1", Some("dev-1")),
            pixels(DataCategory::Original, canary.clone()),
            t0(),
        )
        .await
        .expect("put");
    assert_eq!(info.expires_at - info.created_at, 7 * 86_400);
    assert_eq!(f.vault.get(&info.id, &caller()).await.expect("get"), canary);
    assert_eq!(
        scan(f.dir.path(), b"CANARY-7f3e9a"),
        Vec::<PathBuf>::new(),
        "the plaintext is nowhere on disk"
    );
}

/// Every file under `dir` that contains `needle`.
pub(crate) fn scan(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle))
            {
                hits.push(p);
            }
        }
    }
    hits
}

#[tokio::test]
async fn every_flipped_byte_is_an_audited_integrity_error() {
    let f = fixture().await;
    let info = f
        .vault
        .put(
            &object("i1", None),
            pixels(DataCategory::Redacted, b"redacted jpeg bytes".to_vec()),
            t0(),
        )
        .await
        .expect("put");
    let path = f.vault.blob_file(&info.id);
    let blob = std::fs::read(&path).expect("blob");
    // Header, nonce, ciphertext and tag of the blob.
    for i in 0..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x80;
        std::fs::write(&path, &bad).expect("write");
        let err = f.vault.get(&info.id, &caller()).await.expect_err("refused");
        assert!(matches!(err, Error::Integrity(_)), "blob byte {i}: {err}");
    }
    std::fs::write(&path, &blob).expect("restore");
    // Version, nonce, wrapped key and tag of the wrapped data key.
    let wrapped = f.vault.raw_wrapped_key(&info.id).await.expect("wrapped");
    assert_eq!(wrapped.len(), envelope::WRAPPED_LEN);
    for i in 0..wrapped.len() {
        let mut bad = wrapped.clone();
        bad[i] ^= 0x01;
        f.vault
            .set_raw_wrapped_key(&info.id, &bad)
            .await
            .expect("set");
        let err = f.vault.get(&info.id, &caller()).await.expect_err("refused");
        assert!(
            matches!(err, Error::Integrity(_)),
            "wrapped byte {i}: {err}"
        );
    }
    f.vault
        .set_raw_wrapped_key(&info.id, &wrapped)
        .await
        .expect("restore");
    assert_eq!(
        f.vault
            .get(&info.id, &caller())
            .await
            .expect("intact again"),
        b"redacted jpeg bytes"
    );
    let failures = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action == "evidence.integrity_failure")
        .count();
    assert_eq!(
        failures,
        blob.len() + wrapped.len(),
        "every refusal is audited"
    );
}

#[tokio::test]
async fn swapped_blobs_and_wrapped_keys_do_not_open() {
    let f = fixture().await;
    let a = f
        .vault
        .put(
            &object("i1", None),
            pixels(DataCategory::Original, b"object a".to_vec()),
            t0(),
        )
        .await
        .expect("a");
    let b = f
        .vault
        .put(
            &object("i2", None),
            pixels(DataCategory::Original, b"object b".to_vec()),
            t0(),
        )
        .await
        .expect("b");
    let c = f
        .vault
        .put(
            &object("i1", None),
            pixels(DataCategory::Thumbnail, b"object c".to_vec()),
            t0(),
        )
        .await
        .expect("c");
    let blob = |id: &str| std::fs::read(f.vault.blob_file(id)).expect("blob");
    let (blob_a, blob_b, blob_c) = (blob(&a.id), blob(&b.id), blob(&c.id));
    // Blobs swapped between objects, and between categories.
    for (target, foreign) in [(&a.id, &blob_b), (&c.id, &blob_a), (&a.id, &blob_c)] {
        std::fs::write(f.vault.blob_file(target), foreign).expect("swap");
        assert!(matches!(
            f.vault.get(target, &caller()).await,
            Err(Error::Integrity(_))
        ));
    }
    for (id, bytes) in [(&a.id, &blob_a), (&c.id, &blob_c)] {
        std::fs::write(f.vault.blob_file(id), bytes).expect("restore");
    }
    // Wrapped keys swapped between objects and between categories.
    let wk = |id: String| {
        let v = &f.vault;
        async move { v.raw_wrapped_key(&id).await.expect("wrapped") }
    };
    let (wk_a, wk_b, wk_c) = (
        wk(a.id.clone()).await,
        wk(b.id.clone()).await,
        wk(c.id.clone()).await,
    );
    for (target, foreign) in [(&a.id, &wk_b), (&a.id, &wk_c), (&c.id, &wk_a)] {
        f.vault
            .set_raw_wrapped_key(target, foreign)
            .await
            .expect("swap");
        assert!(matches!(
            f.vault.get(target, &caller()).await,
            Err(Error::Integrity(_))
        ));
    }
    f.vault
        .set_raw_wrapped_key(&a.id, &wk_a)
        .await
        .expect("restore");
    f.vault
        .set_raw_wrapped_key(&c.id, &wk_c)
        .await
        .expect("restore");
    // A wrapped key relabelled with another KEK version (after a rotation
    // both versions exist).
    f.vault.rotate_kek(&caller(), t0()).await.expect("rotate");
    let mut relabelled = wk_a.clone();
    relabelled[..4].copy_from_slice(&2u32.to_be_bytes());
    f.vault
        .set_raw_wrapped_key(&a.id, &relabelled)
        .await
        .expect("relabel");
    assert!(matches!(
        f.vault.get(&a.id, &caller()).await,
        Err(Error::Integrity(_))
    ));
    f.vault
        .set_raw_wrapped_key(&a.id, &wk_a)
        .await
        .expect("restore");
    for (id, plain) in [
        (&a.id, &b"object a"[..]),
        (&b.id, b"object b"),
        (&c.id, b"object c"),
    ] {
        assert_eq!(f.vault.get(id, &caller()).await.expect("intact"), plain);
    }
}

#[tokio::test]
async fn deletion_leaves_no_key_bytes_and_no_plaintext_and_a_verifiable_receipt() {
    let f = fixture().await;
    let canary = b"CANARY-shred-0b1d5c".repeat(50);
    let info = f
        .vault
        .put(
            &object("i1", Some("dev-9")),
            pixels(DataCategory::Original, canary.clone()),
            t0(),
        )
        .await
        .expect("put");
    let wrapped = f.vault.raw_wrapped_key(&info.id).await.expect("wrapped");
    let binding = Binding {
        id: parse_id(&info.id).expect("id"),
        category: DataCategory::Original,
    };
    let data_key = f
        .vault
        .keyring
        .unwrap(&binding, &wrapped)
        .expect("unwrap")
        .bytes()
        .to_vec();
    f.vault.checkpoint().await.expect("checkpoint");
    assert!(
        !scan(f.dir.path(), &wrapped).is_empty(),
        "the wrapped key is stored before deletion"
    );
    let report = f
        .vault
        .erase_device("dev-9", &caller(), t0())
        .await
        .expect("erase");
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(
        report.deleted[0].content_sha256,
        hex::encode(Sha256::digest(&canary))
    );
    assert_eq!(report.deleted[0].method, "crypto-shred");
    assert!(!f.vault.blob_file(&info.id).exists());
    for (what, needle) in [
        ("wrapped key", &wrapped[..]),
        ("data key", &data_key[..]),
        ("canary", &b"CANARY-shred"[..]),
    ] {
        assert_eq!(scan(f.dir.path(), needle), Vec::<PathBuf>::new(), "{what}");
    }
    assert!(matches!(
        f.vault.get(&info.id, &caller()).await,
        Err(Error::NotFound(_))
    ));
    let entries = audit_actions(&f);
    let receipt = entries
        .iter()
        .find(|e| e.event.action == "erasure.delete")
        .and_then(|e| e.event.receipt.clone())
        .expect("receipt in the audit log");
    let receipt = *receipt;
    assert_eq!(receipt.object, format!("evidence:{}", info.id));
    verify::verify_dir(&f.dir.path().join("audit"), None, &[])
        .expect("the log with receipts verifies");
}

#[tokio::test]
async fn a_forward_clock_jump_pauses_deletion_and_a_backward_one_deletes_nothing_early() {
    let f = fixture().await;
    let max_jump = Duration::from_secs(72 * 3600);
    let info = f
        .vault
        .put(
            &object("i1", None),
            pixels(DataCategory::Redacted, b"x".to_vec()),
            t0(),
        )
        .await
        .expect("put");
    // The clock leaps a year ahead: nothing goes, one alert.
    let leap = t0() + time::Duration::days(365);
    for _ in 0..2 {
        let r = f.vault.sweep(leap, max_jump, None).await.expect("sweep");
        assert!(r.paused.is_some());
        assert!(r.deleted.is_empty());
    }
    assert!(f.vault.info(&info.id).await.expect("info").is_some());
    let alerts = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action == "retention.clock_jump")
        .count();
    assert_eq!(alerts, 1);
    // An object stored while the clock is set back is not dated earlier
    // than the high-water mark.
    let back = t0() - time::Duration::days(30);
    let late = f
        .vault
        .put(
            &object("i2", None),
            pixels(DataCategory::Redacted, b"y".to_vec()),
            back,
        )
        .await
        .expect("put");
    assert_eq!(late.created_at, t0().unix_timestamp());
    let r = f.vault.sweep(back, max_jump, None).await.expect("sweep");
    assert!(r.deleted.is_empty() && r.paused.is_none());
    // The operator accepts the new time: now the expired object goes.
    let r = f
        .vault
        .sweep(leap, max_jump, Some(&caller()))
        .await
        .expect("sweep");
    assert_eq!(r.deleted.len(), 2);
}

#[tokio::test]
async fn holds_suspend_deletion_until_lifted_and_both_are_audited() {
    let f = fixture().await;
    let max_jump = Duration::from_secs(72 * 3600);
    let a = f
        .vault
        .put(
            &object("i1", Some("dev-1")),
            pixels(DataCategory::Redacted, b"a".to_vec()),
            t0(),
        )
        .await
        .expect("a");
    let hold = f
        .vault
        .place_hold(
            &HoldTarget::Device("dev-1".into()),
            "litigation 42",
            &caller(),
            t0(),
        )
        .await
        .expect("hold");
    let later = t0() + time::Duration::days(8);
    let mut now = t0();
    while now < later {
        now += time::Duration::days(1);
        f.vault.sweep(now, max_jump, None).await.expect("sweep");
    }
    assert!(f.vault.info(&a.id).await.expect("info").is_some(), "held");
    let erased = f
        .vault
        .erase_device("dev-1", &caller(), now)
        .await
        .expect("erase");
    assert_eq!(
        (erased.deleted.len(), erased.held),
        (0, 1),
        "a hold beats erasure"
    );
    assert!(
        f.vault
            .lift_hold(&hold, &caller(), now)
            .await
            .expect("lift")
    );
    assert!(
        !f.vault
            .lift_hold(&hold, &caller(), now)
            .await
            .expect("lift again")
    );
    let r = f.vault.sweep(now, max_jump, None).await.expect("sweep");
    assert_eq!(r.deleted.len(), 1);
    let actions: Vec<_> = audit_actions(&f)
        .into_iter()
        .filter(|e| e.event.action.starts_with("hold."))
        .map(|e| (e.event.action, e.event.outcome))
        .collect();
    assert_eq!(
        actions,
        [
            ("hold.place".to_owned(), Outcome::Success),
            ("hold.lift".to_owned(), Outcome::Success),
            ("hold.lift".to_owned(), Outcome::Failure)
        ]
    );
}

#[tokio::test]
async fn rotation_rewraps_everything_and_retires_the_old_version() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        let info = f
            .vault
            .put(
                &object(&format!("i{i}"), None),
                pixels(DataCategory::Original, vec![i as u8; 100]),
                t0(),
            )
            .await
            .expect("put");
        ids.push(info.id);
    }
    f.vault.rotate_kek(&caller(), t0()).await.expect("rotate");
    assert_eq!(f.vault.pending_rewrap().await.expect("pending"), 30);
    let report = f.vault.rewrap_all(&caller(), |_| {}).await.expect("rewrap");
    assert_eq!(report.rewrapped, 30);
    assert!(
        report.retired.contains(&"original v1".to_owned()),
        "{report:?}"
    );
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            f.vault
                .info(id)
                .await
                .expect("info")
                .expect("row")
                .kek_version,
            2
        );
        assert_eq!(
            f.vault.get(id, &caller()).await.expect("get"),
            vec![i as u8; 100]
        );
    }
    assert!(
        f.vault
            .keyring
            .versions()
            .await
            .expect("versions")
            .iter()
            .all(|v| v.version == 2)
    );
}

#[tokio::test]
async fn a_wrong_master_key_opens_nothing() {
    let f = fixture().await;
    f.vault
        .put(
            &object("i1", None),
            pixels(DataCategory::Original, b"x".to_vec()),
            t0(),
        )
        .await
        .expect("put");
    let wrong = MasterKey::from_hex(&"ab".repeat(32)).expect("hex");
    let err = Vault::open(
        &f.db,
        &f.dir.path().join("vault"),
        KeySource::MasterKey(wrong),
        Arc::clone(&f.audit),
        t0(),
    )
    .await
    .expect_err("refused");
    assert!(matches!(err, Error::KeyUnavailable(_)), "{err}");
}

/// A sweep killed after step 1 (row shredded, tombstone written) or after
/// step 2 (receipt written, blob still there) is finished by the next one:
/// one receipt each, blobs gone, nothing else touched.
#[tokio::test]
async fn an_interrupted_deletion_is_finished_by_the_next_sweep() {
    let f = fixture().await;
    let mut infos = Vec::new();
    for i in 0..3 {
        let info = f
            .vault
            .put(
                &object(&format!("i{i}"), None),
                pixels(DataCategory::Original, vec![i; 10]),
                t0(),
            )
            .await
            .expect("put");
        infos.push(info);
    }
    // What step 1 leaves for objects 0 and 1; object 1 also got its receipt.
    for (info, receipted) in [(&infos[0], 0), (&infos[1], 1)] {
        sqlx::query("DELETE FROM vault_objects WHERE id = ?")
            .bind(&info.id)
            .execute(f.db.pool())
            .await
            .expect("delete");
        sqlx::query(
            "INSERT INTO vault_tombstones (id, object, category, inspection, content_sha256, policy, action, deleted_at, method, evidence, receipted)
             VALUES (?, ?, 'original', ?, ?, 'test@1', 'retention.delete', ?, 'crypto-shred', 1, ?)",
        )
        .bind(&info.id)
        .bind(format!("evidence:{}", info.id))
        .bind(&info.inspection_id)
        .bind(&info.content_sha256)
        .bind(t0().unix_timestamp())
        .bind(receipted)
        .execute(f.db.pool())
        .await
        .expect("tombstone");
    }
    // Restart: a new vault on the same files.
    let master = MasterKey::from_file(&f.dir.path().join("master.key"), false).expect("master");
    let vault = Vault::open(
        &f.db,
        &f.dir.path().join("vault"),
        KeySource::MasterKey(master),
        Arc::clone(&f.audit),
        t0(),
    )
    .await
    .expect("reopen");
    let report = vault
        .sweep(t0(), Duration::from_secs(3600), None)
        .await
        .expect("sweep");
    let receipted: Vec<_> = report.deleted.iter().map(|r| r.object.clone()).collect();
    assert_eq!(receipted, [format!("evidence:{}", infos[0].id)]);
    assert!(!vault.blob_file(&infos[0].id).exists());
    assert!(!vault.blob_file(&infos[1].id).exists());
    assert_eq!(
        vault.get(&infos[2].id, &caller()).await.expect("untouched"),
        vec![2; 10]
    );
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vault_tombstones")
        .fetch_one(f.db.pool())
        .await
        .expect("count");
    assert_eq!(left, 0);
}

/// A store that fails after its blobs were written (here the database
/// refuses the rows, as a full disk would) leaves no blob file behind.
/// Before, the vault folder kept orphaned (on a full disk, zero-byte) blobs
/// that nothing named.
#[tokio::test]
async fn a_failed_store_leaves_no_blob_files() {
    let f = fixture().await;
    sqlx::query("DROP TABLE vault_objects")
        .execute(f.db.pool())
        .await
        .expect("drop");
    f.vault
        .put_all(
            vec![
                (
                    object("i1", None),
                    pixels(DataCategory::Redacted, b"pixels".to_vec()),
                ),
                (
                    object("i1", None),
                    pixels(DataCategory::Thumbnail, b"small".to_vec()),
                ),
            ],
            t0(),
        )
        .await
        .expect_err("the rows cannot be written");
    let mut files = Vec::new();
    let mut folders = vec![f.dir.path().join("vault")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert_eq!(files, Vec::<std::path::PathBuf>::new());
}
