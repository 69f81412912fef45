//! The sealed envelope: the bytes of one evidence object at rest, and the
//! wrapped data key that opens it.
//!
//! Blob file (`<data dir>/vault/<2 hex>/<object id>`):
//!
//! ```text
//! offset  size  field
//! 0       4     magic "LGV1"
//! 4       1     format version (1)
//! 5       1     category code (DataCategory::code)
//! 6       16    object id (UUID bytes)
//! 22      12    nonce
//! 34      n     ciphertext (AES-256-GCM under the object's data key)
//! 34+n    16    tag
//! ```
//!
//! The associated data is the 22-byte header, so a blob moved to another
//! object id or category does not open; a blob swapped with another object's
//! fails as well because each object has its own data key.
//!
//! Wrapped data key (a database column, 64 bytes):
//!
//! ```text
//! 0   4   key-encryption-key version (big endian)
//! 4   12  nonce
//! 16  32  encrypted data key
//! 48  16  tag
//! ```
//!
//! wrapped by the category's KEK of that version, with associated data
//! `"lensguard-dek" 0 <object id> 0 <category> 0 <version>`: a wrapped key
//! moved to another object, category or version does not unwrap.
//!
//! Nonces: a data key seals exactly one plaintext, so its nonce can never
//! repeat; KEK wraps use random 96-bit nonces, and the keyring counts wraps
//! per KEK version and starts a new version long before 2^32 (NIST SP 800-38D
//! section 8.3).

use super::data_key::DataKey;
use crate::Error;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use lensguard_core::policy::DataCategory;

/// The blob magic.
pub const MAGIC: &[u8; 4] = b"LGV1";
/// The blob format version.
pub const FORMAT: u8 = 1;
/// Header bytes (bound as associated data).
pub const HEADER_LEN: usize = 22;
/// Header and nonce: what precedes the ciphertext.
pub const HEAD_LEN: usize = HEADER_LEN + NONCE_LEN;
/// Bytes a blob adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// Length of a wrapped data key.
pub const WRAPPED_LEN: usize = 4 + NONCE_LEN + 32 + TAG_LEN;

/// What an envelope belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The object id.
    pub id: [u8; 16],
    /// Its category.
    pub category: DataCategory,
}

impl Binding {
    fn header(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..4].copy_from_slice(MAGIC);
        h[4] = FORMAT;
        h[5] = self.category.code();
        h[6..22].copy_from_slice(&self.id);
        h
    }

    /// The associated data of this object's wrapped key under KEK `version`.
    pub fn wrap_aad(&self, version: u32) -> Vec<u8> {
        let mut aad = b"lensguard-dek\0".to_vec();
        aad.extend_from_slice(&self.id);
        aad.push(0);
        aad.extend_from_slice(self.category.as_str().as_bytes());
        aad.push(0);
        aad.extend_from_slice(&version.to_be_bytes());
        aad
    }
}

/// A sealed blob, in the three parts it is written as (no copy of the
/// ciphertext is made).
pub struct SealedBlob {
    /// Header and nonce.
    pub head: [u8; HEAD_LEN],
    /// The ciphertext (the caller's plaintext buffer, encrypted in place).
    pub body: Vec<u8>,
    /// The tag.
    pub tag: [u8; TAG_LEN],
}

impl SealedBlob {
    /// The blob as one buffer (tests and small objects).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.head.len() + self.body.len() + TAG_LEN);
        v.extend_from_slice(&self.head);
        v.extend_from_slice(&self.body);
        v.extend_from_slice(&self.tag);
        v
    }
}

fn integrity(what: &str) -> Error {
    Error::Integrity(what.to_owned())
}

fn aead_key(key: &[u8]) -> Result<LessSafeKey, Error> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| Error::Internal("an AES-256 key must be 32 bytes".to_owned()))
}

