//! `lensguard policy show`, `check`, `inventory` and `explain`.

use crate::cli::PolicyCommand;
use anyhow::{Context, anyhow};
use lensguard_core::{Error, Policy};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(cmd: PolicyCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCommand::Show(args) => {
            let policy = super::load_policy(&args)?;
            let mut out = std::io::stdout().lock();
            write!(out, "{}", policy.to_toml())?;
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Inventory {
            policy,
            data_dir,
            format,
        } => {
            let chosen = super::service_policy(&policy, data_dir.as_deref())?;
            eprintln!("policy: {}", chosen.source);
            let inv = crate::inventory::inventory(&chosen.policy);
            let mut out = std::io::stdout().lock();
            match format {
                crate::cli::InventoryFormat::Markdown => {
                    write!(out, "{}", crate::inventory::markdown(&inv))?
                }
                crate::cli::InventoryFormat::Json => {
                    writeln!(out, "{}", serde_json::to_string_pretty(&inv)?)?
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PolicyCommand::Explain {
            photo,
            policy,
            data_dir,
            models,
            json,
        } => {
            let chosen = super::service_policy(&policy, data_dir.as_deref())?;
            super::explain::run(&photo, &chosen, &models, json)
        }
        PolicyCommand::Check { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read policy {}", file.display()))?;
            match Policy::from_toml(&text) {
                Ok(p) => {
                    let mut out = std::io::stdout().lock();
                    writeln!(
                        out,
                        "{}: ok (policy {:?}, revision {})",
                        file.display(),
                        p.name,
                        p.revision
                    )?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{}", located_text(&file, &e));
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Prefixes every line of a policy error with the file name, compiler-style:
/// `policy.toml:12:1: exposure.min_mean_luma: must be below max_mean_luma`.
fn located_text(path: &Path, e: &Error) -> String {
    e.to_string()
        .lines()
        .map(|l| format!("{}:{l}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A policy error as an `anyhow` error naming the file.
pub fn located(path: &Path, e: &Error) -> anyhow::Error {
    anyhow!("invalid policy\n{}", located_text(path, e))
}
