//! The certificate evidence is signed with (C2PA manifests of exported
//! media): the installation's own, or the customer's.
//!
//! The installation's own is made on first use in
//! `<data dir>/evidence-signing/`: a CA certificate (`ca.pem`, ECDSA P-256,
//! ten years) whose private key signs the signer's certificate and is then
//! discarded (never written: a stolen data directory cannot mint more
//! signers), and the signer (`signer.pem`: its certificate, then the CA's;
//! `signer.key`, PKCS#8, mode 0600; two years, key usage digitalSignature,
//! extended key usage documentSigning as C2PA requires). Recipients trust
//! `ca.pem`. When the signer expires, delete the folder: a new CA is made,
//! and recipients need its `ca.pem`.
//!
//! A customer's certificate: any ES256 signer certificate chain (PEM, signer
//! first) and its PKCS#8 key, given as files.

use anyhow::{Context, bail};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The folder in the data directory.
pub const FOLDER: &str = "evidence-signing";

/// id-kp-documentSigning (RFC 9336), an extended key usage C2PA accepts.
pub const DOCUMENT_SIGNING: &str = "1.3.6.1.5.5.7.3.36";
const DOCUMENT_SIGNING_ARCS: [u64; 9] = [1, 3, 6, 1, 5, 5, 7, 3, 36];

/// A signer: its certificate chain and private key, PEM.
pub struct EvidenceSigner {
    chain_pem: String,
    key_pem: String,
    /// Where the trust anchor recipients need is, when the installation
    /// made it.
    pub anchor: Option<PathBuf>,
}

impl EvidenceSigner {
    /// The installation's signer in `data_dir`, made on first use.
    pub fn installation(data_dir: &Path) -> anyhow::Result<EvidenceSigner> {
        // Two first exports at once must not each make a CA.
        static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = MAKING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = data_dir.join(FOLDER);
        let (chain, key, ca) = (
            dir.join("signer.pem"),
            dir.join("signer.key"),
            dir.join("ca.pem"),
        );
        if !key.exists() {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let made = make_installation_signer()?;
            use crate::common::durable::{Mode, write_with_context};
            write_with_context(&ca, made.ca_pem.as_bytes(), Mode::Public)?;
            write_with_context(&chain, made.chain_pem.as_bytes(), Mode::Public)?;
            write_with_context(&key, made.key_pem.as_bytes(), Mode::Private)?;
        }
        let mut signer = EvidenceSigner::from_files(&chain, &key)?;
        signer.anchor = Some(ca);
        Ok(signer)
    }

    /// A customer's signer: `chain` (PEM certificates, signer first) and
    /// `key` (PKCS#8 PEM).
    pub fn from_files(chain: &Path, key: &Path) -> anyhow::Result<EvidenceSigner> {
        let chain_pem = std::fs::read_to_string(chain)
            .with_context(|| format!("cannot read the signing certificate {}", chain.display()))?;
        let key_pem = std::fs::read_to_string(key)
            .with_context(|| format!("cannot read the signing key {}", key.display()))?;
        if !chain_pem.contains("BEGIN CERTIFICATE") {
            bail!("{} holds no PEM certificate", chain.display());
        }
        Ok(EvidenceSigner {
            chain_pem,
            key_pem,
            anchor: None,
        })
    }

    /// The certificate chain, PEM (signer first).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// A C2PA signer (ES256, no time-stamp authority: nothing leaves the
    /// machine).
    pub fn c2pa(&self) -> anyhow::Result<c2pa::BoxedSigner> {
        c2pa::create_signer::from_keys(
            self.chain_pem.as_bytes(),
            self.key_pem.as_bytes(),
            c2pa::crypto::raw_signature::SigningAlg::Es256,
            None,
        )
        .context("the evidence signing certificate or key is not a usable ES256 pair")
    }
}

/// A CA and a signer it issued, PEM.
pub struct MadeSigner {
    /// The CA's certificate (the trust anchor).
    pub ca_pem: String,
    /// The signer's certificate, then the CA's.
    pub chain_pem: String,
    /// The signer's private key.
    pub key_pem: String,
}

fn name(common: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common);
    dn.push(DnType::OrganizationName, "lensguard installation");
    dn
}

/// Makes a CA and a signer certificate it issued, dropping the CA's key.
pub fn make_installation_signer() -> anyhow::Result<MadeSigner> {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name = name("lensguard evidence CA");
    ca.not_before = now - time::Duration::minutes(5);
    ca.not_after = now + time::Duration::days(3650);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = CertificateParams::default();
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(
        DOCUMENT_SIGNING_ARCS.to_vec(),
    )];
    leaf.distinguished_name = name("lensguard evidence signer");
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - time::Duration::minutes(5);
    leaf.not_after = now + time::Duration::days(730);
    let leaf_cert = leaf.signed_by(&key, &issuer)?;
    Ok(MadeSigner {
        ca_pem: ca_cert.pem(),
        chain_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        key_pem: key.serialize_pem(),
    })
}
