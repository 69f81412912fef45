//! Faults on loopback: acknowledgements lost after the hub committed, an
//! impostor hub, a full outbox, and the edge killed with SIGKILL 25 times
//! under steady load. Each prints its counts and fails when one is wrong:
//! every acknowledged inspection at the hub, exactly once.

use super::common::get_with;
use super::harness::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

const FAST_RETRY: &str =
    "[hub]\nretry_initial_ms = 100\nretry_max_seconds = 1\nrequest_timeout_seconds = 5\n";

#[test]
fn a_lost_acknowledgement_is_resent_and_the_hub_keeps_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let hub = HubDir::init(&dir.path().join("hub"), None);
    let hub_port = free_port();
    let _hub_process = hub.serve(hub_port);
    let proxy = Proxy::start(hub_port);
    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    let edge_id = enrol(&edge_dir, &HubDir::url(proxy.port), &hub.token("dock")).unwrap();

    // A backlog builds while the link is down, so it leaves as one batch.
    proxy.closed.store(true, Ordering::SeqCst);
    let edge = start_edge(&edge_dir, &format!("{FAST_RETRY}batch_records = 1000\n"));
    // Well past the proxy's batch threshold (8 KiB from the edge on one connection).
    let sent = 80;
    let mut acked = Vec::new();
    for _ in 0..sent {
        let (status, id) = submit(&edge, &key, "van-a");
        assert_eq!(status, 201);
        acked.push(id.unwrap());
    }
    proxy.drop_answers.store(2, Ordering::SeqCst);
    proxy.closed.store(false, Ordering::SeqCst);
    wait_until(30, "the outbox to drain", || outbox_depth(&edge_dir) == 0);
    let held = hub_inspections(&hub, &edge_id);
    let delivered = held.len();
    let duplicates: u32 = held.values().map(|n| n - 1).sum();
    let metrics = get_with(&edge, "/metrics", &key).body;
    let resent_and_deduplicated = metric(&metrics, "lensguard_outbox_hub_duplicates_total");
    println!(
        "sent {sent}, acknowledged {}, acknowledgements dropped {}, delivered {delivered}, duplicates at the hub {duplicates}, duplicates the hub absorbed {resent_and_deduplicated}",
        acked.len(),
        proxy.dropped.load(Ordering::SeqCst)
    );
    assert_eq!(
        proxy.dropped.load(Ordering::SeqCst),
        2,
        "two acknowledgements were dropped"
    );
    assert!(
        resent_and_deduplicated >= sent as u64,
        "the batch was sent again after the hub committed it"
    );
    assert_eq!(delivered, sent);
    assert_eq!(duplicates, 0);
    assert!(
        acked.iter().all(|id| held.contains_key(id)),
        "every acknowledged inspection is at the hub"
    );
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

#[test]
fn an_impostor_hub_gets_nothing_and_the_queue_keeps_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let real = HubDir::init(&dir.path().join("real"), None);
    let impostor = HubDir::init(&dir.path().join("impostor"), None);
    let port = free_port();
    let edge_dir = dir.path().join("edge");
    let key = prepare_edge(&edge_dir);
    let token = real.token("gate");
    // Enrolment: the token pins the real hub's CA; the impostor cannot take it.
    {
        let _impostor = impostor.serve(port);
        let refused = enrol(&edge_dir, &HubDir::url(port), &token).unwrap_err();
        assert!(
            refused.contains("did not present the CA named in the enrolment token"),
            "{refused}"
        );
        assert!(!edge_dir.join("hub/link.json").exists());
    }
    let edge_id = {
        let _real = real.serve(port);
        enrol(&edge_dir, &HubDir::url(port), &token).unwrap()
    };
    // The real hub is gone; an impostor answers at its address.
    let edge = start_edge(&edge_dir, FAST_RETRY);
    let sent = 10;
    {
        let _impostor = impostor.serve(port);
        for _ in 0..sent {
            assert_eq!(submit(&edge, &key, "van-i").0, 201);
        }
        wait_until(20, "delivery attempts to fail", || {
            metric(
                &get_with(&edge, "/metrics", &key).body,
                "lensguard_outbox_delivery_failures_total",
            ) >= 3
        });
        let impostor_holds = block(async {
            let db = impostor.db().await;
            db.records(&Default::default(), 1000).await.unwrap().len()
        });
        println!(
            "sent {sent}, acknowledged {sent}, impostor received {impostor_holds}, queued {}",
            outbox_depth(&edge_dir)
        );
        assert_eq!(impostor_holds, 0, "the impostor hub receives nothing");
        assert_eq!(outbox_depth(&edge_dir), sent, "the queue keeps it all");
    }
    let _real = real.serve(port);
    wait_until(30, "the real hub to receive the backlog", || {
        hub_counts(&real, &edge_id) == (sent, sent)
    });
    let (_, stderr) = edge.stop();
    assert!(
        stderr.contains("TLS"),
        "the impostor failed the TLS check: {stderr}"
    );
}

