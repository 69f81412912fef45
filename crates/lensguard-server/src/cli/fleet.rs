//! Flags of `lensguard hub`, `lensguard edge` and `lensguard egress`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Where a hub keeps its state.
#[derive(Debug, Args)]
pub struct HubDirArgs {
    /// The hub's data directory (its CA, server certificate and, by default,
    /// its SQLite database).
    #[arg(long, env = "LENSGUARD_HUB_DATA_DIR", default_value = "lensguard-hub")]
    pub data_dir: PathBuf,
    /// The hub database: sqlite:///PATH or postgres://USER@HOST/DB.
    /// Default: sqlite://DATA_DIR/hub.db.
    #[arg(long, env = "LENSGUARD_HUB_DATABASE")]
    pub database: Option<String>,
}

/// `lensguard hub ...`.
#[derive(Debug, Subcommand)]
pub enum HubCommand {
    /// Create the hub's CA and server certificate in the data directory.
    ///
    /// Run once per fleet. Every --name is a host name or IP address edges
    /// will use to reach the hub; they go into the server certificate. The
    /// CA is never replaced (edges pin it); --renew-server issues a new
    /// server certificate for the same CA.
    Init {
        #[command(flatten)]
        dir: HubDirArgs,
        /// A name or address of the hub (repeatable).
        #[arg(long = "name", required = true)]
        names: Vec<String>,
        /// Keep the CA; issue a new server certificate only.
        #[arg(long)]
        renew_server: bool,
    },
    /// Run the hub: edges deliver to it over mutual TLS, operators query it.
    ///
    /// Several hub processes may serve one PostgreSQL database (give each
    /// the same data directory files: CA and server certificate).
    Serve {
        #[command(flatten)]
        dir: HubDirArgs,
        /// Address to listen on.
        #[arg(long, env = "LENSGUARD_HUB_LISTEN", default_value = "127.0.0.1:9443")]
        listen: String,
        /// A console session ends after this many minutes without use.
        #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
        console_idle_minutes: u32,
        /// And after this many hours in any case.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=168))]
        console_session_hours: u32,
    },
    /// Issue a one-time enrolment token for a new edge.
    ///
    /// Prints the token; give it to `lensguard edge enroll` on the edge. It
    /// carries the fingerprint of this hub's CA, so the edge trusts this hub
    /// only.
    Enroll {
        #[command(flatten)]
        dir: HubDirArgs,
        /// A name for the edge (shown in `hub edges`).
        #[arg(long)]
        name: String,
        /// How long the token stays valid, in hours.
        #[arg(long, default_value_t = 24)]
        valid_hours: u32,
    },
    /// Revoke an edge: its certificate is refused from its next request.
    Revoke {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The edge id (see `hub edges`).
        edge: String,
    },
    /// List enrolled edges: revocation, flags (rewritten audit history),
    /// records held, last delivery.
    Edges {
        #[command(flatten)]
        dir: HubDirArgs,
        /// One JSON object per edge.
        #[arg(long)]
        json: bool,
    },
    /// Print an edge's audit checkpoints the hub accepted, as JSON lines.
    ///
    /// The hub is the edge's witness: copy this to the edge (or to whoever
    /// audits it) and run `lensguard audit verify --trusted-checkpoint FILE`
    /// there; a history rewritten on the edge, even re-signed with its own
    /// key, no longer extends these.
    #[command(after_help = "Example:\n  \
        lensguard hub checkpoints --edge 0b5e... > edge-checkpoints.jsonl\n  \
        lensguard audit verify --data-dir EDGE_DATA --trusted-checkpoint edge-checkpoints.jsonl")]
    Checkpoints {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The edge id (see `hub edges`).
        #[arg(long)]
        edge: String,
    },
    /// The hub's users: people who sign in to the hub's console (same roles,
    /// password and TOTP as an edge's users). Run with the hub stopped (the
    /// service holds the hub's audit log); while it runs, owners and admins
    /// manage users in its console.
    #[command(subcommand)]
    Users(HubUsersCommand),
    /// Model updates through this hub: publish a bundle to edges in waves,
    /// pause, resume, roll back, lock an edge to a release, and see which
    /// edge runs which release.
    #[command(subcommand)]
    Models(HubModelsCommand),
    /// Issue an operator token for the hub's query API and /metrics.
    Token {
        #[command(flatten)]
        dir: HubDirArgs,
        /// Who or what it is for.
        #[arg(long, value_parser = super::plain_text)]
        name: String,
    },
}

