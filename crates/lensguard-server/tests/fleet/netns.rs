//! The edge and the hub in two network namespaces joined by a veth pair,
//! with the link taken down, silently dropping every packet for 30 s, and
//! flapping, all under steady load: every acknowledged inspection reaches
//! the hub exactly once and the backlog drains after the repair.
//!
//! Topology (names carry the test's PID, so runs never collide):
//!
//! ```text
//!  test process ── veth 10.78.x.1/30 ── 10.78.x.2 [edge ns] 10.77.x.1 ── veth ── 10.77.x.2 [hub ns]
//!                   (load, never faulted)            (faults here: ip link, nft drop)
//! ```
//!
//! Needs root, `ip` (Debian iproute2) and `nft` (Debian nftables), installed
//! by `scripts/install-test-deps`; without them the test is skipped loudly,
//! or fails under `CI=true`.

use super::common::{Server, text};
use super::harness::*;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
}

fn prerequisites_missing() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    let why = if !root {
        "network namespaces need root"
    } else if !Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        "ip is missing (Debian package iproute2)"
    } else if !Command::new("nft")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        "nft is missing (Debian package nftables)"
    } else {
        return None;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; required under CI=true (run scripts/install-test-deps as root)"
    );
    eprintln!("SKIPPED: {why}");
    Some(why.to_owned())
}

/// Two namespaces and two veth pairs, removed on drop.
struct Net {
    edge_ns: String,
    hub_ns: String,
    host_if: String,
    /// The edge's end of the edge-hub link.
    link_if: String,
    /// Addresses: the edge as the test sees it, the hub as the edge sees it.
    edge_addr: String,
    hub_addr: String,
}

