//! `lensguard audit verify` and `lensguard audit export` end to end.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{Server, lensguard, request, text};

use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions};
use std::path::Path;

/// A data directory whose audit log holds `n` entries, all signed: entry 0
/// records the cadence, entry i (from 1) creates `user:i` at 10:00 + i min.
fn data_dir(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = AuditLog::open(
        &dir.path().join("audit"),
        AuditOptions {
            checkpoint_every: 10,
            ..AuditOptions::default()
        },
    )
    .expect("open");
    for i in 1..n {
        let t = time::macros::datetime!(2026-11-23 10:00 UTC) + time::Duration::minutes(i as i64);
        log.append(AuditEvent::new(t, "user:7", "users.create").target(format!("user:{i}")))
            .expect("append");
    }
    dir
}

/// `audit verify ARGS` without a key: it passes, its first line starts with
/// `first` and it says `note`; returns its standard output.
fn verify_unpinned(args: &[&str], first: &str, note: &str) -> String {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let out = lensguard(&all);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with(first), "{stdout}");
    assert!(stdout.contains(note), "{stdout}");
    stdout
}

/// `audit verify`'s `public key HEX (key id ID)` line: (HEX, ID).
fn printed_key(stdout: &str) -> (String, String) {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("public key "))
        .expect("public key line");
    let (key, id) = line.split_once(" (key id ").expect("key and id");
    (key.to_owned(), id.trim_end_matches(')').to_owned())
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn verify_reports_ok_then_names_the_tampered_entry() {
    let dir = data_dir(25);
    // Checked only against the log's own key: not "ok", and it says so.
    let stdout = verify_unpinned(
        &["--data-dir", &path(dir.path())],
        "consistent: 25 entries, 3 signed checkpoints, root ",
        "signer not checked: pass --public-key (the log was checked only",
    );
    // The printed public key is what --public-key takes.
    let (key, _) = printed_key(&stdout);
    let out = lensguard(&[
        "audit",
        "verify",
        "--data-dir",
        &path(dir.path()),
        "--public-key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ok: 25 entries"), "{stdout}");
    assert!(stdout.contains("signer: checked against the given --public-key"));

    let log = dir.path().join("audit/log.jsonl");
    let content = std::fs::read_to_string(&log).expect("log");
    std::fs::write(&log, content.replace("user:17\"", "user:71\"")).expect("tamper");
    let out = lensguard(&["audit", "verify", "--data-dir", &path(dir.path())]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at entry 17"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_export_verifies_without_the_data_directory_and_a_pinned_key_is_enforced() {
    let dir = data_dir(12);
    let file = dir.path().join("export.jsonl");
    let out = lensguard(&[
        "audit",
        "export",
        "--data-dir",
        &path(dir.path()),
        "--format",
        "jsonl",
        "-o",
        &path(&file),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("exported 12 entries"));

    let copy = tempfile::tempdir().expect("tempdir");
    let moved = copy.path().join("export.jsonl");
    std::fs::copy(&file, &moved).expect("copy");
    drop(dir);
    let stdout = verify_unpinned(
        &["--export", &path(&moved)],
        "consistent: 12 entries, 1 signed checkpoint",
        "signer not checked: pass --public-key (the export was checked only",
    );
    // A script that demands a checked signer fails without a key.
    let out = lensguard(&[
        "audit",
        "verify",
        "--export",
        &path(&moved),
        "--require-signer",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("nothing was verified"));
    // The key as GET /v1/audit/checkpoint answers it (a saved JSON file), and
    // the key id, which cannot check a signature, is refused with a pointer.
    let (key, id) = printed_key(&stdout);
    let head = copy.path().join("head.json");
    std::fs::write(
        &head,
        format!("{{\"size\": 12, \"public_key\": \"{key}\"}}"),
    )
    .expect("head");
    let out = lensguard(&[
        "audit",
        "verify",
        "--export",
        &path(&moved),
        "--public-key",
        &path(&head),
        "--require-signer",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ok: 12 entries, 1 signed checkpoint"));
    let out = lensguard(&[
        "audit",
        "verify",
        "--export",
        &path(&moved),
        "--public-key",
        &id,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("looks like a key id"),
        "{}",
        text(&out.stderr)
    );

    let wrong = "00".repeat(32);
    let out = lensguard(&[
        "audit",
        "verify",
        "--export",
        &path(&moved),
        "--public-key",
        &wrong,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("different key"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn csv_export_with_a_time_range() {
    let dir = data_dir(30);
    let out = lensguard(&[
        "audit",
        "export",
        "--data-dir",
        &path(dir.path()),
        "--format",
        "csv",
        "--from",
        "2026-11-23T10:05:00Z",
        "--to",
        "2026-11-23T10:10:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(rows.len(), 6, "{rows:?}");
    assert!(
        rows[1].starts_with("5,2026-11-23T10:05:00Z,user:7,,,users.create,user:5,success,,"),
        "{}",
        rows[1]
    );
}

#[test]
fn a_missing_log_or_bad_key_is_a_usage_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = lensguard(&["audit", "verify", "--data-dir", &path(empty.path())]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no audit log"),
        "{}",
        text(&out.stderr)
    );
    let dir = data_dir(1);
    let out = lensguard(&[
        "audit",
        "verify",
        "--data-dir",
        &path(dir.path()),
        "--public-key",
        "abc",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn audit_prove_prints_proofs_that_verify_and_refuses_impossible_ones() {
    use common::{hex_hash as hash, hex_path as path};
    use lensguard_store::audit::merkle::{verify_consistency, verify_inclusion};
    let dir = data_dir(37);
    let d = dir.path().to_str().expect("utf8");
    let out = lensguard(&[
        "audit",
        "prove",
        "--index",
        "5",
        "--size",
        "30",
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (p["index"].as_u64(), p["size"].as_u64()),
        (Some(5), Some(30))
    );
    verify_inclusion(
        &hash(&p["leaf_hash"]),
        5,
        30,
        &path(&p["path"]),
        &hash(&p["root"]),
    )
    .expect("verifies");

    let out = lensguard(&["audit", "prove", "--from", "10", "--data-dir", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(c["to"].as_u64(), Some(37));
    verify_consistency(
        10,
        37,
        &hash(&c["from_root"]),
        &hash(&c["to_root"]),
        &path(&c["path"]),
    )
    .expect("verifies");
    // The newest signed checkpoint's root is the root the proof leads to.
    let checkpoints =
        std::fs::read_to_string(dir.path().join("audit/checkpoints.jsonl")).expect("checkpoints");
    let last: serde_json::Value =
        serde_json::from_str(checkpoints.lines().last().expect("one")).expect("json");
    assert_eq!(last["size"].as_u64(), Some(37));
    assert_eq!(last["root"], c["to_root"]);

    for bad in [
        vec!["--index", "37"],
        vec!["--index", "3", "--size", "99"],
        vec!["--from", "0"],
        vec!["--from", "20", "--to", "10"],
    ] {
        let mut args = vec!["audit", "prove"];
        args.extend(bad.iter().copied());
        args.extend(["--data-dir", d]);
        let out = lensguard(&args);
        assert!(!out.status.success(), "{bad:?}");
        assert!(
            text(&out.stderr).contains("need"),
            "{bad:?}: {}",
            text(&out.stderr)
        );
    }
}

/// The review's attack on a stopped service's data directory: a refused
/// request rewritten as a success, the chain recomputed, `checkpoints.jsonl`
/// emptied. Before, `audit verify` said ok, the service started on it and
/// signed the forgery. Now the service and the maintenance commands refuse
/// the log (it no longer extends the checkpoint the database anchored), and
/// `audit verify --trusted-checkpoint` with the service's checkpoint file
/// (`[audit] checkpoint_file`) fails; without a witness, verify says it did
/// not check one.
#[test]
fn a_rewritten_history_is_refused_at_start_and_fails_against_its_witness() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = root.path().join("data");
    let witness = root.path().join("elsewhere-checkpoints.jsonl");
    let config = format!(
        "models_dir = \"/nonexistent-lensguard-models\"\n[audit]\ncheckpoint_file = \"{}\"\n",
        witness.display()
    );
    let server = Server::start_with_config(&data, &config);
    assert_eq!(request(&server, "GET", "/v1/keys").status, 401);
    server.stop();
    let witnessed = std::fs::read_to_string(&witness).expect("the witness file");
    assert!(
        !witnessed.is_empty(),
        "the service wrote its checkpoints there"
    );
    let d = path(&data);
    let w = path(&witness);
    let verify_witnessed = || {
        lensguard(&[
            "audit",
            "verify",
            "--data-dir",
            &d,
            "--trusted-checkpoint",
            &w,
        ])
    };
    let out = verify_witnessed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("witnessed: the log extends"));

    let log = data.join("audit/log.jsonl");
    let denied = "\"outcome\":\"failure\"";
    assert!(std::fs::read_to_string(&log).expect("log").contains(denied));
    lensguard_testkit::forgery::rewrite_audit_log(&log, |_, body| {
        body.replace(denied, "\"outcome\":\"success\"")
    });
    std::fs::write(data.join("audit/checkpoints.jsonl"), "").expect("empty the checkpoints");

    let refusal = Server::refused(&data, &config);
    assert!(
        refusal.contains("does not extend the checkpoint kept outside it"),
        "{refusal}"
    );
    let out = lensguard(&[
        "keys",
        "create",
        "--data-dir",
        &d,
        "--name",
        "x",
        "--scope",
        "inspections:read",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("does not extend"),
        "{}",
        text(&out.stderr)
    );
    let out = verify_witnessed();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("the history it witnessed was rewritten"),
        "{}",
        text(&out.stderr)
    );
    // A short log without checkpoints is within its cadence; verify alone
    // cannot tell, and says what it did not check.
    let out = lensguard(&["audit", "verify", "--data-dir", &d]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("witness not checked: pass --trusted-checkpoint"),
        "{}",
        text(&out.stdout)
    );
}
