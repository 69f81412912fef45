//! TLS for the service: rustls only, TLS 1.3 preferred and 1.2 minimum, AEAD
//! cipher suites only, a certificate from files or self-signed on first start.
//!
//! The self-signed certificate (ECDSA P-256, for `localhost`, `127.0.0.1` and
//! `::1`) is written to `<data dir>/tls/cert.pem` and `key.pem` (mode 0600) and
//! reused on later starts, so clients can pin it.

use crate::common::tls::{provider, read_certs, read_key, server_builder, sha256};
use anyhow::Context;
use lensguard_core::config::{ServerConfig, TlsSource};
use rustls::server::WebPkiClientVerifier;

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

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use crate::common::durable::Mode;
    let mode = if mode == 0o600 {
        Mode::Private
    } else {
        Mode::Public
    };
    crate::common::durable::write_with_context(path, bytes, mode)
}
