//! `[audit]`: where the audit log's signing key is held, and where signed
//! checkpoints are witnessed besides the data directory.

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
    /// Where the signing key is: `file` (`audit/signing.key`, the default)
    /// or `pkcs11` (a key pair made in the `[vault]` PKCS#11 token, which
    /// never leaves it). Chosen when the log is created: a log keeps its key.
    pub signing_key: Option<String>,
}

impl AuditSection {
    /// Validated; problems are added to `problems`. `vault_token` says
    /// whether `[vault]` names a PKCS#11 token.
    pub fn validate(&self, vault_token: bool, problems: &mut Vec<String>) -> AuditConfig {
        let signing_in_token = match self.signing_key.as_deref() {
            None | Some("file") => false,
            Some("pkcs11") => {
                if !vault_token {
                    problems.push(
                        "audit.signing_key: pkcs11 needs the token settings of [vault] \
                         (pkcs11_module, pkcs11_token_label)"
                            .to_owned(),
                    );
                }
                true
            }
            Some(other) => {
                problems.push(format!(
                    "audit.signing_key: {other:?} is not file or pkcs11"
                ));
                false
            }
        };
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
            signing_in_token,
        }
    }
}

/// Validated `[audit]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditConfig {
    /// The checkpoint witness file, when set.
    pub checkpoint_file: Option<PathBuf>,
    /// Sign with a key pair in the `[vault]` PKCS#11 token.
    pub signing_in_token: bool,
}
