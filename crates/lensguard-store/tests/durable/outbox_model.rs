//! The outbox against a model: random sequences of enqueue, read,
//! acknowledge (retire) and reopen must leave the database holding exactly
//! what a simple queue would: records in order, sequence numbers that only
//! grow (never reused, across reopening), retired records gone, depth and
//! bytes exact, and an enqueue past the bound refused without a trace.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::egress::EgressRecord;
use lensguard_core::policy::Egress;
use lensguard_store::Error;
use lensguard_store::db::{Db, NewInspection, NewOutboxRecord, OutboxLimits};
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
enum Op {
    /// Enqueue a record whose report id is this long.
    Enqueue(usize),
    /// Read at most this many records.
    Read(u32),
    /// Retire through the n-th waiting record (0: none; past the end: all).
    Retire(usize),
    /// Close the database and open it again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..40).prop_map(Op::Enqueue),
        2 => (1u32..8).prop_map(Op::Read),
        2 => (0usize..6).prop_map(Op::Retire),
        1 => Just(Op::Reopen),
    ]
}

fn record(id: &str) -> EgressRecord {
    let manifest = Egress {
        fields: vec!["id".to_owned()],
        redacted_images: false,
        event_fields: Vec::new(),
        override_fields: Vec::new(),
    };
    manifest.record("model@1", &serde_json::json!({"id": id}))
}

const LIMITS: OutboxLimits = OutboxLimits {
    max_entries: 12,
    max_bytes: 2048,
};

/// Stores inspection `id` with `egress` as its outbox record.
async fn insert(
    db: &Db,
    id: &str,
    egress: &EgressRecord,
) -> Result<Result<(), lensguard_store::db::IdempotentOriginal>, Error> {
    db.insert_inspection(
        &NewInspection {
            id,
            actor: "key:model",
            idempotency_key: None,
            request_sha256: None,
            device_id: None,
            verdict: "pass",
            report: "{}",
            expires_at: 4_000_000_000,
            policy: "model@1",
            outbox: Some(NewOutboxRecord {
                record: egress,
                limits: LIMITS,
            }),
        },
        time::macros::datetime!(2026-12-01 12:00 UTC),
    )
    .await
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lensguard.db");
    let mut db = Db::open(&path).await.expect("db");
    // The model: waiting (seq, payload), and the highest seq ever written.
    let mut waiting: VecDeque<(i64, String)> = VecDeque::new();
    let mut last_seq = 0i64;
    for (n, op) in ops.into_iter().enumerate() {
        match op {
            Op::Enqueue(len) => {
                let id = format!("{n:04}{}", "x".repeat(len));
                let egress = record(&id);
                let bytes: usize = waiting.iter().map(|(_, p)| p.len()).sum();
                let fits = waiting.len() < LIMITS.max_entries as usize
                    && (bytes + egress.payload().len()) as u64 <= LIMITS.max_bytes;
                let result = insert(&db, &id, &egress).await;
                match result {
                    Ok(Ok(())) => {
                        prop_assert!(fits, "an enqueue past the bound was taken");
                        last_seq += 1;
                        waiting.push_back((last_seq, egress.payload().to_owned()));
                    }
                    Err(Error::OutboxFull { .. }) => {
                        prop_assert!(!fits, "an enqueue within the bound was refused");
                        prop_assert!(
                            db.get_inspection(&id).await.expect("get").is_none(),
                            "a refused enqueue left its inspection"
                        );
                    }
                    other => prop_assert!(false, "enqueue: {other:?}"),
                }
            }
            Op::Read(limit) => {
                let got = db.outbox_batch(0, limit).await.expect("batch");
                let want: Vec<_> = waiting.iter().take(limit as usize).collect();
                prop_assert_eq!(got.len(), want.len());
                for (g, (seq, payload)) in got.iter().zip(want) {
                    prop_assert_eq!(g.seq, *seq);
                    prop_assert_eq!(&g.payload, payload);
                    prop_assert_eq!(g.kind.as_str(), "inspection");
                }
            }
            Op::Retire(k) => {
                let through = match k {
                    0 => waiting.front().map_or(0, |(s, _)| s - 1),
                    k => waiting
                        .get(k - 1)
                        .or(waiting.back())
                        .map_or(last_seq, |(s, _)| *s),
                };
                db.outbox_retire(through).await.expect("retire");
                waiting.retain(|(s, _)| *s > through);
            }
            Op::Reopen => {
                drop(db);
                db = Db::open(&path).await.expect("reopen");
            }
        }
        let stats = db.outbox_stats().await.expect("stats");
        prop_assert_eq!(stats.depth, waiting.len() as u64);
        let bytes: usize = waiting.iter().map(|(_, p)| p.len()).sum();
        prop_assert_eq!(stats.bytes, bytes as u64);
    }
    // Sequence numbers are never reused: one more record comes after every
    // one ever written, retired or not.
    db.outbox_retire(last_seq).await.expect("retire all");
    let egress = record("after");
    insert(&db, "after", &egress)
        .await
        .expect("insert")
        .expect("new");
    let after = db.outbox_batch(0, 1).await.expect("batch");
    prop_assert!(after[0].seq > last_seq, "seq {} reused", after[0].seq);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_outbox_behaves_like_a_queue(ops in prop::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(ops))?;
    }
}
