//! An override of a verdict leaves the edge only as the egress manifest
//! names it: the named fields, never who or why; with no override fields
//! named, nothing about overrides is queued at all.

use super::common::{Server, create_key, send};
use super::harness::{
    HubDir, block, enrol, free_port, outbox_depth, prepare_edge, start_edge, wait_until,
};

const POLICY: &str = "version = 1\nname = \"fleet-test\"\nrevision = 3\n\n\
    [overrides]\nreasons = [\"blurry\", \"capture_time_stale\"]\n\n\
    [egress]\nfields = [\"id\", \"verdict\"]\noverride_fields = [\"inspection\", \"from_verdict\", \"verdict\"]\n";

fn blurred(edge: &Server, key: &str) -> String {
    let photo = std::fs::read(lensguard_testkit::samples_dir().join("blurred.jpg")).unwrap();
    let auth = format!("Bearer {key}");
    let r = send(
        edge,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", "image/jpeg")],
        photo,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["verdict"], "retry", "{v}");
    v["id"].as_str().unwrap().to_owned()
}

fn override_pass(edge: &Server, key: &str, id: &str) {
    let auth = format!("Bearer {key}");
    let body =
        serde_json::json!({"verdict": "pass", "reason": "parcel label legible, driver 4471"});
    let r = send(
        edge,
        "POST",
        &format!("/v1/inspections/{id}/overrides"),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.to_string().into_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

fn hub_overrides(hub: &HubDir) -> Vec<serde_json::Value> {
    block(async {
        let db = hub.db().await;
        let found = db
            .records(
                &lensguard_store::hub::RecordFilter {
                    kind: Some("override".into()),
                    ..Default::default()
                },
                100,
            )
            .await
            .unwrap();
        db.close().await;
        found
            .iter()
            .map(|r| serde_json::from_str(&r.payload).unwrap())
            .collect()
    })
}

#[test]
fn an_override_reaches_the_hub_only_as_the_manifest_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubDir::init(&dir.path().join("hub"), None);
    let port = free_port();
    let _hub_process = hub.serve(port);
    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    std::fs::write(edge_dir.join("policy.toml"), POLICY).unwrap();
    let reviewer = create_key(&edge_dir, &["inspections:override"], &[]);
    let admin = create_key(&edge_dir, &["policy:manage"], &[]);
    enrol(&edge_dir, &HubDir::url(port), &hub.token("dock-1")).expect("enrolled");
    let edge = start_edge(&edge_dir, "");

    let first = blurred(&edge, &key);
    override_pass(&edge, &reviewer, &first);
    wait_until(30, "the hub to hold the override", || {
        hub_overrides(&hub).len() == 1
    });
    let held = &hub_overrides(&hub)[0];
    assert_eq!(held["manifest"], "fleet-test@3");
    assert_eq!(
        held["data"],
        serde_json::json!({"inspection": first, "from_verdict": "retry", "verdict": "pass"}),
        "only the named fields leave: not who, not why"
    );

    // A policy naming no override fields: the next override is not queued.
    let none = POLICY.replace("revision = 3", "revision = 4").replace(
        "override_fields = [\"inspection\", \"from_verdict\", \"verdict\"]\n",
        "",
    );
    let auth = format!("Bearer {admin}");
    let r = send(
        &edge,
        "PUT",
        "/v1/policy",
        &[
            ("authorization", &auth),
            ("content-type", "application/toml"),
        ],
        none.into_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let second = blurred(&edge, &key);
    wait_until(30, "the outbox to drain", || outbox_depth(&edge_dir) == 0);
    override_pass(&edge, &reviewer, &second);
    assert_eq!(
        outbox_depth(&edge_dir),
        0,
        "nothing was queued for the override"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        hub_overrides(&hub).len(),
        1,
        "the hub got no second override"
    );
}
