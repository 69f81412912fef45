//! The hub's database: enrolled edges, their delivered records, their audit
//! checkpoints, enrolment and operator tokens, the hub's users and their
//! sessions ([`users`]), and model rollouts ([`models`]).
//!
//! One schema, two backends through `sqlx::Any`: SQLite (a file in the hub's
//! data directory, the embedded default) and PostgreSQL (fleets; several hub
//! processes may share one database). Every query is written once, with
//! `$N` placeholders both backends accept, and every type is one both map the
//! same way (`BIGINT` seconds since the epoch, `TEXT`).
//!
//! Invariants, each held by the database rather than by one process's memory
//! (so they hold with several hub processes):
//!
//! - A record is identified by `(edge_id, seq)`, the primary key of
//!   `hub_records`; a batch is inserted in one transaction with
//!   `ON CONFLICT DO NOTHING`, so a batch sent twice (a lost acknowledgement, a
//!   restarted edge) is stored once ([`ingest`]).
//! - An enrolment token is used at most once: it is consumed by one
//!   conditional `UPDATE` that only one caller can win ([`edges`]).
//! - An edge's accepted checkpoint only moves forward, and only with a
//!   consistency proof from the one before; a rollback or a fork flags the
//!   edge ([`checkpoints`]). The update is a compare-and-swap on the stored
//!   size.
//! - Only secrets' SHA-256 digests are stored (tokens are 256-bit random, so a
//!   slow hash adds nothing).

pub mod checkpoints;
pub mod edges;
pub mod ingest;
pub mod models;
pub mod query;
pub mod users;

use crate::Error;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

pub use checkpoints::{CheckpointOutcome, CheckpointUpdate};
pub use edges::{Edge, EnrolmentToken, NewEdge};
pub use ingest::{IngestOutcome, IngestRecord};
pub use models::{EdgeModel, Rollout};
pub use query::{EgressSummary, RecordCounts, RecordFilter, StoredRecord};

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS hub_edges (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        enrolled_at BIGINT NOT NULL,
        cert_sha256 TEXT NOT NULL,
        audit_key TEXT NOT NULL,
        revoked_at BIGINT,
        flagged_at BIGINT,
        flag_reason TEXT,
        checkpoint_size BIGINT NOT NULL DEFAULT 0,
        checkpoint_root TEXT,
        checkpoint_time BIGINT,
        last_seen BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS hub_edges_cert ON hub_edges (cert_sha256)",
    "CREATE TABLE IF NOT EXISTS hub_enrolment_tokens (
        id TEXT PRIMARY KEY,
        secret_sha256 TEXT NOT NULL,
        edge_name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT,
        edge_id TEXT
    )",
    "CREATE TABLE IF NOT EXISTS hub_records (
        edge_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        kind TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        manifest TEXT NOT NULL,
        inspection_id TEXT,
        device_id TEXT,
        verdict TEXT,
        payload TEXT NOT NULL,
        PRIMARY KEY (edge_id, seq)
    )",
    "CREATE INDEX IF NOT EXISTS hub_records_time ON hub_records (created_at)",
    "CREATE INDEX IF NOT EXISTS hub_records_device ON hub_records (device_id, created_at)",
    "CREATE INDEX IF NOT EXISTS hub_records_verdict ON hub_records (verdict, created_at)",
    "CREATE TABLE IF NOT EXISTS hub_checkpoints (
        edge_id TEXT NOT NULL,
        size BIGINT NOT NULL,
        root TEXT NOT NULL,
        signed_at BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        checkpoint TEXT NOT NULL,
        PRIMARY KEY (edge_id, size)
    )",
    "CREATE TABLE IF NOT EXISTS hub_operator_tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        secret_sha256 TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    )",
];

/// Which database holds the hub's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The hub's database.
#[derive(Debug, Clone)]
pub struct HubDb {
    pool: AnyPool,
    backend: Backend,
}

impl HubDb {
    /// Opens `url` (`sqlite:///path/hub.db` or `postgres://...`), creating
    /// the schema if needed. SQLite runs in WAL mode with `synchronous =
    /// FULL`, so a committed batch is on disk before it is acknowledged.
    pub async fn open(url: &str) -> Result<HubDb, Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Misconfigured(format!(
                "the hub database must be sqlite://PATH or postgres://..., not {:?}",
                url.split(':').next().unwrap_or("")
            )));
        };
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_owned(),
        };
        let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        for statement in SCHEMA.iter().chain(users::SCHEMA).chain(models::SCHEMA) {
            pool.execute(*statement).await?;
        }
        Ok(HubDb { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool (waits for connections to return).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// 32 random bytes, hex: a token's secret part.
pub(crate) fn random_secret() -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| Error::Internal("the system random generator failed".into()))?;
    Ok(hex::encode(bytes))
}

/// SHA-256 of `secret`, hex.
pub(crate) fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two hex digests.
pub(crate) fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}
