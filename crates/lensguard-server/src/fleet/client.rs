//! The edge's HTTPS client for the hub ([`HttpsClient`] with mutual TLS, or
//! the pinned-CA verifier during enrolment), and reading the hub's errors.

pub use crate::common::https_client::HttpsClient as HubClient;

/// The `code` of a hub's JSON error, if the body is one.
pub fn hub_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

/// The `message` of a hub's JSON error, or the body as text when it is not
/// one (at most 200 characters: it is for a log line).
pub fn hub_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    message.chars().take(200).collect()
}

/// TLS settings for talking to the hub: its CA as the only root, and the
/// edge's client certificate.
pub fn mutual_tls(
    ca_pem: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<rustls::ClientConfig> {
    use anyhow::Context;
    let mut roots = rustls::RootCertStore::empty();
    for c in crate::common::tls::read_certs(ca_pem)? {
        roots.add(c).context("the hub CA certificate is unusable")?;
    }
    let chain = crate::common::tls::read_certs(cert)?;
    let key = crate::common::tls::read_key(key)?;
    crate::common::tls::client_builder()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("the edge certificate and key do not match")
}
