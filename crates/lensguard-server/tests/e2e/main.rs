//! The service and the CLI end to end, in one test binary (one link instead
//! of fourteen): each module drives the real `lensguard` binary.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

#[path = "../common/mod.rs"]
mod common;

mod access_matrix;
mod api;
mod audit_cli;
mod cameras;
mod cases;
mod cli;
mod console;
mod fail_closed;
mod model_updates;
mod models;
mod mtls;
mod multipart;
mod overrides;
mod pictures;
mod policy_api;
mod recordings;
mod redact_cli;
mod redaction;
mod schemathesis;
mod scim;
mod serve;
mod sources;
mod sso;
mod tls_gate;
