//! The root of trust for model updates: the repository's `root.json`, as
//! an owner installed it (`lensguard models trust`), kept at
//! `<data dir>/models/trusted-root.json`.
//!
//! Invariants: a file is installed only if it parses as a TUF root signed
//! by a threshold of its own root keys (so a typo or a truncated copy is
//! refused); its fingerprint (SHA-256 of the file's bytes) is what the
//! owner compares with the publisher's and what the audit log records.
//! Later roots come through the repository's signed chain, never this way.

use super::UpdateError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tough::schema::{Root, Signed};

/// The installed root's file.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(super::DIR).join("trusted-root.json")
}

/// The SHA-256 of `bytes`, hex, as the fingerprint to compare.
pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A checked root: parsed, and signed by a threshold of its own root keys.
#[derive(Debug)]
pub struct CheckedRoot {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Its version.
    pub version: u64,
    /// Its fingerprint.
    pub fingerprint: String,
}

/// Checks `bytes` (read from `name`) as a self-signed TUF root.
pub fn check(name: &str, bytes: Vec<u8>) -> Result<CheckedRoot, UpdateError> {
    let root: Signed<Root> = serde_json::from_slice(&bytes)
        .map_err(|e| UpdateError::NotARoot(name.to_owned(), e.to_string()))?;
    root.signed
        .verify_role(&root)
        .map_err(|e| UpdateError::NotARoot(name.to_owned(), e.to_string()))?;
    Ok(CheckedRoot {
        version: root.signed.version.get(),
        fingerprint: fingerprint(&bytes),
        bytes,
    })
}

/// The installed root, or [`UpdateError::NoTrust`].
pub fn installed(data_dir: &Path) -> Result<Vec<u8>, UpdateError> {
    match std::fs::read(path(data_dir)) {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(UpdateError::NoTrust),
        Err(e) => Err(UpdateError::Io(path(data_dir).display().to_string(), e)),
    }
}
