//! Signed checkpoints: Ed25519 signatures over (tree size, root, time).
//!
//! The signed message is the UTF-8 text
//! `lensguard-audit-checkpoint/v1\n{size}\n{root hex}\n{time RFC 3339}\n`.
//! The key id is the first 8 bytes of SHA-256 of the 32-byte public key, in hex.
//! The signing key is a PKCS#8 file (`signing.key`, mode 0600) created on first
//! use, or a key pair in the installation's PKCS#11 token
//! ([`Signer::in_token`]); either way its public key is kept beside the log
//! (`signing.pub`, hex) for offline verification.

use super::merkle::Hash;
use crate::Error;
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A signed tree head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Number of entries covered.
    pub size: u64,
    /// Merkle root of those entries, hex.
    pub root: String,
    /// When it was signed.
    #[serde(with = "time::serde::rfc3339")]
    pub time: time::OffsetDateTime,
    /// Which key signed it.
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::message`], base64.
    pub signature: String,
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(size: u64, root: &str, time: &time::OffsetDateTime) -> Vec<u8> {
        let t = time
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        format!("lensguard-audit-checkpoint/v1\n{size}\n{root}\n{t}\n").into_bytes()
    }

    /// The root as bytes, if well-formed.
    pub fn root_hash(&self) -> Option<Hash> {
        let v = hex::decode(&self.root).ok()?;
        v.try_into().ok()
    }

    /// Whether the signature is valid for `public_key` (32 bytes).
    pub fn verify(&self, public_key: &[u8]) -> bool {
        let Ok(sig) = B64.decode(&self.signature) else {
            return false;
        };
        key_id(public_key) == self.key_id
            && UnparsedPublicKey::new(&ED25519, public_key)
                .verify(&Self::message(self.size, &self.root, &self.time), &sig)
                .is_ok()
    }
}

/// First 8 bytes of SHA-256 of the public key, hex.
pub fn key_id(public_key: &[u8]) -> String {
    hex::encode(&digest(&SHA256, public_key).as_ref()[..8])
}

/// The log's signing key.
pub struct Signer {
    key: SigningKey,
    public_key: Vec<u8>,
}

enum SigningKey {
    File(Ed25519KeyPair),
    Token(std::sync::Arc<crate::pkcs11::Token>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signer(key {}, {})",
            key_id(self.public_key()),
            match self.key {
                SigningKey::File(_) => "private part **redacted**",
                SigningKey::Token(_) => "in the PKCS#11 token",
            }
        )
    }
}

/// The public key an audit folder's checkpoints are signed with, as the
/// folder says: `signing.key`'s, else `signing.pub` (a token-held key);
/// `None` when it has neither.
pub fn folder_public_key(dir: &Path) -> Result<Option<Vec<u8>>, Error> {
    let key = dir.join(super::files::SIGNING_KEY);
    if key.exists() {
        return Signer::load_or_create(&key).map(|s| Some(s.public_key().to_vec()));
    }
    let public = dir.join(super::files::PUBLIC_KEY);
    match std::fs::read_to_string(&public) {
        Ok(text) => hex::decode(text.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .map(Some)
            .ok_or_else(|| {
                Error::Misconfigured(format!("{} is not an Ed25519 public key", public.display()))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("cannot read {}", public.display()))(e)),
    }
}

impl Signer {
    /// Loads `path`, or creates a new key there (mode 0600) when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Signer, Error> {
        if !path.exists() {
            let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
                .map_err(|_| Error::Internal("cannot generate an Ed25519 key".to_owned()))?;
            write_private(path, doc.as_ref())?;
        }
        let bytes =
            std::fs::read(path).map_err(Error::io(format!("cannot read {}", path.display())))?;
        let pair = Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| {
            Error::Misconfigured(format!("{} is not an Ed25519 PKCS#8 key", path.display()))
        })?;
        let public_key = pair.public_key().as_ref().to_vec();
        Ok(Signer {
            key: SigningKey::File(pair),
            public_key,
        })
    }

    /// The key pair [`crate::pkcs11::AUDIT_SIGNING_LABEL`] in `token`, made
    /// there on first use; it signs inside the token.
    pub fn in_token(token: std::sync::Arc<crate::pkcs11::Token>) -> Result<Signer, Error> {
        let public_key = token.ed25519_key(crate::pkcs11::AUDIT_SIGNING_LABEL)?;
        Ok(Signer {
            key: SigningKey::Token(token),
            public_key,
        })
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// Signs a checkpoint for `size` entries with `root`. Fails only when a
    /// token cannot sign (removed, logged out).
    pub fn sign(
        &self,
        size: u64,
        root: &Hash,
        time: time::OffsetDateTime,
    ) -> Result<Checkpoint, Error> {
        let root = hex::encode(root);
        let message = Checkpoint::message(size, &root, &time);
        let sig = match &self.key {
            SigningKey::File(pair) => pair.sign(&message).as_ref().to_vec(),
            SigningKey::Token(token) => {
                token.sign_ed25519(crate::pkcs11::AUDIT_SIGNING_LABEL, &message)?
            }
        };
        Ok(Checkpoint {
            size,
            root,
            time,
            key_id: key_id(self.public_key()),
            signature: B64.encode(sig),
        })
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let ctx = || format!("cannot write {}", path.display());
    let mut f = opts.open(path).map_err(Error::io(ctx()))?;
    f.write_all(bytes).map_err(Error::io(ctx()))?;
    f.sync_all().map_err(Error::io(ctx()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_verify_only_with_their_key_and_content() {
        let dir = tempfile::tempdir().expect("tempdir");
        let signer = Signer::load_or_create(&dir.path().join("k")).expect("key");
        let again = Signer::load_or_create(&dir.path().join("k")).expect("same key");
        assert_eq!(signer.public_key(), again.public_key());
        let other = Signer::load_or_create(&dir.path().join("other")).expect("key");
        let t = time::macros::datetime!(2026-11-23 10:00 UTC);
        let cp = signer.sign(5, &[7u8; 32], t).expect("sign");
        assert!(cp.verify(signer.public_key()));
        assert!(!cp.verify(other.public_key()));
        for tampered in [
            Checkpoint {
                size: 6,
                ..cp.clone()
            },
            Checkpoint {
                root: hex::encode([8u8; 32]),
                ..cp.clone()
            },
            Checkpoint {
                time: t + time::Duration::SECOND,
                ..cp.clone()
            },
        ] {
            assert!(!tampered.verify(signer.public_key()));
        }
        assert!(format!("{signer:?}").contains("**redacted**"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("k"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
