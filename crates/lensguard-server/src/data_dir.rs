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
    private_files();
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
    private_files();
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

/// Makes everything this process creates from now on private to its owner
/// (umask 077: files 0600, folders 0700), SQLite's journal and WAL files
/// included. [`create`] and [`require`] call it, so every command that works
/// on a data directory (and what it writes elsewhere: exports, evidence it
/// reads out) creates private files.
pub fn private_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Takes group and other permissions off what `dir` holds (files 0600,
/// folders 0700), for data directories made before lensguard did so itself;
/// the vault's blobs, written 0600 from the start, are not walked.
pub fn tighten(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let restrict = |path: &Path, mode: u32| -> anyhow::Result<()> {
            let meta = std::fs::symlink_metadata(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
                return Ok(());
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot restrict {}", path.display()))
        };
        let mut folders = vec![dir.to_path_buf()];
        while let Some(folder) = folders.pop() {
            restrict(&folder, 0o700)?;
            if folder.file_name().is_some_and(|n| n == "vault") && folder != dir {
                continue;
            }
            for entry in std::fs::read_dir(&folder)
                .with_context(|| format!("cannot read {}", folder.display()))?
            {
                let path = entry?.path();
                let kind = std::fs::symlink_metadata(&path)?.file_type();
                if kind.is_dir() {
                    folders.push(path);
                } else if kind.is_file() {
                    restrict(&path, 0o600)?;
                }
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` readable by its owner only (0600), replacing
/// it atomically (a temporary file beside it, synced, then renamed).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::common::durable::write(path, bytes, crate::common::durable::Mode::Private)
        .with_context(|| format!("cannot write {}", path.display()))
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
