//! Edge to hub, with real processes: `lensguard hub` (on SQLite, and on a
//! real PostgreSQL server), edges enrolled with one-time tokens, mutual TLS,
//! the outbox delivering through faults. Every fault test prints its counts
//! (sent, acknowledged, delivered, duplicates) and fails when one is wrong.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

mod air_gap;
#[path = "../common/mod.rs"]
mod common;
mod delivery;
mod faults;
mod harness;
mod hub_console;
mod model_rollout;
mod netns;
mod overrides;
mod siem;
