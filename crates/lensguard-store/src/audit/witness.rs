//! Witnesses: second places that keep each signed checkpoint as it is made.
//!
//! A checkpoint in `checkpoints.jsonl` only proves what the files beside it
//! say; whoever can rewrite the folder can delete it. A witness keeps a copy
//! somewhere else, so a rewritten history no longer extends what it holds:
//! the service's database ([`crate::db::AuditAnchor`], checked at every
//! start), a file on another volume ([`FileWitness`]), the hub (edges send
//! their checkpoints with each delivery). `lensguard audit verify
//! --trusted-checkpoint` checks a log against any of them.
//!
//! # Invariants
//!
//! - The writer calls witnesses only after the checkpoint is durable in the
//!   log's own file, in signing order, from its one thread.
//! - A witness that fails does not stop the log (the checkpoint is already
//!   signed and kept); the failure is counted
//!   ([`crate::audit::AuditLog::witness_failures`]) so operators see it.

use super::checkpoint::Checkpoint;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Somewhere a signed checkpoint is copied to as it is made.
pub trait Witness: Send {
    /// What it is, for messages (`database`, `file /mnt/witness/cp.jsonl`).
    fn name(&self) -> String;
    /// Keeps `checkpoint`; an error says why it could not.
    fn record(&mut self, checkpoint: &Checkpoint) -> Result<(), String>;
}

/// Appends each checkpoint as one JSON line to a file (create it on a volume
/// the data directory's administrators cannot rewrite, or ship it off the
/// machine). The file is what `audit verify --trusted-checkpoint` reads.
#[derive(Debug)]
pub struct FileWitness {
    path: PathBuf,
}

impl FileWitness {
    /// A witness appending to `path` (created 0600 on first use).
    pub fn new(path: &Path) -> FileWitness {
        FileWitness {
            path: path.to_path_buf(),
        }
    }
}

impl Witness for FileWitness {
    fn name(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn record(&mut self, checkpoint: &Checkpoint) -> Result<(), String> {
        let mut line = serde_json::to_vec(checkpoint).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts
            .open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        f.write_all(&line)
            .and_then(|()| f.sync_data())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}
