//! The key hierarchy: master key (or HSM) → key-encryption keys (one
//! versioned series per data category) → one data key per object.
//!
//! KEK versions are rows of `vault_keks (category, version, created_at,
//! sealed_key, wraps)`. With the software keyring each KEK is 32 random
//! bytes sealed by the master key (AES-256-GCM, random nonce, associated data
//! `"lensguard-kek" 0 <category> 0 <version>`), so a copy of the database
//! without the master key opens nothing. With a PKCS#11 token `sealed_key` is
//! empty and the key lives only in the token ([`super::pkcs11`]).
//!
//! The newest version of a category wraps new data keys; older versions only
//! unwrap until the re-wrap job ([`super::rewrap`]) has moved every object off
//! them, and are then destroyed (row and, for a token, the key object).
//! `wraps` counts data keys wrapped under a version; a version that reaches
//! [`MAX_WRAPS`] is replaced (random 96-bit nonces stay far below the 2^32
//! bound of NIST SP 800-38D).

use super::data_key::DataKey;
use super::envelope::{self, Binding, WRAPPED_LEN};
use super::pkcs11::{self, Pkcs11Config, Token};
use crate::Error;
use crate::secrets::random_bytes;
use aws_lc_rs::aead::NONCE_LEN;
use lensguard_core::policy::DataCategory;
use sqlx::sqlite::SqlitePool;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// Wraps after which a KEK version is replaced.
pub const MAX_WRAPS: i64 = 1 << 30;

/// The root of the key hierarchy.
pub enum KeySource {
    /// A 32-byte master key (from a file or the environment) seals the KEKs.
    MasterKey(MasterKey),
    /// KEKs live in a PKCS#11 token.
    Pkcs11(Pkcs11Config),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::MasterKey(_) => f.write_str("KeySource::MasterKey(**redacted**)"),
            KeySource::Pkcs11(c) => write!(f, "KeySource::Pkcs11({c:?})"),
        }
    }
}

/// The master key: 32 bytes, zeroized on drop.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl MasterKey {
    /// From 64 hex digits (the `LENSGUARD_MASTER_KEY` form).
    pub fn from_hex(text: &str) -> Result<MasterKey, Error> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
            Error::Misconfigured("the master key must be 64 hex digits (32 bytes)".to_owned())
        })?);
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != 32 {
            return Err(Error::Misconfigured(
                "the master key must be 64 hex digits (32 bytes)".to_owned(),
            ));
        }
        key.copy_from_slice(&bytes);
        Ok(MasterKey(key))
    }

    /// Reads a key file (32 raw bytes), creating it (mode 0600) when absent
    /// and `create` is set.
    pub fn from_file(path: &Path, create: bool) -> Result<MasterKey, Error> {
        if create && !path.exists() {
            crate::audit::write_private(path, &random_bytes(32)?)?;
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(Error::io(format!(
            "cannot read the master key {}",
            path.display()
        )))?);
        if bytes.len() != 32 {
            return Err(Error::Misconfigured(format!(
                "{} holds {} bytes, not 32: it is not a lensguard master key",
                path.display(),
                bytes.len()
            )));
        }
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes);
        Ok(MasterKey(key))
    }
}

/// One KEK version as the database records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekVersion {
    /// The category it protects.
    pub category: DataCategory,
    /// Its version, from 1.
    pub version: u32,
    /// When it was made (seconds since the epoch).
    pub created_at: i64,
    /// Data keys wrapped under it so far.
    pub wraps: i64,
}

/// Unsealed KEKs by (category, version).
type Keks = Mutex<BTreeMap<(DataCategory, u32), Zeroizing<Vec<u8>>>>;

enum Backend {
    Software { master: MasterKey, keks: Keks },
    Hsm(Token),
}

/// The keyring: wraps and unwraps data keys.
pub struct Keyring {
    backend: Backend,
    pool: SqlitePool,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.backend {
            Backend::Software { .. } => "Keyring(software, **redacted**)",
            Backend::Hsm(_) => "Keyring(pkcs11)",
        })
    }
}

