//! The first owner: a one-time token offered at start while no owner exists.
//!
//! The token is shown once and never written to a log: on a terminal it is
//! printed there; when the service runs without one (under a supervisor whose
//! output goes to a journal), it is written instead to `<data dir>/bootstrap-token`
//! (mode 0600, inside the 0700 data directory) and only that path is printed.
//! Each start replaces the token (only the newest works, for 24 hours); the
//! file is removed once an owner exists. The audit log records that a token
//! was issued, never the token.

use anyhow::Context;
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use lensguard_store::db::Db;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// The file the token goes to when there is no terminal.
pub fn token_file(data_dir: &Path) -> PathBuf {
    data_dir.join("bootstrap-token")
}

/// Removes a leftover token file (after the owner exists).
pub fn forget(data_dir: &Path) {
    let _ = std::fs::remove_file(token_file(data_dir));
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    crate::common::durable::write(path, text.as_bytes(), crate::common::durable::Mode::Private)
}

/// Issues and shows a bootstrap token when no owner exists yet.
pub async fn offer(db: &Db, audit: &AuditLog, data_dir: &Path) -> anyhow::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    if db.has_owner().await.context("cannot read the users")? {
        forget(data_dir);
        return Ok(());
    }
    let event = AuditEvent::new(now, "system", "users.bootstrap_token")
        .outcome(Outcome::Success, Some("issued; valid 24 h".to_owned()));
    audit
        .append(event)
        .context("cannot write the audit log; refusing to issue a bootstrap token")?;
    let Some(token) = db
        .begin_bootstrap(now)
        .await
        .context("cannot store the bootstrap token")?
    else {
        return Ok(());
    };
    // The notice is best effort: a closed standard output must not stop the
    // service (the token file, or a restart, still works).
    let mut out = std::io::stdout().lock();
    if out.is_terminal() {
        forget(data_dir);
        let _ = writeln!(
            out,
            "no owner yet: create one within 24 hours with this one-time token (shown once):\n  {}\n  curl -k https://HOST:PORT/v1/bootstrap -H 'content-type: application/json' \\\n    -d '{{\"token\": \"<token>\", \"username\": \"<name>\", \"password\": \"<12+ characters>\"}}'",
            token.expose()
        );
    } else {
        let path = token_file(data_dir);
        write_private(&path, token.expose())
            .with_context(|| format!("cannot write {}", path.display()))?;
        let _ = writeln!(
            out,
            "no owner yet: the one-time bootstrap token is in {} (valid 24 hours; POST it to /v1/bootstrap)",
            path.display()
        );
    }
    let _ = out.flush();
    Ok(())
}
