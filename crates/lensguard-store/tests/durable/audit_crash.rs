//! A writer killed with SIGKILL in the middle of appending leaves a log that
//! verifies and still holds every entry it acknowledged.
//!
//! The parent test re-runs this test binary as a child (`child_appender`, ignored
//! in normal runs) that appends as fast as it can and prints each acknowledged
//! sequence number; the parent kills it at a different point each round.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_store::audit::verify::verify_dir;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const CHILD_DIR: &str = "LENSGUARD_AUDIT_CHILD_DIR";

#[test]
#[ignore = "run as a child process by sigkill_mid_append_loses_no_acknowledged_entry"]
fn child_appender() {
    let dir = std::env::var_os(CHILD_DIR).expect("started by the parent test");
    let log = AuditLog::open(
        Path::new(&dir),
        AuditOptions {
            checkpoint_every: 7,
            ..AuditOptions::default()
        },
    )
    .expect("open");
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let t = time::OffsetDateTime::now_utc();
        let receipt = log
            .append(AuditEvent::new(t, "system", "crash.test").target(format!("n:{i}")))
            .expect("append");
        writeln!(out, "ack {}", receipt.seq).expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn sigkill_mid_append_loses_no_acknowledged_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "audit_crash::child_appender",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("piped");
        let wanted = 40 + round * 53;
        let mut last_ack = None;
        let mut acks = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read");
            if let Some(seq) = line.strip_prefix("ack ") {
                last_ack = Some(seq.parse::<u64>().expect("number"));
                acks += 1;
                if acks == wanted {
                    break;
                }
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let last_ack = last_ack.expect("the child acknowledged entries");
        let s =
            verify_dir(dir.path(), None, &[]).expect("a killed writer leaves a log that verifies");
        eprintln!(
            "round {round}: acked {last_ack}, entries {}, torn {}",
            s.entries, s.torn_tail_bytes
        );
        assert!(
            s.entries > last_ack,
            "round {round}: entry {last_ack} was acknowledged but only {} survive",
            s.entries
        );
        // Reopening recovers any torn tail and the log goes on.
        drop(AuditLog::open(dir.path(), AuditOptions::default()).expect("reopen"));
        assert_eq!(
            verify_dir(dir.path(), None, &[])
                .expect("verifies")
                .torn_tail_bytes,
            0
        );
    }
}
