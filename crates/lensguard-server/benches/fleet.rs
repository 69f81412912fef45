//! Edge-to-hub speed, printed with the reference measured in the same run:
//!
//! 1. Hub ingest rate (records per second) on PostgreSQL and on SQLite:
//!    four edges delivering 500-record batches at once through the hub's
//!    exactly-once ingest, against the floor of writing the same rows with
//!    plain multi-row INSERTs into a table with no key (no dedupe) on the
//!    same server.
//! 2. Drain rate of a 10,000-record backlog after the link is repaired: a
//!    real edge process (`lensguard serve`, enrolled) and a real hub process
//!    (`lensguard hub serve`), from the hub coming up until the outbox is
//!    empty, against the hub's direct ingest rate from (1).
//!
//! `cargo bench -p lensguard-server --bench fleet` (PostgreSQL from the
//! Debian package, started on loopback by the benchmark; `scripts/bench-fleet`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_store::db::{Db, NewInspection, NewOutboxRecord, OutboxLimits};
use lensguard_store::hub::{HubDb, IngestRecord};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EDGES: usize = 4;
const PER_EDGE: i64 = 12_500;
const BATCH: usize = 500;
const BACKLOG: usize = 10_000;

fn record(seq: i64) -> IngestRecord {
    let id = format!("00000000-0000-4000-8000-{seq:012}");
    IngestRecord {
        seq,
        created_at: 1_800_000_000 + seq,
        kind: "inspection".into(),
        manifest: "bench@1".into(),
        inspection_id: Some(id.clone()),
        device_id: Some(format!("van-{}", seq % 50)),
        verdict: Some("pass".into()),
        payload: format!(
            "{{\"manifest\":\"bench@1\",\"data\":{{\"id\":\"{id}\",\"verdict\":\"pass\",\"submission\":{{\"device_id\":\"van-{}\"}}}}}}",
            seq % 50
        ),
    }
}

