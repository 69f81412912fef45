//! The audit log on disk: durability, group commit, proofs, checkpoints, torn
//! tails, export, and failing closed when the disk refuses a write.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_store::Error;
use lensguard_store::audit::merkle::{verify_consistency, verify_inclusion};
use lensguard_store::audit::verify::{verify_dir, verify_export};
use lensguard_store::audit::{
    AuditEvent, AuditLog, AuditOptions, ExportFormat, Outcome, export, files,
};
use std::path::Path;
use std::time::Duration;

fn event(i: u64) -> AuditEvent {
    let t = time::macros::datetime!(2026-11-23 10:00 UTC) + time::Duration::seconds(i as i64);
    AuditEvent::new(t, format!("user:{}", i % 3), "inspections.submit")
        .target(format!("inspection:{i}"))
}

fn options(every: u64) -> AuditOptions {
    AuditOptions {
        checkpoint_every: every,
        ..AuditOptions::default()
    }
}

fn fill(dir: &Path, n: u64, every: u64) {
    let log = AuditLog::open(dir, options(every)).expect("open");
    for i in log.len()..log.len() + n {
        log.append(event(i)).expect("append");
    }
}

#[test]
fn entries_survive_reopening_and_the_chain_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    fill(dir.path(), 10, 4);
    fill(dir.path(), 5, 4);
    let s = verify_dir(dir.path(), None, &[]).expect("verifies");
    // The first entry records the cadence (`audit.cadence`); the second run
    // keeps it, so records none.
    assert_eq!(s.entries, 16);
    // Checkpoints at 4, 8 (first run), 11 (close), 15 (second run), 16 (close).
    assert_eq!(s.checkpoints, 5);
    assert_eq!(s.unsigned_entries, 0);
}

#[test]
fn proofs_from_the_live_log_verify_against_its_checkpoints() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), options(1000)).expect("open");
    for i in 0..37 {
        log.append(event(i)).expect("append");
    }
    let early = log.checkpoint().expect("sign");
    for i in 37..100 {
        log.append(event(i)).expect("append");
    }
    let late = log.checkpoint().expect("sign");
    assert!(early.verify(log.public_key()) && late.verify(log.public_key()));
    let (old_root, new_root) = (
        early.root_hash().expect("hex"),
        late.root_hash().expect("hex"),
    );
    let proof = log.consistency_proof(early.size, late.size).expect("proof");
    verify_consistency(early.size, late.size, &old_root, &new_root, &proof).expect("consistent");
    let lines = std::fs::read_to_string(dir.path().join(files::LOG)).expect("log");
    let line = lines.lines().nth(42).expect("entry 42");
    let leaf = lensguard_store::audit::merkle::leaf_hash(&line.as_bytes()[65..]);
    let proof = log.inclusion_proof(42, late.size).expect("proof");
    verify_inclusion(&leaf, 42, late.size, &proof, &new_root).expect("included");
    assert!(verify_inclusion(&leaf, 41, late.size, &proof, &new_root).is_err());
}

#[test]
fn concurrent_appends_are_group_committed_without_gaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), options(250)).expect("open");
    let seqs: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let log = &log;
                s.spawn(move || {
                    (0..100)
                        .map(|i| log.append(event(t * 100 + i)).expect("append").seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect()
    });
    let mut sorted = seqs.clone();
    sorted.sort_unstable();
    // Entry 0 records the cadence.
    assert_eq!(sorted, (1..801).collect::<Vec<_>>());
    drop(log);
    assert_eq!(
        verify_dir(dir.path(), None, &[]).expect("verifies").entries,
        801
    );
}

#[test]
fn interval_checkpoints_sign_an_idle_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = AuditOptions {
        checkpoint_every: 1000,
        checkpoint_interval: Duration::from_millis(100),
        ..AuditOptions::default()
    };
    let log = AuditLog::open(dir.path(), opts).expect("open");
    log.append(event(0)).expect("append");
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(log.checkpoints().last().map(|c| c.size), Some(2));
}