impl Net {
    fn new() -> Net {
        let id = std::process::id() % 60_000;
        let (a, b) = (id / 250 % 250 + 1, id % 250 * 4 % 252);
        let n = Net {
            edge_ns: format!("lge{id}"),
            hub_ns: format!("lgh{id}"),
            host_if: format!("lgt{id}"),
            link_if: format!("lgl{id}"),
            edge_addr: format!("10.78.{a}.{}", b + 2),
            hub_addr: format!("10.77.{a}.{}", b + 2),
        };
        let (e, h) = (n.edge_ns.as_str(), n.hub_ns.as_str());
        sh(&["ip", "netns", "add", e]);
        sh(&["ip", "netns", "add", h]);
        for ns in [e, h] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        // Test process <-> edge (load).
        let peer = format!("lgp{id}");
        sh(&[
            "ip", "link", "add", &n.host_if, "type", "veth", "peer", "name", &peer, "netns", e,
        ]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("10.78.{a}.{}/30", b + 1),
            "dev",
            &n.host_if,
        ]);
        sh(&["ip", "link", "set", &n.host_if, "up"]);
        sh(&[
            "ip",
            "-n",
            e,
            "addr",
            "add",
            &format!("{}/30", n.edge_addr),
            "dev",
            &peer,
        ]);
        sh(&["ip", "-n", e, "link", "set", &peer, "up"]);
        // Edge <-> hub (faulted).
        let hub_if = format!("lgk{id}");
        sh(&[
            "ip", "-n", e, "link", "add", &n.link_if, "type", "veth", "peer", "name", &hub_if,
            "netns", h,
        ]);
        sh(&[
            "ip",
            "-n",
            e,
            "addr",
            "add",
            &format!("10.77.{a}.{}/30", b + 1),
            "dev",
            &n.link_if,
        ]);
        sh(&["ip", "-n", e, "link", "set", &n.link_if, "up"]);
        sh(&[
            "ip",
            "-n",
            h,
            "addr",
            "add",
            &format!("{}/30", n.hub_addr),
            "dev",
            &hub_if,
        ]);
        sh(&["ip", "-n", h, "link", "set", &hub_if, "up"]);
        n
    }

    fn exec(&self, ns: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_lensguard")]);
        c
    }

    fn link(&self, up: bool) {
        sh(&[
            "ip",
            "-n",
            &self.edge_ns,
            "link",
            "set",
            &self.link_if,
            if up { "up" } else { "down" },
        ]);
    }

    /// Silently drops every packet between edge and hub (both directions).
    fn blackhole(&self, on: bool) {
        let nft = |rules: &str| {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.edge_ns, "nft", "-f", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(rules.as_bytes())?;
                    c.wait_with_output()
                })
                .expect("nft");
            assert!(out.status.success(), "nft: {}", text(&out.stderr));
        };
        if on {
            nft(&format!(
                "table inet lgfault {{\n chain o {{ type filter hook output priority 0; ip daddr {0} drop; }}\n chain i {{ type filter hook input priority 0; ip saddr {0} drop; }}\n}}\n",
                self.hub_addr
            ));
        } else {
            nft("delete table inet lgfault\n");
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        for ns in [&self.edge_ns, &self.hub_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

#[test]
fn link_down_silent_drop_and_flapping_lose_and_duplicate_nothing() {
    if prerequisites_missing().is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new();
    let hub = HubDir::init_named(&dir.path().join("hub"), None, &net.hub_addr);
    let _hub = hub.serve_via(net.exec(&net.hub_ns), &format!("{}:9443", net.hub_addr));
    let url = format!("https://{}:9443", net.hub_addr);
    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    let edge_id = enrol_via(net.exec(&net.edge_ns), &edge_dir, &url, &hub.token("site")).unwrap();
    let config = edge_dir.with_extension("toml");
    std::fs::write(
        &config,
        "models_dir = \"/nonexistent-lensguard-models\"\n[hub]\nretry_initial_ms = 200\nretry_max_seconds = 2\nrequest_timeout_seconds = 5\n",
    )
    .unwrap();
    let edge = Server::start_listening(
        net.exec(&net.edge_ns),
        &format!("{}:0", net.edge_addr),
        &edge_dir,
        &["--config", config.to_str().unwrap()],
    );

    // Steady load from the test process, never through the faulted link.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, key, data_dir, host, port) = (
            Arc::clone(&stop),
            key.clone(),
            edge_dir.clone(),
            net.edge_addr.clone(),
            edge.port(),
        );
        std::thread::spawn(move || {
            let (mut sent, mut acked) = (0u64, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                sent += 1;
                match try_submit(&host, port, &data_dir, &key) {
                    Ok((201, Some(id))) => acked.push(id),
                    other => {
                        panic!("the edge must keep accepting while the hub is away: {other:?}")
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (sent, acked)
        })
    };
    let held = || hub_counts(&hub, &edge_id).0;
    let phase =
        |name: &str, before: u64| println!("{name}: hub holds {} (+{})", held(), held() - before);

    std::thread::sleep(Duration::from_secs(2));
    let t = held();
    phase("before faults", 0);
    net.link(false);
    std::thread::sleep(Duration::from_secs(5));
    net.link(true);
    phase("after 5 s link down", t);

    let t = held();
    net.blackhole(true);
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(30));
    let during_drop = held();
    net.blackhole(false);
    println!(
        "silent drop for {} s: hub gained {} while it lasted",
        started.elapsed().as_secs(),
        during_drop.saturating_sub(t)
    );

    let t = held();
    for _ in 0..8 {
        net.link(false);
        std::thread::sleep(Duration::from_millis(1000));
        net.link(true);
        std::thread::sleep(Duration::from_millis(1000));
    }
    phase("after 8 flaps", t);

    stop.store(true, Ordering::SeqCst);
    let (sent, acked) = load.join().unwrap();
    wait_until(90, "the backlog to drain after the repair", || {
        outbox_depth(&edge_dir) == 0
    });
    let at_hub = hub_inspections(&hub, &edge_id);
    let lost: Vec<&String> = acked
        .iter()
        .filter(|id| !at_hub.contains_key(*id))
        .collect();
    let duplicates: u32 = at_hub.values().map(|n| n - 1).sum();
    println!(
        "sent {sent}, acknowledged {}, delivered {}, lost {}, duplicates {duplicates}",
        acked.len(),
        at_hub.len(),
        lost.len()
    );
    assert!(acked.len() > 100, "the load ran through the faults");
    assert!(lost.is_empty(), "acknowledged but not at the hub: {lost:?}");
    assert_eq!(duplicates, 0);
    assert_eq!(
        at_hub.len(),
        acked.len(),
        "nothing arrived that was not acknowledged"
    );
    drop(edge);
}