async fn ingest_rate(url: &str) -> f64 {
    let db = HubDb::open(url).await.expect("hub db");
    let mut edges = Vec::new();
    for e in 0..EDGES {
        let t = db.issue_enrolment("bench", 3600, 0).await.unwrap();
        let id = format!("edge-{e}-{}", t.id);
        db.redeem_enrolment(
            &t.id,
            &t.secret,
            lensguard_store::hub::NewEdge {
                id: &id,
                cert_sha256: &t.id,
                audit_key: "",
            },
            1,
        )
        .await
        .unwrap();
        edges.push(id);
    }
    let start = Instant::now();
    let tasks: Vec<_> = edges
        .into_iter()
        .map(|edge| {
            let db = db.clone();
            tokio::spawn(async move {
                let all: Vec<IngestRecord> = (1..=PER_EDGE).map(record).collect();
                for chunk in all.chunks(BATCH) {
                    db.ingest(&edge, chunk, 2).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (EDGES as i64 * PER_EDGE) as f64 / start.elapsed().as_secs_f64()
}

async fn plain_insert_rate(url: &str) -> f64 {
    use sqlx::Executor;
    sqlx::any::install_default_drivers();
    let url = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.to_owned()
    };
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(8)
        .connect(&url)
        .await
        .unwrap();
    if url.starts_with("sqlite:") {
        pool.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .await
            .unwrap();
    }
    pool.execute(
        "CREATE TABLE plain_records (edge_id TEXT, seq BIGINT, kind TEXT, created_at BIGINT, received_at BIGINT,
         manifest TEXT, inspection_id TEXT, device_id TEXT, verdict TEXT, payload TEXT)",
    )
    .await
    .unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..EDGES)
        .map(|e| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let all: Vec<IngestRecord> = (1..=PER_EDGE).map(record).collect();
                for batch in all.chunks(BATCH) {
                    let mut tx = pool.begin().await.unwrap();
                    for chunk in batch.chunks(100) {
                        let mut sql = String::from("INSERT INTO plain_records VALUES ");
                        for i in 0..chunk.len() {
                            let b = i * 10;
                            if i > 0 {
                                sql.push(',');
                            }
                            sql.push('(');
                            sql.push_str(
                                &(1..=10)
                                    .map(|k| format!("${}", b + k))
                                    .collect::<Vec<_>>()
                                    .join(","),
                            );
                            sql.push(')');
                        }
                        let mut q = sqlx::query(&sql);
                        for r in chunk {
                            q = q
                                .bind(format!("edge-{e}"))
                                .bind(r.seq)
                                .bind(r.kind.clone())
                                .bind(r.created_at)
                                .bind(2i64)
                                .bind(r.manifest.clone())
                                .bind(r.inspection_id.clone())
                                .bind(r.device_id.clone())
                                .bind(r.verdict.clone())
                                .bind(r.payload.clone());
                        }
                        q.execute(&mut *tx).await.unwrap();
                    }
                    tx.commit().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (EDGES as i64 * PER_EDGE) as f64 / start.elapsed().as_secs_f64()
}

fn lensguard(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_waiting(args: &[&str], ready: &str) -> std::process::Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.starts_with(ready), "{first}");
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
    child
}

fn stop(mut child: std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// Seconds for a real edge to drain `BACKLOG` records into a real hub on
/// `database`, from the hub's start.
fn drain_seconds(rt: &tokio::runtime::Runtime, dir: &Path, database: &str) -> f64 {
    let hub = dir.join("hub");
    let hub_s = hub.to_str().unwrap();
    lensguard(&[
        "hub",
        "init",
        "--data-dir",
        hub_s,
        "--database",
        database,
        "--name",
        "127.0.0.1",
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let serve = [
        "hub",
        "serve",
        "--data-dir",
        hub_s,
        "--database",
        database,
        "--listen",
        &listen,
    ];
    let token = lensguard(&[
        "hub",
        "enroll",
        "--data-dir",
        hub_s,
        "--database",
        database,
        "--name",
        "bench",
    ]);
    let edge = dir.join("edge");
    let edge_s = edge.to_str().unwrap();
    {
        let h = spawn_waiting(&serve, "lensguard hub listening");
        lensguard(&[
            "edge",
            "enroll",
            "--hub",
            &format!("https://{listen}"),
            "--token",
            token.trim(),
            "--data-dir",
            edge_s,
        ]);
        stop(h);
    }
    // The backlog built while the link was down.
    rt.block_on(async {
        let db = Db::open(&edge.join("lensguard.db")).await.unwrap();
        for seq in 1..=BACKLOG as i64 {
            let r = record(seq);
            let id = r.inspection_id.clone().unwrap();
            // The same shape the service queues: the report projected
            // through a manifest naming id, verdict and submission.
            let manifest = lensguard_core::policy::Egress {
                fields: vec!["id".into(), "verdict".into(), "submission".into()],
                redacted_images: false,
                event_fields: Vec::new(),
                override_fields: Vec::new(),
            };
            let report = serde_json::json!({
                "id": id,
                "verdict": "pass",
                "submission": {"device_id": r.device_id},
            });
            let egress = manifest.record("bench@1", &report);
            db.insert_inspection(
                &NewInspection {
                    id: &id,
                    actor: "key:bench",
                    idempotency_key: None,
                    request_sha256: None,
                    device_id: r.device_id.as_deref(),
                    verdict: "pass",
                    report: "{}",
                    expires_at: 4_000_000_000,
                    policy: "bench@1",
                    outbox: Some(NewOutboxRecord {
                        record: &egress,
                        limits: OutboxLimits::default(),
                    }),
                },
                time::OffsetDateTime::now_utc(),
            )
            .await
            .unwrap()
            .unwrap();
        }
    });
    let config = dir.join("edge.toml");
    std::fs::write(&config, "models_dir = \"/nonexistent\"\n[hub]\nbatch_records = 500\nretry_initial_ms = 50\nretry_max_seconds = 1\n").unwrap();
    let edge_process = spawn_waiting(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            edge_s,
            "--config",
            config.to_str().unwrap(),
        ],
        "lensguard listening",
    );
    let db = rt.block_on(Db::open(&edge.join("lensguard.db"))).unwrap();
    let hub_process = spawn_waiting(&serve, "lensguard hub listening");
    let start = Instant::now();
    loop {
        if rt.block_on(db.outbox_stats()).unwrap().depth == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the backlog did not drain"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = start.elapsed().as_secs_f64();
    stop(edge_process);
    stop(hub_process);
    seconds
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let pg = lensguard_testkit::postgres::Postgres::start()
        .expect("PostgreSQL (Debian package postgresql) is needed");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    println!(
        "== hub ingest: {EDGES} edges x {PER_EDGE} records, {BATCH}-record batches, concurrently"
    );
    let mut ingest = Vec::new();
    for (name, url, plain) in [
        (
            "PostgreSQL",
            pg.create_database("ingest"),
            pg.create_database("plain"),
        ),
        ("SQLite", sqlite("ingest.db"), sqlite("plain.db")),
    ] {
        let rate = rt.block_on(ingest_rate(&url));
        let floor = rt.block_on(plain_insert_rate(&plain));
        println!(
            "{name:<10} exactly-once ingest {rate:>9.0} records/s; plain INSERT, no key {floor:>9.0} records/s; ingest at {:.0}% of the plain floor",
            100.0 * rate / floor
        );
        ingest.push((name, rate));
    }
    println!(
        "== drain of a {BACKLOG}-record backlog after the link is repaired (real edge and hub processes)"
    );
    for (i, (name, database)) in [
        ("PostgreSQL", pg.create_database("drain")),
        ("SQLite", sqlite("drain.db")),
    ]
    .into_iter()
    .enumerate()
    {
        let sub = dir.path().join(format!("drain-{i}"));
        std::fs::create_dir_all(&sub).unwrap();
        let seconds = drain_seconds(&rt, &sub, &database);
        let rate = BACKLOG as f64 / seconds;
        let direct = ingest[i].1;
        println!(
            "{name:<10} drained in {seconds:.2} s = {rate:.0} records/s; the hub's direct ingest {direct:.0} records/s; drain at {:.0}% of it",
            100.0 * rate / direct
        );
    }
}
