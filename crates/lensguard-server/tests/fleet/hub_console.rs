//! The hub's console in a real browser (`scripts/console_browser.py` with
//! `"console": "hub"`): a hub with a user of every role (made by `lensguard
//! hub users create`), an edge delivering records, and a second edge whose
//! audit history went back (flagged by the hub's own checkpoint check).
//! What each role sees and is refused, CSP, accessibility, revocation,
//! users, forged forms and idle sessions are checked by the script; this
//! test makes the world, then checks the hub's audit log recorded the
//! sign-ins (good and bad), the revocation and the refused forms.
//!
//! The pages and the scope each needs are written here from docs/fleet.md,
//! independently of the console's code.

use super::common::browser::{browser_tools, run_browser_checks};
use super::common::identity::PASSWORD;
use super::common::{audit_entries, lensguard, text};
use super::harness::{HubDir, block, enrol, free_port, prepare_edge, start_edge, submit};
use lensguard_core::access::Role;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions};
use lensguard_store::hub::{CheckpointOutcome, CheckpointUpdate, NewEdge};
use std::io::Write;
use std::process::{Command, Stdio};

/// Every page of the hub's console and the scope it needs.
const PAGES: &[(&str, Option<&str>)] = &[
    ("/console/", Some("inspections:read")),
    ("/console/records", Some("inspections:read")),
    ("/console/users", Some("users:manage")),
    ("/console/account", None),
];

/// `lensguard hub users create` (password on standard input); the user as
/// the script needs them.
fn hub_user(hub: &HubDir, name: &str, role: Role) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["hub", "users", "create", "--data-dir"])
        .arg(&hub.dir)
        .args(["--database", &hub.database, "--username", name])
        .args(["--role", role.as_str(), "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hub users create");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("hub users create");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let secret = text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("TOTP secret (shown once; add it to an authenticator app): "))
        .expect("TOTP secret line")
        .to_owned();
    serde_json::json!({
        "name": name,
        "role": role.to_string(),
        "secret": secret,
        "scopes": role.scopes().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })
}

/// Registers edge `yard` in the hub database with a test audit log's key and
/// has the hub's checkpoint check flag it: its history went back.
fn flagged_edge(hub: &HubDir, logs: &std::path::Path) -> String {
    block(async {
        let db = hub.db().await;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let log = AuditLog::open(logs, AuditOptions::default()).expect("log");
        let token = db.issue_enrolment("yard", 3600, now).await.expect("token");
        let key = hex::encode(log.public_key());
        let id = "edge-yard".to_owned();
        db.redeem_enrolment(
            &token.id,
            &token.secret,
            NewEdge {
                id: &id,
                cert_sha256: "00",
                audit_key: &key,
            },
            now,
        )
        .await
        .expect("redeem")
        .expect("enrolled");
        let grow = |n: usize| {
            for i in 0..n {
                let e =
                    AuditEvent::new(time::OffsetDateTime::now_utc(), "system", format!("e.{i}"));
                log.append(e).expect("append");
            }
            log.checkpoint().expect("checkpoint")
        };
        let small = grow(3);
        let update = |c, from, proof| CheckpointUpdate {
            checkpoint: c,
            from_size: from,
            proof,
        };
        db.accept_checkpoint(&id, update(&small, 0, &[]), now)
            .await
            .expect("first");
        let big = grow(4);
        let proof = log.consistency_proof(small.size, big.size).expect("proof");
        db.accept_checkpoint(&id, update(&big, small.size, &proof), now)
            .await
            .expect("second");
        let back = db
            .accept_checkpoint(&id, update(&small, big.size, &[]), now)
            .await
            .expect("third");
        assert!(matches!(back, CheckpointOutcome::Flagged(_)), "{back:?}");
        id
    })
}

