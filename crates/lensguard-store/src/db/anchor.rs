//! The audit log's anchor: the newest signed checkpoint, kept in the
//! database as well as beside the log (`audit_anchor`, one row).
//!
//! Whoever rewrites the audit folder (an entry edited, the chain recomputed,
//! `checkpoints.jsonl` emptied) must now also rewrite this row, or the
//! service refuses to start: it checks at every start that the log extends
//! the anchor ([`crate::audit::AuditLog::check_extends`]). The anchor is
//! written by the audit writer after each checkpoint ([`AuditAnchor`], a
//! [`Witness`]), from its own thread and its own connection, so it never
//! waits for the service's pool.
//!
//! # Invariants
//!
//! - The stored size never decreases: an older checkpoint never replaces a
//!   newer one.
//! - A missing row means no checkpoint was anchored yet (a new installation,
//!   or a data directory from before the anchor); the service says so when it
//!   adopts the log's newest checkpoint.

use super::Db;
use crate::Error;
use crate::audit::{Checkpoint, Witness};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The row that stores the anchor.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    checkpoint TEXT NOT NULL
);";

impl Db {
    /// The anchored checkpoint, if one was recorded.
    pub async fn audit_anchor(&self) -> Result<Option<Checkpoint>, Error> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT checkpoint FROM audit_anchor WHERE id = 1")
                .fetch_optional(self.pool())
                .await?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                Error::Corrupt(format!("the database's audit anchor is unreadable ({e})"))
            })
        })
        .transpose()
    }

    /// Records `checkpoint` as the anchor (used when adopting a log that has
    /// none anchored yet; the writer keeps it current afterwards).
    pub async fn set_audit_anchor(&self, checkpoint: &Checkpoint) -> Result<(), Error> {
        let mut conn = self.pool().acquire().await?;
        store(&mut conn, checkpoint).await
    }
}

async fn store(conn: &mut SqliteConnection, checkpoint: &Checkpoint) -> Result<(), Error> {
    let text = serde_json::to_string(checkpoint).map_err(|e| Error::Internal(e.to_string()))?;
    let size = i64::try_from(checkpoint.size)
        .map_err(|_| Error::Internal("checkpoint size out of range".to_owned()))?;
    sqlx::query(
        "INSERT INTO audit_anchor (id, size, checkpoint) VALUES (1, ?, ?)
         ON CONFLICT (id) DO UPDATE SET size = excluded.size, checkpoint = excluded.checkpoint
         WHERE excluded.size >= audit_anchor.size",
    )
    .bind(size)
    .bind(text)
    .execute(conn)
    .await?;
    Ok(())
}

/// The audit writer's witness that keeps the anchor current. It opens its
/// own connection (and a small runtime to drive it) on first use, in the
/// writer's thread.
pub struct AuditAnchor {
    path: PathBuf,
    open: Option<(tokio::runtime::Runtime, SqliteConnection)>,
}

impl std::fmt::Debug for AuditAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditAnchor({})", self.path.display())
    }
}

impl AuditAnchor {
    /// The anchor in the database file `path` (opened by [`Db::open`] first,
    /// which creates the table).
    pub fn new(path: &Path) -> AuditAnchor {
        AuditAnchor {
            path: path.to_path_buf(),
            open: None,
        }
    }

    fn connection(&mut self) -> Result<&mut (tokio::runtime::Runtime, SqliteConnection), String> {
        if self.open.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime: {e}"))?;
            let opts = SqliteConnectOptions::new()
                .filename(&self.path)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5));
            let conn = rt
                .block_on(SqliteConnection::connect_with(&opts))
                .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
            self.open = Some((rt, conn));
        }
        self.open.as_mut().ok_or_else(|| "no connection".to_owned())
    }
}

impl Witness for AuditAnchor {
    fn name(&self) -> String {
        format!("database {}", self.path.display())
    }

    fn record(&mut self, checkpoint: &Checkpoint) -> Result<(), String> {
        let (rt, conn) = self.connection()?;
        rt.block_on(store(conn, checkpoint))
            .map_err(|e| e.to_string())
    }
}
