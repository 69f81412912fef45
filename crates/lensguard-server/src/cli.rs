//! Command-line definitions: every flag and its help text.

mod cases;
mod fleet;
pub mod models;
mod password;
mod vault;

pub use cases::{CaseAddArgs, CaseCommand, CaseExportArgs, CaseVerifyArgs};
pub use fleet::{
    EdgeCommand, EgressCommand, HubCommand, HubDirArgs, HubModelsCommand, HubUsersCommand,
};
pub use models::ModelsCommand;
pub use password::PasswordSource;
pub use vault::{EraseArgs, EvidenceCommand, EvidenceKind, RetentionCommand, VaultArgs};

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// lensguard checks photos at the edge: quality, re-use and metadata, with a
/// verdict and reasons for each.
#[derive(Debug, Parser)]
#[command(name = "lensguard", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    lensguard check samples/                 judge every photo in a folder\n  \
    lensguard check --json --dedupe photos/  JSON Lines, flag re-submitted photos\n  \
    lensguard policy show > policy.toml      start a policy from the default\n  \
    lensguard policy check policy.toml       validate a policy file")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Judge photos: pass, retry, fail, or error for unreadable input.
    ///
    /// Each PATH is a file or a folder; folders are searched recursively for
    /// .jpg, .jpeg, .png and .webp files (hidden entries are skipped). Files
    /// named on the command line are always inspected, whatever their name.
    ///
    /// Exit status: 0 if every photo passes, 1 if any gets retry, fail or error,
    /// 2 on a usage or setup error (unknown flag, missing path, invalid policy).
    #[command(after_help = "Reason codes and the JSON schema: docs/schema.md")]
    Check(CheckArgs),
    /// Hide faces and printed text: write a redacted copy of each photo to DIR.
    ///
    /// Each PATH is a file or a folder (searched like `check`). Faces
    /// (CenterFace) and text such as names and addresses on labels (PP-OCRv4
    /// detection) are found at the policy's detection scale and hidden in the
    /// policy's style (default: faces blurred, text filled), with a margin.
    /// Copies are JPEGs with no metadata at all (no EXIF, so no GPS), named like
    /// the input (`a.jpg` -> `DIR/a.jpg`, `b.png` -> `DIR/b.png.jpg`); folders
    /// keep their layout under DIR. Originals are never changed.
    ///
    /// Fails closed: when a model the policy needs is missing or not the pinned
    /// file, or detection passes the policy's deadline, no copy is written for
    /// that photo and the reason is printed.
    ///
    /// Exit status: 0 if every photo was redacted, 1 if any was withheld or
    /// could not be read, 2 on a usage or setup error.
    #[command(after_help = "Examples:
          lensguard redact photos/ --out redacted/            faces and text, defaults
          lensguard redact a.jpg --out out/ --only faces --style pixelate
          lensguard redact photos/ --out out/ --json          one JSON object per photo

        Models: scripts/fetch-models puts them in ~/.cache/lensguard/models (or
        --models DIR / LENSGUARD_MODELS); docs/models/ has their cards.")]
    Redact(RedactArgs),
    /// Show, validate and explain policies: the data inventory, and a dry run
    /// of what would happen to one photo.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run the HTTPS gateway service.
    ///
    /// With no configuration it listens on https://127.0.0.1:8443 with a
    /// self-signed certificate generated on first start, and keeps its state in
    /// ./lensguard-data. Settings come from flags, then LENSGUARD_* environment
    /// variables (LENSGUARD_LISTEN, LENSGUARD_DATA_DIR, LENSGUARD_MODELS, LENSGUARD_TLS_CERT_FILE,
    /// LENSGUARD_TLS_KEY_FILE, LENSGUARD_TLS_CLIENT_CA_FILE), then --config FILE.
    /// SIGINT or SIGTERM drains in-flight requests, then stops.
    Serve(ServeArgs),
    /// Manage API keys in a data directory (while the service is stopped).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage users (password + TOTP, a role each) in a data directory (while the
    /// service is stopped; use the API while it runs).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Verify or export the tamper-evident audit log, or prove entries in it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The fleet hub: its CA, enrolment tokens, edges, and the service
    /// edges deliver to (`hub init`, `hub serve`, `hub enroll`).
    #[command(subcommand)]
    Hub(HubCommand),
    /// This edge's link to a hub: enrolment and the outbox.
    #[command(subcommand)]
    Edge(EdgeCommand),
    /// What left this edge: egress receipts from the audit log.
    #[command(subcommand)]
    Egress(EgressCommand),
    /// Retention: sweep expired data, place and lift legal holds.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Read kept evidence (redacted images, thumbnails, originals).
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// Signed model updates: publish bundles as a TUF repository, and on a
    /// site trust its root, import and activate them, and see what runs.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Evidence cases: open, add evidence (held until closed), close, export
    /// a bundle that proves itself, and verify one.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Erase everything kept from a device (a data-subject or device erasure
    /// request), with a deletion receipt for each object.
    Erase(EraseArgs),
    /// Check the cameras in a service configuration: connect to each for a few
    /// seconds and show what the service would see.
    ///
    /// For each `[[cameras]]` entry of FILE (credentials read as the service
    /// reads them, never printed): whether its analysed stream answers, or why
    /// not (refused credentials, no H.264 video, unreachable); the picture
    /// size; pictures decoded and damaged; whether anything moved. The running
    /// service's live status, with events, is `GET /v1/cameras`.
    ///
    /// Exit status: 0 if every camera was delivering pictures at the end, 1 if
    /// any was not (down, or never sent one), 2
    /// on a usage or setup error (no configuration, no camera in it).
    Cameras(CamerasArgs),
    /// Measure the single-thread time per photo (decode and every check).
    ///
    /// Reads each file once, runs warm-up rounds, then times each round on one
    /// thread and prints the median. `scripts/bench` runs this beside the OpenCV
    /// reference and the libjpeg-turbo floor on the same photos.
    Bench(BenchArgs),
}

