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
//! - [`ffprobe`] decodes recorded segments with FFmpeg's `ffprobe`.
//! - [`forgery`] rewrites an audit log the way an attacker with write access would.

pub mod encode;
pub mod exif_block;
pub mod fetched;
pub mod ffprobe;
pub mod fixtures;
pub mod forgery;
pub mod postgres;
pub mod process;
pub mod rsyslog;
pub mod rtsp_server;
pub mod scene;
pub mod softhsm;

use std::path::PathBuf;

/// The directory of the package whose test is running: cargo sets
/// `CARGO_MANIFEST_DIR` when it runs a test, and that value comes first,
/// because a shared target directory can hold a crate compiled in another
/// checkout of the workspace, whose compile-time path (`compiled`, pass
/// `env!("CARGO_MANIFEST_DIR")`) may be gone.
pub fn package_dir(compiled: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(compiled), PathBuf::from)
}

/// The workspace root (where `samples/` and `Cargo.lock` live): the nearest
/// such folder above the running test's package.
pub fn workspace_root() -> PathBuf {
    let package = package_dir(env!("CARGO_MANIFEST_DIR"));
    let package = package.canonicalize().unwrap_or(package);
    package
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file() && dir.join("samples").is_dir())
        .map_or_else(|| package.join("../.."), PathBuf::from)
}

/// The committed sample photos that the README's run command inspects.
pub fn samples_dir() -> PathBuf {
    workspace_root().join("samples")
}

/// The committed malformed inputs, one file per attack or failure.
pub fn bad_input_dir() -> PathBuf {
    workspace_root().join("crates/lensguard-testkit/data/bad-input")
}
