//! Enrolment, delivery and revocation on both hub backends; what leaves is
//! only what the egress manifest names, each batch has an egress receipt,
//! and the metrics need credentials.

use super::common::{Server, get_with, lensguard, text};
use super::harness::*;

/// Enrols an edge, delivers, checks what arrived, then revokes it.
fn deliver_then_revoke(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubDir::init(&dir.path().join("hub"), database);
    let port = free_port();
    let hub_process = hub.serve(port);
    let token = hub.token("dock-1");

    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    let edge_id = enrol(&edge_dir, &HubDir::url(port), &token).expect("enrolled");
    // The token was for one edge.
    let again = enrol(&dir.path().join("second"), &HubDir::url(port), &token);
    assert!(
        again.as_ref().is_err_and(|e| e.contains("refused")),
        "{again:?}"
    );

    let manager = super::common::create_key(&edge_dir, &["evidence:manage"], &[]);
    let edge = start_edge(&edge_dir, "");
    let mut acked = Vec::new();
    for i in 0..12 {
        let (status, id) = submit(&edge, &key, &format!("van-{}", i % 3));
        assert_eq!(status, 201);
        acked.push(id.unwrap());
    }
    wait_until(30, "the hub to hold 12 records", || {
        hub_counts(&hub, &edge_id) == (12, 12)
    });
    let (records, inspections) = hub_counts(&hub, &edge_id);
    println!(
        "sent 12, acknowledged {}, delivered {records}, distinct {inspections}, duplicates {}",
        acked.len(),
        records - inspections
    );

    // Only the manifest's fields arrived; the hub answers queries by device.
    let operator = hub.operator_token();
    let held = block(async {
        let db = hub.db().await;
        db.records(
            &lensguard_store::hub::RecordFilter {
                device: Some("van-1".into()),
                ..Default::default()
            },
            100,
        )
        .await
        .unwrap()
    });
    assert_eq!(held.len(), 4);
    for r in &held {
        let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
        assert_eq!(v["manifest"], "fleet-test@3");
        let mut keys: Vec<&String> = v["data"].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["id", "submission", "verdict"],
            "only the manifest's fields leave"
        );
        assert!(acked.contains(&v["data"]["id"].as_str().unwrap().to_owned()));
    }
    // Hub query API: operator token required.
    let hub_get = |path: &str, token: Option<&str>| hub_request(port, &hub.dir, path, token);
    assert_eq!(hub_get("/v1/records?device=van-1", None).0, 401);
    let (status, body) = hub_get("/v1/records?device=van-1&limit=3", Some(&operator));
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    assert!(page["next_cursor"].is_string());
    assert_eq!(hub_get("/metrics", Some(&operator)).0, 200);

    // Edge metrics need the metrics:read scope.
    let m = get_with(&edge, "/metrics", &key);
    assert_eq!(m.status, 200, "{}", m.body);
    assert!(
        m.body
            .contains("lensguard_outbox_delivered_records_total 12"),
        "{}",
        m.body
    );
    assert!(m.body.contains("lensguard_outbox_depth 0"), "{}", m.body);
    assert_eq!(super::common::request(&edge, "GET", "/metrics").status, 401);

    // An erasure's deletion receipts reach the hub too (kind deletion_receipt).
    let erased = super::common::send(
        &edge,
        "POST",
        "/v1/erasure",
        &[
            ("authorization", &format!("Bearer {manager}")),
            ("content-type", "application/json"),
        ],
        br#"{"device": "van-0"}"#.to_vec(),
    );
    assert_eq!(erased.status, 200, "{}", erased.body);
    let receipts = || {
        block(async {
            let db = hub.db().await;
            let filter = lensguard_store::hub::RecordFilter {
                kind: Some("deletion_receipt".into()),
                ..Default::default()
            };
            let found = db.records(&filter, 100).await.unwrap();
            db.close().await;
            found
        })
    };
    wait_until(30, "4 deletion receipts at the hub", || {
        receipts().len() == 4
    });
    for r in receipts() {
        let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
        assert_eq!(v["data"]["method"], "row-delete", "{v}");
        assert!(acked.contains(&v["data"]["inspection"].as_str().unwrap().to_owned()));
    }

    // Revoked: the next request is refused; the outbox keeps what it has.
    hub.revoke(&edge_id);
    for _ in 0..3 {
        assert_eq!(submit(&edge, &key, "van-9").0, 201);
    }
    wait_until(20, "delivery failures to show", || {
        get_with(&edge, "/metrics", &key).body.lines().any(|l| {
            l.starts_with("lensguard_outbox_delivery_failures_total") && !l.ends_with(" 0")
        })
    });
    assert_eq!(
        hub_counts(&hub, &edge_id),
        (16, 12),
        "a revoked edge delivers nothing (12 inspections, 4 receipts)"
    );
    // `edge status` says the edge is revoked and since when delivery fails.
    let status = lensguard(&["edge", "status", "--data-dir", edge_dir.to_str().unwrap()]);
    assert!(status.status.success(), "{}", text(&status.stderr));
    let said = text(&status.stdout);
    assert!(said.contains("REVOKED by the hub"), "{said}");
    assert!(
        said.contains("delivery: FAILING since ") && said.contains("the hub revoked this edge"),
        "{said}"
    );
    let (_, stderr) = edge.stop();
    assert!(
        stderr.contains("the hub revoked this edge (it answered 403"),
        "{stderr}"
    );
    assert_eq!(outbox_depth(&edge_dir), 3, "nothing accepted is dropped");

    // Every batch that left has an egress receipt; the report reconciles.
    let report = lensguard(&[
        "egress",
        "report",
        "--json",
        "--data-dir",
        edge_dir.to_str().unwrap(),
    ]);
    assert!(report.status.success(), "{}", text(&report.stderr));
    let line: serde_json::Value =
        serde_json::from_str(text(&report.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["manifests"], "fleet-test@3");
    assert!(line["records_sent"].as_u64().unwrap() >= 12);
    assert!(line["distinct_records"].as_u64().unwrap() >= 12);
    drop(hub_process);
}

