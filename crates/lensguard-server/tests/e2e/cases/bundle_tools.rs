//! Checking and tampering with case bundles in the tests: `case verify`
//! with the installation's keys, c2pa-python as the independent reader,
//! copies with a byte flipped or a manifest moved, and a customer's own
//! signing certificate.

use crate::common::{lensguard, text};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Arguments of `lensguard case export CASE` from data directory `data`
/// with configuration `config` into `out`, signed by the customer
/// certificate in `customer` (`chain.pem`, `key.pem`) when given.
pub fn export_args(
    case: &str,
    data: &str,
    config: &str,
    out: &Path,
    customer: Option<&Path>,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "case",
        "export",
        case,
        "--data-dir",
        data,
        "--config",
        config,
        "--out",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(out.display().to_string());
    if let Some(dir) = customer {
        args.push("--signing-cert".to_owned());
        args.push(dir.join("chain.pem").display().to_string());
        args.push("--signing-key".to_owned());
        args.push(dir.join("key.pem").display().to_string());
    }
    args
}

/// `lensguard case verify` on `bundle` with the installation's keys.
pub fn verify(bundle: &Path, key: &str, anchor: &Path) -> (bool, String) {
    let out = lensguard(&[
        "case",
        "verify",
        bundle.to_str().unwrap(),
        "--audit-key",
        key,
        "--trust-anchor",
        anchor.to_str().unwrap(),
    ]);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

/// c2pa-python's verdict on each file (`PATH STATE codes`), or `None` when
/// the test tools are not installed (a failure under CI).
pub fn c2pa_python(anchor: &Path, files: &[PathBuf]) -> Option<Vec<String>> {
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let python = home.join(".cache/lensguard/test-venv/bin/python");
    if !python.exists() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "c2pa-python is required under CI (scripts/install-test-deps installs it)"
        );
        eprintln!(
            "\n*** SKIPPING the c2pa-python checks: scripts/install-test-deps installs it ***\n"
        );
        return None;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/c2pa_check.py");
    let out = Command::new(python)
        .arg(script)
        .arg(anchor)
        .args(files)
        .output()
        .expect("python runs");
    assert!(
        out.stderr.is_empty() || out.status.code() != Some(2),
        "{}",
        text(&out.stderr)
    );
    Some(text(&out.stdout).lines().map(str::to_owned).collect())
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let dest = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Flips a bit `back` bytes before the end of `path` (in a clip: inside
/// the last picture's data).
pub fn flip(path: &Path, back: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.len().saturating_sub(back);
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// The APP11 (JUMBF, where C2PA lives) segments of a JPEG, and the JPEG
/// without them.
pub fn split_app11(jpeg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut app11, mut rest) = (Vec::new(), jpeg[..2].to_vec());
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA {
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = &jpeg[at..at + 2 + len];
        if jpeg[at + 1] == 0xEB {
            app11.extend_from_slice(segment);
        } else {
            rest.extend_from_slice(segment);
        }
        at += 2 + len;
    }
    rest.extend_from_slice(&jpeg[at..]);
    (app11, rest)
}

pub fn sums_rewritten(bundle: &Path) {
    let mut out = String::new();
    let sums = std::fs::read_to_string(bundle.join("MANIFEST.sha256")).unwrap();
    for line in sums.lines() {
        let (_, rel) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(bundle.join(rel)).unwrap();
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
        out.push_str(&format!("{}  {rel}\n", hex::encode(digest.as_ref())));
    }
    std::fs::write(bundle.join("MANIFEST.sha256"), out).unwrap();
}

/// A customer's CA and an ES256 signer it issued (documentSigning), with
/// `organisation` in its subject, PEM: (CA, signer chain, signer key).
pub fn customer_signer(organisation: Option<&str>) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    ca.distinguished_name
        .push(DnType::CommonName, "Customer evidence CA");
    // Real validity periods (rcgen's defaults run to the year 4096).
    let now = time::OffsetDateTime::now_utc();
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + time::Duration::days(365);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut leaf = CertificateParams::default();
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![
        1, 3, 6, 1, 5, 5, 7, 3, 36,
    ])];
    leaf.distinguished_name
        .push(DnType::CommonName, "Customer evidence signer");
    if let Some(o) = organisation {
        leaf.distinguished_name.push(DnType::OrganizationName, o);
    }
    leaf.use_authority_key_identifier_extension = true;
    leaf.not_before = now - time::Duration::hours(1);
    leaf.not_after = now + time::Duration::days(90);
    let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
    (
        ca_cert.pem(),
        format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        key.serialize_pem(),
    )
}
