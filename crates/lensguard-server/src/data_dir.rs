//! What a lensguard data directory is, and who may create one.
//!
//! An *initialised* data directory holds the database (`lensguard.db`) and the
//! audit log (`audit/log.jsonl`). Only the commands that set up an
//! installation create one: `serve`, `keys create`, `users create` and
//! `edge enroll`. Every other command that works on a data directory calls
//! [`require`] first, so a mistyped `--data-dir` (or a command run from the
//! wrong folder) is refused with the path named, instead of a fresh empty
//! directory being created and "nothing to do" reported as success.
//!
//! Invariant: a directory this module creates is mode 0700 from the start.

use anyhow::{Context, bail};
use std::path::Path;

/// The database file's name in a data directory.
pub const DATABASE: &str = "lensguard.db";
/// The audit log, relative to a data directory.
pub const AUDIT_LOG: &str = "audit/log.jsonl";

/// Whether `dir` holds lensguard's database and audit log.
pub fn is_initialised(dir: &Path) -> bool {
    dir.join(DATABASE).is_file() && dir.join(AUDIT_LOG).is_file()
}

/// Refuses `dir` unless it is an initialised data directory; the message
/// names the path and what is missing.
pub fn require(dir: &Path) -> anyhow::Result<()> {
    if is_initialised(dir) {
        return Ok(());
    }
    let shown = dir.display();
    if !dir.exists() {
        bail!(
            "{shown} does not exist: not a lensguard data directory (pass --data-dir with the \
             service's data directory, or set LENSGUARD_DATA_DIR); nothing was done"
        );
    }
    let missing: Vec<&str> = [DATABASE, AUDIT_LOG]
        .into_iter()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    bail!(
        "{shown} is not an initialised lensguard data directory (no {}); pass --data-dir with \
         the service's data directory; nothing was done",
        missing.join(" and no ")
    )
}

/// Creates `dir` (and its parents) when missing and restricts it to its owner.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by its owner only (0600), replacing
/// it atomically (a temporary file beside it, synced, then renamed).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let ctx = || format!("cannot write {}", path.display());
    let mut f = opts.open(&tmp).with_context(ctx)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(ctx)?;
    std::fs::rename(&tmp, path).with_context(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_directory_with_database_and_audit_log_is_initialised() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("d");
        let err = require(&dir).expect_err("missing");
        assert!(err.to_string().contains("does not exist"), "{err}");
        create(&dir).expect("create");
        let err = require(&dir).expect_err("empty");
        assert!(
            err.to_string()
                .contains("no lensguard.db and no audit/log.jsonl"),
            "{err}"
        );
        std::fs::write(dir.join(DATABASE), b"").expect("db");
        std::fs::create_dir(dir.join("audit")).expect("audit");
        assert!(require(&dir).is_err());
        std::fs::write(dir.join(AUDIT_LOG), b"").expect("log");
        require(&dir).expect("initialised");
    }
}