/// GET `path` on the hub at `port`, trusting its CA, with an operator token.
pub fn hub_request(
    port: u16,
    hub_dir: &std::path::Path,
    path: &str,
    token: Option<&str>,
) -> (u16, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
        .arg(hub_dir.join("ca.pem"))
        .args(
            token
                .map(|t| vec!["-H".to_owned(), format!("Authorization: Bearer {t}")])
                .unwrap_or_default(),
        )
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    let all = text(&out.stdout);
    let (body, code) = all.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn an_enrolled_edge_delivers_to_a_sqlite_hub_until_revoked() {
    deliver_then_revoke(None);
}

#[test]
fn an_enrolled_edge_delivers_to_a_postgres_hub_until_revoked() {
    let Some(server) = lensguard_testkit::postgres::Postgres::start() else {
        return;
    };
    deliver_then_revoke(Some(server.create_database("fleet")));
}

fn copy_audit(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["log.jsonl", "checkpoints.jsonl", "signing.key"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
}

/// The database files of a stopped edge (the audit anchor lives there).
fn copy_database(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["lensguard.db", "lensguard.db-wal", "lensguard.db-shm"] {
        let _ = std::fs::remove_file(to.join(name));
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).unwrap();
        }
    }
}

#[test]
fn an_edge_whose_audit_log_was_rolled_back_is_flagged_at_the_hub() {
    let fleet = Fleet::enrolled("yard");
    let (hub, key, edge_dir, edge_id) = (&fleet.hub, &fleet.key, &fleet.edge_dir, &fleet.edge_id);
    let dir = &fleet.dir;
    // The log as it stood at enrolment (signed on close).
    copy_audit(&edge_dir.join("audit"), &dir.path().join("saved-audit"));
    copy_database(edge_dir, &dir.path().join("saved-db"));
    let checkpoint = || {
        block(async {
            let db = hub.db().await;
            let e = db.edge(edge_id).await.unwrap().unwrap();
            db.close().await;
            (e.checkpoint_size, e.flag_reason)
        })
    };
    let mut accepted = 0;
    for _ in 0..2 {
        // Each start delivers the newest checkpoint: the one signed when
        // the previous run (or the enrolment) closed the log.
        let edge = start_edge(edge_dir, "");
        assert_eq!(submit(&edge, key, "cam-r").0, 201);
        wait_until(20, "the hub to accept a newer checkpoint", || {
            checkpoint().0 > accepted
        });
        accepted = checkpoint().0;
        edge.stop();
    }
    let (grown, flag) = checkpoint();
    assert!(flag.is_none(), "{flag:?}");
    // The hub is the edge's witness: the checkpoints it accepted verify
    // against the edge's log.
    let listed = lensguard(&[
        "hub",
        "checkpoints",
        "--edge",
        edge_id,
        "--data-dir",
        hub.dir.to_str().unwrap(),
        "--database",
        &hub.database,
    ]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let witnessed = dir.path().join("hub-checkpoints.jsonl");
    std::fs::write(&witnessed, &listed.stdout).unwrap();
    let verify_against_hub = || {
        lensguard(&[
            "audit",
            "verify",
            "--data-dir",
            edge_dir.to_str().unwrap(),
            "--trusted-checkpoint",
            witnessed.to_str().unwrap(),
        ])
    };
    let verified = verify_against_hub();
    assert!(verified.status.success(), "{}", text(&verified.stderr));
    assert!(text(&verified.stdout).contains("witnessed: the log extends"));
    // Someone restores the older log: its newest checkpoint is smaller than
    // what the hub already accepted. The edge itself refuses it (the log no
    // longer extends the checkpoint its database anchored) ...
    std::fs::remove_dir_all(edge_dir.join("audit")).unwrap();
    copy_audit(&dir.path().join("saved-audit"), &edge_dir.join("audit"));
    let refusal = Server::refused(edge_dir, "models_dir = \"/nonexistent-lensguard-models\"\n");
    assert!(
        refusal.contains("does not extend the checkpoint kept outside it"),
        "{refusal}"
    );
    // ... so the whole data directory is restored, database included: only
    // the hub, outside the machine, still knows the history was longer.
    copy_database(&dir.path().join("saved-db"), edge_dir);
    let edge = start_edge(edge_dir, "");
    wait_until(20, "the hub to flag the edge", || checkpoint().1.is_some());
    let (size, reason) = checkpoint();
    println!("hub checkpoint {grown} entries; after the rollback: {reason:?}");
    assert_eq!(size, grown, "a rollback does not move the hub's checkpoint");
    assert!(reason.unwrap().starts_with("rollback"));
    let verified = verify_against_hub();
    assert_eq!(
        verified.status.code(),
        Some(1),
        "the restored log is shorter than its witness"
    );
    let (_, stderr) = edge.stop();
    assert!(
        stderr.contains("flagged this edge's audit checkpoint"),
        "{stderr}"
    );
    let listing = lensguard(&[
        "hub",
        "edges",
        "--data-dir",
        hub.dir.to_str().unwrap(),
        "--database",
        &hub.database,
    ]);
    assert!(
        text(&listing.stdout).contains("FLAGGED: rollback"),
        "{}",
        text(&listing.stdout)
    );
}
