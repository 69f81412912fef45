//! The evidence vault: pixels at rest, sealed, kept only as long as policy
//! says, and deleted provably.
//!
//! Each object (an original, a redacted derivative, a thumbnail) is one blob
//! file sealed under its own data key ([`envelope`] documents the bytes);
//! the data key exists on disk only wrapped by its category's current
//! key-encryption key ([`keyring`]), in the `vault_objects` row. Deleting an
//! object destroys that row (crypto-shredding: SQLite `secure_delete` zeroes
//! the freed bytes and the WAL is truncated afterwards), then the blob, and
//! leaves a deletion receipt in the audit log ([`retention`]).
//!
//! Invariants:
//! - A blob is written and synced (`fdatasync`, then its folder's entry)
//!   before its row commits; a blob without a row (a crash in between) has
//!   no key, is unreadable, and the sweeper removes it after an hour.
//! - Expiry is `created + keep_days`, where `created` is never earlier than the
//!   vault clock's high-water mark, so a clock set back cannot make anything
//!   expire early; a clock jumping forward pauses deletion ([`retention`]).
//! - Every integrity failure (altered blob, wrapped key or header; anything
//!   moved between objects, categories or key versions) is an
//!   [`Error::Integrity`], and is audited.

mod cases;
pub(crate) mod data_key;
pub mod envelope;
mod footage;
pub mod keyring;
pub use crate::pkcs11;
pub mod retention;
pub mod rewrap;

pub use data_key::DataKey;
pub use keyring::{KekVersion, KeySource, Keyring, MasterKey};
pub use pkcs11::Pkcs11Config;
pub use retention::{HoldTarget, LegalHold, SweepReport};

use crate::Error;
use crate::audit::{AuditEvent, AuditLog, Outcome};
use crate::db::Db;
use envelope::Binding;
use lensguard_core::policy::DataCategory;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Who asked for a vault operation (for its audit entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `user:ID`, `key:ID`, `system` or `system:cli`.
    pub actor: String,
    /// The client address, when there is a client.
    pub source_ip: Option<String>,
    /// The request id, when there is a request.
    pub request_id: Option<String>,
}

impl Caller {
    /// The service itself (the sweeper, the re-wrap job).
    pub fn system() -> Caller {
        Caller::named("system")
    }

    /// A caller with only a name.
    pub fn named(actor: &str) -> Caller {
        Caller {
            actor: actor.to_owned(),
            source_ip: None,
            request_id: None,
        }
    }

    pub(crate) fn event(&self, action: &str, now: time::OffsetDateTime) -> AuditEvent {
        AuditEvent {
            source_ip: self.source_ip.clone(),
            request_id: self.request_id.clone(),
            ..AuditEvent::new(now, self.actor.clone(), action)
        }
    }
}

/// Pixels ready to seal, with the category their type carries
/// ([`lensguard_core::pixels::Evidence`]): there is no way to name the
/// category beside the bytes, so an original cannot be stored as a
/// derivative. Neither an object nor sealable pixels take a category:
///
/// ```compile_fail
/// use lensguard_core::policy::DataCategory;
/// let _ = lensguard_store::vault::NewObject {
///     inspection_id: "i1",
///     category: DataCategory::Redacted,
///     device_id: None,
///     keep_days: 7,
///     policy: "proof-of-delivery@1",
/// };
/// ```
///
/// ```compile_fail
/// use lensguard_core::pixels::OriginalPhoto;
/// use lensguard_core::policy::DataCategory;
/// use lensguard_store::vault::Sealable;
/// let original: Sealable = OriginalPhoto::received(vec![0xff, 0xd8, 0xff]).into();
/// let _ = Sealable { category: DataCategory::Redacted, ..original };
/// ```
pub struct Sealable {
    category: DataCategory,
    plain: Vec<u8>,
}

impl<E: lensguard_core::pixels::Evidence> From<E> for Sealable {
    fn from(pixels: E) -> Sealable {
        Sealable {
            category: E::CATEGORY,
            plain: pixels.into_bytes(),
        }
    }
}

impl Sealable {
    /// The category it will be stored under.
    pub fn category(&self) -> DataCategory {
        self.category
    }
}