/// Seals `plain` in place under `key` with `nonce` and `aad`; returns the tag.
pub fn seal_in_place(
    key: &[u8],
    nonce: [u8; NONCE_LEN],
    aad: &[u8],
    plain: &mut [u8],
) -> Result<[u8; TAG_LEN], Error> {
    let tag = aead_key(key)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), plain)
        .map_err(|_| Error::Internal("AES-GCM refused to seal".to_owned()))?;
    let mut out = [0u8; TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens `ciphertext || tag` in place; the plaintext is the returned prefix
/// length. An integrity error when anything was altered.
pub fn open_in_place(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    sealed: &mut [u8],
) -> Result<usize, Error> {
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| integrity("bad nonce"))?;
    let plain = aead_key(key)?
        .open_in_place(nonce, Aad::from(aad), sealed)
        .map_err(|_| integrity("authentication failed"))?;
    Ok(plain.len())
}

/// Seals `plain` (consumed, encrypted in place) for `binding` under `key`.
pub fn seal(binding: &Binding, key: &DataKey, mut plain: Vec<u8>) -> Result<SealedBlob, Error> {
    let header = binding.header();
    let nonce = key.nonce();
    let tag = seal_in_place(key.bytes(), nonce, &header, &mut plain)?;
    let mut head = [0u8; HEAD_LEN];
    head[..HEADER_LEN].copy_from_slice(&header);
    head[HEADER_LEN..].copy_from_slice(&nonce);
    Ok(SealedBlob {
        head,
        body: plain,
        tag,
    })
}

/// Opens a blob that must belong to `binding`, given as its head (header
/// and nonce, [`HEAD_LEN`] bytes) and `ciphertext || tag` (consumed; the
/// plaintext is decrypted in place, so no copy of the object is made).
pub fn open(
    binding: &Binding,
    key: &DataKey,
    head: &[u8],
    mut sealed: Vec<u8>,
) -> Result<Vec<u8>, Error> {
    if head.len() != HEAD_LEN || sealed.len() < TAG_LEN {
        return Err(integrity("the blob is shorter than an envelope"));
    }
    if head[..HEADER_LEN] != binding.header() {
        return Err(integrity(
            "the blob's header names another object, category or format",
        ));
    }
    let n = open_in_place(
        key.bytes(),
        &head[HEADER_LEN..],
        &head[..HEADER_LEN],
        &mut sealed,
    )?;
    sealed.truncate(n);
    Ok(sealed)
}

/// The KEK version a wrapped key names.
pub fn wrapped_version(wrapped: &[u8]) -> Result<u32, Error> {
    let v: [u8; 4] = wrapped
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| integrity("the wrapped data key is truncated"))?;
    Ok(u32::from_be_bytes(v))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn binding(n: u8, category: DataCategory) -> Binding {
        Binding {
            id: [n; 16],
            category,
        }
    }

    #[test]
    fn a_blob_opens_only_for_its_binding_and_key() {
        let b = binding(1, DataCategory::Original);
        let key = DataKey::generate().expect("key");
        let blob = seal(&b, &key, b"canary plaintext".to_vec()).expect("seal");
        let bytes = blob.to_bytes();
        assert_eq!(bytes.len(), OVERHEAD + 16);
        assert!(!bytes.windows(6).any(|w| w == b"canary"));
        let whole = |b: &Binding, k: &DataKey, bytes: &[u8]| {
            let (head, rest) = bytes.split_at(HEAD_LEN.min(bytes.len()));
            open(b, k, head, rest.to_vec())
        };
        assert_eq!(whole(&b, &key, &bytes).expect("open"), b"canary plaintext");
        let other = DataKey::generate().expect("key");
        assert!(matches!(
            whole(&b, &other, &bytes),
            Err(Error::Integrity(_))
        ));
        for moved in [
            binding(2, DataCategory::Original),
            binding(1, DataCategory::Redacted),
        ] {
            assert!(matches!(
                whole(&moved, &key, &bytes),
                Err(Error::Integrity(_))
            ));
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            assert!(
                matches!(whole(&b, &key, &flipped), Err(Error::Integrity(_))),
                "byte {i} flipped"
            );
        }
        assert!(matches!(
            whole(&b, &key, &bytes[..OVERHEAD - 1]),
            Err(Error::Integrity(_))
        ));
    }
}
