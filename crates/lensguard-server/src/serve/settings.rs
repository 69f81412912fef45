//! Merging the configuration: flags, then `LENSGUARD_*` environment variables, then
//! the TOML file, then defaults.

use crate::cli::ServeArgs;
use anyhow::{Context, bail};
use lensguard_core::config::{ServerConfig, ServerConfigFile};
use std::path::PathBuf;

fn read_file(config: Option<&std::path::Path>) -> anyhow::Result<ServerConfigFile> {
    Ok(match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            toml::from_str::<ServerConfigFile>(&text).map_err(|e| {
                let line = e.span().map_or(1, |s| {
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                });
                anyhow::anyhow!("{}:{line}: {}", path.display(), e.message())
            })?
        }
        None => ServerConfigFile::default(),
    })
}

/// The `[vault]` settings of configuration file `config` (defaults without
/// one), for the local commands.
pub fn vault_config(
    config: Option<&std::path::Path>,
) -> anyhow::Result<lensguard_core::config::VaultConfig> {
    let raw = read_file(config)?;
    let mut problems = Vec::new();
    let cfg = raw.vault.validate(&mut problems);
    if !problems.is_empty() {
        bail!("invalid configuration\n{}", problems.join("\n"));
    }
    Ok(cfg)
}

/// Each configured camera's privacy masks in configuration file `config`
/// (none without one), for the local commands that redact footage.
pub fn camera_masks(
    config: Option<&std::path::Path>,
) -> anyhow::Result<std::collections::HashMap<String, Vec<lensguard_core::config::cameras::Polygon>>>
{
    let raw = read_file(config)?;
    let mut problems = Vec::new();
    let cameras = lensguard_core::config::cameras::validate(&raw.cameras, &[], &mut problems);
    if !problems.is_empty() {
        bail!("invalid configuration\n{}", problems.join("\n"));
    }
    Ok(cameras.into_iter().map(|c| (c.name, c.masks)).collect())
}

/// The validated configuration for `lensguard serve`.
pub fn resolve(args: &ServeArgs) -> anyhow::Result<ServerConfig> {
    let mut raw = read_file(args.config.as_deref())?;
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(v) = env("LENSGUARD_LISTEN") {
        raw.listen = Some(v.to_string_lossy().into_owned());
    }
    if let Some(v) = env("LENSGUARD_DATA_DIR") {
        raw.data_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = env("LENSGUARD_MODELS") {
        raw.models_dir = Some(PathBuf::from(v));
    }
    if let Some(v) = env("LENSGUARD_TLS_CERT_FILE") {
        raw.tls.cert_file = Some(PathBuf::from(v));
    }
    if let Some(v) = env("LENSGUARD_TLS_KEY_FILE") {
        raw.tls.key_file = Some(PathBuf::from(v));
    }
    if let Some(v) = env("LENSGUARD_TLS_CLIENT_CA_FILE") {
        raw.tls.client_ca_file = Some(PathBuf::from(v));
    }
    if let Some(v) = &args.listen {
        raw.listen = Some(v.clone());
    }
    if let Some(v) = &args.data_dir {
        raw.data_dir = Some(v.clone());
    }
    if let Some(v) = &args.models {
        raw.models_dir = Some(v.clone());
    }
    match ServerConfig::validate(&raw) {
        Ok(c) => Ok(c),
        Err(problems) => bail!("invalid configuration\n{}", problems.join("\n")),
    }
}
