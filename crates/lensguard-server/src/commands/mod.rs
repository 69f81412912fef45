//! One module per subcommand; [`run`] dispatches.

mod audit;
mod bench;
mod bench_vault;
mod cameras;
mod case;
mod check;
mod evidence;
mod explain;
mod keys;
mod local;
mod model_publish;
mod models;
mod policy;
mod redact;
mod retention;
mod users;

use crate::cli::{Cli, Command, PolicyArgs};
use anyhow::Context;
use lensguard_core::Policy;
use std::path::Path;
use std::process::ExitCode;

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Redact(args) => redact::run(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Serve(args) => crate::serve::run(args),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Users(cmd) => users::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
        Command::Retention(cmd) => retention::run(cmd),
        Command::Evidence(cmd) => evidence::run(cmd),
        Command::Models(cmd) => models::run(cmd),
        Command::Erase(args) => evidence::erase(args),
        Command::Case(cmd) => case::run(cmd),
        Command::Cameras(args) => cameras::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Hub(cmd) => crate::hub::run(cmd),
        Command::Edge(cmd) => crate::edge::run(cmd),
        Command::Egress(cmd) => crate::edge::egress_report(cmd),
    }
}

/// A policy and, for people, where it came from.
pub struct SourcedPolicy {
    /// The policy.
    pub policy: Policy,
    /// The file or built-in profile it came from.
    pub source: String,
}

/// The policy `lensguard serve` on `data_dir` would judge by (its
/// `policy.toml`, else the built-in default), unless `--policy` or
/// `--profile` names another. `data_dir` is the `--data-dir` flag or
/// `LENSGUARD_DATA_DIR`; without either, `lensguard-data` (which need not exist).
pub fn service_policy(args: &PolicyArgs, data_dir: Option<&Path>) -> anyhow::Result<SourcedPolicy> {
    if let Some(name) = &args.profile {
        return Ok(SourcedPolicy {
            policy: load_policy(args)?,
            source: format!("built-in profile {name} (--profile)"),
        });
    }
    if let Some(path) = &args.policy {
        return Ok(SourcedPolicy {
            policy: load_policy(args)?,
            source: format!("{} (--policy)", path.display()),
        });
    }
    let dir = data_dir.unwrap_or(Path::new("lensguard-data"));
    if data_dir.is_some() && !dir.is_dir() {
        anyhow::bail!(
            "{} does not exist: not a lensguard data directory (pass --data-dir with the \
             service's data directory, or --policy FILE)",
            dir.display()
        );
    }
    let file = dir.join(crate::serve::POLICY_FILE);
    if file.exists() {
        return Ok(SourcedPolicy {
            policy: crate::serve::stored_policy(dir)?,
            source: format!("{} (the service's policy)", file.display()),
        });
    }
    Ok(SourcedPolicy {
        policy: Policy::default(),
        source: format!(
            "built-in default proof-of-delivery ({} does not exist)",
            file.display()
        ),
    })
}

/// The policy named by `--policy` or `--profile`, or the built-in default.
pub fn load_policy(args: &PolicyArgs) -> anyhow::Result<Policy> {
    if let Some(name) = &args.profile {
        return Policy::builtin(name).ok_or_else(|| {
            anyhow::anyhow!(
                "no built-in policy {name:?} (known: {})",
                lensguard_core::policy::BUILTIN.join(", ")
            )
        });
    }
    let Some(path) = &args.policy else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    Policy::from_toml(&text).map_err(|e| policy::located(path, &e))
}

/// `--device` values as a scope (`None` when none were given).
pub fn device_scope(
    patterns: &[String],
) -> anyhow::Result<Option<lensguard_core::devices::DeviceScope>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    lensguard_core::devices::DeviceScope::new(patterns)
        .map(Some)
        .map_err(anyhow::Error::msg)
}