/// An object to store (its category comes with its pixels, [`Sealable`]).
#[derive(Debug, Clone, Copy)]
pub struct NewObject<'a> {
    /// The inspection it belongs to.
    pub inspection_id: &'a str,
    /// The submitting device, when known (for holds and erasure).
    pub device_id: Option<&'a str>,
    /// Days to keep it (at least 1).
    pub keep_days: u32,
    /// The policy that decided to keep it (`name@revision`).
    pub policy: &'a str,
}

/// A stored object's record (no key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Its id (a UUID).
    pub id: String,
    /// The inspection it belongs to.
    pub inspection_id: String,
    /// Its category.
    pub category: DataCategory,
    /// The submitting device.
    pub device_id: Option<String>,
    /// When it was stored (seconds since the epoch, vault clock).
    pub created_at: i64,
    /// When it expires (seconds since the epoch).
    pub expires_at: i64,
    /// The KEK version its data key is wrapped under.
    pub kek_version: u32,
    /// SHA-256 of the plaintext, hex.
    pub content_sha256: String,
    /// The policy that kept it.
    pub policy: String,
}

/// The evidence vault.
pub struct Vault {
    db: Db,
    dir: PathBuf,
    keyring: Keyring,
    audit: Arc<AuditLog>,
    /// The vault clock's high-water mark (`vault_clock.high_water`), kept in
    /// memory too: this process is the data directory's only writer (the
    /// audit log's lock), so the copy cannot go stale.
    high_water: std::sync::atomic::AtomicI64,
    /// Per category, the KEK version new data keys are wrapped under and its
    /// wrap count (the `vault_keks` row, cached for the ingest path;
    /// cleared whenever versions change).
    writing: std::sync::Mutex<std::collections::BTreeMap<DataCategory, (u32, i64)>>,
    /// Held by sweeps and erasures, so two never finish the same tombstone
    /// (which would write its receipt twice).
    pub(crate) deleting: tokio::sync::Mutex<()>,
    /// Whether each deletion receipt is also queued in the outbox for the
    /// hub (an enrolled edge), in the transaction that marks it receipted.
    forward_receipts: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("dir", &self.dir)
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

pub(crate) fn parse_id(id: &str) -> Result<[u8; 16], Error> {
    uuid::Uuid::parse_str(id)
        .map(|u| *u.as_bytes())
        .map_err(|_| Error::Rejected(format!("{id:?} is not an evidence id")))
}

fn row_to_info(row: &sqlx::sqlite::SqliteRow) -> Result<ObjectInfo, Error> {
    let category: String = row.try_get("category")?;
    Ok(ObjectInfo {
        id: row.try_get("id")?,
        inspection_id: row.try_get("inspection_id")?,
        category: DataCategory::parse(&category)
            .ok_or_else(|| Error::Corrupt(format!("unknown category {category:?}")))?,
        device_id: row.try_get("device_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        kek_version: u32::try_from(row.try_get::<i64, _>("kek_version")?)
            .map_err(|_| Error::Corrupt("bad KEK version".to_owned()))?,
        content_sha256: row.try_get("content_sha256")?,
        policy: row.try_get("policy")?,
    })
}

/// Syncs a directory so a rename or removal in it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), Error> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(format!("cannot sync {}", dir.display())))
}

impl Vault {
    /// Opens the vault whose blobs live in `dir`, with rows in `db` and the
    /// key hierarchy rooted at `keys`. Fails (and the caller must refuse new
    /// evidence) when the keys cannot be reached or do not open the keyring.
    pub async fn open(
        db: &Db,
        dir: &Path,
        keys: KeySource,
        audit: Arc<AuditLog>,
        now: time::OffsetDateTime,
    ) -> Result<Vault, Error> {
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let keyring = Keyring::open(db.pool().clone(), keys, now.unix_timestamp()).await?;
        sqlx::query(
            "INSERT INTO vault_clock (id, high_water) VALUES (1, ?) ON CONFLICT DO NOTHING",
        )
        .bind(now.unix_timestamp())
        .execute(db.pool())
        .await?;
        let high_water: i64 = sqlx::query_scalar("SELECT high_water FROM vault_clock WHERE id = 1")
            .fetch_one(db.pool())
            .await?;
        Ok(Vault {
            db: db.clone(),
            dir: dir.to_owned(),
            keyring,
            audit,
            high_water: std::sync::atomic::AtomicI64::new(high_water),
            writing: std::sync::Mutex::new(std::collections::BTreeMap::new()),
            deleting: tokio::sync::Mutex::new(()),
            forward_receipts: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether `db` already holds key-encryption keys (so a master key or
    /// token must already exist: a new one would open nothing).
    pub async fn has_keys(db: &Db) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM vault_keks")
            .fetch_one(db.pool())
            .await?;
        Ok(n > 0)
    }

    /// From now on, queue every deletion receipt in the outbox too (kind
    /// `deletion_receipt`), so the hub learns what was destroyed. Receipts
    /// are never refused by the outbox's bound: a deletion must not wait for
    /// the hub.
    pub fn forward_receipts_to_outbox(&self) {
        self.forward_receipts
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn forwards_receipts(&self) -> bool {
        self.forward_receipts
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub(crate) fn blob_path(&self, id: &str) -> PathBuf {
        self.dir.join(id.get(..2).unwrap_or("xx")).join(id)
    }

    /// When something stored `now` and kept `keep_days` expires: never
    /// earlier than the vault clock's high-water mark allows.
    pub async fn expiry(
        &self,
        now: time::OffsetDateTime,
        keep_days: u32,
    ) -> Result<(i64, i64), Error> {
        let high_water = self.high_water.load(std::sync::atomic::Ordering::SeqCst);
        let created = now.unix_timestamp().max(high_water);
        Ok((created, created + i64::from(keep_days) * 86_400))
    }

    /// Seals and stores `pixels` under their type's category; durable when
    /// this returns.
    pub async fn put(
        &self,
        new: &NewObject<'_>,
        pixels: impl Into<Sealable>,
        now: time::OffsetDateTime,
    ) -> Result<ObjectInfo, Error> {
        let mut stored = self.put_all(vec![(*new, pixels.into())], now).await?;
        stored
            .pop()
            .ok_or_else(|| Error::Internal("nothing was stored".to_owned()))
    }

    /// Seals and stores several objects (what one inspection keeps) with one
    /// database commit; durable when this returns. Blobs are written and
    /// synced first, then every row commits at once: a crash leaves either
    /// all of them or only orphan blobs without keys (removed by the sweeper).
    pub async fn put_all(
        &self,
        objects: Vec<(NewObject<'_>, Sealable)>,
        now: time::OffsetDateTime,
    ) -> Result<Vec<ObjectInfo>, Error> {
        self.put_written(objects, now, None).await
    }

    pub(super) async fn put_written(
        &self,
        objects: Vec<(NewObject<'_>, Sealable)>,
        now: time::OffsetDateTime,
        segment: Option<&crate::db::NewSegment<'_>>,
    ) -> Result<Vec<ObjectInfo>, Error> {
        let mut written = Vec::new();
        let result = self.put_all_into(objects, now, &mut written, segment).await;
        if result.is_err() {
            // Nothing names these blobs: a failed store leaves no files.
            for id in &written {
                let _ = std::fs::remove_file(self.blob_path(id));
            }
        }
        result
    }

    async fn put_all_into(
        &self,
        objects: Vec<(NewObject<'_>, Sealable)>,
        now: time::OffsetDateTime,
        written: &mut Vec<String>,
        segment: Option<&crate::db::NewSegment<'_>>,
    ) -> Result<Vec<ObjectInfo>, Error> {
        let mut sizes = Vec::with_capacity(objects.len());
        let mut stored = Vec::with_capacity(objects.len());
        let mut rows = Vec::with_capacity(objects.len());
        let mut dirs = std::collections::BTreeSet::new();
        for (new, Sealable { category, plain }) in objects {
            let id = uuid::Uuid::new_v4();
            let id_text = id.to_string();
            let binding = Binding {
                id: *id.as_bytes(),
                category,
            };
            let content_sha256 = hex::encode(Sha256::digest(&plain));
            sizes.push(i64::try_from(plain.len()).unwrap_or(i64::MAX));
            let version = self.writing_version(category, now).await?;
            let key = DataKey::generate()?;
            let wrapped = self.keyring.wrap(&binding, version, &key)?;
            let sealed = envelope::seal(&binding, &key, plain)?;
            drop(key);
            dirs.insert(self.write_blob(&id_text, &sealed)?);
            written.push(id_text.clone());
            let (created, expires) = self.expiry(now, new.keep_days.max(1)).await?;
            rows.push(wrapped);
            stored.push(ObjectInfo {
                id: id_text,
                inspection_id: new.inspection_id.to_owned(),
                category,
                device_id: new.device_id.map(str::to_owned),
                created_at: created,
                expires_at: expires,
                kek_version: version,
                content_sha256,
                policy: new.policy.to_owned(),
            });
        }
        // New directory entries are durable before any row names them.
        for dir in &dirs {
            sync_dir(dir)?;
        }
        let mut tx = self.db.pool().begin().await?;
        for (info, wrapped) in stored.iter().zip(&rows) {
            sqlx::query(
                "INSERT INTO vault_objects (id, inspection_id, category, device_id, created_at, expires_at,
                     kek_version, wrapped_key, content_sha256, policy)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&info.id)
            .bind(&info.inspection_id)
            .bind(info.category.as_str())
            .bind(&info.device_id)
            .bind(info.created_at)
            .bind(info.expires_at)
            .bind(i64::from(info.kek_version))
            .bind(wrapped)
            .bind(&info.content_sha256)
            .bind(&info.policy)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE vault_keks SET wraps = wraps + 1 WHERE category = ? AND version = ?",
            )
            .bind(info.category.as_str())
            .bind(i64::from(info.kek_version))
            .execute(&mut *tx)
            .await?;
        }
        if let (Some(segment), Some(info), Some(bytes)) = (segment, stored.first(), sizes.first()) {
            sqlx::query(
                "INSERT INTO camera_segments (object_id, camera, category, start_ms, end_ms, bytes, pictures, codec)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&info.id)
            .bind(segment.camera)
            .bind(info.category.as_str())
            .bind(segment.start_ms)
            .bind(segment.end_ms)
            .bind(bytes)
            .bind(i64::from(segment.pictures))
            .bind(segment.codec)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// The version new data keys of `category` are wrapped under (counting
    /// this wrap); starts a new one when the current one has wrapped
    /// [`keyring::MAX_WRAPS`] keys.
    async fn writing_version(
        &self,
        category: DataCategory,
        now: time::OffsetDateTime,
    ) -> Result<u32, Error> {
        let cached = self.writing_cache().get(&category).copied();
        let (version, wraps) = match cached {
            Some(c) => c,
            None => {
                let current = self
                    .keyring
                    .current(category)
                    .await?
                    .ok_or_else(|| Error::KeyUnavailable(format!("no KEK for {category}")))?;
                (current.version, current.wraps)
            }
        };
        let (version, wraps) = if wraps < keyring::MAX_WRAPS {
            (version, wraps)
        } else {
            self.keyring
                .add_version(category, version + 1, now.unix_timestamp())
                .await?;
            (version + 1, 0)
        };
        self.writing_cache().insert(category, (version, wraps + 1));
        Ok(version)
    }

    fn writing_cache(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<DataCategory, (u32, i64)>> {
        // Holds plain numbers: a panic elsewhere cannot leave it inconsistent.
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the cached writing versions (after versions changed).
    pub(crate) fn versions_changed(&self) {
        self.writing_cache().clear();
    }

    pub(crate) fn set_high_water(&self, t: i64) {
        self.high_water
            .store(t, std::sync::atomic::Ordering::SeqCst);
    }

    /// Writes and syncs a blob at its final path (a partial file from a
    /// crash has no row, so no key, and is removed as an orphan); returns its
    /// folder, whose entry the caller syncs before committing the row.
    fn write_blob(&self, id: &str, sealed: &envelope::SealedBlob) -> Result<PathBuf, Error> {
        let path = self.blob_path(id);
        let parent = path
            .parent()
            .ok_or_else(|| Error::Internal("blob path has no folder".to_owned()))?
            .to_owned();
        if !parent.exists() {
            std::fs::create_dir_all(&parent)
                .map_err(Error::io(format!("cannot create {}", parent.display())))?;
            sync_dir(&self.dir)?;
        }
        let ctx = || format!("cannot write {}", path.display());
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&path).map_err(Error::io(ctx()))?;
        let written = f
            .write_all(&sealed.head)
            .and_then(|()| f.write_all(&sealed.body))
            .and_then(|()| f.write_all(&sealed.tag))
            .and_then(|()| f.sync_data());
        if let Err(e) = written {
            // A full disk leaves no partial blob behind.
            drop(f);
            let _ = std::fs::remove_file(&path);
            return Err(Error::io(ctx())(e));
        }
        Ok(parent)
    }

    /// The record of object `id`.
    pub async fn info(&self, id: &str) -> Result<Option<ObjectInfo>, Error> {
        let row = sqlx::query("SELECT * FROM vault_objects WHERE id = ?")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(row_to_info).transpose()
    }

    /// The object of `category` kept for `inspection_id`, if any.
    pub async fn find(
        &self,
        inspection_id: &str,
        category: DataCategory,
    ) -> Result<Option<ObjectInfo>, Error> {
        let row = sqlx::query(
            "SELECT * FROM vault_objects WHERE inspection_id = ? AND category = ? ORDER BY created_at LIMIT 1",
        )
        .bind(inspection_id)
        .bind(category.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(row_to_info).transpose()
    }

    /// Every object kept for `inspection_id`.
    pub async fn objects_of(&self, inspection_id: &str) -> Result<Vec<ObjectInfo>, Error> {
        let rows =
            sqlx::query("SELECT * FROM vault_objects WHERE inspection_id = ? ORDER BY category")
                .bind(inspection_id)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter().map(row_to_info).collect()
    }

    /// Opens object `id`. Reads are not audited here (the caller records who
    /// read what and why); integrity failures are, and answer
    /// [`Error::Integrity`].
    pub async fn get(&self, id: &str, caller: &Caller) -> Result<Vec<u8>, Error> {
        let row = sqlx::query("SELECT category, wrapped_key FROM vault_objects WHERE id = ?")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("evidence {id}")))?;
        let category: String = row.try_get("category")?;
        let wrapped: Vec<u8> = row.try_get("wrapped_key")?;
        let category = DataCategory::parse(&category)
            .ok_or_else(|| Error::Corrupt(format!("unknown category {category:?}")))?;
        let binding = Binding {
            id: parse_id(id)?,
            category,
        };
        let opened = self.read_blob(id).and_then(|(head, sealed)| {
            let key = self.keyring.unwrap(&binding, &wrapped)?;
            envelope::open(&binding, &key, &head, sealed)
        });
        if let Err(Error::Integrity(why)) = &opened {
            let event = caller
                .event(
                    "evidence.integrity_failure",
                    time::OffsetDateTime::now_utc(),
                )
                .target(format!("evidence:{id}"))
                .outcome(Outcome::Failure, Some(why.clone()));
            self.audit.append_async(event).await?;
        }
        opened
    }

    /// A blob as its head and `ciphertext || tag`, read straight into the
    /// buffer that will be decrypted in place.
    fn read_blob(&self, id: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
        use std::io::Read;
        let path = self.blob_path(id);
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => {
                Error::Integrity(format!("the blob of evidence {id} is missing"))
            }
            std::io::ErrorKind::UnexpectedEof => {
                Error::Integrity(format!("the blob of evidence {id} is truncated"))
            }
            _ => Error::Io {
                context: format!("cannot read {}", path.display()),
                source: e,
            },
        };
        let mut file = std::fs::File::open(&path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut head = vec![0u8; envelope::HEAD_LEN];
        file.read_exact(&mut head).map_err(io)?;
        let rest = usize::try_from(len.saturating_sub(envelope::HEAD_LEN as u64)).unwrap_or(0);
        let mut sealed = Vec::with_capacity(rest);
        file.read_to_end(&mut sealed).map_err(io)?;
        Ok((head, sealed))
    }

    /// Test access to raw rows (corruption tests).
    #[cfg(test)]
    pub(crate) async fn raw_wrapped_key(&self, id: &str) -> Result<Vec<u8>, Error> {
        Ok(
            sqlx::query_scalar("SELECT wrapped_key FROM vault_objects WHERE id = ?")
                .bind(id)
                .fetch_one(self.db.pool())
                .await?,
        )
    }

    /// Test access to raw rows (corruption tests).
    #[cfg(test)]
    pub(crate) async fn set_raw_wrapped_key(&self, id: &str, wrapped: &[u8]) -> Result<(), Error> {
        sqlx::query("UPDATE vault_objects SET wrapped_key = ? WHERE id = ?")
            .bind(wrapped)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// The blob file of object `id`.
    pub fn blob_file(&self, id: &str) -> PathBuf {
        self.blob_path(id)
    }
}

#[cfg(test)]
mod case_tests;
#[cfg(test)]
mod event_retention_tests;
#[cfg(test)]
mod footage_tests;
#[cfg(test)]
mod retention_props;
#[cfg(test)]
mod tests;