#[test]
fn a_full_outbox_refuses_new_photos_and_drops_nothing() {
    let mut fleet = Fleet::enrolled("yard");
    fleet.hub_process = None;
    let (hub, key, edge_dir, edge_id) = (&fleet.hub, &fleet.key, &fleet.edge_dir, &fleet.edge_id);
    let edge = start_edge(
        edge_dir,
        &format!("[outbox]\nmax_records = 3\n{FAST_RETRY}"),
    );
    let mut statuses: Vec<u16> = (0..5).map(|_| submit(&edge, key, "van-f").0).collect();
    assert_eq!(statuses, [201, 201, 201, 503, 503]);
    let refusal = super::common::send(
        &edge,
        "POST",
        "/v1/inspections",
        &[
            ("authorization", &format!("Bearer {key}")),
            ("content-type", "image/jpeg"),
        ],
        photo(),
    );
    statuses.push(refusal.status);
    assert_eq!(refusal.status, 503);
    assert!(refusal.body.contains("outbox_full"), "{}", refusal.body);
    assert_eq!(refusal.header("retry-after").as_deref(), Some("30"));
    let refused = metric(
        &get_with(&edge, "/metrics", key).body,
        "lensguard_outbox_refused_photos_total",
    );
    assert_eq!(refused, 3, "every refusal is counted");
    fleet.hub_process = Some(hub.serve(fleet.port));
    wait_until(30, "the backlog to drain", || {
        hub_counts(hub, edge_id) == (3, 3)
    });
    wait_until(10, "the outbox to empty", || outbox_depth(edge_dir) == 0);
    let again = submit(&edge, key, "van-f").0;
    statuses.push(again);
    assert_eq!(again, 201, "accepted again once drained");
    wait_until(30, "the last one to arrive", || {
        hub_counts(hub, edge_id).0 == 4
    });
    let (records, inspections) = hub_counts(hub, edge_id);
    let acknowledged = statuses.iter().filter(|s| **s == 201).count();
    println!(
        "sent {}, acknowledged {acknowledged}, refused {refused} with 503, delivered {records}, duplicates {}",
        statuses.len(),
        records - inspections
    );
    assert_eq!(
        (records, inspections),
        (acknowledged as u64, acknowledged as u64)
    );
}

#[test]
fn sigkill_25_times_under_load_loses_and_duplicates_nothing() {
    let fleet = Fleet::enrolled("van");
    let (hub, key, edge_dir, edge_id) = (&fleet.hub, &fleet.key, &fleet.edge_dir, &fleet.edge_id);
    let seed = std::env::var("LENSGUARD_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::process::id() as u64);
    println!("fault seed {seed} (LENSGUARD_FAULT_SEED to repeat)");
    let mut rng = Lcg(seed);
    let (mut attempts, mut acked, mut unanswered) = (0u64, Vec::new(), 0u64);
    for _ in 0..25 {
        let edge = start_edge(edge_dir, FAST_RETRY);
        let (edge_port, pid) = (edge.port(), edge.pid());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let load = {
            let (stop, key, data_dir) =
                (std::sync::Arc::clone(&stop), key.clone(), edge_dir.clone());
            std::thread::spawn(move || {
                let mut out = (0u64, Vec::new(), 0u64);
                while !stop.load(Ordering::SeqCst) {
                    out.0 += 1;
                    match try_submit("127.0.0.1", edge_port, &data_dir, &key) {
                        Ok((201, Some(id))) => out.1.push(id),
                        Ok((status, _)) => panic!("the edge answered {status}"),
                        Err(_) => {
                            out.2 += 1;
                            break;
                        }
                    }
                }
                out
            })
        };
        std::thread::sleep(Duration::from_millis(rng.range(150, 1200)));
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        stop.store(true, Ordering::SeqCst);
        let (a, ids, u) = load.join().unwrap();
        attempts += a;
        acked.extend(ids);
        unanswered += u;
        drop(edge);
    }
    let edge = start_edge(edge_dir, FAST_RETRY);
    wait_until(60, "the outbox to drain after the last restart", || {
        outbox_depth(edge_dir) == 0
    });
    drop(edge);
    let held = hub_inspections(hub, edge_id);
    let lost: Vec<&String> = acked.iter().filter(|id| !held.contains_key(*id)).collect();
    let duplicates: u32 = held.values().map(|n| n - 1).sum();
    println!(
        "kills 25, sent {attempts}, acknowledged {}, unanswered (killed mid-request) {unanswered}, delivered {}, lost {}, duplicates {duplicates}",
        acked.len(),
        held.len(),
        lost.len()
    );
    assert!(acked.len() >= 25, "the load ran");
    assert!(
        lost.is_empty(),
        "acknowledged but never delivered: {lost:?}"
    );
    assert_eq!(duplicates, 0);
    assert!(held.len() >= acked.len());
}
