//! Everything durable in lensguard.
//!
//! Today this is the tamper-evident audit log ([`audit`]): append-only, hash-chained,
//! an RFC 6962 Merkle tree over its entries, and Ed25519-signed checkpoints, so
//! anyone can check offline that no entry was changed, removed, inserted or
//! reordered. [`db`] holds the embedded SQLite database: API keys and
//! inspections. [`vault`] is the evidence vault: sealed blobs, the key
//! hierarchy, retention with deletion receipts, legal holds. The outbox will
//! live here too.
//!
//! Invariant: anything this crate acknowledges is on disk first (`fdatasync`
//! before `append` returns), and a write it cannot make is an error, never a
//! silent drop: callers must refuse the action they wanted to audit.

pub mod audit;
pub mod db;
mod error;
#[cfg(test)]
mod golden_tests;
pub mod hub;
pub mod identity;
pub mod pkcs11;
pub mod secrets;
pub mod vault;

pub use error::Error;
