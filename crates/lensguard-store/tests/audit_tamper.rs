//! On-disk tampering is found at the right entry: modify, delete, insert, reorder,
//! truncate, a rewritten chain, and forged checkpoints.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_store::Error;
use lensguard_store::audit::verify::verify_dir;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions, files};
use std::path::Path;

const N: u64 = 20;

/// A log of 20 entries with checkpoints at 8, 16 and 20.
fn log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(
        dir.path(),
        AuditOptions {
            checkpoint_every: 8,
            ..AuditOptions::default()
        },
    )
    .expect("open");
    for i in 0..N {
        let t = time::macros::datetime!(2026-11-23 10:00 UTC) + time::Duration::seconds(i as i64);
        log.append(AuditEvent::new(t, "user:1", "keys.rotate").target(format!("key:{i}")))
            .expect("append");
    }
    dir
}

fn lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join(files::LOG))
        .expect("log")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write(dir: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(dir.join(files::LOG), text).expect("write");
}

/// Verification fails and names `entry`; opening the log refuses the same way.
fn assert_found_at(dir: &Path, entry: Option<u64>, words: &str) {
    let err = verify_dir(dir, None).expect_err("tampering must be found");
    let Error::Tampered(finding) = &err else {
        panic!("expected a finding, got {err}")
    };
    assert_eq!(finding.entry, entry, "{err}");
    assert!(err.to_string().contains(words), "{err}");
    assert!(
        AuditLog::open(dir, AuditOptions::default()).is_err(),
        "a tampered log must not open"
    );
}

#[test]
fn an_untouched_log_verifies() {
    let dir = log();
    let s = verify_dir(dir.path(), None).expect("verifies");
    assert_eq!((s.entries, s.checkpoints), (N, 3));
}

#[test]
fn a_modified_entry_is_found_at_its_index() {
    let dir = log();
    let mut l = lines(dir.path());
    l[11] = l[11].replace("key:11", "key:99");
    write(dir.path(), &l);
    assert_found_at(dir.path(), Some(11), "modified");
}

#[test]
fn a_deleted_entry_is_found_where_it_was() {
    let dir = log();
    let mut l = lines(dir.path());
    l.remove(6);
    write(dir.path(), &l);
    assert_found_at(dir.path(), Some(6), "deleted, inserted or reordered");
}

#[test]
fn an_inserted_entry_is_found_where_it_went() {
    let dir = log();
    let mut l = lines(dir.path());
    let copy = l[3].clone();
    l.insert(9, copy);
    write(dir.path(), &l);
    assert_found_at(dir.path(), Some(9), "deleted, inserted or reordered");
}

#[test]
fn reordered_entries_are_found_at_the_first_moved() {
    let dir = log();
    let mut l = lines(dir.path());
    l.swap(13, 14);
    write(dir.path(), &l);
    assert_found_at(dir.path(), Some(13), "deleted, inserted or reordered");
}

#[test]
fn truncation_below_a_checkpoint_is_found() {
    let dir = log();
    let l = lines(dir.path());
    write(dir.path(), &l[..17]);
    assert_found_at(dir.path(), Some(17), "removed from the end");
}

#[test]
fn a_rewritten_chain_is_caught_by_the_signed_checkpoints() {
    // Change entry 12 and recompute every hash after it, as an attacker with write
    // access but without the signing key would.
    let dir = log();
    let mut l = lines(dir.path());
    let mut prev = [0u8; 32];
    for (i, line) in l.iter_mut().enumerate() {
        let mut body = line[65..].to_owned();
        if i == 12 {
            body = body.replace("key:12", "key:00");
        }
        let leaf = lensguard_store::audit::merkle::leaf_hash(body.as_bytes());
        let mut both = prev.to_vec();
        both.extend_from_slice(&leaf);
        let chain: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &both)
            .as_ref()
            .try_into()
            .expect("32");
        *line = format!("{} {body}", hex::encode(chain));
        prev = chain;
    }
    write(dir.path(), &l);
    assert_found_at(dir.path(), None, "between 8 and 15");
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let dir = log();
    let path = dir.path().join(files::CHECKPOINTS);
    let text = std::fs::read_to_string(&path).expect("checkpoints");
    std::fs::write(&path, text.replacen("\"size\":8", "\"size\":7", 1)).expect("write");
    assert_found_at(dir.path(), None, "invalid signature");
}

#[test]
fn a_replaced_signing_key_is_refused_when_the_key_is_pinned() {
    let dir = log();
    let pinned = AuditLog::open(dir.path(), AuditOptions::default())
        .expect("open")
        .public_key()
        .to_vec();
    std::fs::remove_file(dir.path().join(files::SIGNING_KEY)).expect("rm");
    // A new key appears on the next open; its checkpoints would not match the pin.
    let err = verify_dir(dir.path(), Some(&[7u8; 32])).expect_err("wrong pin");
    assert!(err.to_string().contains("invalid signature"), "{err}");
    assert!(verify_dir(dir.path(), Some(&pinned)).is_ok());
}
