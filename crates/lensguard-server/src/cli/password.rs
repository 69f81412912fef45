//! Where a new password comes from: a file or standard input, never a flag
//! (flags show in the process list to every local user).

use clap::Args;
use std::path::PathBuf;

/// Where a new password comes from (never from a flag: flags show in `ps`).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PasswordSource {
    /// Read the password from this file (first line).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordSource {
    /// The password: the file's first line, else standard input's; checked
    /// for length. Never from a flag (flags show in the process list).
    pub fn read(&self) -> anyhow::Result<lensguard_core::Sensitive<String>> {
        use anyhow::Context;
        use std::io::BufRead;
        let mut line = String::new();
        match &self.password_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                line = text.lines().next().unwrap_or("").to_owned();
            }
            None => {
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
            }
        }
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        lensguard_store::db::check_password(&password)?;
        Ok(lensguard_core::Sensitive::new(password))
    }
}
