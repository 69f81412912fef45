//! The edge's outbox: a record is durable exactly when its inspection is
//! (same transaction, also under SIGKILL), sequence numbers only grow, records
//! leave in order and go only when retired, and a full outbox refuses the
//! inspection instead of dropping anything.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_core::egress::EgressRecord;
use lensguard_store::Error;
use lensguard_store::db::{Db, NewInspection, NewOutboxRecord, OutboxLimits};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOW: time::OffsetDateTime = time::macros::datetime!(2026-11-30 12:00 UTC);
const WORKER: &str = "LENSGUARD_OUTBOX_WORKER";

/// The outbox record of inspection `id`: its id, projected through a
/// manifest that names only `id`.
fn egress(id: &str) -> EgressRecord {
    let manifest = lensguard_core::policy::Egress {
        fields: vec!["id".to_owned()],
        redacted_images: false,
        event_fields: Vec::new(),
        override_fields: Vec::new(),
    };
    manifest.record("test@1", &serde_json::json!({"id": id, "gps": [52.1, 4.3]}))
}

/// The payload `egress(id)` leaves with.
/// Whether `payload` is the record of inspection `id` (compared as JSON:
/// the order of keys is serde_json's, which a dependency's features decide).
fn is_payload_of(payload: &str, id: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload).ok()
        == Some(serde_json::json!({"data": {"id": id}, "manifest": "test@1"}))
}

fn inspection<'a>(
    id: &'a str,
    key: Option<&'a str>,
    payload: &'a EgressRecord,
    limits: OutboxLimits,
) -> NewInspection<'a> {
    NewInspection {
        id,
        actor: "key:edge",
        idempotency_key: key,
        request_sha256: None,
        device_id: Some("van-1"),
        verdict: "pass",
        report: "{}",
        expires_at: 4_000_000_000,
        policy: "test@1",
        outbox: Some(NewOutboxRecord {
            record: payload,
            limits,
        }),
    }
}

#[tokio::test]
async fn records_travel_with_their_inspection_in_order_and_leave_only_when_retired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("db");
    let limits = OutboxLimits::default();
    for i in 1..=5 {
        let id = format!("i{i}");
        let payload = egress(&id);
        db.insert_inspection(&inspection(&id, Some(&id), &payload, limits), NOW)
            .await
            .expect("insert")
            .expect("new");
    }
    // A replayed idempotency key stores nothing, and enqueues nothing.
    let replay = db
        .insert_inspection(&inspection("i9", Some("i3"), &egress("i9"), limits), NOW)
        .await
        .expect("insert");
    assert!(replay.is_err(), "a replay");
    let first = db.outbox_batch(0, 2).await.expect("batch");
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(
        is_payload_of(&first[0].payload, "i1"),
        "{}",
        first[0].payload
    );
    assert_eq!(db.outbox_retire(2).await.expect("retire"), 2);
    let stats = db.outbox_stats().await.expect("stats");
    assert_eq!((stats.depth, stats.last_seq), (3, 5));
    let rest = db.outbox_batch(2, 10).await.expect("batch");
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    db.outbox_retire(5).await.expect("retire");
    db.insert_inspection(&inspection("i6", None, &egress("i6"), limits), NOW)
        .await
        .expect("insert")
        .expect("new");
    let after = db.outbox_batch(0, 10).await.expect("batch");
    assert_eq!(
        after.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [6],
        "sequence numbers are never reused"
    );
}

#[tokio::test]
async fn a_full_outbox_refuses_the_inspection_and_keeps_what_it_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("lensguard.db"))
        .await
        .expect("db");
    let limits = OutboxLimits {
        max_entries: 2,
        max_bytes: 1024,
    };
    for id in ["a", "b"] {
        db.insert_inspection(&inspection(id, None, &egress(id), limits), NOW)
            .await
            .expect("insert")
            .expect("new");
    }
    let err = db
        .insert_inspection(&inspection("c", None, &egress("c"), limits), NOW)
        .await
        .expect_err("full");
    assert!(matches!(err, Error::OutboxFull { depth: 2, .. }), "{err}");
    assert!(
        db.get_inspection("c").await.expect("get").is_none(),
        "nothing stored"
    );
    let big = egress(&"x".repeat(2000));
    let roomy = OutboxLimits {
        max_entries: 10,
        max_bytes: 1024,
    };
    let err = db
        .insert_inspection(&inspection("d", None, &big, roomy), NOW)
        .await
        .expect_err("too many bytes");
    assert!(matches!(err, Error::OutboxFull { .. }), "{err}");
    assert_eq!(
        db.outbox_stats().await.expect("stats").depth,
        2,
        "nothing dropped"
    );
}

#[test]
fn under_sigkill_every_acknowledged_inspection_has_its_record_and_no_record_is_orphaned() {
    let rt = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    };
    if let Some(dir) = std::env::var_os(WORKER) {
        // Worker: insert until killed; print each id once it is committed.
        rt().block_on(async {
            let db = Db::open(&std::path::Path::new(&dir).join("lensguard.db"))
                .await
                .expect("db");
            for i in 0.. {
                let id = format!("{}-{i}", std::process::id());
                let payload = egress(&id);
                db.insert_inspection(
                    &inspection(&id, None, &payload, OutboxLimits::default()),
                    NOW,
                )
                .await
                .expect("insert")
                .expect("new");
                println!("{id}");
            }
        });
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("exe");
    let mut acknowledged = Vec::new();
    for round in 0..5u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "outbox::under_sigkill_every_acknowledged_inspection_has_its_record_and_no_record_is_orphaned",
                "--nocapture",
            ])
            .env(WORKER, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter(|l| l.contains('-') && !l.contains(' '))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(150 + 97 * round));
        let t = Instant::now();
        child.kill().ok(); // SIGKILL
        child.wait().expect("reap");
        assert!(t.elapsed() < Duration::from_secs(5));
        acknowledged.extend(reader.join().expect("reader"));
    }
    assert!(
        acknowledged.len() >= 5,
        "the worker committed too little: {}",
        acknowledged.len()
    );
    rt().block_on(async {
        let db = Db::open(&dir.path().join("lensguard.db")).await.expect("db");
        let records = db.outbox_batch(0, u32::MAX).await.expect("batch");
        let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
        for id in &acknowledged {
            assert!(db.get_inspection(id).await.expect("get").is_some(), "{id} lost");
            assert!(
                records.iter().any(|r| is_payload_of(&r.payload, id)),
                "{id} has no outbox record"
            );
        }
        for r in &records {
            let v: serde_json::Value = serde_json::from_str(&r.payload).expect("a JSON record");
            let id = v["data"]["id"].as_str().unwrap_or_default();
            assert!(db.get_inspection(id).await.expect("get").is_some(), "record {} without its inspection", r.seq);
        }
        eprintln!(
            "acknowledged {}, outbox records {} (the difference: committed but killed before printing)",
            acknowledged.len(),
            records.len()
        );
    });
}