#[test]
fn the_hubs_console_in_a_real_browser() {
    let Some((python, axe)) = browser_tools() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = HubDir::init(&dir.path().join("hub"), None);
    let mut users: Vec<serde_json::Value> = Role::ALL
        .iter()
        .map(|r| hub_user(&hub, &format!("{r}-user"), *r))
        .collect();
    let flow_user = hub_user(&hub, "fleet-admin", Role::Admin);
    let forgery_user = hub_user(&hub, "victim", Role::Viewer);
    let idle_user = hub_user(&hub, "idler", Role::Operator);
    users.sort_by_key(|u| u["name"].as_str().map(str::to_owned));
    let yard = flagged_edge(&hub, &dir.path().join("yard-audit"));
    // The hub refuses a second process on its audit log: users are made
    // with it stopped, and the command says so.
    let port = free_port();
    let hub_process = hub.serve_with(port, &["--console-idle-minutes", "1"]);
    let password = dir.path().join("password");
    std::fs::write(&password, PASSWORD).expect("password file");
    let blocked = lensguard(&[
        "hub",
        "users",
        "create",
        "--data-dir",
        hub.dir.to_str().expect("utf8"),
        "--username",
        "late",
        "--role",
        "viewer",
        "--password-file",
        password.to_str().expect("utf8"),
    ]);
    assert!(!blocked.status.success());
    assert!(
        text(&blocked.stderr).contains("held by a running `lensguard hub serve`"),
        "{}",
        text(&blocked.stderr)
    );
    // An edge delivering records.
    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    let edge_id = enrol(&edge_dir, &HubDir::url(port), &hub.token("alpha")).expect("enrol");
    let edge = start_edge(&edge_dir, "");
    for device in ["van-1", "van-2", "van-3"] {
        assert_eq!(submit(&edge, &key, device).0, 201);
    }
    super::harness::wait_until(60, "records at the hub", || {
        super::harness::hub_counts(&hub, &edge_id).0 >= 3
    });
    let shots = std::env::var("LENSGUARD_SCREENSHOTS").ok();
    let plan = serde_json::json!({
        "console": "hub",
        "base": HubDir::url(port),
        "password": PASSWORD,
        "users": users,
        "flow_user": flow_user,
        "forgery_user": forgery_user,
        "idle_user": idle_user,
        "idle_seconds": 60,
        "idle_page": "/console/records",
        "edge": edge_id,
        "edge_name": "alpha",
        "flagged_edge": yard,
        "records": 3,
        "pages": PAGES.iter().map(|(path, scope)| serde_json::json!({"path": path, "scope": scope})).collect::<Vec<_>>(),
        "sections": PAGES.iter().map(|(href, scope)| serde_json::json!({"href": href, "scope": scope})).collect::<Vec<_>>(),
        "axe": axe,
        "chromium": "/usr/bin/chromium",
        "screenshots": shots,
        "tls_cert": hub.dir.join("server.pem"),
        "tls_key": hub.dir.join("server.key"),
    });
    run_browser_checks(&python, &plan, dir.path());
    drop(edge);
    drop(hub_process);
    // The hub's audit log: sign-ins both ways, the revocation, refusals.
    let entries = audit_entries(&hub.dir);
    let has = |action: &str, outcome: &str| {
        entries
            .iter()
            .any(|e| e["action"] == action && e["outcome"] == outcome)
    };
    assert!(has("users.create", "success"), "user creation recorded");
    assert!(has("auth.login", "success"), "sign-in recorded");
    assert!(has("auth.login", "failure"), "a refused sign-in recorded");
    assert!(has("console.csrf", "denied"), "a refused form recorded");
    assert!(has("auth.session", "denied"), "an ended session recorded");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "edges.revoke" && e["target"] == format!("edge:{edge_id}")),
        "the revocation recorded"
    );
    let revoked = block(async { hub.db().await.edge(&edge_id).await })
        .expect("db")
        .expect("edge");
    assert!(
        revoked.revoked_at.is_some(),
        "the edge is revoked in the hub database"
    );
}
