//! Domain types and rules of lensguard, free of I/O.
//!
//! This crate owns what every other crate agrees on:
//!
//! - [`limits::Limits`]: every untrusted size, with documented defaults;
//! - [`config`]: the service configuration and its pure validation;
//! - [`access`]: scopes, roles, and the `Granted<S>` capability that proves a
//!   permission was checked; [`Sensitive`] for secrets that refuse to leak;
//! - [`report`]: the versioned inspection report (`lensguard.inspection.v1`), the
//!   schema that `lensguard check --json` prints and the HTTP API returns;
//! - [`policy`]: the TOML policy model, its pure validation, and the built-in
//!   proof-of-delivery default;
//! - [`rules`]: judging measurements against a policy, and [`rules::decide`],
//!   which turns check statuses into a verdict;
//! - [`phash`]: the 64-bit perceptual hash, its distance, and the duplicate index
//!   (which stores hashes, never pixels).
//!
//! Invariant: nothing here reads files, opens sockets, reads the clock or starts a
//! runtime; callers pass `now` and bytes in.

pub mod access;
pub mod config;
pub mod devices;
pub mod egress;
pub mod error;
pub mod geo;
pub mod limits;
pub mod phash;
pub mod pixels;
pub mod policy;
pub mod report;
pub mod rules;
pub mod sensitive;
pub mod text;

pub use error::Error;
pub use limits::Limits;
pub use phash::{HashIndex, PerceptualHash};
pub use policy::Policy;
pub use report::{InspectionReport, Verdict};
pub use sensitive::Sensitive;
