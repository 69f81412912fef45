//! Fail closed: when the running service can no longer write its audit log, every
//! state-changing or refused request answers 503 and leaves no side effect.
//!
//! The audit write is made to fail for real: `prlimit` lowers the running
//! service's file-size limit (RLIMIT_FSIZE) to the log's current size, so the next
//! append gets EFBIG from the kernel, as a full or broken disk would answer.
//! SIGXFSZ is ignored in the service (set before exec), so the write fails
//! instead of killing the process.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{Server, create_key, request, send};
use std::process::Command;

/// `lensguard serve` on `dir` with SIGXFSZ ignored (set before exec), so a
/// write past the file-size limit fails instead of killing it.
fn start_ignoring_sigxfsz(dir: &std::path::Path) -> Server {
    let mut wrapper = Command::new("sh");
    wrapper.args([
        "-c",
        "trap '' XFSZ; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_lensguard"),
    ]);
    Server::start_via(wrapper, dir, &[])
}

/// Lowers the running service's file-size limit to its audit log's size:
/// the next append fails with EFBIG.
fn break_audit_writes(server: &Server) {
    let size = std::fs::metadata(server.data_dir.join("audit/log.jsonl"))
        .expect("log")
        .len();
    let limited = Command::new("prlimit")
        .args([
            "--pid",
            &server.pid().to_string(),
            &format!("--fsize={size}:{size}"),
        ])
        .status()
        .expect("prlimit");
    assert!(limited.success());
}