fn kek_aad(category: DataCategory, version: u32) -> Vec<u8> {
    let mut aad = b"lensguard-kek\0".to_vec();
    aad.extend_from_slice(category.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn nonce() -> Result<[u8; NONCE_LEN], Error> {
    let mut n = [0u8; NONCE_LEN];
    n.copy_from_slice(&random_bytes(NONCE_LEN)?);
    Ok(n)
}

impl Keyring {
    /// Opens the keyring, unsealing (software) or checking (token) every
    /// recorded version, and makes version 1 of any evidence category that
    /// has none.
    pub async fn open(pool: SqlitePool, source: KeySource, now: i64) -> Result<Keyring, Error> {
        let backend = match source {
            KeySource::MasterKey(master) => Backend::Software {
                master,
                keks: Mutex::new(BTreeMap::new()),
            },
            KeySource::Pkcs11(cfg) => Backend::Hsm(Token::open(&cfg)?),
        };
        let ring = Keyring { backend, pool };
        for v in ring.versions().await? {
            ring.load(&v).await?;
        }
        for category in DataCategory::ALL.into_iter().filter(|c| c.is_evidence()) {
            if ring.current(category).await?.is_none() {
                ring.add_version(category, 1, now).await?;
            }
        }
        Ok(ring)
    }

    /// Whether KEKs live in a PKCS#11 token.
    pub fn is_hsm(&self) -> bool {
        matches!(self.backend, Backend::Hsm(_))
    }

    /// Every live version, oldest first.
    pub async fn versions(&self) -> Result<Vec<KekVersion>, Error> {
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT category, version, created_at, wraps FROM vault_keks ORDER BY category, version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(c, v, created_at, wraps)| {
                Ok(KekVersion {
                    category: DataCategory::parse(&c).ok_or_else(|| {
                        Error::Corrupt(format!("unknown category {c:?} in the keyring"))
                    })?,
                    version: u32::try_from(v)
                        .map_err(|_| Error::Corrupt("bad KEK version".to_owned()))?,
                    created_at,
                    wraps,
                })
            })
            .collect()
    }

    /// The newest version of `category`.
    pub async fn current(&self, category: DataCategory) -> Result<Option<KekVersion>, Error> {
        Ok(self
            .versions()
            .await?
            .into_iter()
            .filter(|v| v.category == category)
            .max_by_key(|v| v.version))
    }

    async fn load(&self, v: &KekVersion) -> Result<(), Error> {
        match &self.backend {
            Backend::Software { master, keks } => {
                let sealed: Vec<u8> = sqlx::query_scalar(
                    "SELECT sealed_key FROM vault_keks WHERE category = ? AND version = ?",
                )
                .bind(v.category.as_str())
                .bind(i64::from(v.version))
                .fetch_one(&self.pool)
                .await?;
                let refused = || {
                    Error::KeyUnavailable(format!(
                        "the master key does not open KEK {} v{} (wrong master key, or the keyring was altered)",
                        v.category, v.version
                    ))
                };
                if sealed.len() < NONCE_LEN {
                    return Err(refused());
                }
                let (n, body) = sealed.split_at(NONCE_LEN);
                let mut body = Zeroizing::new(body.to_vec());
                let len = envelope::open_in_place(
                    &master.0[..],
                    n,
                    &kek_aad(v.category, v.version),
                    &mut body,
                )
                .map_err(|_| refused())?;
                body.truncate(len);
                keks.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((v.category, v.version), body);
                Ok(())
            }
            Backend::Hsm(token) => {
                let label = pkcs11::label(v.category.as_str(), v.version);
                token.is_locked_in(&label).map(|_| ())
            }
        }
    }

    /// Makes `version` of `category` and records it.
    pub(crate) async fn add_version(
        &self,
        category: DataCategory,
        version: u32,
        now: i64,
    ) -> Result<(), Error> {
        let sealed = match &self.backend {
            Backend::Software { master, keks } => {
                let kek = Zeroizing::new(random_bytes(32)?);
                let n = nonce()?;
                let mut body = kek.to_vec();
                let tag = envelope::seal_in_place(
                    &master.0[..],
                    n,
                    &kek_aad(category, version),
                    &mut body,
                )?;
                let mut sealed = n.to_vec();
                sealed.extend_from_slice(&body);
                sealed.extend_from_slice(&tag);
                keks.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((category, version), kek);
                sealed
            }
            Backend::Hsm(token) => {
                let label = pkcs11::label(category.as_str(), version);
                token.generate(&label)?;
                Vec::new()
            }
        };
        sqlx::query(
            "INSERT INTO vault_keks (category, version, created_at, sealed_key, wraps) VALUES (?, ?, ?, ?, 0)",
        )
        .bind(category.as_str())
        .bind(i64::from(version))
        .bind(now)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Destroys `version` of `category` (nothing may reference it any more).
    pub(crate) async fn destroy_version(
        &self,
        category: DataCategory,
        version: u32,
    ) -> Result<(), Error> {
        match &self.backend {
            Backend::Software { keks, .. } => {
                keks.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&(category, version));
            }
            Backend::Hsm(token) => {
                let label = pkcs11::label(category.as_str(), version);
                token.destroy(&label)?;
            }
        }
        sqlx::query("DELETE FROM vault_keks WHERE category = ? AND version = ?")
            .bind(category.as_str())
            .bind(i64::from(version))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Wraps `key` for `binding` under `version`: the 64-byte wrapped form.
    pub fn wrap(&self, binding: &Binding, version: u32, key: &DataKey) -> Result<Vec<u8>, Error> {
        let n = nonce()?;
        let aad = binding.wrap_aad(version);
        let sealed = match &self.backend {
            Backend::Software { keks, .. } => {
                let keks = keks.lock().unwrap_or_else(|p| p.into_inner());
                let kek = keks.get(&(binding.category, version)).ok_or_else(|| {
                    Error::KeyUnavailable(format!("no KEK {} v{version}", binding.category))
                })?;
                let mut body = key.bytes().to_vec();
                let tag = envelope::seal_in_place(kek, n, &aad, &mut body)?;
                body.extend_from_slice(&tag);
                body
            }
            Backend::Hsm(token) => {
                let label = pkcs11::label(binding.category.as_str(), version);
                token.encrypt(&label, &n, &aad, key.bytes())?
            }
        };
        let mut wrapped = Vec::with_capacity(WRAPPED_LEN);
        wrapped.extend_from_slice(&version.to_be_bytes());
        wrapped.extend_from_slice(&n);
        wrapped.extend_from_slice(&sealed);
        if wrapped.len() != WRAPPED_LEN {
            return Err(Error::KeyUnavailable(
                "the key store returned a wrapped key of the wrong size".to_owned(),
            ));
        }
        Ok(wrapped)
    }

    /// Unwraps a data key for `binding`; an integrity error when the wrapped
    /// key was altered or moved.
    pub fn unwrap(&self, binding: &Binding, wrapped: &[u8]) -> Result<DataKey, Error> {
        if wrapped.len() != WRAPPED_LEN {
            return Err(Error::Integrity(
                "the wrapped data key has the wrong length".to_owned(),
            ));
        }
        let version = envelope::wrapped_version(wrapped)?;
        let aad = binding.wrap_aad(version);
        let (n, sealed) = wrapped[4..].split_at(NONCE_LEN);
        match &self.backend {
            Backend::Software { keks, .. } => {
                let keks = keks.lock().unwrap_or_else(|p| p.into_inner());
                let kek = keks.get(&(binding.category, version)).ok_or_else(|| {
                    Error::Integrity(format!(
                        "the wrapped data key names KEK {} v{version}, which does not exist",
                        binding.category
                    ))
                })?;
                let mut body = Zeroizing::new(sealed.to_vec());
                let len = envelope::open_in_place(kek, n, &aad, &mut body)?;
                DataKey::from_unwrapped(&body[..len])
            }
            Backend::Hsm(token) => {
                let label = pkcs11::label(binding.category.as_str(), version);
                let plain = Zeroizing::new(token.decrypt(&label, n, &aad, sealed)?);
                DataKey::from_unwrapped(&plain)
            }
        }
    }
}
