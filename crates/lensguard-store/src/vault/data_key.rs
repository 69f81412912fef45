//! One object's data key: 32 random bytes and the nonce it seals with, used
//! for exactly one plaintext, zeroized on drop, never written down unwrapped.

use crate::Error;
use crate::secrets::random_bytes;
use aws_lc_rs::aead::NONCE_LEN;
use zeroize::Zeroizing;

/// A data key. `Debug` prints nothing of it.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    nonce: [u8; NONCE_LEN],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(**redacted**)")
    }
}

impl DataKey {
    /// A fresh key and nonce from the system's secure generator.
    pub fn generate() -> Result<DataKey, Error> {
        let random = Zeroizing::new(random_bytes(32 + NONCE_LEN)?);
        let mut bytes = Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(&random[..32]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&random[32..]);
        Ok(DataKey { bytes, nonce })
    }

    /// A key recovered by unwrapping (the nonce travels in the blob).
    pub(crate) fn from_unwrapped(key: &[u8]) -> Result<DataKey, Error> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        if key.len() != 32 {
            return Err(Error::Integrity(
                "the unwrapped data key is not 32 bytes".to_owned(),
            ));
        }
        bytes.copy_from_slice(key);
        Ok(DataKey {
            bytes,
            nonce: [0u8; NONCE_LEN],
        })
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..]
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        self.nonce
    }
}
