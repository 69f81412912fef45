//! Command-line definitions for evidence cases (on a data directory, while
//! the service is stopped; the API does the same while it runs), and
//! checking a bundle anywhere.

use super::vault::VaultArgs;
use clap::{Args, Subcommand};
use std::path::PathBuf;

/// `lensguard case ...`.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case: a named group of evidence, held from the moment it is
    /// added until the case is closed. Prints the case id.
    Open {
        #[command(flatten)]
        vault: VaultArgs,
        /// A short name people use for it.
        #[arg(long)]
        name: String,
        /// Why it is opened (kept in the database; the audit log keeps a
        /// pseudonym of it).
        #[arg(long)]
        reason: String,
    },
    /// Add evidence to an open case: hand-picked items, a device's
    /// inspections over a time range, or a camera's events and footage over
    /// a time range. Each addition is audited and held.
    ///
    /// Exit status: 0 when something was added or was already in the case,
    /// 1 when the selection found nothing (nothing added), 2 on a usage error.
    #[command(after_help = "Examples:
          lensguard case add CASE --inspection 3f1c...        one inspection
          lensguard case add CASE --camera dock-1 --from 2026-12-07T10:00:00Z --to 2026-12-07T10:15:00Z
          lensguard case add CASE --device van-17 --from 2026-12-01T00:00:00Z --to 2026-12-02T00:00:00Z")]
    Add(CaseAddArgs),
    /// List cases, or show one case's items.
    List {
        #[command(flatten)]
        vault: VaultArgs,
        /// Show this case's items.
        #[arg(long, value_name = "CASE")]
        case: Option<String>,
    },
    /// Close a case: its hold is lifted and it takes no more evidence.
    Close {
        #[command(flatten)]
        vault: VaultArgs,
        /// The case.
        case: String,
    },
    /// Write a case's bundle into a new folder: redacted media with C2PA
    /// manifests, the audit entries that name the evidence with inclusion
    /// proofs against a signed checkpoint, deletion receipts, SHA-256 of
    /// every file, and a README for the recipient.
    ///
    /// Footage is redacted on the way out (faces in every picture, privacy
    /// masks from --config); without the face detector nothing is written.
    /// Media are signed with the installation's evidence certificate
    /// (DIR/evidence-signing/, made on first use; recipients trust its
    /// ca.pem) or the one given with --signing-cert and --signing-key.
    #[command(
        after_help = "Check a bundle with: lensguard case verify BUNDLE --audit-key HEX --trust-anchor CA.pem"
    )]
    Export(CaseExportArgs),
    /// Check a bundle offline: the checkpoint's signature, every audit
    /// entry's inclusion proof, the export entry, every file's SHA-256, and
    /// each media file's C2PA manifest. Says precisely what failed.
    ///
    /// Exit status: 0 if every check passed, 1 if any failed, 2 on a usage error.
    Verify(CaseVerifyArgs),
}

/// `lensguard case add`.
#[derive(Debug, Args)]
pub struct CaseAddArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The case.
    pub case: String,
    /// Inspections, by id.
    #[arg(long, value_name = "ID")]
    pub inspection: Vec<String>,
    /// Camera events, by id.
    #[arg(long, value_name = "ID")]
    pub event: Vec<String>,
    /// Footage segments, by id.
    #[arg(long, value_name = "ID")]
    pub segment: Vec<String>,
    /// A device's inspections between --from and --to.
    #[arg(long, value_name = "DEVICE", conflicts_with = "camera", requires_all = ["from", "to"])]
    pub device: Option<String>,
    /// A camera's events and segments between --from and --to.
    #[arg(long, value_name = "CAMERA", requires_all = ["from", "to"])]
    pub camera: Option<String>,
    /// Start of the range (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the range (RFC 3339, exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
}

/// `lensguard case export`.
#[derive(Debug, Args)]
pub struct CaseExportArgs {
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The case.
    pub case: String,
    /// The bundle folder to create (must not exist).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The models folder (default: LENSGUARD_MODELS, else ~/.cache/lensguard/models).
    #[arg(long, value_name = "DIR", env = "LENSGUARD_MODELS")]
    pub models: Option<PathBuf>,
    /// A customer's signing certificate chain (PEM, signer first).
    #[arg(long, value_name = "FILE", requires = "signing_key")]
    pub signing_cert: Option<PathBuf>,
    /// Its private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE", requires = "signing_cert")]
    pub signing_key: Option<PathBuf>,
}

/// `lensguard case verify`.
#[derive(Debug, Args)]
pub struct CaseVerifyArgs {
    /// The bundle folder.
    pub bundle: PathBuf,
    /// The installation's audit public key (hex, as `lensguard audit verify`
    /// prints it). Without it the bundle's own copy is used, and the report
    /// says that the bundle's origin was not checked.
    #[arg(long, value_name = "HEX")]
    pub audit_key: Option<String>,
    /// The C2PA trust anchor (PEM): the installation's
    /// evidence-signing/ca.pem, or the customer's CA. Without it the bundle's
    /// own copy is used, and the report says so.
    #[arg(long, value_name = "FILE")]
    pub trust_anchor: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}
