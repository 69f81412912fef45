//! The installation's own secrets: one key file, `<data dir>/installation.key`.
//!
//! 64 random bytes made on first use (mode 0600, never rewritten): the first 32
//! key the HMAC pseudonyms of identifying values in the audit log (a login name
//! someone typed, say), the last 32 seal small secrets the database must be able
//! to read back (users' TOTP secrets) with AES-256-GCM. A copy of the database
//! alone (a backup, a stolen file) therefore reveals no TOTP secret.
//!
//! Sealed values are `nonce (12 bytes) || ciphertext || tag`; the nonce is random
//! per seal (a handful of values per user over the installation's life, far below
//! the 2^32 random-nonce bound), and the associated data binds each value to what
//! it belongs to (for TOTP secrets, the user id), so a sealed value copied to
//! another row does not open.

use crate::Error;
use crate::audit::Pseudonymizer;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// The file name inside the data directory.
pub const FILE: &str = "installation.key";

const LEN: usize = 64;

/// The installation's secrets.
pub struct InstallationSecrets {
    pseudonyms: Pseudonymizer,
    sealing: LessSafeKey,
}

impl std::fmt::Debug for InstallationSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstallationSecrets(**redacted**)")
    }
}

/// `n` bytes from the system's secure generator.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>, Error> {
    let mut b = vec![0u8; n];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Error::Internal("the system random generator failed".to_owned()))?;
    Ok(b)
}

impl InstallationSecrets {
    /// Loads `<data_dir>/installation.key`, creating it when it does not exist.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(FILE);
        if !path.exists() {
            crate::audit::write_private(&path, &random_bytes(LEN)?)?;
        }
        let bytes =
            std::fs::read(&path).map_err(Error::io(format!("cannot read {}", path.display())))?;
        if bytes.len() != LEN {
            return Err(Error::Corrupt(format!(
                "{} holds {} bytes, not {LEN}: it is damaged (restore it from a backup)",
                path.display(),
                bytes.len()
            )));
        }
        let (hmac_key, seal_key) = bytes.split_at(32);
        let sealing = UnboundKey::new(&AES_256_GCM, seal_key)
            .map_err(|_| Error::Internal("cannot make the sealing key".to_owned()))?;
        Ok(InstallationSecrets {
            pseudonyms: Pseudonymizer::new(hmac_key),
            sealing: LessSafeKey::new(sealing),
        })
    }

    /// Stable pseudonyms for identifying values.
    pub fn pseudonyms(&self) -> &Pseudonymizer {
        &self.pseudonyms
    }

    /// Seals `plain`, bound to `context`.
    pub fn seal(&self, context: &str, plain: &[u8]) -> Result<Vec<u8>, Error> {
        let nonce_bytes = random_bytes(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(&nonce_bytes)
            .map_err(|_| Error::Internal("bad nonce length".to_owned()))?;
        let mut sealed = plain.to_vec();
        self.sealing
            .seal_in_place_append_tag(nonce, Aad::from(context.as_bytes()), &mut sealed)
            .map_err(|_| Error::Internal("sealing failed".to_owned()))?;
        let mut out = nonce_bytes;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed for `context`; an error if it was altered, sealed for
    /// another context, or by another installation.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, Error> {
        let refused = || Error::Corrupt(format!("a sealed value for {context} does not open"));
        if sealed.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut body = body.to_vec();
        let plain = self
            .sealing
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| refused())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn sealed_values_open_only_in_their_context_and_installation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = InstallationSecrets::load_or_create(dir.path()).expect("create");
        let again = InstallationSecrets::load_or_create(dir.path()).expect("load");
        let other_dir = tempfile::tempdir().expect("tempdir");
        let other = InstallationSecrets::load_or_create(other_dir.path()).expect("other");

        let sealed = a.seal("user:1", b"totp secret").expect("seal");
        assert_ne!(a.seal("user:1", b"totp secret").expect("seal"), sealed);
        assert_eq!(again.open("user:1", &sealed).expect("open"), b"totp secret");
        assert!(a.open("user:2", &sealed).is_err(), "moved to another row");
        assert!(
            other.open("user:1", &sealed).is_err(),
            "another installation"
        );
        let mut flipped = sealed.clone();
        flipped[20] ^= 1;
        assert!(a.open("user:1", &flipped).is_err(), "altered");
        assert!(a.open("user:1", &sealed[..8]).is_err(), "truncated");
        assert_eq!(
            a.pseudonyms().pseudonym("alice"),
            again.pseudonyms().pseudonym("alice")
        );
        assert_eq!(format!("{a:?}"), "InstallationSecrets(**redacted**)");
    }

    #[test]
    fn a_damaged_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE), b"short").expect("write");
        let err = InstallationSecrets::load_or_create(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