/// Every read of data is audited before it is answered, so it answers 503
/// when it cannot be; `/metrics` (how operators see the failure) and
/// `/healthz` keep answering.
#[cfg(target_os = "linux")]
#[test]
fn reads_are_audited_and_cannot_be_answered_unaudited() {
    if !common::tool_available("prlimit", "util-linux, from scripts/install-test-deps,") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let scopes = [
        "keys:manage",
        "users:manage",
        "policy:manage",
        "audit:read",
        "evidence:manage",
        "metrics:read",
    ];
    let token = create_key(dir.path(), &scopes, &[]);
    let reads = [
        ("/v1/keys", "keys.list"),
        ("/v1/users", "users.list"),
        ("/v1/policy", "policy.read"),
        ("/v1/holds", "holds.list"),
        ("/v1/audit/checkpoint", "audit.checkpoint"),
        ("/v1/audit/proofs/inclusion?index=0", "audit.proof"),
        ("/v1/audit/proofs/consistency?from=1", "audit.proof"),
    ];
    let server = start_ignoring_sigxfsz(dir.path());
    for (path, _) in reads {
        let r = common::get_with(&server, path, &token);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let recorded: Vec<String> = common::audit_entries(dir.path())
        .iter()
        .filter(|e| {
            e["outcome"] == "success" && e["actor"].as_str().is_some_and(|a| a.starts_with("key:"))
        })
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    let expected: Vec<&str> = reads.iter().map(|(_, action)| *action).collect();
    assert_eq!(recorded, expected, "each read is recorded, in order");
    break_audit_writes(&server);
    for (path, _) in reads {
        let r = common::get_with(&server, path, &token);
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert!(r.body.contains("audit_unavailable"), "{path}: {}", r.body);
    }
    assert_eq!(common::get_with(&server, "/metrics", &token).status, 200);
    assert_eq!(request(&server, "GET", "/healthz").status, 200);
}

#[cfg(target_os = "linux")]
#[test]
fn requests_that_cannot_be_audited_get_503_and_change_nothing() {
    if !common::tool_available("prlimit", "util-linux, from scripts/install-test-deps,") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(dir.path(), &["inspections:write"], &[]);
    let auth = format!("Bearer {token}");
    let photo = std::fs::read(lensguard_testkit::samples_dir().join("sharp.jpg")).expect("sample");
    let server = start_ignoring_sigxfsz(dir.path());
    let post = |key: &str| {
        send(
            &server,
            "POST",
            "/v1/inspections",
            &[
                ("authorization", &auth),
                ("content-type", "image/jpeg"),
                ("idempotency-key", key),
            ],
            photo.clone(),
        )
    };
    assert_eq!(post("before").status, 201);

    break_audit_writes(&server);

    let r = post("during");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("audit_unavailable"), "{}", r.body);
    assert_eq!(
        post("during-again").status,
        503,
        "the log stays closed after a failed write"
    );
    let anonymous = send(
        &server,
        "POST",
        "/v1/inspections",
        &[("content-type", "image/jpeg")],
        // Refused before the body is read: keep it small (see api.rs, SMALL).
        b"not read".to_vec(),
    );
    assert_eq!(
        anonymous.status, 503,
        "a refusal that cannot be audited is a 503 too"
    );
    assert_eq!(
        request(&server, "GET", "/healthz").status,
        200,
        "the health probe needs no audit"
    );
    let (status, _) = server.stop();
    assert!(
        !status.success(),
        "stopping without auditing the stop is an error"
    );

    // Healthy again: the refused submission left nothing behind, so its
    // idempotency key is unused and the log verifies.
    let server = Server::start(dir.path(), &[]);
    let again = send(
        &server,
        "POST",
        "/v1/inspections",
        &[
            ("authorization", &auth),
            ("content-type", "image/jpeg"),
            ("idempotency-key", "during"),
        ],
        photo,
    );
    assert_eq!(again.status, 201, "a 503 must leave no stored inspection");
    assert!(again.header("idempotent-replayed").is_none());
    drop(server);
    let verify = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

/// The review's side effects of an unwritable audit log: a valid login
/// answered 503 but spent the user's TOTP code; holds, erasure and KEK
/// rotation answered `vault_unavailable` (or `unavailable`). Now each
/// answers `503 audit_unavailable`, the code still works once the log does,
/// `/metrics` says `lensguard_audit_unwritable 1`, and stderr says it once.
#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_audit_log_changes_nothing_and_says_so_once() {
    use common::identity::{call, create_user, login_at};
    if !common::tool_available("prlimit", "util-linux, from scripts/install-test-deps,") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(dir.path(), &["evidence:manage", "metrics:read"], &[]);
    let secret = create_user(dir.path(), "alice", "viewer");
    let server = start_ignoring_sigxfsz(dir.path());
    // No owner yet: the service offers the bootstrap token (an audited
    // write) just after it starts listening; let that finish first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !common::audit_entries(dir.path())
        .iter()
        .any(|e| e["action"] == "users.bootstrap_token")
    {
        assert!(std::time::Instant::now() < deadline, "no bootstrap offer");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    break_audit_writes(&server);

    let r = login_at(&server, "alice", &secret, 0);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("audit_unavailable"), "{}", r.body);
    for (path, body) in [
        (
            "/v1/holds",
            serde_json::json!({"device": "van-1", "reason": "case 7"}),
        ),
        ("/v1/erasure", serde_json::json!({"device": "van-1"})),
        ("/v1/vault/rotate", serde_json::Value::Null),
    ] {
        let r = call(&server, "POST", path, Some(&token), &body);
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert!(r.body.contains("audit_unavailable"), "{path}: {}", r.body);
    }
    let metrics = common::get_with(&server, "/metrics", &token);
    assert!(
        metrics.body.contains("lensguard_audit_unwritable 1"),
        "{}",
        metrics.body
    );
    let (_, stderr) = server.stop();
    assert_eq!(
        stderr.matches("ALERT").count(),
        1,
        "said once, not once a request: {stderr}"
    );

    // Writable again: the code the refused login sent was not spent.
    let server = Server::start(dir.path(), &[]);
    let r = login_at(&server, "alice", &secret, 0);
    assert_eq!(r.status, 201, "{}", r.body);
}
