//! `lensguard`: the command-line tool, the gateway service and its operator tools.
//!
//! Exit codes: 0 when every photo passes, 1 when at least one gets `retry`,
//! `fail` or `error` (or a policy file is invalid), 2 for usage or setup errors.

mod audit_open;
mod cases;
mod cli;
mod commands;
mod common;
mod data_dir;
mod detection;
mod dry_run;
mod edge;
mod fleet;
mod footage_redaction;
mod hub;
mod inputs;
mod intake;
mod inventory;
mod metrics;
mod model_updates;
#[cfg(test)]
mod module_rule;
mod oidc;
mod output;
mod scim;
mod serve;
mod siem;
mod sinks;
mod sources;
mod token;
mod vault_keys;
mod web;

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

/// The error and its causes on one line, each cause once: libraries often
/// repeat their source's text in their own message, and a cause already said
/// is not said again.
fn describe(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        let part = part.trim();
        if part.is_empty() || text.contains(part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(part);
    }
    text
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::from(2),
        Err(e) => {
            eprintln!("lensguard: {}", describe(&e));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_already_said_are_not_repeated() {
        let inner = anyhow::anyhow!("(code: 14) unable to open database file");
        let e = inner
            .context("error returned from database: (code: 14) unable to open database file")
            .context("cannot open the database");
        assert_eq!(
            super::describe(&e),
            "cannot open the database: error returned from database: (code: 14) unable to open database file"
        );
    }
}
