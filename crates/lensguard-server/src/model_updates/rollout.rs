//! Which edges a rollout's waves take, and so which release each edge is
//! told to run ([`plan_for`]).
//!
//! Invariants: edges are ordered by the SHA-256 of their id (stable, not
//! chosen by anyone, and the same on every hub process); a share of `p`
//! percent of `n` edges takes exactly the first `floor(p * n / 100)` of
//! them, so 30% of 10 edges is 3, never 2 or 4. A lock names the release
//! an edge runs whatever the rollouts say. Revoked edges are not counted.

use crate::fleet::wire::ModelPlan;
use lensguard_store::hub::Rollout;
use sha2::{Digest, Sha256};

/// `ids` in wave order.
pub fn wave_order(ids: &[String]) -> Vec<String> {
    let mut keyed: Vec<([u8; 32], &String)> = ids
        .iter()
        .map(|id| (Sha256::digest(id.as_bytes()).into(), id))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id.clone()).collect()
}

/// How many of `n` edges a share of `percent` takes.
pub fn taken(percent: i64, n: usize) -> usize {
    let n = n as u128;
    let p = percent.clamp(0, 100) as u128;
    (p * n / 100) as usize
}

/// The plan for `edge_id`, one of `edges` (the unrevoked ones), at `now`.
pub fn plan_for(
    edge_id: &str,
    edges: &[String],
    rollouts: &[Rollout],
    locks: &[(String, String)],
    now: i64,
) -> ModelPlan {
    let order = wave_order(edges);
    let rank = order.iter().position(|e| e == edge_id);
    let mut plan = ModelPlan::default();
    for r in rollouts {
        let in_wave = rank.is_some_and(|i| i < taken(r.share_at(now), order.len()));
        let release = if in_wave {
            Some(r.version.clone())
        } else {
            r.previous.clone()
        };
        plan.releases.insert(r.name.clone(), release);
    }
    for (name, version) in locks {
        plan.releases.insert(name.clone(), Some(version.clone()));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(percent: i64, paused: bool) -> Rollout {
        Rollout {
            name: "faces".into(),
            version: "2".into(),
            previous: Some("1".into()),
            started_at: 0,
            wave_percent: percent,
            wave_seconds: 3600,
            paused_at: paused.then_some(10),
        }
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("edge-{i}")).collect()
    }

    fn taking(edges: &[String], r: &Rollout, now: i64) -> usize {
        edges
            .iter()
            .filter(|e| {
                plan_for(e, edges, std::slice::from_ref(r), &[], now).releases["faces"].as_deref()
                    == Some("2")
            })
            .count()
    }

    #[test]
    fn thirty_percent_of_ten_edges_is_three() {
        let edges = ids(10);
        assert_eq!(taking(&edges, &rollout(30, false), 0), 3);
        assert_eq!(taking(&edges, &rollout(30, false), 3600), 6);
        assert_eq!(taking(&edges, &rollout(30, false), 4 * 3600), 10);
        assert_eq!(taken(30, 7), 2);
    }

    #[test]
    fn pausing_holds_the_wave() {
        let edges = ids(10);
        assert_eq!(taking(&edges, &rollout(30, true), 100 * 3600), 3);
    }

    #[test]
    fn the_order_does_not_depend_on_the_listing() {
        let mut edges = ids(10);
        let first = wave_order(&edges);
        edges.reverse();
        assert_eq!(wave_order(&edges), first);
    }

    #[test]
    fn a_lock_wins_over_the_rollout() {
        let edges = ids(10);
        let locks = vec![("faces".to_owned(), "1".to_owned())];
        for e in &edges {
            let plan = plan_for(e, &edges, &[rollout(100, false)], &locks, 0);
            assert_eq!(plan.releases["faces"].as_deref(), Some("1"));
        }
    }
}
