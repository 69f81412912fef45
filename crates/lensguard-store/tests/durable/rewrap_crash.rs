//! KEK rotation with the re-wrap job killed (SIGKILL) at pseudo-random
//! points: after every kill each object still opens, and running the job
//! again finishes it and retires the old key version.
//!
//! The job runs in a child process (this test binary again, in worker mode)
//! so it can be killed for real, mid-transaction.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use lensguard_store::audit::{AuditLog, AuditOptions};
use lensguard_store::db::Db;
use lensguard_store::vault::{Caller, KeySource, MasterKey, NewObject, Vault};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKER: &str = "LENSGUARD_REWRAP_WORKER";
const OBJECTS: usize = 600;

async fn open(dir: &Path) -> Vault {
    let db = Db::open(&dir.join("lensguard.db")).await.expect("db");
    let audit =
        Arc::new(AuditLog::open(&dir.join("audit"), AuditOptions::default()).expect("audit"));
    let master = MasterKey::from_file(&dir.join("master.key"), true).expect("master");
    Vault::open(
        &db,
        &dir.join("vault"),
        KeySource::MasterKey(master),
        audit,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("vault")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn payload(i: usize) -> Vec<u8> {
    format!("object {i} ").repeat(8).into_bytes()
}

/// A small xorshift so the kill points differ from run to run but are printed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn rewrap_survives_sigkill_at_any_point_and_resumes() {
    if let Some(dir) = std::env::var_os(WORKER) {
        // Worker mode: re-wrap until done (or killed).
        rt().block_on(async {
            let vault = open(Path::new(&dir)).await;
            vault
                .rewrap_all(&Caller::system(), |_| {})
                .await
                .expect("rewrap");
        });
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ids = Vec::new();
    rt().block_on(async {
        let vault = open(dir.path()).await;
        for i in 0..OBJECTS {
            let new = NewObject {
                inspection_id: "i",
                device_id: None,
                keep_days: 7,
                policy: "test@1",
            };
            let pixels: lensguard_store::vault::Sealable = if i % 2 == 0 {
                lensguard_core::pixels::OriginalPhoto::received(payload(i)).into()
            } else {
                lensguard_core::pixels::__from_redaction::redacted(payload(i)).into()
            };
            ids.push(
                vault
                    .put(&new, pixels, time::OffsetDateTime::now_utc())
                    .await
                    .expect("put")
                    .id,
            );
        }
        vault
            .rotate_kek(&Caller::system(), time::OffsetDateTime::now_utc())
            .await
            .expect("rotate");
    });
    let mut seed = u64::from(std::process::id()) | 1;
    let exe = std::env::current_exe().expect("exe");
    let mut kills = Vec::new();
    for _ in 0..6 {
        let pending = rt().block_on(async {
            open(dir.path())
                .await
                .pending_rewrap()
                .await
                .expect("pending")
        });
        if pending == 0 {
            break;
        }
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "rewrap_crash::rewrap_survives_sigkill_at_any_point_and_resumes",
                "--nocapture",
            ])
            .env(WORKER, dir.path())
            .spawn()
            .expect("spawn worker");
        // Short enough that a fast machine's whole job (start, open, 600
        // re-wraps: about 400 ms here) is still interrupted: a longer first
        // delay let the job finish and left nothing to test.
        let delay = Duration::from_millis(20 + next(&mut seed) % 150);
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().ok(); // SIGKILL
        child.wait().expect("reap");
        kills.push((delay.as_millis(), pending));
        // Every object opens, whichever version its key is under now.
        rt().block_on(async {
            let vault = open(dir.path()).await;
            for (i, id) in ids.iter().enumerate() {
                let got = vault.get(id, &Caller::system()).await;
                assert_eq!(
                    got.expect("readable after a kill"),
                    payload(i),
                    "object {i} after kills {kills:?}"
                );
            }
        });
    }
    eprintln!("worker killed after (ms, objects pending before the run): {kills:?}");
    assert!(
        kills.len() >= 2,
        "no kill interrupted the job: {kills:?} (objects re-wrap too fast to be killed mid-way)"
    );
    rt().block_on(async {
        let vault = open(dir.path()).await;
        let report = vault
            .rewrap_all(&Caller::system(), |_| {})
            .await
            .expect("resume");
        assert_eq!(vault.pending_rewrap().await.expect("pending"), 0);
        let versions = vault.keyring().versions().await.expect("versions");
        assert!(
            versions.iter().all(|v| v.version == 2),
            "old versions retired: {versions:?} ({report:?})"
        );
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                vault.get(id, &Caller::system()).await.expect("get"),
                payload(i)
            );
            assert_eq!(
                vault
                    .info(id)
                    .await
                    .expect("info")
                    .expect("row")
                    .kek_version,
                2
            );
        }
    });
    assert!(!kills.is_empty(), "the worker was never killed");
    lensguard_store::audit::verify::verify_dir(&dir.path().join("audit"), None, &[])
        .expect("audit log verifies after kills");
}
