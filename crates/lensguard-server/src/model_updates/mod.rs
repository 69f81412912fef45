//! Model updates signed as a TUF repository (The Update Framework), with
//! `tough` on both sides: what a bundle is ([`bundle`]); keys and roots
//! ([`keys`]); publishing bundles and timestamps ([`publish`]); which edges
//! a rollout takes ([`rollout`]); the root of trust a site
//! holds ([`trust`]); verifying a repository ([`verify`]); and on the edge,
//! the known-answer test ([`known_answer`]) and the two slots each
//! updatable detector switches between ([`slots`]).
//!
//! Invariants:
//! - Nothing of a repository is used before `tough` verified it against the
//!   trusted root: the root chain (each new root signed by a threshold of
//!   the old root's keys and its own), the timestamp, snapshot and targets
//!   signatures and thresholds, their versions against those last accepted
//!   (rollback), the snapshot's targets version (mix and match), sizes
//!   (endless data), and every target's length and SHA-256.
//! - An import is all or nothing: `tough` runs on a scratch copy of the
//!   accepted metadata, and only a wholly accepted import replaces it; a
//!   refused one leaves the site as it was.
//! - Expiry: root, targets and snapshot must not have expired. The
//!   timestamp may have expired by at most the import window (removable
//!   media travel for days), and an import that relies on it says so.

pub mod activation;
pub mod bundle;
pub mod keys;
pub mod known_answer;
pub mod publish;
pub mod rollout;
pub mod service;
pub mod slots;
pub mod trust;
pub mod verify;

/// Replaces `path` with `bytes` the one durable way
/// ([`crate::common::durable::write`]), the path in the error.
fn write_durably(
    path: &std::path::Path,
    bytes: &[u8],
    mode: crate::common::durable::Mode,
) -> Result<(), UpdateError> {
    crate::common::durable::write(path, bytes, mode)
        .map_err(|e| UpdateError::Io(path.display().to_string(), e))
}

/// Where in the data directory model updates live.
pub const DIR: &str = "models";

/// Why an import or a root was refused; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No root of trust was installed yet.
    #[error(
        "no root of trust: install the repository's root.json first (`lensguard models trust ROOT.json`)"
    )]
    NoTrust,
    /// The file is not a TUF root.
    #[error("{0} is not a TUF root.json: {1}")]
    NotARoot(String, String),
    /// The repository did not verify.
    #[error("the repository did not verify: {0}")]
    Refused(String),
    /// A publisher's command cannot do what was asked; it says why.
    #[error("{0}")]
    Publisher(String),
    /// A role expired.
    #[error("the {role} metadata expired at {at}: {what}")]
    Expired {
        /// Which role.
        role: &'static str,
        /// When (RFC 3339).
        at: String,
        /// What to do about it.
        what: &'static str,
    },
    /// A bundle's manifest is malformed or disagrees with the targets.
    #[error("bundle {0}: {1}")]
    Bundle(String, String),
    /// The audit log could not be written; nothing was changed.
    #[error("cannot write the audit log ({0}); nothing was changed")]
    Audit(String),
    /// Reading or writing the data directory failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}
