//! The hub's own certificate authority.
//!
//! `lensguard hub init` makes it: an ECDSA P-256 CA (`ca.pem`, `ca.key`
//! mode 0600, valid 10 years) and a server certificate it signs for the
//! names the hub is reached by (`server.pem`, `server.key`, valid 1 year,
//! reissued by `hub init --renew-server`). The CA signs each enrolled edge's
//! client certificate from the edge's CSR (whose signature proves the edge
//! holds the key); the hub decides the subject (common name = the edge id)
//! and the usage (client authentication only), never the CSR. Several hub
//! processes share one CA by sharing these files.

use crate::common::tls::sha256;
use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use std::path::{Path, PathBuf};

/// Days an edge certificate is valid (an edge re-enrols to renew).
pub const EDGE_CERT_DAYS: i64 = 730;
const CA_DAYS: i64 = 3650;
const SERVER_DAYS: i64 = 365;

/// The CA's files in a hub data directory.
pub struct CaFiles {
    /// `ca.pem`.
    pub cert: PathBuf,
    /// `ca.key`.
    pub key: PathBuf,
    /// `server.pem`.
    pub server_cert: PathBuf,
    /// `server.key`.
    pub server_key: PathBuf,
}

impl CaFiles {
    /// The files in `dir`.
    pub fn in_dir(dir: &Path) -> CaFiles {
        CaFiles {
            cert: dir.join("ca.pem"),
            key: dir.join("ca.key"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        }
    }
}

/// A loaded CA.
pub struct HubCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub cert_pem: String,
    /// SHA-256 of the CA certificate (DER).
    pub sha256: [u8; 32],
}

fn random_serial() -> anyhow::Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| anyhow::anyhow!("no randomness"))?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

fn validity(params: &mut CertificateParams, days: i64) {
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
}

/// SHA-256 of the first certificate in `pem`.
pub fn pem_sha256(pem: &str) -> anyhow::Result<[u8; 32]> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).context("not a PEM certificate")?;
    Ok(sha256(der.as_ref()))
}

impl HubCa {
    /// Makes a new CA in `files` (refuses to replace one).
    pub fn create(files: &CaFiles) -> anyhow::Result<HubCa> {
        if files.cert.exists() || files.key.exists() {
            bail!(
                "{} already holds a hub CA; edges trust it, so it is never replaced",
                files.cert.parent().unwrap_or(Path::new(".")).display()
            );
        }
        let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params
            .distinguished_name
            .push(DnType::CommonName, "lensguard hub CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(random_serial()?);
        validity(&mut params, CA_DAYS);
        let key = KeyPair::generate().context("cannot generate the CA key")?;
        let cert = params.self_signed(&key).context("cannot sign the CA")?;
        crate::common::durable::write_private(&files.key, key.serialize_pem().as_bytes())?;
        crate::common::durable::write_public(&files.cert, cert.pem().as_bytes())?;
        Self::load(files)
    }

    /// Loads the CA from `files`.
    pub fn load(files: &CaFiles) -> anyhow::Result<HubCa> {
        let cert_pem = std::fs::read_to_string(&files.cert).with_context(|| {
            format!(
                "cannot read {}; run `lensguard hub init` first",
                files.cert.display()
            )
        })?;
        let key_pem = std::fs::read_to_string(&files.key)
            .with_context(|| format!("cannot read {}", files.key.display()))?;
        let key = KeyPair::from_pem(&key_pem).context("the CA key is not a PEM key")?;
        let issuer =
            Issuer::from_ca_cert_pem(&cert_pem, key).context("the CA certificate is unreadable")?;
        let sha256 = pem_sha256(&cert_pem)?;
        Ok(HubCa {
            issuer,
            cert_pem,
            sha256,
        })
    }

    /// Issues the hub's server certificate for `names` (DNS names or IP
    /// addresses) into `files`.
    pub fn issue_server(&self, files: &CaFiles, names: &[String]) -> anyhow::Result<()> {
        if names.is_empty() {
            bail!("name at least one host name or address the edges will use (--name)");
        }
        let mut params = CertificateParams::new(names.to_vec()).context("server names")?;
        params
            .distinguished_name
            .push(DnType::CommonName, format!("lensguard hub {}", names[0]));
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial()?);
        validity(&mut params, SERVER_DAYS);
        let key = KeyPair::generate().context("cannot generate the server key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("cannot sign the server certificate")?;
        crate::common::durable::write_private(&files.server_key, key.serialize_pem().as_bytes())?;
        // The chain: the server certificate, then the CA (so a new edge can
        // find the CA it pinned by fingerprint).
        crate::common::durable::write_public(
            &files.server_cert,
            format!("{}{}", cert.pem(), self.cert_pem).as_bytes(),
        )
    }

    /// Signs a client certificate for edge `edge_id` over the key in
    /// `csr_pem` (whose signature is checked); returns its PEM and SHA-256.
    pub fn sign_edge(&self, csr_pem: &str, edge_id: &str) -> Result<(String, [u8; 32]), String> {
        if csr_pem.len() > 16 * 1024 {
            return Err("the CSR is larger than 16 KiB".into());
        }
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| format!("the CSR is not valid: {e}"))?;
        let mut params = CertificateParams::new(Vec::<String>::new())
            .map_err(|e| format!("certificate parameters: {e}"))?;
        params.distinguished_name.push(DnType::CommonName, edge_id);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial().map_err(|e| e.to_string())?);
        validity(&mut params, EDGE_CERT_DAYS);
        let cert = params
            .signed_by(&csr.public_key, &self.issuer)
            .map_err(|e| format!("cannot sign the edge certificate: {e}"))?;
        Ok((cert.pem(), sha256(cert.der())))
    }
}