/// `lensguard cameras`.
#[derive(Debug, Args)]
pub struct CamerasArgs {
    /// The service configuration (TOML) whose cameras to check.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// How long to watch each camera (all at once), 1 to 60.
    #[arg(long, value_name = "SECONDS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub seconds: u64,
    /// Print one JSON object per camera (JSON Lines).
    #[arg(long)]
    pub json: bool,
    /// Also run the service's analysis (motion gating, people and vehicle
    /// detection, tracking; nothing stored) and report the CPU time it took:
    /// what a camera costs on this machine.
    #[arg(long)]
    pub analyse: bool,
    /// With --analyse: motion gating only, no detector (what decoding and
    /// motion alone cost).
    #[arg(long, requires = "analyse")]
    pub motion_only: bool,
    /// Folder with the model files, for --analyse (default $LENSGUARD_MODELS,
    /// else ~/.cache/lensguard/models).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// Options shared by everything that judges photos.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Policy file (TOML). Without it, the built-in proof-of-delivery policy.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// A built-in policy instead: proof-of-delivery (the default) or
    /// inspection-line (keeps originals of failed inspections, 30 days).
    #[arg(long, value_name = "NAME", conflicts_with = "policy")]
    pub profile: Option<String>,
}

/// `lensguard check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Photos or folders to inspect.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Used only when the policy's `faces` or `text` check is not `ignore`.
    #[command(flatten)]
    pub models: ModelsArgs,
    /// Print one JSON object per photo (JSON Lines, schema lensguard.inspection.v1).
    #[arg(long)]
    pub json: bool,
    /// Flag photos whose perceptual hash lies within the duplicate distance of an
    /// earlier photo in this batch (in the order the paths are listed).
    #[arg(long)]
    pub dedupe: bool,
    /// Largest hash distance (0-64) that counts as a duplicate; overrides the
    /// policy's `duplicate.max_distance`.
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u32).range(0..=64))]
    pub dedupe_distance: Option<u32>,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Judge capture times against this instant (RFC 3339) instead of the clock,
    /// for reproducible runs: --now 2026-11-21T12:00:00Z.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Largest accepted file, in bytes (default 52428800).
    #[arg(long, value_name = "BYTES")]
    pub max_file_bytes: Option<u64>,
    /// Largest accepted image, in pixels (default 100000000).
    #[arg(long, value_name = "PIXELS")]
    pub max_pixels: Option<u64>,
}

/// Where the model files are.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Folder with centerface.onnx and ch_PP-OCRv4_det_infer.onnx (default
    /// $LENSGUARD_MODELS, else ~/.cache/lensguard/models).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// What to hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnlyArg {
    /// Faces only (no text model needed).
    Faces,
    /// Printed text only (no face model needed).
    Text,
}

