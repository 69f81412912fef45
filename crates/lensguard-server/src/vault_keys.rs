//! Opening the evidence vault with the configured key source, the same way
//! for the service and for the local commands.
//!
//! Order: a PKCS#11 token when `[vault] pkcs11_*` is set (no software
//! fallback: an unreachable token refuses the start); else the master key
//! from `[vault] master_key_file`, else `LENSGUARD_MASTER_KEY` (64 hex
//! digits), else `<data dir>/vault-master.key`, made on first use. The last is
//! convenient and reported as a warning: a stolen disk then carries its own
//! key.

use anyhow::Context;
use lensguard_core::config::{VaultConfig, VaultKeys};
use lensguard_store::audit::AuditLog;
use lensguard_store::db::Db;
use lensguard_store::vault::{KeySource, MasterKey, Vault};
use std::path::Path;
use std::sync::Arc;

/// The default master key file inside the data directory.
pub const DEFAULT_MASTER_KEY: &str = "vault-master.key";

/// The key source, and a one-line description of it for the start-up
/// summary (`warning` set when it is the key-beside-the-data default).
pub fn key_source(cfg: &VaultConfig, data_dir: &Path) -> anyhow::Result<(KeySource, String, bool)> {
    match &cfg.keys {
        VaultKeys::Pkcs11 {
            module,
            token_label,
            pin_file,
        } => {
            let description = format!("pkcs11 token {token_label:?} via {}", module.display());
            Ok((
                KeySource::Pkcs11(crate::token::config(
                    module,
                    token_label,
                    pin_file.as_deref(),
                )?),
                description,
                false,
            ))
        }
        VaultKeys::MasterKey(Some(file)) => Ok((
            KeySource::MasterKey(MasterKey::from_file(file, false)?),
            format!("master key file {}", file.display()),
            false,
        )),
        VaultKeys::MasterKey(None) => match std::env::var("LENSGUARD_MASTER_KEY") {
            Ok(hex) if !hex.is_empty() => Ok((
                KeySource::MasterKey(MasterKey::from_hex(&hex)?),
                "master key from LENSGUARD_MASTER_KEY".to_owned(),
                false,
            )),
            _ => {
                let file = data_dir.join(DEFAULT_MASTER_KEY);
                Ok((
                    KeySource::MasterKey(MasterKey::from_file(&file, true)?),
                    format!("master key file {} (beside the data)", file.display()),
                    true,
                ))
            }
        },
    }
}

/// Opens the vault in `data_dir` (blobs in `<data dir>/vault`).
pub async fn open(
    cfg: &VaultConfig,
    data_dir: &Path,
    db: &Db,
    audit: Arc<AuditLog>,
) -> anyhow::Result<(Vault, String, bool)> {
    let default_key = data_dir.join(DEFAULT_MASTER_KEY);
    if cfg.keys == VaultKeys::MasterKey(None)
        && std::env::var_os("LENSGUARD_MASTER_KEY").is_none_or(|v| v.is_empty())
        && !default_key.exists()
        && Vault::has_keys(db).await?
    {
        anyhow::bail!(
            "the vault's keys exist but its master key {} is missing: restore it (or set \
             LENSGUARD_MASTER_KEY / [vault] master_key_file / the PKCS#11 settings it was made with); \
             refusing new evidence",
            default_key.display()
        );
    }
    let (source, description, warning) = key_source(cfg, data_dir)?;
    let vault = Vault::open(
        db,
        &data_dir.join("vault"),
        source,
        audit,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .context("cannot open the evidence vault; refusing new evidence")?;
    Ok((vault, description, warning))
}
