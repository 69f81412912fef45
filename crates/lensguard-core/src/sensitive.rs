//! [`Sensitive<T>`]: a secret that refuses to leak.
//!
//! `Debug` and `Display` print `**redacted**`, it is not `Serialize`, and its
//! memory is zeroized when dropped. Reading it takes an explicit
//! [`Sensitive::expose`], which is easy to find in review.

use std::fmt;
use zeroize::Zeroize;

/// A secret value (API key, TOTP seed, password, key material).
#[derive(Clone, PartialEq, Eq)]
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The secret itself. Every call is a place where it can leak: keep them few.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

impl<T: Zeroize> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**redacted**")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted() {
        let s = Sensitive::new("lg_abc_supersecret".to_owned());
        assert_eq!(format!("{s:?} {s}"), "**redacted** **redacted**");
        assert_eq!(s.expose(), "lg_abc_supersecret");
    }
}
