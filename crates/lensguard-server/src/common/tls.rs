//! The one TLS builder every part uses (the service, the hub, the edge's
//! client, the SIEM exporter): rustls with AWS-LC, AEAD suites only, TLS 1.3
//! preferred and 1.2 minimum; PEM readers; SHA-256 for fingerprints.

use anyhow::{Context, bail};
use rustls::crypto::aws_lc_rs as rustls_aws_lc;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The crypto provider with only AEAD suites (rustls offers no others, and this
/// keeps it so if that ever changes).
pub fn provider() -> rustls::crypto::CryptoProvider {
    let mut p = rustls_aws_lc::default_provider();
    p.cipher_suites.retain(|s| {
        let name = format!("{:?}", s.suite());
        name.contains("_GCM_") || name.contains("CHACHA20_POLY1305")
    });
    p
}

/// A server configuration builder with lensguard's provider and versions
/// (TLS 1.3 preferred, 1.2 minimum): the one place both are chosen for
/// servers.
pub fn server_builder()
-> anyhow::Result<rustls::ConfigBuilder<rustls::ServerConfig, rustls::WantsVerifier>> {
    rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")
}

/// The same for clients (the edge talking to its hub or its SIEM).
pub fn client_builder()
-> anyhow::Result<rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier>> {
    rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The certificates in the PEM file `path` (at least one).
pub fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read certificates from {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", path.display());
    }
    Ok(certs)
}

/// The private key in the PEM file `path`.
pub fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("{} is not a PEM private key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_aead_suites_are_offered() {
        let names: Vec<String> = provider()
            .cipher_suites
            .iter()
            .map(|s| format!("{:?}", s.suite()))
            .collect();
        assert!(!names.is_empty());
        for n in &names {
            assert!(
                n.contains("_GCM_") || n.contains("CHACHA20_POLY1305"),
                "{n}"
            );
            assert!(!n.contains("CBC") && !n.contains("SHA1"), "{n}");
        }
    }
}
