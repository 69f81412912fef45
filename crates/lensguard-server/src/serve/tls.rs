//! TLS for the service: rustls only, TLS 1.3 preferred and 1.2 minimum, AEAD
//! cipher suites only, a certificate from files or self-signed on first start.
//!
//! The self-signed certificate (ECDSA P-256, for `localhost`, `127.0.0.1` and
//! `::1`) is written to `<data dir>/tls/cert.pem` and `key.pem` (mode 0600) and
//! reused on later starts, so clients can pin it.

use anyhow::{Context, bail};
use lensguard_core::config::{ServerConfig, TlsSource};
use rustls::crypto::aws_lc_rs as rustls_aws_lc;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A ready TLS configuration and what it is, for the start-up log and audit.
pub struct Tls {
    /// The rustls configuration.
    pub config: Arc<rustls::ServerConfig>,
    /// `self-signed` or the certificate file.
    pub source: String,
    /// SHA-256 fingerprint of the leaf certificate, colon-separated hex.
    pub fingerprint: String,
}

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

/// Builds the TLS configuration for `cfg`, generating a certificate if needed.
pub fn load(cfg: &ServerConfig) -> anyhow::Result<Tls> {
    let (certs, key, source) = match &cfg.tls {
        TlsSource::SelfSigned => {
            let dir = cfg.data_dir.join("tls");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() || due_for_renewal(&cert) {
                generate(&dir, &cert, &key)?;
            }
            (
                read_certs(&cert)?,
                read_key(&key)?,
                "self-signed".to_owned(),
            )
        }
        TlsSource::Files { cert, key } => (
            read_certs(cert)?,
            read_key(key)?,
            cert.display().to_string(),
        ),
    };
    let leaf = certs
        .first()
        .context("the certificate file holds no certificate")?;
    let fingerprint = aws_lc_rs_fingerprint(leaf.as_ref());
    let builder = server_builder()?;
    let builder = match &cfg.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_certs(ca)? {
                roots
                    .add(c)
                    .with_context(|| format!("bad CA certificate in {}", ca.display()))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(provider()))
                    .build()
                    .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // The server's suite order (TLS 1.3 suites first, AES-256-GCM first) wins over
    // the client's.
    config.ignore_client_order = true;
    Ok(Tls {
        config: Arc::new(config),
        source,
        fingerprint,
    })
}

/// SHA-256 of `der`, colon-separated upper-case hex.
pub fn aws_lc_rs_fingerprint(der: &[u8]) -> String {
    sha256(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

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

pub fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path)
        .with_context(|| format!("{} is not a PEM private key", path.display()))
}

/// Days a self-signed certificate is valid, and the age at which a start replaces it.
const SELF_SIGNED_DAYS: i64 = 365;
const RENEW_AFTER_DAYS: u64 = 335;

/// Whether the self-signed certificate is old enough to replace (by file age).
fn due_for_renewal(cert: &Path) -> bool {
    std::fs::metadata(cert)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > RENEW_AFTER_DAYS * 86_400)
}

fn generate(dir: &Path, cert_path: &Path, key_path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let mut params = rcgen::CertificateParams::new(names).context("certificate names")?;
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "lensguard self-signed (localhost)",
    );
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    let key = rcgen::KeyPair::generate().context("cannot generate a key")?;
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    write_file(key_path, key.serialize_pem().as_bytes(), 0o600)?;
    write_file(cert_path, cert.pem().as_bytes(), 0o644)
}

/// Writes `bytes` to `path` readable by its owner only (mode 0600), synced.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_file(path, bytes, 0o600)
}

/// Writes `bytes` to `path` (mode 0644), synced.
pub fn write_public(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_file(path, bytes, 0o644)
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
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