#[test]
fn a_torn_final_append_is_reported_then_discarded_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    fill(dir.path(), 3, 1000);
    let path = dir.path().join(files::LOG);
    let mut bytes = std::fs::read(&path).expect("log");
    let torn = b"0123abcd {\"seq\":3,\"ti";
    bytes.extend_from_slice(torn);
    std::fs::write(&path, &bytes).expect("write");
    let s = verify_dir(dir.path(), None, &[]).expect("a torn tail is not tampering");
    assert_eq!((s.entries, s.torn_tail_bytes), (4, torn.len() as u64));
    fill(dir.path(), 2, 1000);
    let s = verify_dir(dir.path(), None, &[]).expect("verifies");
    assert_eq!((s.entries, s.torn_tail_bytes), (6, 0));
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = AuditLog::open(dir.path(), AuditOptions::default()).expect("open");
    assert!(matches!(
        AuditLog::open(dir.path(), AuditOptions::default()),
        Err(Error::Locked(_))
    ));
}

#[cfg(target_os = "linux")]
#[test]
fn a_disk_that_refuses_writes_fails_every_append_closed() {
    // /dev/full answers every write with ENOSPC, as a full disk does.
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/dev/full", dir.path().join(files::LOG)).expect("symlink");
    let log = AuditLog::open(dir.path(), AuditOptions::default()).expect("open");
    let err = log.append(event(0)).expect_err("must not be acknowledged");
    assert!(err.to_string().contains("No space left on device"), "{err}");
    assert!(
        log.append(event(1)).is_err(),
        "stays closed after a failure"
    );
    assert!(log.checkpoint().is_err());
    assert_eq!(log.len(), 0);
}

#[test]
fn jsonl_export_verifies_offline_including_a_time_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    fill(dir.path(), 40, 16);
    let mut out = Vec::new();
    let summary = export(dir.path(), None, None, ExportFormat::Jsonl, &mut out).expect("export");
    assert_eq!(summary.entries, 41, "the cadence entry and 40 events");
    let s = verify_export(out.as_slice(), None).expect("verifies");
    assert_eq!(s.entries, 41);

    let from = time::macros::datetime!(2026-11-23 10:00:10 UTC);
    let to = time::macros::datetime!(2026-11-23 10:00:20 UTC);
    let mut part = Vec::new();
    assert_eq!(
        export(
            dir.path(),
            Some(from),
            Some(to),
            ExportFormat::Jsonl,
            &mut part
        )
        .expect("export")
        .entries,
        10
    );
    assert_eq!(
        verify_export(part.as_slice(), None)
            .expect("verifies")
            .entries,
        10
    );

    // Pinning another key refuses it.
    let other = tempfile::tempdir().expect("tempdir");
    fill(other.path(), 1, 1);
    let other_key = AuditLog::open(other.path(), AuditOptions::default())
        .expect("open")
        .public_key()
        .to_vec();
    assert!(verify_export(out.as_slice(), Some(&other_key)).is_err());
}

#[test]
fn tampered_exports_are_rejected_at_the_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    fill(dir.path(), 12, 1000);
    let mut out = Vec::new();
    export(dir.path(), None, None, ExportFormat::Jsonl, &mut out).expect("export");
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    let check = |lines: &[String]| verify_export(lines.join("\n").as_bytes(), None);
    let owned: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();

    let mut modified = owned.clone();
    modified[7] = modified[7].replace("inspections.submit", "inspections.delete");
    let err = check(&modified).expect_err("modified entry");
    assert!(err.to_string().contains("entry 5"), "{err}");

    let mut reordered = owned.clone();
    reordered.swap(5, 6);
    assert!(
        check(&reordered)
            .expect_err("reordered")
            .to_string()
            .contains("entry 3")
    );

    let mut bad_proof = owned.clone();
    let at = bad_proof[9].find("\"proof\":[\"").expect("proof") + 10;
    let flipped = if &bad_proof[9][at..at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    bad_proof[9].replace_range(at..at + 1, flipped);
    assert!(
        check(&bad_proof)
            .expect_err("proof")
            .to_string()
            .contains("entry 7")
    );

    let mut bad_sig = owned;
    bad_sig[1] = bad_sig[1].replace("\"size\":13", "\"size\":14");
    assert!(
        check(&bad_sig)
            .expect_err("signature")
            .to_string()
            .contains("signature")
    );
}

