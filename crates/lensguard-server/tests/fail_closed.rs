//! Fail closed: when the running service can no longer write its audit log, every
//! state-changing or refused request answers 503 and leaves no side effect.
//!
//! The audit write is made to fail for real: `prlimit` lowers the running
//! service's file-size limit (RLIMIT_FSIZE) to the log's current size, so the next
//! append gets EFBIG from the kernel, as a full or broken disk would answer.
//! SIGXFSZ is ignored in the service (set before exec), so the write fails
//! instead of killing the process.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use common::{Server, create_key, request, send};
use std::process::Command;

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
    let mut wrapper = Command::new("sh");
    wrapper.args([
        "-c",
        "trap '' XFSZ; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_lensguard"),
    ]);
    let server = Server::start_via(wrapper, dir.path(), &[]);
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

    let size = std::fs::metadata(dir.path().join("audit/log.jsonl"))
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
