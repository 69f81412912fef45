//! One module per subcommand; [`run`] dispatches.

mod audit;
mod bench;
mod check;
mod keys;
mod local;
mod policy;
mod redact;
mod users;

use crate::cli::{Cli, Command, PolicyArgs};
use anyhow::Context;
use lensguard_core::Policy;
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
        Command::Bench(args) => bench::run(args),
    }
}

/// The policy named by `--policy`, or the built-in default.
pub fn load_policy(args: &PolicyArgs) -> anyhow::Result<Policy> {
    let Some(path) = &args.policy else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    Policy::from_toml(&text).map_err(|e| policy::located(path, &e))
}
