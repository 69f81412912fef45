//! Model updates through a real hub: the hub publishes releases into its
//! TUF repository and rolls them out in waves; ten enrolled edges ask for
//! their plan over mutual TLS (a wave of 30% is exactly 3 of them, pausing
//! holds it); two edges run the service, verify the hub's repository with
//! `tough` over the enrolled link, run the known-answer test and activate
//! what their plan names, and the hub shows which edge runs which release.
//!
//! The passing of wave periods is simulated by moving the rollout's
//! recorded start earlier in the hub's database (through `HubDb`, as the
//! hub itself writes it); everything else runs as deployed.

use super::common::models::{active_release, faces_bundle};
use super::common::{lensguard, text};
use super::harness::{HubDir, block, enrol, free_port, prepare_edge, wait_until};
use std::path::Path;

fn ok(args: &[&str]) -> String {
    let out = lensguard(args);
    assert!(
        out.status.success(),
        "lensguard {}: {}{}",
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `GET path` on the hub with the client certificate of the edge in `edge_dir`.
fn as_edge(port: u16, hub: &Path, edge_dir: &Path, path: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-sf", "--cacert"])
        .arg(hub.join("ca.pem"))
        .arg("--cert")
        .arg(edge_dir.join("hub/edge.pem"))
        .arg("--key")
        .arg(edge_dir.join("hub/edge.key"))
        .arg(format!("https://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl");
    assert!(out.status.success(), "curl {path}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn hub_args<'a>(hub: &'a HubDir, cmd: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["hub", "models"];
    v.extend_from_slice(cmd);
    v.extend([
        "--data-dir",
        hub.dir.to_str().unwrap(),
        "--database",
        &hub.database,
    ]);
    v
}

/// Moves the start (and the pause, if any) of `name`'s rollout `seconds`
/// earlier, as if that much time had passed.
fn age_rollout(hub: &HubDir, name: &str, seconds: i64) {
    block(async {
        let db = hub.db().await;
        let mut r = db
            .rollouts()
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.name == name)
            .expect("a rollout");
        let paused = r.paused_at;
        r.started_at -= seconds;
        db.start_rollout(&r).await.unwrap();
        if let Some(p) = paused {
            assert!(db.pause_rollout(name, true, p - seconds).await.unwrap());
        }
        db.close().await;
    });
}

#[test]
fn a_hub_rolls_releases_out_in_waves_and_edges_take_what_their_plan_names() {
    let dir = tempfile::tempdir().unwrap();
    let Some(v1) = faces_bundle(dir.path(), "1", 0.0) else {
        return;
    };
    let v2 = faces_bundle(dir.path(), "2", 0.0).expect("fetched above");
    let hub = HubDir::init(&dir.path().join("hub"), None);
    let repo = hub.dir.join("models/repository");
    let keys = hub.dir.join("models/keys");
    ok(&[
        "models",
        "keys",
        "init",
        "--repo",
        repo.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--root-keys",
        dir.path().join("offline-root-keys").to_str().unwrap(),
    ]);
    let port = free_port();
    let _hub_process = hub.serve(port);
    let url = HubDir::url(port);

    // Ten enrolled edges.
    let mut edges = Vec::new();
    for i in 0..10 {
        let edge_dir = dir.path().join(format!("edge-{i}"));
        prepare_edge(&edge_dir);
        let id = enrol(&edge_dir, &url, &hub.token(&format!("edge {i}"))).unwrap();
        edges.push((id, edge_dir));
    }
    let plan = |edge_dir: &Path| as_edge(port, &hub.dir, edge_dir, "/v1/edge/models/plan");
    let taking = |version: &str| -> Vec<usize> {
        (0..edges.len())
            .filter(|i| plan(&edges[*i].1)["releases"]["faces"] == version)
            .collect()
    };

    // Release 1 to everyone, then release 2 in waves of 30% an hour.
    ok(&hub_args(
        &hub,
        &["publish", v1.to_str().unwrap(), "--wave-percent", "100"],
    ));
    assert_eq!(taking("1").len(), 10);
    let published = ok(&hub_args(
        &hub,
        &[
            "publish",
            v2.to_str().unwrap(),
            "--wave-percent",
            "30",
            "--wave-minutes",
            "60",
        ],
    ));
    assert!(published.contains("the rest keep 1"), "{published}");
    let first_wave = taking("2");
    assert_eq!(first_wave.len(), 3, "30% of 10 edges is exactly 3");
    assert_eq!(taking("1").len(), 7);

    // Paused, two hours later: still the same three.
    ok(&hub_args(&hub, &["pause", "faces"]));
    age_rollout(&hub, "faces", 2 * 3600);
    assert_eq!(taking("2"), first_wave, "pausing stops the rest");
    // Resumed, the waves go on from there: an hour later, 60%.
    ok(&hub_args(&hub, &["resume", "faces"]));
    age_rollout(&hub, "faces", 3600);
    let second = taking("2");
    assert_eq!(second.len(), 6);
    assert!(
        first_wave.iter().all(|i| second.contains(i)),
        "a wave only adds edges"
    );
    // A lock names one edge's release whatever the waves say.
    let locked = (0..10).find(|i| !second.contains(i)).unwrap();
    ok(&hub_args(
        &hub,
        &[
            "lock",
            "--edge",
            &edges[locked].0,
            "--name",
            "faces",
            "--version",
            "2",
        ],
    ));
    assert_eq!(plan(&edges[locked].1)["releases"]["faces"], "2");
    ok(&hub_args(
        &hub,
        &["lock", "--edge", &edges[locked].0, "--name", "faces"],
    ));
    assert_eq!(plan(&edges[locked].1)["releases"]["faces"], "1");
    // Back to the first wave for the edges that run below.
    age_rollout(&hub, "faces", -3600);
    assert_eq!(taking("2"), first_wave);

    // One edge in the wave and one outside it run the service: each
    // verifies the hub's repository, tests and activates what its plan names.
    let inside = &edges[first_wave[0]];
    let outside = &edges[(0..10).find(|i| !first_wave.contains(i)).unwrap()];
    let models = lensguard_testkit::fetched::models_dir();
    let config = "[hub]\nmodel_check_seconds = 1\n";
    let start = |edge_dir: &Path| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"));
        cmd.env("LENSGUARD_MODELS", &models);
        let file = edge_dir.with_extension("toml");
        std::fs::write(&file, config).unwrap();
        super::common::Server::start_via(cmd, edge_dir, &["--config", file.to_str().unwrap()])
    };
    let a = start(&inside.1);
    let b = start(&outside.1);
    let operator = hub.operator_token();
    let overview = || {
        let (code, body) =
            super::delivery::hub_request(port, &hub.dir, "/v1/models", Some(&operator));
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let runs = |edge: &str| -> Option<String> {
        overview()["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["edge"] == edge && e["model"] == "faces")
            .map(|e| {
                format!(
                    "{} {}",
                    e["version"].as_str().unwrap(),
                    e["state"].as_str().unwrap()
                )
            })
    };
    wait_until(120, "both edges report", || {
        runs(&inside.0).is_some() && runs(&outside.0).is_some()
    });
    assert_eq!(runs(&inside.0).as_deref(), Some("2 on-trial"));
    assert_eq!(runs(&outside.0).as_deref(), Some("1 on-trial"));
    // Each edge restarts in place to load what it activated; its next
    // report says the running service loaded it.
    let detail = |edge: &str| -> String {
        overview()["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["edge"] == edge && e["model"] == "faces")
            .map(|e| e["detail"].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    wait_until(120, "the edges load what they activated", || {
        detail(&inside.0).is_empty() && detail(&outside.0).is_empty()
    });
    for (_, edge_dir) in [inside, outside] {
        let entries = super::common::audit_entries(edge_dir);
        assert!(
            entries.iter().any(|e| e["action"] == "service.stop"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("restarting in place"))),
            "the restart is audited"
        );
        let starts = entries
            .iter()
            .filter(|e| e["action"] == "service.start")
            .count();
        assert!(starts >= 2, "the service started again ({starts})");
    }
    let status = ok(&hub_args(&hub, &["status"]));
    assert!(status.contains("rollout faces 2: 30% of edges"), "{status}");
    let audit = super::common::audit_entries(&inside.1);
    assert!(
        audit.iter().any(|e| e["action"] == "models.trust"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("from the enrolled hub"))),
        "the edge took its root of trust from the hub, audited"
    );
    drop(a);
    drop(b);
}

#[test]
fn hostile_repositories_behind_the_hub_are_refused_by_the_edge() {
    let Some(python) = super::common::test_python("tuf.api.metadata", "python-tuf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(bundle) = faces_bundle(dir.path(), "source", 0.0) else {
        return;
    };
    let repos = dir.path().join("repos");
    let built = std::process::Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tuf_repos.py"))
        .arg(&repos)
        .arg("--bundle")
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(built.success());
    let hub = HubDir::init(&dir.path().join("hub"), None);
    std::fs::create_dir_all(hub.dir.join("models")).unwrap();
    let served = hub.dir.join("models/repository");
    // The hub serves whatever its repository directory holds: each
    // scenario in turn, swapped in by renaming a link.
    let serve = |scenario: &str| {
        let next = hub.dir.join("models/repository.next");
        let _ = std::fs::remove_file(&next);
        std::os::unix::fs::symlink(repos.join(scenario), &next).unwrap();
        std::fs::rename(&next, &served).unwrap();
    };
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repos.join("plan.json")).unwrap()).unwrap();
    let scenarios = plan["scenarios"].as_array().unwrap();
    serve(scenarios[0]["dir"].as_str().unwrap());
    let port = free_port();
    let _hub_process = hub.serve(port);
    let edge_dir = dir.path().join("edge");
    prepare_edge(&edge_dir);
    enrol(&edge_dir, &HubDir::url(port), &hub.token("edge")).unwrap();
    let file = edge_dir.with_extension("toml");
    std::fs::write(&file, "[hub]\nmodel_check_seconds = 1\n").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"));
    cmd.env("LENSGUARD_MODELS", lensguard_testkit::fetched::models_dir());
    let edge =
        super::common::Server::start_via(cmd, &edge_dir, &["--config", file.to_str().unwrap()]);
    let failures = || -> Vec<String> {
        super::common::audit_entries(&edge_dir)
            .iter()
            .filter(|e| e["action"] == "models.update" && e["outcome"] == "failure")
            .map(|e| e["reason"].as_str().unwrap_or("").to_lowercase())
            .collect()
    };
    let mut wrong = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        let name = s["dir"].as_str().unwrap();
        let why = s["why"].as_str().unwrap();
        // Online there is no import window: the last good repository,
        // whose timestamp expired a day ago, is refused as a freeze.
        let accept = s["accept"].as_bool().unwrap() && !name.contains("stale-timestamp");
        serve(name);
        let before = failures().len();
        let kept = active_release(&edge_dir);
        if accept {
            let version = (i + 1).to_string();
            wait_until(60, &format!("{name} is taken in"), || {
                active_release(&edge_dir) == version
            });
            continue;
        }
        let why = if why.is_empty() { "expired" } else { why };
        // The second refusal after the swap comes from a round that began
        // after it (the first may be the previous scenario's).
        wait_until(30, &format!("{name} is refused"), || {
            failures().len() >= before + 2
        });
        let said = failures().last().cloned().unwrap_or_default();
        eprintln!("{name}: {said}");
        if !said.contains(why) {
            wrong.push(format!("{name}: the refusal does not say {why:?}: {said}"));
        }
        if active_release(&edge_dir) != kept {
            wrong.push(format!("{name} changed the active release"));
        }
    }
    drop(edge);
    assert!(wrong.is_empty(), "{wrong:#?}");
}
