//! HMAC-SHA-256 pseudonyms for values that identify people, keyed per installation.

use aws_lc_rs::hmac;

/// Turns identifying values into stable pseudonyms: equal inputs give equal
/// outputs within one installation, and nothing can be read back without its key.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: hmac::Key,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(**redacted**)")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with the given installation key (at least 32 bytes).
    pub fn new(key: &[u8]) -> Self {
        Pseudonymizer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// `hmac:` and the first 16 bytes of the HMAC, in hex.
    pub fn pseudonym(&self, value: &str) -> String {
        let tag = hmac::sign(&self.key, value.as_bytes());
        format!("hmac:{}", hex::encode(&tag.as_ref()[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_key_and_hide_the_value() {
        let a = Pseudonymizer::new(&[1u8; 32]);
        let b = Pseudonymizer::new(&[2u8; 32]);
        assert_eq!(a.pseudonym("alice"), a.pseudonym("alice"));
        assert_ne!(a.pseudonym("alice"), a.pseudonym("bob"));
        assert_ne!(a.pseudonym("alice"), b.pseudonym("alice"));
        assert!(!a.pseudonym("alice").contains("alice"));
        assert_eq!(format!("{a:?}"), "Pseudonymizer(**redacted**)");
    }
}
