//! On-disk tampering is found at the right entry: modify, delete, insert, reorder,
//! truncate, a rewritten chain, and forged checkpoints.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_store::Error;
use lensguard_store::audit::verify::verify_dir;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions, files};
use std::path::Path;

const N: u64 = 20;

/// A log of 20 entries with checkpoints at 8, 16 and 20: entry 0 records the
/// cadence, entry i (from 1) targets `key:i`.
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
    for i in 1..N {
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
    let err = verify_dir(dir, None, &[]).expect_err("tampering must be found");
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
    let s = verify_dir(dir.path(), None, &[]).expect("verifies");
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

/// Rewrites the log with `edit` applied to each entry's JSON and every chain
/// hash recomputed, as an attacker with write access would; returns the new
/// leaf hashes.
fn rewrite(dir: &Path, edit: impl Fn(usize, String) -> String) -> Vec<[u8; 32]> {
    lensguard_testkit::forgery::rewrite_audit_log(&dir.join(files::LOG), edit)
}

fn deny_12(i: usize, body: String) -> String {
    if i == 12 {
        body.replace("key:12", "key:00")
    } else {
        body
    }
}

#[test]
fn a_rewritten_chain_is_caught_by_the_signed_checkpoints() {
    // Without the signing key: the checkpoints no longer match.
    let dir = log();
    rewrite(dir.path(), deny_12);
    assert_found_at(dir.path(), None, "between 8 and 15");
}

/// The review's attack: an entry rewritten, the chain recomputed and
/// `checkpoints.jsonl` emptied. The log's cadence (one checkpoint at least
/// every 8 entries, recorded in entry 0) makes the missing checkpoints a
/// finding. (Before, this verified as "ok: 20 entries, 0 signed checkpoints"
/// and the log opened, to be signed anew.)
#[test]
fn a_rewritten_chain_with_its_checkpoints_deleted_breaks_the_cadence() {
    let dir = log();
    rewrite(dir.path(), deny_12);
    std::fs::write(dir.path().join(files::CHECKPOINTS), "").expect("empty");
    assert_found_at(
        dir.path(),
        Some(0),
        "cadence requires a signed checkpoint at least every 8",
    );

    // Keeping only the first checkpoint leaves a stretch of 12 unsigned.
    let dir = log();
    let cps = std::fs::read_to_string(dir.path().join(files::CHECKPOINTS)).expect("cps");
    let first = cps.lines().next().expect("one");
    std::fs::write(dir.path().join(files::CHECKPOINTS), format!("{first}\n")).expect("cut");
    assert_found_at(
        dir.path(),
        Some(8),
        "entries 8 to 19 (12) have no signed checkpoint",
    );
}

/// The cadence the log records cannot be raised past the format's limit, so
/// a rewritten cadence entry does not excuse missing checkpoints either.
#[test]
fn a_cadence_beyond_the_limit_is_refused() {
    let dir = log();
    rewrite(dir.path(), |i, body| {
        if i == 0 {
            body.replace("\"checkpoint_every\":8", "\"checkpoint_every\":5000")
        } else {
            body
        }
    });
    std::fs::write(dir.path().join(files::CHECKPOINTS), "").expect("empty");
    assert_found_at(dir.path(), Some(0), "1 to 1000 are allowed");
}

/// Whoever holds `signing.key` can rewrite the history and re-sign every
/// checkpoint: the folder then verifies. A checkpoint kept elsewhere (a
/// witness) exposes it, offline and when the log is opened with it as anchor.
#[test]
fn a_history_re_signed_with_the_real_key_does_not_extend_its_witness() {
    use lensguard_store::audit::merkle::Levels;
    use lensguard_store::audit::{Checkpoint, FileWitness, OpenWith, Signer, Witness};
    let dir = tempfile::tempdir().expect("tempdir");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let witness_file = elsewhere.path().join("checkpoints.jsonl");
    {
        let log = AuditLog::open_with(
            dir.path(),
            AuditOptions {
                checkpoint_every: 8,
                ..AuditOptions::default()
            },
            OpenWith {
                witnesses: vec![Box::new(FileWitness::new(&witness_file)) as Box<dyn Witness>],
                ..OpenWith::default()
            },
        )
        .expect("open");
        for i in 1..N {
            log.append(
                AuditEvent::new(
                    time::macros::datetime!(2026-11-23 10:00 UTC),
                    "user:1",
                    "keys.rotate",
                )
                .target(format!("key:{i}")),
            )
            .expect("append");
        }
    }
    let witnessed: Vec<Checkpoint> = std::fs::read_to_string(&witness_file)
        .expect("witness file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("checkpoint"))
        .collect();
    assert_eq!(
        witnessed.iter().map(|c| c.size).collect::<Vec<_>>(),
        [8, 16, 20],
        "the witness holds every checkpoint as it was signed"
    );
    assert!(verify_dir(dir.path(), None, &witnessed).is_ok());

    // The forgery: entry 12 changed, chain recomputed, checkpoints re-signed.
    let leaves = rewrite(dir.path(), deny_12);
    let signer = Signer::load_or_create(&dir.path().join(files::SIGNING_KEY)).expect("key");
    let levels = Levels::from_leaves(&leaves);
    let mut forged = String::new();
    for size in [8u64, 16, 20] {
        let cp = signer
            .sign(
                size,
                &levels.root(size).expect("root"),
                time::OffsetDateTime::now_utc(),
            )
            .expect("sign");
        forged.push_str(&serde_json::to_string(&cp).expect("json"));
        forged.push('\n');
    }
    std::fs::write(dir.path().join(files::CHECKPOINTS), forged).expect("write");
    verify_dir(dir.path(), None, &[])
        .expect("re-signed with the real key, the folder alone verifies");

    let err = verify_dir(dir.path(), None, &witnessed).expect_err("the witness exposes it");
    assert!(
        err.to_string()
            .contains("history it witnessed was rewritten"),
        "{err}"
    );
    let err = AuditLog::open_with(
        dir.path(),
        AuditOptions::default(),
        OpenWith {
            anchor: witnessed.last().cloned(),
            ..OpenWith::default()
        },
    )
    .expect_err("a log that does not extend its anchor does not open");
    assert!(matches!(err, Error::NotExtending { size: 20, .. }), "{err}");

    // A new signing key does not help: the witnessed checkpoints are not its.
    std::fs::remove_file(dir.path().join(files::SIGNING_KEY)).expect("rm");
    let fresh = Signer::load_or_create(&dir.path().join(files::SIGNING_KEY)).expect("key");
    let resigned: String = [8u64, 16, 20]
        .iter()
        .map(|&size| {
            let cp = fresh
                .sign(
                    size,
                    &levels.root(size).expect("root"),
                    time::OffsetDateTime::now_utc(),
                )
                .expect("sign");
            format!("{}\n", serde_json::to_string(&cp).expect("json"))
        })
        .collect();
    std::fs::write(dir.path().join(files::CHECKPOINTS), resigned).expect("write");
    verify_dir(dir.path(), None, &[]).expect("under its own new key, the folder alone verifies");
    let err = verify_dir(dir.path(), None, &witnessed).expect_err("another key");
    assert!(
        err.to_string().contains("signing key was replaced"),
        "{err}"
    );
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
    let err = verify_dir(dir.path(), Some(&[7u8; 32]), &[]).expect_err("wrong pin");
    assert!(err.to_string().contains("invalid signature"), "{err}");
    assert!(verify_dir(dir.path(), Some(&pinned), &[]).is_ok());
}