/// How to hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StyleArg {
    /// Smoothed block means.
    Blur,
    /// A mosaic of block means.
    Pixelate,
    /// Solid black.
    Fill,
}

/// `lensguard redact`.
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Photos or folders to redact.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Folder for the redacted copies (created if missing).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub models: ModelsArgs,
    /// Hide only this category (overrides the policy's `redaction.categories`).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub only: Option<OnlyArg>,
    /// Style for every hidden region (overrides the policy's per-category styles).
    #[arg(long, value_enum, value_name = "STYLE")]
    pub style: Option<StyleArg>,
    /// Long side, in pixels, photos are scaled to for detection (32-4096;
    /// overrides `detection.scale`, default 640).
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u32).range(32..=4096))]
    pub scale: Option<u32>,
    /// Also search tiles of large photos for small faces: auto or off
    /// (overrides `detection.tiling`).
    #[arg(long, value_name = "MODE", value_parser = ["auto", "off"])]
    pub tiling: Option<String>,
    /// Print one JSON object per photo.
    #[arg(long)]
    pub json: bool,
    /// No progress bar and no summary line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// `lensguard policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the effective policy as TOML, every key spelled out.
    Show(PolicyArgs),
    /// Validate a policy file; errors name the line, column and key.
    Check {
        /// The policy file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// The data inventory: for each kind of data, where it lives, how it is
    /// encrypted, how long it is kept, who may read it and whether it may
    /// leave the device. Markdown for a security review, or JSON.
    ///
    /// Uses the policy the service on the data directory judges by (its
    /// policy.toml, else the built-in default) unless --policy or --profile
    /// names another, and says which on standard error.
    Inventory {
        #[command(flatten)]
        policy: PolicyArgs,
        /// The service's data directory, whose policy.toml is used
        /// (default lensguard-data).
        #[arg(long, value_name = "DIR", env = "LENSGUARD_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "markdown")]
        format: InventoryFormat,
    },
    /// Dry run for one photo: its verdict, what would be stored and for how
    /// long, and exactly which fields would leave the device. Stores nothing.
    ///
    /// Uses the policy the service on the data directory judges by (its
    /// policy.toml, else the built-in default) unless --policy or --profile
    /// names another, and prints which.
    Explain {
        /// The photo.
        #[arg(value_name = "PHOTO")]
        photo: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
        /// The service's data directory, whose policy.toml is used
        /// (default lensguard-data).
        #[arg(long, value_name = "DIR", env = "LENSGUARD_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Used to predict the redaction (without models nothing is redacted,
        /// so no derivative would be stored).
        #[command(flatten)]
        models: ModelsArgs,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `lensguard policy inventory --format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InventoryFormat {
    /// A Markdown table and notes.
    Markdown,
    /// JSON.
    Json,
}

/// `lensguard serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML); see docs/service.md.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory (default lensguard-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address and port to listen on (default 127.0.0.1:8443; port 0 picks one).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
    /// Folder with the model files (default $LENSGUARD_MODELS, else
    /// ~/.cache/lensguard/models). Without them every inspection still gets its
    /// verdict, but no redacted derivative is made (fail closed).
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

/// A name or reason typed on the command line: no control characters (an
/// escape sequence or newline would reach whoever lists it later).
pub fn plain_text(value: &str) -> Result<String, String> {
    if lensguard_core::text::has_control(value) {
        return Err("control characters (escape sequences, newlines) are not allowed".to_owned());
    }
    Ok(value.to_owned())
}

/// Where lensguard keeps its state.
#[derive(Debug, Args)]
pub struct DataDirArgs {
    /// The data directory (its audit log is in DIR/audit).
    #[arg(
        long,
        value_name = "DIR",
        env = "LENSGUARD_DATA_DIR",
        default_value = "lensguard-data"
    )]
    pub data_dir: PathBuf,
}