#[test]
fn csv_export_has_one_row_per_signed_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(dir.path(), options(1000)).expect("open");
    log.append(event(0).outcome(
        Outcome::Denied,
        Some("missing scope \"keys:manage\", sorry".into()),
    ))
    .expect("append");
    log.append(event(1)).expect("append");
    log.checkpoint().expect("sign");
    log.append(event(2)).expect("append");
    let mut out = Vec::new();
    let s = export(dir.path(), None, None, ExportFormat::Csv, &mut out).expect("export");
    assert_eq!((s.entries, s.unsigned_entries), (3, 1));
    let text = String::from_utf8(out).expect("utf8");
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows[0],
        "seq,time,actor,source_ip,request_id,action,target,outcome,reason,hash"
    );
    assert!(rows[1].contains(",audit.cadence,"), "{}", rows[1]);
    assert!(
        rows[2].contains(",denied,\"missing scope \"\"keys:manage\"\", sorry\","),
        "{}",
        rows[2]
    );
    assert_eq!(rows.len(), 4);
}

#[test]
fn identifying_values_become_keyed_pseudonyms_never_clear_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = AuditLog::open(dir.path(), options(1000)).expect("open");
    // Opened without the installation key, it still never returns the value.
    assert_eq!(plain.pseudonym("van-12"), "hmac:withheld");
    drop(plain);
    let key = lensguard_store::audit::Pseudonymizer::new(&[7u8; 32]);
    let log = AuditLog::open(dir.path(), options(1000))
        .expect("open")
        .with_pseudonyms(key.clone());
    let p = log.pseudonym("van-12");
    assert_eq!(p, key.pseudonym("van-12"));
    assert!(p.starts_with("hmac:") && p.len() == 5 + 32 && !p.contains("van-12"));
    assert_ne!(p, log.pseudonym("van-13"));
}

/// Removing entry lines from an export is found: a full export must hold
/// every index below the signed size; a time-range export every index
/// between the bounds its header claims. (Before, deleting one, many or
/// every entry line left "ok" with the same root.)
#[test]
fn an_export_with_entries_removed_does_not_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    fill(dir.path(), 1200, 400);
    let export_text = |from, to| {
        let mut out = Vec::new();
        export(dir.path(), from, to, ExportFormat::Jsonl, &mut out).expect("export");
        String::from_utf8(out).expect("utf8")
    };
    let without = |text: &str, drop: &dyn Fn(usize) -> bool| -> Vec<u8> {
        // Lines 0 and 1 are the header and the checkpoint; entry i is line i + 2.
        text.lines()
            .enumerate()
            .filter(|(n, _)| *n < 2 || !drop(n - 2))
            .map(|(_, l)| l)
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    };
    let full = export_text(None, None);
    let s = verify_export(full.as_bytes(), None).expect("intact");
    assert!(
        s.completeness.starts_with("complete: every entry"),
        "{}",
        s.completeness
    );
    for (what, drop) in [
        (
            "one entry",
            &(|i: usize| i == 500) as &dyn Fn(usize) -> bool,
        ),
        ("a thousand entries", &|i: usize| (100..1100).contains(&i)),
        ("every entry", &|_| true),
        // Entry 0 records the cadence, so the 1200 events end at 1200.
        ("the last entry", &|i: usize| i == 1200),
    ] {
        let err = verify_export(without(&full, drop).as_slice(), None).expect_err(what);
        assert!(
            err.to_string().contains("removed") || err.to_string().contains("missing"),
            "{what}: {err}"
        );
    }
    let from = time::macros::datetime!(2026-11-23 10:01:00 UTC);
    let to = time::macros::datetime!(2026-11-23 10:02:00 UTC);
    let part = export_text(Some(from), Some(to));
    let s = verify_export(part.as_bytes(), None).expect("intact range");
    assert_eq!(s.entries, 60);
    assert!(
        s.completeness
            .starts_with("complete between entries 61 and 120"),
        "{}",
        s.completeness
    );
    let err = verify_export(without(&part, &|i| i == 30).as_slice(), None).expect_err("gap");
    assert!(err.to_string().contains("missing"), "{err}");
    let err = verify_export(without(&part, &|i| i == 59).as_slice(), None).expect_err("end");
    assert!(err.to_string().contains("removed"), "{err}");
}
