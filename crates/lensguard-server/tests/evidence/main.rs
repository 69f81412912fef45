//! Evidence through the running service, in one test binary: the data
//! policy with retention, receipts, holds and erasure (`retention`), and the
//! vault's keys in a PKCS#11 token (`hsm`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

#[path = "../common/mod.rs"]
mod common;
mod hsm;
mod retention;
