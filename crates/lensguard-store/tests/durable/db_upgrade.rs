//! Opening a schema-4 database (before the vault): the plaintext derivatives
//! table is dropped, and results stored back then get the default 30-day
//! retention and a content hash, so the sweeper deletes them with receipts.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use lensguard_store::audit::{AuditLog, AuditOptions};
use lensguard_store::db::Db;
use lensguard_store::vault::{KeySource, MasterKey, Vault};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::sync::Arc;

const SCHEMA_4: &str = "
CREATE TABLE inspections (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, actor TEXT NOT NULL,
    idempotency_key TEXT, verdict TEXT NOT NULL, report TEXT NOT NULL, device_id TEXT);
CREATE TABLE derivatives (inspection_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, jpeg BLOB NOT NULL);
INSERT INTO inspections VALUES ('old-1', 1790000000, 'key:a', NULL, 'pass', '{\"verdict\":\"pass\"}', 'cam-1');
INSERT INTO derivatives VALUES ('old-1', 1790000000, X'FFD8FFE0');
PRAGMA user_version = 4;
";

#[tokio::test]
async fn a_schema_4_database_is_upgraded_and_its_results_expire_with_receipts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lensguard.db");
    {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .expect("old database");
        sqlx::raw_sql(SCHEMA_4)
            .execute(&pool)
            .await
            .expect("schema 4");
        pool.close().await;
    }
    let db = Db::open(&path).await.expect("upgrade");
    assert!(
        db.get_inspection("old-1").await.expect("get").is_some(),
        "results survive"
    );
    let audit = Arc::new(
        AuditLog::open(&dir.path().join("audit"), AuditOptions::default()).expect("audit"),
    );
    let master = MasterKey::from_file(&dir.path().join("master.key"), true).expect("master");
    let stored = time::OffsetDateTime::from_unix_timestamp(1_790_000_000).expect("time");
    let vault = Vault::open(
        &db,
        &dir.path().join("vault"),
        KeySource::MasterKey(master),
        audit,
        stored,
    )
    .await
    .expect("vault");
    let guard = std::time::Duration::from_secs(72 * 3600);
    let day = time::Duration::days(1);
    let mut when = stored;
    let mut deleted = Vec::new();
    while when < stored + day * 31 {
        when += day * 2;
        let r = vault.sweep(when, guard, None).await.expect("sweep");
        deleted.extend(r.deleted.into_iter().map(|d| (when, d)));
    }
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    let (at, receipt) = &deleted[0];
    assert!(*at >= stored + day * 30, "not before 30 days: {at}");
    assert_eq!(receipt.object, "inspection:old-1");
    assert_eq!(receipt.content_sha256.len(), 64);
    assert_eq!(receipt.policy, "before-retention@0");
    assert!(db.get_inspection("old-1").await.expect("get").is_none());
    let bytes = std::fs::read(&path).expect("db file");
    assert!(
        !bytes.windows(4).any(|w| w == b"\xFF\xD8\xFF\xE0"),
        "the old plaintext derivative is gone"
    );
}
