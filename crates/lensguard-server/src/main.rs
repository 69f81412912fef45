//! `lensguard`: the command-line tool, the gateway service and its operator tools.
//!
//! Exit codes: 0 when every photo passes, 1 when at least one gets `retry`,
//! `fail` or `error` (or a policy file is invalid), 2 for usage or setup errors.

mod cli;
mod commands;
mod detection;
mod edge;
mod fleet;
mod hub;
mod inputs;
mod output;
mod serve;
mod siem;
mod vault_keys;

use clap::Parser;
use std::process::ExitCode;

/// Whether output stopped because the reader went away (`lensguard check | head`);
/// that ends the run quietly instead of printing an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::from(2),
        Err(e) => {
            eprintln!("lensguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
