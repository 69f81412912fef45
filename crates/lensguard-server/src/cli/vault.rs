//! Command-line definitions for the evidence vault: retention, holds,
//! erasure, reading evidence, and KEK rotation (all on a data directory,
//! while the service is stopped; the API does the same while it runs).

use super::DataDirArgs;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A data directory and the configuration that names its vault keys.
#[derive(Debug, Args)]
pub struct VaultArgs {
    #[command(flatten)]
    pub data: DataDirArgs,
    /// The service's configuration file, for its `[vault]` key settings
    /// (master key file or PKCS#11 token). Without it: LENSGUARD_MASTER_KEY,
    /// else DIR/vault-master.key.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `lensguard retention ...`.
#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Delete what expired (crypto-shredding), with a receipt in the audit
    /// log for each deletion. The service does this every hour by itself.
    ///
    /// Safe to repeat and to interrupt: a sweep finishes what an interrupted
    /// one began. A clock more than the policy's `retention.max_clock_jump_hours`
    /// ahead of the last sweep pauses deletion (an alert in the audit log)
    /// until you accept the new time with --accept-clock-jump.
    Sweep {
        #[command(flatten)]
        vault: VaultArgs,
        /// Sweep as of this time (RFC 3339) instead of the clock: to see what
        /// a future sweep will delete, or to catch up after a clock problem.
        /// The clock guard applies to it too.
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// Accept a forward clock jump the guard paused on.
        #[arg(long)]
        accept_clock_jump: bool,
    },
    /// Place a legal hold: what it covers is not deleted, by retention or by
    /// erasure requests, until it is lifted.
    Hold {
        #[command(flatten)]
        vault: VaultArgs,
        /// Hold everything kept for this inspection.
        #[arg(long, value_name = "ID", conflicts_with_all = ["device", "from"])]
        inspection: Option<String>,
        /// Hold everything from this device.
        #[arg(long, value_name = "ID", conflicts_with = "from")]
        device: Option<String>,
        /// Hold everything created at or after this time (RFC 3339) ...
        #[arg(long, value_name = "TIME", requires = "to")]
        from: Option<String>,
        /// ... and before this time (RFC 3339).
        #[arg(long, value_name = "TIME", requires = "from")]
        to: Option<String>,
        /// Why (required; recorded in the audit log).
        #[arg(long, value_parser = super::plain_text)]
        reason: String,
    },
    /// Lift a legal hold (recorded in the audit log).
    Lift {
        #[command(flatten)]
        vault: VaultArgs,
        /// The hold's id.
        id: String,
    },
    /// List legal holds, active and lifted.
    Holds {
        #[command(flatten)]
        vault: VaultArgs,
    },
}

/// Which evidence object of an inspection.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EvidenceKind {
    /// The photo as submitted (when the policy kept it); needs --reason.
    Original,
    /// The redacted derivative.
    Redacted,
    /// Its thumbnail.
    Thumbnail,
}

/// `lensguard evidence ...`.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Write one kept image of an inspection to a file. Every read is
    /// recorded in the audit log, an original's with the reason given.
    Get {
        #[command(flatten)]
        vault: VaultArgs,
        /// The inspection id.
        inspection: String,
        /// Which image.
        #[arg(long, value_enum, default_value = "redacted")]
        kind: EvidenceKind,
        /// Why you read it (required for originals).
        #[arg(long, value_parser = super::plain_text)]
        reason: Option<String>,
        /// Where to write it (created; an existing file is not overwritten).
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `lensguard erase`.
#[derive(Debug, Args)]
pub struct EraseArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Erase everything kept from this device (results and images), except
    /// what a legal hold covers. Each deletion gets a receipt.
    #[arg(long, value_name = "ID")]
    pub device: String,
}
