//! The embedded database (SQLite in `<data dir>/lensguard.db`).
//!
//! Opened in WAL mode with `synchronous = FULL`, so a committed transaction is on
//! disk before the call returns (anything acknowledged to a client is durable
//! first). The schema is created on open and versioned with `PRAGMA user_version`.
//! Queries are checked at run time (no live database needed to build). Schema 2
//! added users, sessions and the owner bootstrap, schema 3 the inspections'
//! device id, schema 4 the redacted derivatives, schema 5 the evidence vault
//! (`vault_*`, `legal_holds`; derivatives moved into sealed blobs, so the
//! plaintext `derivatives` table is dropped) and the results' retention
//! columns, schema 6 the edge's outbox ([`outbox`]), schema 7 the digest of
//! the request stored with an idempotency key, schema 8 the owner of an API
//! key, schema 9 the audit log's anchor ([`anchor`]), schema 10 the device
//! scopes of keys and users, schema 11 the watched folders' claims
//! ([`claims`]), schema 12 the camera events ([`events`]), schema 13 the
//! cameras' recorded segments and gaps ([`footage`]), schema 14 the evidence
//! cases ([`cases`]), schema 15 a session's idle limit, last use and client
//! (the console's sessions) and the overrides of verdicts ([`overrides`]); opening an older file
//! upgrades it in place (`IF NOT EXISTS`, and
//! an `ALTER TABLE` when a column is missing). `secure_delete` is on: a
//! deleted row's bytes are zeroed in the file.

mod anchor;
mod cases;
mod claims;
mod events;
mod footage;
mod inspections;
mod keys;
mod outbox;
mod overrides;
mod scim;
mod sessions;
mod sso;
mod summary;
mod users;

pub use anchor::AuditAnchor;
pub use cases::{Case, CaseItem, CaseItemKind, Selection, StoredCaseItem};
pub use claims::{Claim, FileIdentity};
pub use events::{CameraEventFilter, NewCameraEvent, StoredCameraEvent};
pub use footage::{NewSegment, RecordingGap, StoredSegment};
pub use inspections::{IdempotentOriginal, InspectionFilter, NewInspection, StoredInspection};
pub use keys::{ApiKey, IssuedKey, KeyCheck, NewKey, TOKEN_PREFIX};
pub(crate) use outbox::enqueue as enqueue_outbox;
pub use outbox::{NewOutboxRecord, OutboxEntry, OutboxLimits, OutboxStats};
pub use overrides::{NewOverride, OverrideFilter, StoredOverride};
pub use scim::{
    ScimAccess, ScimApplied, ScimConflict, ScimKind, ScimPut, ScimResource, ScimWrite, new_scim_id,
};
pub use sessions::{
    BOOTSTRAP_PREFIX, BOOTSTRAP_TTL, IssuedSession, SESSION_PREFIX, SessionInfo, SessionOrigin,
    SessionTerms, session_id,
};
pub use sso::{Deprovisioned, ExternalPerson, NO_PASSWORD, SsoRefusal};
pub use summary::Summary;
pub use users::{
    LoginRefusal, MAX_PASSWORD, MIN_PASSWORD, NewUser, TotpEnrolment, User, VerifiedLogin,
    check_password, check_username,
};

use crate::Error;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

