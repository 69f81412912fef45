//! Retention as a property: with a simulated clock, after every sweep
//! everything expired and not on hold is gone, nothing else is touched, and a
//! second sweep changes nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use super::tests::{fixture, t0};
use super::{Caller, HoldTarget, NewObject};
use crate::db::NewInspection;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    /// Store evidence (or, with `result`, an inspection result) from device
    /// `device`, kept `days`.
    Put { device: u8, days: u32, result: bool },
    /// Hold device `device`.
    HoldDevice(u8),
    /// Hold what was created in the last `hours` hours.
    HoldRecent(u32),
    /// Lift the `n`th hold placed (if any).
    Lift(usize),
    /// Let `hours` pass (at most two days: below the clock guard).
    Advance(u32),
    /// Sweep.
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 1u32..6, any::<bool>()).prop_map(|(device, days, result)| Op::Put { device, days, result }),
        1 => (0u8..3).prop_map(Op::HoldDevice),
        1 => (1u32..48).prop_map(Op::HoldRecent),
        1 => (0usize..4).prop_map(Op::Lift),
        3 => (1u32..48).prop_map(Op::Advance),
        2 => Just(Op::Sweep),
    ]
}

#[derive(Debug)]
struct Model {
    device: String,
    created: i64,
    expires: i64,
}

#[derive(Debug)]
enum ModelHold {
    Device(String),
    Range(i64, i64),
}

fn held(m: &Model, holds: &[(String, ModelHold, bool)]) -> bool {
    holds.iter().any(|(_, h, active)| {
        *active
            && match h {
                ModelHold::Device(d) => *d == m.device,
                ModelHold::Range(from, to) => m.created >= *from && m.created < *to,
            }
    })
}

async fn run(ops: Vec<Op>) {
    let f = fixture().await;
    let max_jump = Duration::from_secs(72 * 3600);
    let caller = Caller::named("system:test");
    let mut now = t0();
    let mut live: BTreeMap<String, Model> = BTreeMap::new();
    let mut holds: Vec<(String, ModelHold, bool)> = Vec::new();
    let mut n = 0;
    let mut last_sweep = now;
    let mut pending_sweep = false;
    for op in ops {
        match op {
            Op::Put {
                device,
                days,
                result,
            } => {
                n += 1;
                let device = format!("dev-{device}");
                let inspection = format!("insp-{n}");
                let (created, expires) = if result {
                    let (created, expires) = f.vault.expiry(now, days).await.expect("expiry");
                    f.db.insert_inspection(
                        &NewInspection {
                            id: &inspection,
                            actor: "key:test",
                            idempotency_key: None,
                            request_sha256: None,
                            device_id: Some(&device),
                            verdict: "pass",
                            report: "{}",
                            expires_at: expires,
                            policy: "test@1",
                            outbox: None,
                        },
                        time::OffsetDateTime::from_unix_timestamp(created).expect("time"),
                    )
                    .await
                    .expect("insert")
                    .expect("new");
                    live.insert(
                        format!("inspection:{inspection}"),
                        Model {
                            device,
                            created,
                            expires,
                        },
                    );
                    continue;
                } else {
                    let info = f
                        .vault
                        .put(
                            &NewObject {
                                inspection_id: &inspection,
                                device_id: Some(&device),
                                keep_days: days,
                                policy: "test@1",
                            },
                            lensguard_core::pixels::__from_redaction::redacted(vec![7u8; 64]),
                            now,
                        )
                        .await
                        .expect("put");
                    live.insert(
                        format!("evidence:{}", info.id),
                        Model {
                            device,
                            created: info.created_at,
                            expires: info.expires_at,
                        },
                    );
                    (info.created_at, info.expires_at)
                };
                assert_eq!(expires - created, i64::from(days) * 86_400);
            }
            Op::HoldDevice(d) => {
                let device = format!("dev-{d}");
                let id = f
                    .vault
                    .place_hold(&HoldTarget::Device(device.clone()), "case", &caller, now)
                    .await
                    .expect("hold");
                holds.push((id, ModelHold::Device(device), true));
            }
            Op::HoldRecent(hours) => {
                let to = now.unix_timestamp() + 1;
                let from = to - i64::from(hours) * 3600;
                let id = f
                    .vault
                    .place_hold(&HoldTarget::Range { from, to }, "case", &caller, now)
                    .await
                    .expect("hold");
                holds.push((id, ModelHold::Range(from, to), true));
            }
            Op::Lift(k) => {
                if let Some((id, _, active)) = holds.get_mut(k) {
                    let lifted = f.vault.lift_hold(id, &caller, now).await.expect("lift");
                    assert_eq!(lifted, *active);
                    *active = false;
                }
            }
            Op::Advance(hours) => {
                now += time::Duration::hours(i64::from(hours));
                // The service sweeps hourly; the model must sweep at least
                // once per clock-guard window, or the guard (rightly) pauses.
                if now - last_sweep > time::Duration::hours(24) {
                    pending_sweep = true;
                }
            }
            Op::Sweep => pending_sweep = true,
        }
        if pending_sweep {
            pending_sweep = false;
            last_sweep = now;
            {
                let report = f.vault.sweep(now, max_jump, None).await.expect("sweep");
                assert!(report.paused.is_none());
                let t = now.unix_timestamp();
                let doomed: Vec<String> = live
                    .iter()
                    .filter(|(_, m)| m.expires <= t && !held(m, &holds))
                    .map(|(k, _)| k.clone())
                    .collect();
                let mut deleted: Vec<String> =
                    report.deleted.iter().map(|r| r.object.clone()).collect();
                deleted.sort();
                assert_eq!(deleted, doomed, "exactly the expired, unheld objects go");
                for k in &doomed {
                    live.remove(k);
                }
                for k in live.keys() {
                    let still = match k.split_once(':') {
                        Some(("evidence", id)) => f.vault.info(id).await.expect("info").is_some(),
                        Some((_, id)) => f.db.get_inspection(id).await.expect("get").is_some(),
                        None => false,
                    };
                    assert!(still, "{k} was deleted early or while held");
                }
                let again = f.vault.sweep(now, max_jump, None).await.expect("sweep");
                assert!(again.deleted.is_empty(), "a second sweep changes nothing");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sweeps_delete_exactly_what_expired_and_is_not_held(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(run(ops));
    }
}
