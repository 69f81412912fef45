//! The tamper-evident audit log.
//!
//! # On-disk format (`<data dir>/audit/`)
//!
//! - `log.jsonl`: one line per entry, appended only:
//!   `<chain hash, 64 hex digits> <entry JSON>\n`. The entry JSON is an object
//!   `{"seq": N, "time": ..., "actor": ..., "action": ..., "outcome": ..., ...}`
//!   ([`AuditEvent`] with its sequence number first); `seq` counts from 0 with no
//!   gaps. Hashes are over the exact entry JSON bytes as written:
//!   - leaf hash `L(i) = SHA-256(0x00 || entry JSON)` (RFC 6962 leaf);
//!   - chain hash `C(i) = SHA-256(C(i-1) || L(i))`, with `C(-1)` = 32 zero bytes.
//! - `checkpoints.jsonl`: one signed tree head per line ([`Checkpoint`]): tree size,
//!   Merkle root (RFC 6962 over `L(0..size)`), time, key id, Ed25519 signature.
//!   Sizes never decrease. A checkpoint is written every
//!   [`AuditOptions::checkpoint_every`] entries (at most
//!   [`MAX_CHECKPOINT_EVERY`]; the log records its cadence in `audit.cadence`
//!   entries, and verification fails where checkpoints it requires are
//!   missing), after [`AuditOptions::checkpoint_interval`] with unsigned
//!   entries, on opening a log with an unsigned tail, and on close. Each is
//!   also handed to the log's witnesses ([`witness`]): copies kept elsewhere
//!   that a rewritten history no longer extends.
//! - `signing.key`: the Ed25519 private key, PKCS#8, mode 0600; or none, when
//!   the key is in the installation's PKCS#11 token.
//! - `signing.pub`: its public key, hex (what `verify` checks with when not
//!   given one).
//! - `lock`: held (advisory lock) by the one process that may append.
//!
//! # Invariants
//!
//! - An entry is acknowledged ([`AuditLog::append`] returns) only after its line is
//!   written and `fdatasync`ed. Appends from many threads are group-committed: one
//!   sync covers every entry queued while the previous one ran.
//! - Only an unacknowledged entry can be torn: a final line without its newline.
//!   Opening the log truncates such a tail; anything else that does not verify
//!   refuses to open, naming the first bad entry.
//! - A write or sync that fails poisons the log: every later append fails until it
//!   is reopened, so callers fail closed instead of acting unaudited.
//! - Modifying, deleting, inserting or reordering entries breaks `seq` or the chain
//!   at that entry; rewriting the whole chain after an edit, or truncating, breaks the
//!   signed checkpoints; deleting the checkpoints too breaks the cadence rule.
//!   [`verify`] checks all of it offline. Whoever holds `signing.key` can
//!   re-sign a rewritten history; only a witness outside their reach (the
//!   hub, a checkpoint file on another machine) exposes that.

mod checkpoint;
mod event;
mod export;
mod log;
pub mod merkle;
pub mod proofs;
mod pseudonym;
mod read;
pub mod search;
pub mod siem;
pub mod verify;
pub mod witness;

pub(crate) use checkpoint::write_private;
pub use checkpoint::{Checkpoint, Signer, folder_public_key, key_id};
pub use event::{AuditEvent, DeletionReceipt, EgressReceipt, Outcome, ParsedEntry};
pub use export::{ExportFormat, ExportSummary, export};
pub use log::{AuditLog, AuditOptions, OpenWith, Receipt};
pub use pseudonym::Pseudonymizer;
pub use read::{RawEntry, checkpoints, checkpoints_from, entries_from, for_each_entry};
pub use verify::MAX_CHECKPOINT_EVERY;
pub use witness::{FileWitness, Witness};

/// File names inside the audit folder.
pub mod files {
    /// The entries.
    pub const LOG: &str = "log.jsonl";
    /// The signed tree heads.
    pub const CHECKPOINTS: &str = "checkpoints.jsonl";
    /// The Ed25519 signing key (absent when it is in a PKCS#11 token).
    pub const SIGNING_KEY: &str = "signing.key";
    /// The signing key's public half, hex.
    pub const PUBLIC_KEY: &str = "signing.pub";
    /// The writer's lock.
    pub const LOCK: &str = "lock";
}
