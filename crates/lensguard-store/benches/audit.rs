//! Audit log benchmark: durable appends per second with group commit, against the
//! same disk's one-`fdatasync`-per-append rate measured in the same run, and the
//! time to verify a log of a million entries offline.
//!
//!   cargo bench -p lensguard-store --bench audit
//!   AUDIT_BENCH_ENTRIES=200000 cargo bench -p lensguard-store --bench audit
#![allow(
    clippy::print_stdout,
    clippy::expect_used,
    clippy::unwrap_used,
    missing_docs
)]

use aws_lc_rs::digest::{SHA256, digest};
use lensguard_store::audit::merkle::{Levels, leaf_hash};
use lensguard_store::audit::verify::verify_dir;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions, Outcome, Signer, files};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        source_ip: Some("203.0.113.7".to_owned()),
        request_id: Some(format!("req-{i:016x}")),
        ..AuditEvent::new(
            time::OffsetDateTime::now_utc(),
            "key:0f3a9c",
            "inspections.submit",
        )
        .target(format!("inspection:{i}"))
        .outcome(Outcome::Success, None)
    }
}

/// Reference: one writer, one fdatasync per appended line.
fn fsync_per_append(dir: &Path, n: u64) -> f64 {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("reference"))
        .expect("open");
    let line = serde_json::to_vec(&event(0)).expect("json");
    let start = Instant::now();
    for _ in 0..n {
        f.write_all(&line).expect("write");
        f.write_all(b"\n").expect("write");
        f.sync_data().expect("sync");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn group_commit(dir: &Path, threads: u64, per_thread: u64) -> f64 {
    let log = AuditLog::open(dir, AuditOptions::default()).expect("open");
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let log = &log;
            s.spawn(move || {
                for i in 0..per_thread {
                    log.append(event(t * per_thread + i)).expect("append");
                }
            });
        }
    });
    (threads * per_thread) as f64 / start.elapsed().as_secs_f64()
}

/// Writes a valid log of `n` entries with a checkpoint every 1000, without syncing
/// each entry (the bench measures verification, not writing).
fn build_large_log(dir: &Path, n: u64) {
    std::fs::create_dir_all(dir).expect("dir");
    let signer = Signer::load_or_create(&dir.join(files::SIGNING_KEY)).expect("key");
    let mut log = BufWriter::new(std::fs::File::create(dir.join(files::LOG)).expect("log"));
    let mut cps = BufWriter::new(std::fs::File::create(dir.join(files::CHECKPOINTS)).expect("cps"));
    let mut levels = Levels::new();
    let mut chain = [0u8; 32];
    let now = time::OffsetDateTime::now_utc();
    for seq in 0..n {
        let mut body = serde_json::to_value(event(seq)).expect("json");
        body.as_object_mut()
            .expect("object")
            .insert("seq".to_owned(), seq.into());
        let bytes = serde_json::to_vec(&body).expect("json");
        let leaf = leaf_hash(&bytes);
        let mut both = chain.to_vec();
        both.extend_from_slice(&leaf);
        chain.copy_from_slice(digest(&SHA256, &both).as_ref());
        levels.push(leaf);
        writeln!(
            log,
            "{} {}",
            hex::encode(chain),
            String::from_utf8_lossy(&bytes)
        )
        .expect("write");
        if (seq + 1) % 1000 == 0 || seq + 1 == n {
            let cp = signer
                .sign(seq + 1, &levels.root(seq + 1).expect("root"), now)
                .expect("sign");
            writeln!(cps, "{}", serde_json::to_string(&cp).expect("json")).expect("write");
        }
    }
    log.flush().expect("flush");
    cps.flush().expect("flush");
}

fn main() {
    let root = tempfile::tempdir_in(
        std::env::var_os("AUDIT_BENCH_DIR")
            .map_or_else(std::env::temp_dir, std::path::PathBuf::from),
    )
    .expect("tempdir");
    println!(
        "audit log benchmark (disk under {})\n",
        root.path().display()
    );

    let reference = fsync_per_append(root.path(), 500);
    println!("reference: one fdatasync per append, 1 writer       {reference:>10.0} appends/s");
    for threads in [1u64, 8, 64] {
        let dir = root.path().join(format!("group-{threads}"));
        let per_thread = (4000 / threads).max(200);
        let rate = group_commit(&dir, threads, per_thread);
        println!(
            "lensguard AuditLog::append, {threads:>2} concurrent writers   {rate:>10.0} appends/s  ({:.1}x the reference)",
            rate / reference
        );
    }

    let n: u64 = std::env::var("AUDIT_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = root.path().join("large");
    let start = Instant::now();
    build_large_log(&dir, n);
    let size = std::fs::metadata(dir.join(files::LOG)).expect("meta").len();
    println!(
        "\nbuilt a {n}-entry log ({:.0} MB) in {:.1} s",
        size as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    let start = Instant::now();
    let summary = verify_dir(&dir, None, &[]).expect("verifies");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(summary.entries, n);
    println!(
        "verify {} entries and {} signed checkpoints: {secs:.2} s ({:.0} entries/s, {:.0} MB/s)",
        summary.entries,
        summary.checkpoints,
        n as f64 / secs,
        size as f64 / 1e6 / secs
    );
}