/// `lensguard audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log offline: hash chain, Merkle tree and signed checkpoints.
    ///
    /// Reads the data directory's log, or an exported file with --export (so anyone
    /// can verify without the service). Names the first bad entry.
    ///
    /// Without --public-key the signatures are checked against the key the log
    /// (or the export) carries itself, which whoever rewrote it could replace
    /// too: the output says "signer not checked". Record the installation's
    /// public key once, where the data directory's administrators cannot change
    /// it (this command prints it after "public key", and GET
    /// /v1/audit/checkpoint answers it as "public_key"), and pass it here.
    ///
    /// Exit status: 0 verified, 1 tampered, 2 unreadable or a usage error.
    #[command(after_help = "Examples:
  lensguard audit verify --data-dir DIR                 check the log; prints its public key
  lensguard audit verify --export audit.jsonl --public-key 3b6a27bc...   check an export's signer
  lensguard audit verify --export audit.jsonl --public-key head.json --require-signer
                                                        head.json: the saved answer of GET /v1/audit/checkpoint
  lensguard audit verify --data-dir DIR --public-key KEY --trusted-checkpoint /mnt/witness/checkpoints.jsonl
                                                        the log extends checkpoints kept elsewhere")]
    Verify {
        #[command(flatten)]
        data: DataDirArgs,
        /// Verify this export (from `lensguard audit export --format jsonl`) instead.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// The Ed25519 public key the checkpoints must be signed with, obtained
        /// out of band: 64 hex digits, or a file holding them or the JSON of GET
        /// /v1/audit/checkpoint. Without it the log's own key is used, and the
        /// signer is not checked.
        #[arg(long, value_name = "HEX|FILE")]
        public_key: Option<String>,
        /// Refuse to verify without --public-key (for scripts: a verification
        /// that did not check the signer must not pass).
        #[arg(long)]
        require_signer: bool,
        /// Checkpoints kept outside the data directory (repeatable): the
        /// log must extend every one. A file of checkpoint JSON lines (the
        /// service's [audit] checkpoint_file, `lensguard hub checkpoints
        /// --edge ID` on the hub), a SIEM receiver's file of the [siem]
        /// stream (syslog or json format), or a saved answer of GET
        /// /v1/audit/checkpoint. The only check that exposes a history
        /// rewritten and re-signed by whoever holds audit/signing.key.
        #[arg(long, value_name = "FILE", conflicts_with = "export")]
        trusted_checkpoint: Vec<PathBuf>,
    },
    /// Write the audit log (entries covered by the latest signed checkpoint).
    ///
    /// `jsonl` carries everything offline verification needs (each entry with its
    /// chain hashes and an inclusion proof against the signed checkpoint); `csv` is
    /// one row per entry for spreadsheets and SIEM imports.
    Export {
        #[command(flatten)]
        data: DataDirArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: ExportFormatArg,
        /// Only entries at or after this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only entries before this time (RFC 3339).
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the pseudonym the audit log writes for an identifying value.
    ///
    /// Device ids, user names, external references and free-text reasons
    /// (hold reasons, reasons for reading originals) are written to the audit
    /// log as `hmac:` pseudonyms keyed by the installation key, so the log
    /// names no one in clear text, even after an erasure. An auditor holding
    /// the data directory computes a value's pseudonym with this command and
    /// searches the log for it.
    #[command(after_help = "Example:\n  \
        grep \"$(lensguard audit pseudonym van-12)\" lensguard-data/audit/log.jsonl")]
    Pseudonym {
        #[command(flatten)]
        data: DataDirArgs,
        /// The value (a device id, a user name, a reason as it was typed).
        value: String,
    },
    /// Print an inclusion proof (--index) or a consistency proof (--from) as JSON.
    ///
    /// Reads the data directory without stopping the service; the answer is the
    /// same JSON as GET /v1/audit/proofs/inclusion and /consistency, checked
    /// against the roots before it is printed.
    #[command(after_help = "Examples:\n  \
        lensguard audit prove --index 42             entry 42 is in the log\n  \
        lensguard audit prove --from 1000 --to 2000   the log of 1000 is a prefix of the log of 2000")]
    Prove {
        #[command(flatten)]
        data: DataDirArgs,
        /// Prove this entry (its seq) is in the tree.
        #[arg(
            long,
            value_name = "N",
            conflicts_with = "from",
            required_unless_present = "from"
        )]
        index: Option<u64>,
        /// Tree size for --index; default all entries.
        #[arg(long, value_name = "N", requires = "index")]
        size: Option<u64>,
        /// Prove the tree of this many entries is a prefix of the tree of --to.
        #[arg(long, value_name = "N")]
        from: Option<u64>,
        /// Newer tree size for --from; default all entries.
        #[arg(long, value_name = "N", requires = "from")]
        to: Option<u64>,
    },
}

