//! An edge with no hub makes no outbound connection, proven by tracing
//! every `connect(2)` of the service and its threads with strace while it
//! inspects photos; the same probe on an enrolled edge (hub unreachable)
//! does see its connection attempts, so the probe can fail.
//!
//! strace comes from the Debian package `strace` (installed by
//! `scripts/install-test-deps`); without it the test is skipped with a loud
//! message, or fails under `CI=true`.

use super::common::Server;
use super::harness::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn strace_missing() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "strace is required under CI=true; run scripts/install-test-deps"
        );
        eprintln!(
            "SKIPPED: strace is missing (Debian package strace); run scripts/install-test-deps"
        );
    }
    !ok
}

/// Runs the edge in `data_dir` under strace, submits photos, waits, stops;
/// returns the network `connect` calls it made (IPv4 and IPv6).
fn traced_connects(data_dir: &Path, key: &str, trace: &Path) -> Vec<String> {
    let mut strace = Command::new("strace");
    strace
        .args(["-f", "-qq", "-e", "trace=connect", "-o"])
        .arg(trace)
        .arg(env!("CARGO_BIN_EXE_lensguard"));
    let config = data_dir.with_extension("toml");
    std::fs::write(
        &config,
        "models_dir = \"/nonexistent-lensguard-models\"\n[hub]\nretry_initial_ms = 100\nretry_max_seconds = 1\n",
    )
    .unwrap();
    let edge = Server::start_via(strace, data_dir, &["--config", config.to_str().unwrap()]);
    for _ in 0..5 {
        assert_eq!(submit(&edge, key, "cam-air").0, 201);
    }
    // Long enough for an enrolled edge's delivery task to try several times.
    std::thread::sleep(Duration::from_secs(3));
    // Stop the service itself (strace's child, which this test started):
    // SIGTERM to strace would only detach it.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", edge.pid()))
        .unwrap_or_default();
    for pid in children.split_whitespace() {
        let _ = Command::new("kill").args(["-TERM", pid]).status();
    }
    edge.stop();
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("connect(") && (l.contains("AF_INET") || l.contains("AF_INET6")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_air_gapped_edge_never_connects_anywhere() {
    if strace_missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gapped = dir.path().join("gapped");
    let key = prepare_edge(&gapped);
    let connects = traced_connects(&gapped, &key, &dir.path().join("gapped.trace"));
    println!(
        "air-gapped edge: {} outbound connection attempts",
        connects.len()
    );
    assert!(
        connects.is_empty(),
        "an edge with no hub connected: {connects:#?}"
    );
    assert_eq!(outbox_depth(&gapped), 0, "nothing is queued without a hub");

    // The probe sees an enrolled edge trying to reach its (stopped) hub.
    let hub = HubDir::init(&dir.path().join("hub"), None);
    let port = free_port();
    let enrolled = dir.path().join("enrolled");
    let key = prepare_edge(&enrolled);
    {
        let _hub = hub.serve(port);
        enrol(&enrolled, &HubDir::url(port), &hub.token("probe")).unwrap();
    }
    let connects = traced_connects(&enrolled, &key, &dir.path().join("enrolled.trace"));
    println!(
        "enrolled edge, hub down: {} outbound connection attempts",
        connects.len()
    );
    assert!(
        connects
            .iter()
            .any(|c| c.contains(&format!("htons({port})"))),
        "the probe must see the enrolled edge's attempts: {connects:#?}"
    );
    assert_eq!(outbox_depth(&enrolled), 5);
}
