//! `lensguard`: the command-line tool (and, later, the gateway service).
//!
//! Exit codes: 0 when every photo passes, 1 when at least one gets `retry`,
//! `fail` or `error` (or a policy file is invalid), 2 for usage or setup errors.

mod cli;
mod commands;
mod inputs;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lensguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
