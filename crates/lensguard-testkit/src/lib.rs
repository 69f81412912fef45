//! Test fixtures for lensguard: synthetic photos, EXIF blocks, and the committed
//! bad-input files. A dev-dependency only.
//!
//! - [`scene`] paints deterministic, photo-like RGB scenes (a parcel on a doorstep)
//!   and the classic failure variants: blurred, dark, overexposed, glare, foggy.
//! - [`encode`] writes them as JPEG (baseline or progressive), PNG or WebP, with an
//!   EXIF block built by [`exif_block`].
//! - [`fixtures`] builds the malformed files named after what they are
//!   (`truncated.jpg`, `bomb-65535x65535.png`, ...) and the sample photo set.
//! - [`fetched`] finds the model files and test photos `scripts/fetch-models`
//!   fetched from registry packages.
//! - [`softhsm`] makes throwaway SoftHSMv2 tokens for the PKCS#11 tests.
//! - [`postgres`] starts throwaway PostgreSQL servers for the hub's storage tests.
//! - [`rsyslog`] starts real rsyslog receivers (TLS) for the SIEM export tests.
//! - [`forgery`] rewrites an audit log the way an attacker with write access would.

pub mod encode;
pub mod exif_block;
pub mod fetched;
pub mod fixtures;
pub mod forgery;
pub mod postgres;
pub mod process;
pub mod rsyslog;
pub mod scene;
pub mod softhsm;

use std::path::PathBuf;

/// The workspace root (where `samples/` lives).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// The committed sample photos that the README's run command inspects.
pub fn samples_dir() -> PathBuf {
    workspace_root().join("samples")
}

/// The committed malformed inputs, one file per attack or failure.
pub fn bad_input_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/bad-input")
}
