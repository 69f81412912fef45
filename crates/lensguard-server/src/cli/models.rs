//! `lensguard models`: the root of trust for model updates and importing
//! a signed repository.

use super::DataDirArgs;
use clap::Subcommand;
use std::path::PathBuf;

/// `lensguard models`.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Install the root of trust: the model repository's root.json.
    ///
    /// The file must be a TUF root signed by a threshold of its own root
    /// keys. Its fingerprint (SHA-256 of the file) is printed and audited:
    /// compare it with the one the publisher gave you over another channel
    /// before trusting updates. Later roots arrive signed, inside
    /// repositories; replacing this one by hand needs --replace, and starts
    /// over (the versions accepted under the old root are forgotten).
    #[command(after_help = "Example:
          lensguard models trust /media/usb/root.json --data-dir /var/lib/lensguard")]
    Trust {
        #[command(flatten)]
        data: DataDirArgs,
        /// The root.json to trust.
        #[arg(value_name = "ROOT")]
        root: PathBuf,
        /// Replace a root of trust installed before.
        #[arg(long)]
        replace: bool,
    },
    /// Verify and take in a TUF repository of model bundles (DIR/metadata and
    /// DIR/targets), never a bare model file.
    ///
    /// Everything is verified against the root of trust before anything is
    /// kept: signatures and thresholds of every role, the root chain, versions
    /// against the last import (no rollback), every file's length and
    /// SHA-256. Root, targets and snapshot must not have expired; the
    /// timestamp may have, by at most --timestamp-window-hours, since media
    /// travel (the import then says so, and the audit log records it). A
    /// refused import changes nothing. Imported bundles are kept under
    /// DATA_DIR/models/bundles/; the detectors do not load them yet in this
    /// build (they load the pinned files of the models directory).
    ///
    /// Exit status: 0 imported, 1 refused (the reason is printed and
    /// audited), 2 on a usage or setup error.
    #[command(after_help = "Example:
          lensguard models import /media/usb/lensguard-models --data-dir /var/lib/lensguard")]
    Import {
        #[command(flatten)]
        data: DataDirArgs,
        /// The repository's directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// How long past its expiry the timestamp may be (hours, 0 to 720).
        #[arg(long, default_value_t = 168, value_parser = clap::value_parser!(u32).range(0..=720))]
        timestamp_window_hours: u32,
    },
    /// What was imported: each bundle's versions on disk, and the accepted
    /// metadata's versions.
    Status {
        #[command(flatten)]
        data: DataDirArgs,
    },
}
