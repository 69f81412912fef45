//! Cross-site request forgery protection for the console's forms.
//!
//! Two independent checks on every state-changing request, both required:
//! - **Where it came from**: a browser's `Sec-Fetch-Site` must say
//!   `same-origin`, and an `Origin` header must name this service (the
//!   request's own `Host`). A request carrying neither is judged by the token
//!   alone (old browsers, scripts).
//! - **A token** in the form (`csrf`): an HMAC of the session's public id (or,
//!   before sign-in, of the browser's random cookie) under a key that lives
//!   only in this process. A token from another session or another process
//!   does not verify; a restart invalidates open forms, not sessions.
//!
//! Session cookies are also `SameSite=Strict`, so a cross-site post arrives
//! without them; these checks hold even when a same-site page is hostile.

use aws_lc_rs::hmac;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The per-process key that tokens are made with.
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        // HMAC-SHA256 key generation only fails if the system RNG does, and
        // then nothing else here works either; fall back to a key of zeros
        // would be unsafe, so a failure aborts start-up instead.
        #[allow(clippy::expect_used)]
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("system random source");
        CsrfKey(key)
    }

    /// The token for forms bound to `binding` (a session id, or a browser
    /// cookie before sign-in).
    pub fn token(&self, binding: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, binding.as_bytes()).as_ref())
    }

    /// Whether `presented` is the token for `binding` (constant time).
    pub fn verify(&self, binding: &str, presented: &str) -> bool {
        URL_SAFE_NO_PAD
            .decode(presented)
            .is_ok_and(|tag| hmac::verify(&self.0, binding.as_bytes(), &tag).is_ok())
    }
}

/// Whether the request's headers say it came from this service's own pages;
/// `Err` says why not. `authority` is the request's `:authority` (HTTP/2) or
/// `Host` (HTTP/1.1).
pub fn same_origin(headers: &HeaderMap, authority: Option<&str>) -> Result<(), &'static str> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && site != "same-origin"
    {
        return Err("the form was sent from another site");
    }
    if let Some(origin) = text("origin") {
        let host = authority.or_else(|| text("host")).unwrap_or_default();
        if origin != format!("https://{host}") {
            return Err("the form was sent from another origin");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_token_verifies_only_for_its_binding_and_key() {
        let key = CsrfKey::random();
        let t = key.token("abc123");
        assert!(key.verify("abc123", &t));
        assert!(!key.verify("abc124", &t));
        assert!(!key.verify("abc123", ""));
        assert!(!key.verify("abc123", "not base64!"));
        assert!(!CsrfKey::random().verify("abc123", &t));
    }

    #[test]
    fn cross_site_and_foreign_origins_are_refused() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("127.0.0.1:8443"));
        assert!(
            same_origin(&h, None).is_ok(),
            "no browser headers: token decides"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:8443"));
        assert!(same_origin(&h, None).is_ok());
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(same_origin(&h, None).is_err());
        h.insert("origin", HeaderValue::from_static("https://127.0.0.1:8443"));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h, None).is_err());
        h.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(same_origin(&h, None).is_err());
        // HTTP/2 carries the authority, not a Host header.
        h.remove("host");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, Some("127.0.0.1:8443")).is_ok());
        assert!(same_origin(&h, Some("10.0.0.1:8443")).is_err());
    }
}
