//! `[audit]`: where signed audit checkpoints are witnessed besides the
//! data directory.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[audit]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Append every signed checkpoint to this file, as one JSON line (a
    /// witness: put it on another volume or machine; `lensguard audit verify
    /// --trusted-checkpoint FILE` checks the log against it). Default none.
    pub checkpoint_file: Option<PathBuf>,
}

impl AuditSection {
    /// Validated; problems are added to `problems`.
    pub fn validate(&self, problems: &mut Vec<String>) -> AuditConfig {
        if let Some(f) = &self.checkpoint_file
            && (f.as_os_str().is_empty() || f.is_dir())
        {
            problems.push(format!(
                "audit.checkpoint_file: {} is not a file path",
                f.display()
            ));
        }
        AuditConfig {
            checkpoint_file: self.checkpoint_file.clone(),
        }
    }
}

/// Validated `[audit]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// The checkpoint witness file, when set.
    pub checkpoint_file: Option<PathBuf>,
}