/// `lensguard hub models ...`.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "The repository lives in DATA_DIR/models/repository and its online keys in \
    DATA_DIR/models/keys; create them once with\n  \
    lensguard models keys init --repo DATA_DIR/models/repository --keys DATA_DIR/models/keys --root-keys OFFLINE_DIR\n\
    See docs/model-updates.md."
)]
pub enum HubModelsCommand {
    /// Publish a bundle and roll it out in waves.
    ///
    /// Each wave adds --wave-percent of the enrolled edges, ordered by a
    /// hash of their id (30% of 10 edges is exactly 3), every
    /// --wave-minutes; the first starts now. Edges not yet in a wave keep
    /// the release that was current before.
    #[command(after_help = "Example:
          lensguard hub models publish ./faces-2026.12.1 --wave-percent 30 --wave-minutes 60")]
    Publish {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The bundle directory (see `lensguard models publish --help`).
        #[arg(value_name = "BUNDLE")]
        bundle: PathBuf,
        /// The share of edges each wave adds.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
        wave_percent: u8,
        /// How long each wave lasts before the next.
        #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=10080))]
        wave_minutes: u32,
    },
    /// Pause a rollout: no further edge takes the release; those that have
    /// it keep it.
    Pause {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The detector: faces or objects.
        name: String,
    },
    /// Resume a paused rollout from the share it reached.
    Resume {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The detector.
        name: String,
    },
    /// Point a detector back at a published release, for every edge at
    /// once: a new signed targets version (see `lensguard models rollback`).
    Rollback {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The detector.
        name: String,
        /// The release to go back to.
        #[arg(long, value_name = "VERSION")]
        to: String,
    },
    /// Lock an edge to a release of a detector whatever the rollouts say
    /// (no --version: unlock).
    Lock {
        #[command(flatten)]
        dir: HubDirArgs,
        /// The edge id (see `hub edges`).
        #[arg(long)]
        edge: String,
        /// The detector.
        #[arg(long)]
        name: String,
        /// The release; leave out to unlock.
        #[arg(long)]
        version: Option<String>,
    },
    /// The rollouts in force and what each edge last reported running.
    Status {
        #[command(flatten)]
        dir: HubDirArgs,
    },
}

/// `lensguard hub users ...`.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Roles and what they may do on the hub: docs/fleet.md\n\n\
    Examples:\n  \
    lensguard hub users create --data-dir /var/lib/lensguard-hub --username ana --role owner --password-file pw.txt\n  \
    lensguard hub users list --data-dir /var/lib/lensguard-hub"
)]
pub enum HubUsersCommand {
    /// Create a hub user and print their TOTP secret (once) for an authenticator app.
    Create {
        #[command(flatten)]
        dir: HubDirArgs,
        /// Login name: 1-64 of a-z 0-9 . _ - @.
        #[arg(long)]
        username: String,
        /// owner, admin, developer, viewer or operator.
        #[arg(long)]
        role: String,
        #[command(flatten)]
        password: super::PasswordSource,
    },
    /// List the hub's users.
    List {
        #[command(flatten)]
        dir: HubDirArgs,
    },
}

/// `lensguard edge ...`.
#[derive(Debug, Subcommand)]
pub enum EdgeCommand {
    /// Enrol this edge with a hub: exchange the one-time token for a client
    /// certificate from the hub's CA.
    ///
    /// Writes DATA_DIR/hub/ (the hub's URL, its CA, this edge's certificate
    /// and key). From its next start `lensguard serve` queues every
    /// inspection's egress record and delivers it to the hub.
    Enroll {
        /// The hub's URL, e.g. https://hub.example.com:9443.
        #[arg(long)]
        hub: String,
        /// The token from `lensguard hub enroll` (or set LENSGUARD_ENROLMENT_TOKEN).
        #[arg(long, env = "LENSGUARD_ENROLMENT_TOKEN", hide_env_values = true)]
        token: String,
        /// The edge's data directory (as for `lensguard serve`).
        #[arg(long, env = "LENSGUARD_DATA_DIR", default_value = "lensguard-data")]
        data_dir: PathBuf,
    },
    /// Show the outbox: records waiting, bytes, age of the oldest, and the
    /// hub this edge delivers to.
    Status {
        /// The edge's data directory.
        #[arg(long, env = "LENSGUARD_DATA_DIR", default_value = "lensguard-data")]
        data_dir: PathBuf,
    },
}

/// `lensguard egress ...`.
#[derive(Debug, Subcommand)]
pub enum EgressCommand {
    /// Summarise the egress receipts in the audit log: what left this edge,
    /// where to, under which manifest.
    Report {
        /// The edge's data directory.
        #[arg(long, env = "LENSGUARD_DATA_DIR", default_value = "lensguard-data")]
        data_dir: PathBuf,
        /// From this time (RFC 3339), inclusive.
        #[arg(long)]
        from: Option<String>,
        /// Up to this time (RFC 3339), exclusive.
        #[arg(long)]
        to: Option<String>,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}