/// `lensguard keys ...`. Every change is recorded in the audit log first.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret token, once. Store it safely.
    Create {
        #[command(flatten)]
        data: DataDirArgs,
        /// A name for people (which device or integration uses it).
        #[arg(long, value_parser = plain_text)]
        name: String,
        /// A scope the key holds; repeat for more (inspections:write,
        /// inspections:read, audit:read, keys:manage, users:manage, policy:manage).
        #[arg(long = "scope", required = true, value_name = "SCOPE")]
        scopes: Vec<String>,
        /// A client network the key may be used from (CIDR); repeat for more.
        /// Without it, any address.
        #[arg(long = "allow-cidr", value_name = "CIDR")]
        allowed_cidrs: Vec<String>,
        /// Days until the key stops working (default: never).
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// Only this device's inspections and evidence: a device id or a
        /// prefix ending in * (quote it: 'van-*'); repeat for more. Without
        /// it, every device.
        #[arg(long = "device", value_name = "ID|PREFIX*")]
        devices: Vec<String>,
    },
    /// List keys (never their secrets).
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Issue a new secret; the old one keeps working for the overlap window.
    Rotate {
        #[command(flatten)]
        data: DataDirArgs,
        /// The key's id.
        id: String,
        /// Hours the old secret keeps working.
        #[arg(long, default_value_t = 24)]
        overlap_hours: u32,
    },
    /// Revoke a key at once (its current and previous secrets).
    Revoke {
        #[command(flatten)]
        data: DataDirArgs,
        /// The key's id.
        id: String,
    },
    /// Start new key-encryption keys for the evidence vault and re-wrap every
    /// object's data key under them; old keys are destroyed once nothing
    /// uses them. Interrupted, it is finished by --resume (or the service).
    RotateKek {
        #[command(flatten)]
        vault: VaultArgs,
        /// Only finish an interrupted re-wrap; start no new keys.
        #[arg(long)]
        resume: bool,
    },
}

/// Audit export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ExportFormatArg {
    /// JSON Lines that verify offline.
    Jsonl,
    /// Comma-separated values.
    Csv,
}

/// `lensguard bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// JPEG, PNG or WebP files to time.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Timed rounds per file.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// Untimed warm-up rounds per file.
    #[arg(long, default_value_t = 3)]
    pub warmup: u32,
    /// Print one JSON object per file instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Throughput instead of latency: this many threads inspect each file over
    /// and over for --seconds, and the photos per second are printed.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Seconds per file in throughput mode.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub seconds: u32,
    /// Ingest cost of the evidence vault instead: the service's whole
    /// per-photo pipeline (with detection and redaction) against sealing and
    /// durably storing what the default policy keeps (`scripts/bench-vault`).
    #[arg(long, conflicts_with = "threads")]
    pub vault: bool,
    /// Models for --vault.
    #[command(flatten)]
    pub models: ModelsArgs,
}

/// `lensguard users`.
#[derive(Debug, Subcommand)]
#[command(after_help = "Roles and what they may do: docs/access.md\n\n\
    Examples:\n  \
    lensguard users create --username ana --role operator --password-file pw.txt\n  \
    lensguard users set-role ana viewer\n  \
    lensguard users disable ana")]
pub enum UsersCommand {
    /// Create a user and print their TOTP secret (once) for an authenticator app.
    Create {
        #[command(flatten)]
        data: DataDirArgs,
        /// Login name: 1-64 of a-z 0-9 . _ - @.
        #[arg(long)]
        username: String,
        /// owner, admin, developer, viewer or operator.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        password: PasswordSource,
        /// Only this device's inspections and evidence: a device id or a
        /// prefix ending in * (quote it: 'van-*'); repeat for more. Without
        /// it, every device.
        #[arg(long = "device", value_name = "ID|PREFIX*")]
        devices: Vec<String>,
    },
    /// List users.
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Change a user's role (a wider role applies to their open sessions at
    /// once; a downgrade ends them).
    SetRole {
        #[command(flatten)]
        data: DataDirArgs,
        /// Login name or id.
        user: String,
        /// The new role.
        role: String,
    },
    /// Set a new password; the user's open sessions end.
    SetPassword {
        #[command(flatten)]
        data: DataDirArgs,
        /// Login name or id.
        user: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Disable a user and end their sessions at once.
    Disable {
        #[command(flatten)]
        data: DataDirArgs,
        /// Login name or id.
        user: String,
    },
}
