//! Evidence cases leaving the installation: bundles that prove themselves.
//!
//! A case (store: `lensguard_store::db` cases, holds and audit in
//! `lensguard_store::vault`) is exported as a folder ([`bundle`] has the
//! layout and invariants) by [`export`], and checked offline by [`verify`]
//! with only the folder and the installation's public keys. Media carry
//! C2PA manifests ([`provenance`]) signed by the installation's evidence
//! certificate ([`signing`]).

pub mod bundle;
pub mod export;
pub mod provenance;
mod readme;
pub mod signing;
pub mod verify;
