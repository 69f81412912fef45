//! `lensguard models`: publishing model bundles as a TUF repository, the
//! root of trust for model updates, importing and activating a signed
//! repository, and the known-answer test.

use super::{DataDirArgs, ModelsArgs};
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
    /// DATA_DIR/models/bundles/.
    ///
    /// Then each bundle's current release is activated: written into the
    /// detector's inactive slot, its known-answer test run in a child
    /// process on this machine's runtime, and only if it passes, made the
    /// active slot, on trial: the service switches back to the previous
    /// release if it does not stay up through 2 starts with it. The service
    /// loads the active release at its next start.
    ///
    /// Exit status: 0 imported (and activated, where there was something
    /// new), 1 refused or not activated (the reason is printed and
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
        #[command(flatten)]
        models: ModelsArgs,
    },
    /// What runs and what was imported: each detector's active release
    /// (or the built-in model) and whether it is on trial, the bundles kept,
    /// and the accepted metadata's versions.
    Status {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Run a bundle's known-answer test and print the boxes its model finds.
    ///
    /// For a publisher: DIR is a bundle directory (bundle.json and its
    /// files); the boxes printed are what to put in known_answer.expected
    /// once you checked them. With --slot, DIR is a slot an edge staged, and
    /// its manifest is the signed one (this is how an edge runs the test in a
    /// child process before activating a release).
    ///
    /// Exit status: 0 passed, 1 failed (why is printed), 2 on a usage error.
    #[command(after_help = "Example:
          lensguard models known-answer ./faces-2026.12.1")]
    KnownAnswer {
        /// The bundle directory (or, with --slot, the slot).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// DIR is a staged slot whose manifest is taken as signed.
        #[arg(long)]
        slot: bool,
        #[command(flatten)]
        models: ModelsArgs,
    },
    /// Keys and roots of a model repository (on the publishing host).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Publish a bundle as the current release of its detector.
    ///
    /// BUNDLE holds bundle.json (name, version, format, model, card,
    /// requires, known_answer; see docs/model-updates.md) and the files it
    /// names; their lengths and SHA-256 are added to the manifest. The
    /// release is copied under REPO/targets/<name>/<version>/ and never
    /// changed after; bundles/<name>.json is pointed at it; new targets,
    /// snapshot and timestamp versions are signed with the online keys.
    #[command(after_help = "Example:
          lensguard models publish ./faces-2026.12.1 --repo /srv/lensguard/models --keys /srv/lensguard/model-keys")]
    Publish {
        /// The bundle directory.
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Point a detector back at a release published before: a new targets
    /// version whose bundles/<name>.json is that release's manifest. Edges
    /// take it like any update (versions only go up), so it cannot be mistaken
    /// for a replayed old repository.
    #[command(after_help = "Example:
          lensguard models rollback faces --to 2026.11.3 --repo /srv/lensguard/models --keys /srv/lensguard/model-keys")]
    Rollback {
        /// The detector (bundle name): faces or objects.
        #[arg(value_name = "NAME")]
        name: String,
        /// The published release to point back at.
        #[arg(long, value_name = "VERSION")]
        to: String,
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// Sign a new timestamp over the same snapshot (needs only the
    /// timestamp key). The hub does this on its own when the timestamp has
    /// used half its life; run it by hand for media you are about to copy.
    RefreshTimestamp {
        #[command(flatten)]
        repo: RepoArgs,
    },
}

/// Where a model repository and its online keys are.
#[derive(Debug, clap::Args)]
pub struct RepoArgs {
    /// The repository's directory (metadata/ and targets/).
    #[arg(long, value_name = "DIR")]
    pub repo: PathBuf,
    /// The online keys' directory (targets.pk8, snapshot.pk8, timestamp.pk8).
    #[arg(long, value_name = "DIR")]
    pub keys: PathBuf,
}

/// The roles whose key can be rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RotatedRole {
    /// targets.json: what each bundle file is.
    Targets,
    /// snapshot.json.
    Snapshot,
    /// timestamp.json.
    Timestamp,
}

/// `lensguard models keys`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new repository's keys and its first root.
    ///
    /// Makes --root-count root keys in ROOT_KEYS (keep that directory
    /// offline: only `keys init` and `keys rotate` read it) and one key
    /// each for targets, snapshot and timestamp in KEYS (the publishing
    /// host's online keys), all ed25519, and REPO/metadata/1.root.json
    /// (also root.json), signed by the root keys. Sites install that root
    /// with `lensguard models trust`; give them its fingerprint, printed
    /// here, over another channel.
    #[command(after_help = "Example:
          lensguard models keys init --repo /srv/lensguard/models --keys /srv/lensguard/model-keys --root-keys /media/offline/root-keys")]
    Init {
        #[command(flatten)]
        repo: RepoArgs,
        /// The root keys' directory (keep it offline).
        #[arg(long, value_name = "DIR")]
        root_keys: PathBuf,
        /// How many root keys.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=9))]
        root_count: u8,
        /// How many root keys must sign a new root.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=9))]
        root_threshold: u8,
    },
    /// Replace a role's key: a new root version, signed by the root keys,
    /// names the new key and no longer the old one (moved to KEYS/revoked/),
    /// and the role's metadata is signed anew. Edges follow the signed root
    /// chain; anything the old key signs after this is refused.
    #[command(after_help = "Example:
          lensguard models keys rotate targets --repo /srv/lensguard/models --keys /srv/lensguard/model-keys --root-keys /media/offline/root-keys")]
    Rotate {
        /// The role whose key is replaced.
        #[arg(value_enum)]
        role: RotatedRole,
        #[command(flatten)]
        repo: RepoArgs,
        /// The root keys' directory.
        #[arg(long, value_name = "DIR")]
        root_keys: PathBuf,
    },
}
