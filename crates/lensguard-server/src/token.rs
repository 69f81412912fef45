//! Reaching the installation's PKCS#11 token: the module, the token label
//! and the user PIN (from a PIN file, else `LENSGUARD_PKCS11_PIN`). Used by
//! the evidence vault's keys and by the audit log's signing key alike.

use anyhow::Context;
use lensguard_core::Sensitive;
use lensguard_store::vault::Pkcs11Config;
use std::path::Path;

/// The token settings, with the PIN read from `pin_file` or the environment.
pub fn config(
    module: &Path,
    token_label: &str,
    pin_file: Option<&Path>,
) -> anyhow::Result<Pkcs11Config> {
    let pin = match pin_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the PKCS#11 PIN file {}", p.display()))?
            .trim()
            .to_owned(),
        None => std::env::var("LENSGUARD_PKCS11_PIN").context(
            "the PKCS#11 token needs a PIN: set vault.pkcs11_pin_file or LENSGUARD_PKCS11_PIN",
        )?,
    };
    Ok(Pkcs11Config {
        module: module.to_path_buf(),
        token_label: token_label.to_owned(),
        pin: Sensitive::new(pin),
    })
}
