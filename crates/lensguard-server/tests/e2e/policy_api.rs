//! Changing the policy through the API: validated with located errors, only
//! forward in revision, audited, written atomically, in force for the next photo
//! and after a restart.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{Server, audit_actions, create_key, get_with, lensguard, send, text};
use lensguard_testkit::samples_dir;

fn put(server: &Server, token: &str, body: &str) -> common::Reply {
    let auth = format!("Bearer {token}");
    send(
        server,
        "PUT",
        "/v1/policy",
        &[
            ("authorization", &auth),
            ("content-type", "application/toml"),
        ],
        body.as_bytes().to_vec(),
    )
}

fn submit(server: &Server, token: &str) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let r = send(
        server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", "image/jpeg")],
        photo,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    serde_json::from_str(&r.body).expect("json")
}

#[test]
fn a_new_policy_is_checked_audited_and_in_force_for_the_next_photo_and_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = create_key(dir.path(), &["policy:manage"], &[]);
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    assert_eq!(submit(&server, &writer)["verdict"], "pass");

    let current = get_with(&server, "/v1/policy", &admin);
    assert_eq!(current.status, 200);
    assert_eq!(
        current.header("content-type").as_deref(),
        Some("application/toml")
    );
    let default = text(&lensguard(&["policy", "show"]).stdout);
    assert_eq!(current.body, default);

    let bad = put(
        &server,
        &admin,
        "version = 1\nname = \"x\"\nrevision = 2\n[blur]\nmin_sharpness = \"high\"\n",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("5:17: invalid type"), "{}", bad.body);
    let same = put(&server, &admin, &default);
    assert_eq!(same.status, 409, "revision must go up: {}", same.body);

    // Demand 4000 pixels on the short side: the sample (1024x768) now fails.
    let strict = default
        .replace("revision = 1", "revision = 2")
        .replace("min_short_side = 480", "min_short_side = 4000")
        .replace("min_long_side = 640", "min_long_side = 4000");
    let changed = put(&server, &admin, &strict);
    assert_eq!(changed.status, 200, "{}", changed.body);
    let answer: serde_json::Value = serde_json::from_str(&changed.body).expect("json");
    assert_eq!(answer["revision"], 2);
    let judged = submit(&server, &writer);
    assert_eq!(judged["verdict"], "fail", "{judged}");
    assert_eq!(judged["policy"]["revision"], 2, "{judged}");
    drop(server);

    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        submit(&server, &writer)["verdict"],
        "fail",
        "kept across a restart"
    );
    drop(server);
    let actions = audit_actions(dir.path());
    assert!(actions.contains(&("policy.change".into(), "failure".into())));
    assert!(actions.contains(&("policy.change".into(), "success".into())));
    let log = std::fs::read_to_string(dir.path().join("audit/log.jsonl")).expect("log");
    assert!(
        log.contains("revision 1 -> 2; sha256 "),
        "the text's hash is recorded"
    );

    // A broken policy file stops the start, naming the file and the line.
    std::fs::write(dir.path().join("policy.toml"), "version = 1\nname = 3\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("policy.toml"),
        "{}",
        text(&out.stderr)
    );
}