const SCHEMA_VERSION: i64 = 17;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    allowed_cidrs TEXT NOT NULL,
    secret_hash BLOB NOT NULL,
    previous_hash BLOB,
    previous_valid_until INTEGER,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER,
    owner TEXT,
    devices TEXT
);
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    idempotency_key TEXT,
    request_sha256 TEXT,
    verdict TEXT NOT NULL,
    report TEXT NOT NULL,
    device_id TEXT,
    expires_at INTEGER,
    content_sha256 TEXT,
    policy TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS inspections_idempotency ON inspections (actor, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS inspections_created ON inspections (created_at, id);
DROP TABLE IF EXISTS derivatives;
CREATE TABLE IF NOT EXISTS vault_objects (
    id TEXT PRIMARY KEY,
    inspection_id TEXT NOT NULL,
    category TEXT NOT NULL,
    device_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL,
    content_sha256 TEXT NOT NULL,
    policy TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS vault_objects_expiry ON vault_objects (expires_at);
CREATE INDEX IF NOT EXISTS vault_objects_inspection ON vault_objects (inspection_id, category);
CREATE INDEX IF NOT EXISTS vault_objects_device ON vault_objects (device_id);
CREATE TABLE IF NOT EXISTS vault_keks (
    category TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    sealed_key BLOB NOT NULL,
    wraps INTEGER NOT NULL,
    PRIMARY KEY (category, version)
);
CREATE TABLE IF NOT EXISTS vault_tombstones (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    category TEXT NOT NULL,
    inspection TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    policy TEXT NOT NULL,
    action TEXT NOT NULL,
    deleted_at INTEGER NOT NULL,
    method TEXT NOT NULL,
    evidence INTEGER NOT NULL,
    receipted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS vault_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    high_water INTEGER NOT NULL,
    paused_at INTEGER
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    depth INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS legal_holds (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT,
    range_from INTEGER,
    range_to INTEGER,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    lifted_at INTEGER,
    lifted_by TEXT
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret BLOB NOT NULL,
    totp_last_step INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    disabled_at INTEGER,
    devices TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    secret_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    idle_seconds INTEGER,
    last_seen_at INTEGER,
    client TEXT
);
CREATE TABLE IF NOT EXISTS bootstrap (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token_hash BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
";

/// The database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
}

impl Db {
    /// Opens (or creates) `path`, creating the schema if needed.
    pub async fn open(path: &Path) -> Result<Db, Error> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows (destroyed wrapped data keys) are overwritten with
            // zeros, not left in free pages.
            .pragma("secure_delete", "on")
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&pool)
            .await?;
        if version > SCHEMA_VERSION {
            return Err(Error::Misconfigured(format!(
                "{} was written by a newer lensguard (schema {version}, this build knows {SCHEMA_VERSION})",
                path.display()
            )));
        }
        sqlx::raw_sql(SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(anchor::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(claims::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(events::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(footage::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(cases::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(overrides::SCHEMA).execute(&pool).await?;
        sqlx::raw_sql(scim::SCHEMA).execute(&pool).await?;
        // Columns added after schema 1: device_id (3), retention (5), the
        // request digest (7).
        for (column, ty) in [
            ("device_id", "TEXT"),
            ("expires_at", "INTEGER"),
            ("content_sha256", "TEXT"),
            ("policy", "TEXT"),
            ("request_sha256", "TEXT"),
        ] {
            let has: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pragma_table_info('inspections') WHERE name = ?",
            )
            .bind(column)
            .fetch_one(&pool)
            .await?;
            if has == 0 {
                sqlx::raw_sql(&format!("ALTER TABLE inspections ADD COLUMN {column} {ty}"))
                    .execute(&pool)
                    .await?;
            }
        }
        // The key owner (8): keys made before it belong to no user; device
        // scopes (10): credentials made before them read every device.
        // A session's idle limit, last use and client (15). A user's identity
        // provider, subject and SCIM id, a session's provider and subject (16).
        for (table, column) in [
            ("api_keys", "owner"),
            ("api_keys", "devices"),
            ("users", "devices"),
            ("sessions", "idle_seconds"),
            ("sessions", "last_seen_at"),
            ("sessions", "client"),
            ("users", "provider"),
            ("users", "subject"),
            ("users", "scim_id"),
            ("sessions", "provider"),
            ("sessions", "subject"),
        ] {
            let has: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?")
                    .bind(table)
                    .bind(column)
                    .fetch_one(&pool)
                    .await?;
            if has == 0 {
                let ty = if column.ends_with("_seconds") || column.ends_with("_at") {
                    "INTEGER"
                } else {
                    "TEXT"
                };
                sqlx::raw_sql(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))
                    .execute(&pool)
                    .await?;
            }
        }
        retain_legacy_results(&pool).await?;
        outbox::recount(&pool).await?;
        sqlx::raw_sql(
            "CREATE INDEX IF NOT EXISTS inspections_device ON inspections (device_id, created_at);
             CREATE UNIQUE INDEX IF NOT EXISTS users_external ON users (provider, subject)
                 WHERE provider IS NOT NULL;
             CREATE UNIQUE INDEX IF NOT EXISTS users_scim ON users (scim_id) WHERE scim_id IS NOT NULL;
             CREATE INDEX IF NOT EXISTS inspections_expiry ON inspections (expires_at);",
        )
        .execute(&pool)
        .await?;
        sqlx::raw_sql(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .execute(&pool)
            .await?;
        Ok(Db { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The connection pool, for benchmarks that drive a [`crate::vault::Keyring`]
    /// directly.
    #[doc(hidden)]
    pub fn pool_for_bench(&self) -> SqlitePool {
        self.pool.clone()
    }
}

/// SQL that holds when `column` is a device the JSON array of patterns in
/// parameter `param` permits (`van-7`, or `van-*` by prefix), or when the
/// parameter is NULL (no device scope).
pub(crate) fn in_device_scope(column: &str, param: &str) -> String {
    format!(
        "({param} IS NULL OR EXISTS (SELECT 1 FROM json_each({param}) AS p WHERE
              {column} = p.value
              OR (substr(p.value, -1) = '*'
                  AND substr({column}, 1, length(p.value) - 1)
                      = substr(p.value, 1, length(p.value) - 1))))"
    )
}

/// Results stored before schema 5 had no expiry: they get the default
/// retention (30 days from when they were stored), their report's SHA-256 and
/// a policy tag, so the sweeper and erasure requests cover them with receipts.
async fn retain_legacy_results(pool: &SqlitePool) -> Result<(), Error> {
    use sha2::{Digest, Sha256};
    let legacy: Vec<(String, String)> =
        sqlx::query_as("SELECT id, report FROM inspections WHERE expires_at IS NULL")
            .fetch_all(pool)
            .await?;
    for (id, report) in legacy {
        sqlx::query(
            "UPDATE inspections SET expires_at = created_at + 30 * 86400, content_sha256 = ?,
                 policy = 'before-retention@0' WHERE id = ?",
        )
        .bind(hex::encode(Sha256::digest(report.as_bytes())))
        .bind(&id)
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Seconds since the Unix epoch.
pub(crate) fn unix(t: time::OffsetDateTime) -> i64 {
    t.unix_timestamp()
}
