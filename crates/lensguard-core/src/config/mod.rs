//! Service configuration: the raw TOML file, and its pure validation.
//!
//! Raw values come from a TOML file, `LENSGUARD_*` environment variables and
//! command-line flags (merged by the binary, flags first); [`ServerConfig::validate`]
//! turns them into a [`ServerConfig`] without any I/O, naming every problem.
//! Safe defaults need no file at all. Options that weaken security carry
//! `dangerous_` in their name and are listed by [`ServerConfig::dangerous`].

pub mod audit;
pub mod cameras;
pub mod delivery;
pub mod recording;
pub mod siem;
pub mod sources;
pub mod sso;

pub use delivery::DeliveryConfig;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Whether `name` may name a source, a camera or a zone (it becomes a
/// device id and part of an audit actor).
pub fn valid_source_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The problem with `name` at `at` (`at.name: ...`), if it may not name a
/// source, a camera or a zone.
fn name_problem(at: &str, name: &str) -> Option<String> {
    (!valid_source_name(name))
        .then(|| format!("{at}.name: {name:?} must be 1 to 64 of A-Z a-z 0-9 . _ -"))
}

/// The minimum HSTS `max-age`: one year, as browsers' preload lists require.
pub const MIN_HSTS_MAX_AGE: u64 = 31_536_000;

/// The configuration file, as written. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfigFile {
    /// Address and port to listen on. Default `127.0.0.1:8443`.
    pub listen: Option<String>,
    /// The data directory. Default `lensguard-data`.
    pub data_dir: Option<PathBuf>,
    /// Folder with the model files. Default `$LENSGUARD_MODELS`, else
    /// `~/.cache/lensguard/models` (where `scripts/fetch-models` puts them).
    pub models_dir: Option<PathBuf>,
    /// `[tls]`.
    #[serde(default)]
    pub tls: TlsSection,
    /// `[http]`.
    #[serde(default)]
    pub http: HttpSection,
    /// `[auth]`.
    #[serde(default)]
    pub auth: AuthSection,
    /// `[vault]`.
    #[serde(default)]
    pub vault: VaultSection,
    /// `[outbox]`.
    #[serde(default)]
    pub outbox: delivery::OutboxSection,
    /// `[hub]`.
    #[serde(default)]
    pub hub: delivery::HubSection,
    /// `[siem]`.
    #[serde(default)]
    pub siem: siem::SiemSection,
    /// `[audit]`.
    #[serde(default)]
    pub audit: audit::AuditSection,
    /// `[[sources.folder]]`.
    #[serde(default)]
    pub sources: sources::SourcesSection,
    /// `[[cameras]]`.
    #[serde(default)]
    pub cameras: Vec<cameras::CameraSection>,
    /// `[sso]`.
    #[serde(default)]
    pub sso: sso::SsoSection,
    /// Turns off the `Strict-Transport-Security` header. For tests of the
    /// security gate only; logged at start.
    #[serde(default)]
    pub dangerous_disable_hsts: bool,
}

/// `[tls]`: certificate files; without them a self-signed certificate for
/// `localhost` is generated on first start and kept in the data directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain.
    pub cert_file: Option<PathBuf>,
    /// PEM private key.
    pub key_file: Option<PathBuf>,
    /// PEM CA certificates; when set, API clients must present a certificate
    /// signed by one of them (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

/// `[http]`: protocol limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// HSTS `max-age` in seconds. Default and minimum 31536000 (one year).
    pub hsts_max_age_secs: Option<u64>,
    /// Time a client has to send its request headers. Default 10 s, 1 to 120.
    pub header_read_timeout_secs: Option<u64>,
    /// Time in-flight requests get to finish on shutdown. Default 30 s, 0 to 600.
    pub shutdown_grace_secs: Option<u64>,
    /// Sustained requests per second per API key. Default 50, 1 to 100000.
    pub rate_limit_per_second: Option<u32>,
    /// Requests per API key allowed in a burst above the rate. Default 100, 1 to 100000.
    pub rate_limit_burst: Option<u32>,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` is believed. Default none:
    /// the TCP peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Photos decoded at once. Default: the machine's cores, 1 to 256.
    pub inspection_workers: Option<usize>,
    /// Submissions that may wait for a decoding turn; beyond that `503 busy`.
    /// Default 4 per worker, 0 to 10000.
    pub inspection_queue: Option<usize>,
    /// Refused requests audited one by one from one client address, a
    /// second; past it (and the burst) they are answered 429 and counted in
    /// one entry a minute. Default 5, 1 to 100000.
    pub refusals_per_second: Option<u32>,
    /// Refusals from one address audited in a burst above the rate. Default 20, 1 to 100000.
    pub refusals_burst: Option<u32>,
    /// Connections held at once; more are closed at accept. Default 512, 1 to 100000.
    pub max_connections: Option<usize>,
    /// Connections held at once from one client address. Default 64, 1 to 100000.
    pub max_connections_per_client: Option<usize>,
    /// A connection is closed after this long without a byte from the client
    /// while the service waits for one. Default 60 s, 1 to 3600.
    pub idle_timeout_secs: Option<u64>,
    /// After the header read timeout, a request body must have arrived at
    /// this many bytes a second on average, or it is answered `408
    /// body_too_slow`. Default 1024, 1 to 1000000000.
    pub body_min_bytes_per_second: Option<u64>,
}

/// The bounds on connections and their pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// Connections held at once.
    pub max: usize,
    /// Connections held at once from one address.
    pub per_client: usize,
    /// Longest wait for a byte from the client.
    pub idle: Duration,
    /// A request body's minimum average rate after the header read timeout.
    pub body_min_bytes_per_second: u64,
}

/// `[auth]`: sessions, key rotation and login throttling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Lifetime of a user session in hours. Default 12, 1 to 168.
    pub session_hours: Option<u32>,
    /// How long a rotated API key's old secret keeps working, in hours.
    /// Default 24, 0 to 720.
    pub key_rotation_overlap_hours: Option<u32>,
    /// Login attempts per minute for one user name from one client address
    /// (and ten times that from one address for all names). Default 5, 1 to 1000.
    pub login_attempts_per_minute: Option<u32>,
    /// Minutes a console session lasts without use. Default 15, 1 to 720.
    pub console_idle_minutes: Option<u32>,
}

/// `[vault]`: where the evidence vault's key-encryption keys come from, and
/// its schedules. Without a key setting, a master key file is made in the data
/// directory on first start (with a warning: keep it on another volume, or use
/// a PKCS#11 token); `LENSGUARD_MASTER_KEY` (64 hex digits) takes precedence
/// over that default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultSection {
    /// A file holding the 32-byte master key.
    pub master_key_file: Option<PathBuf>,
    /// A PKCS#11 module; KEKs then live in its token (no software fallback).
    pub pkcs11_module: Option<PathBuf>,
    /// The token's label.
    pub pkcs11_token_label: Option<String>,
    /// A file holding the token's user PIN (else `LENSGUARD_PKCS11_PIN`).
    pub pkcs11_pin_file: Option<PathBuf>,
    /// Days after which the KEKs are rotated. Default 90, 1 to 3650.
    pub kek_rotation_days: Option<u32>,
    /// Minutes between retention sweeps. Default 60, 1 to 1440.
    pub sweep_interval_minutes: Option<u32>,
}

/// Where the vault's key-encryption keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultKeys {
    /// A master key: from this file, or (`None`) `LENSGUARD_MASTER_KEY`, else
    /// `<data dir>/vault-master.key`.
    MasterKey(Option<PathBuf>),
    /// A PKCS#11 token.
    Pkcs11 {
        /// The module.
        module: PathBuf,
        /// The token label.
        token_label: String,
        /// The PIN file (else `LENSGUARD_PKCS11_PIN`).
        pin_file: Option<PathBuf>,
    },
}

/// Validated `[vault]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// The key source.
    pub keys: VaultKeys,
    /// KEK age that triggers a scheduled rotation.
    pub kek_rotation: Duration,
    /// Time between retention sweeps.
    pub sweep_interval: Duration,
}

impl VaultSection {
    /// Validates the section, adding problems to `problems`.
    pub fn validate(&self, problems: &mut Vec<String>) -> VaultConfig {
        let keys = match (
            &self.master_key_file,
            &self.pkcs11_module,
            &self.pkcs11_token_label,
        ) {
            (_, None, None) => VaultKeys::MasterKey(self.master_key_file.clone()),
            (None, Some(module), Some(label)) => VaultKeys::Pkcs11 {
                module: module.clone(),
                token_label: label.clone(),
                pin_file: self.pkcs11_pin_file.clone(),
            },
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                problems.push(
                    "vault: master_key_file and pkcs11_* are alternatives; set one".to_owned(),
                );
                VaultKeys::MasterKey(None)
            }
            _ => {
                problems.push("vault: pkcs11_module and pkcs11_token_label go together".to_owned());
                VaultKeys::MasterKey(None)
            }
        };
        let days = self.kek_rotation_days.unwrap_or(90);
        if !(1..=3650).contains(&days) {
            problems.push(format!(
                "vault.kek_rotation_days: must be 1 to 3650, got {days}"
            ));
        }
        let minutes = self.sweep_interval_minutes.unwrap_or(60);
        if !(1..=1440).contains(&minutes) {
            problems.push(format!(
                "vault.sweep_interval_minutes: must be 1 to 1440, got {minutes}"
            ));
        }
        VaultConfig {
            keys,
            kek_rotation: Duration::from_secs(u64::from(days) * 86_400),
            sweep_interval: Duration::from_secs(u64::from(minutes) * 60),
        }
    }
}

/// Where the TLS certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// Generated on first start for localhost, 127.0.0.1 and ::1.
    SelfSigned,
    /// Operator-provided PEM files.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key.
        key: PathBuf,
    },
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Model folder, when configured (else the binary's default).
    pub models_dir: Option<PathBuf>,
    /// Server certificate.
    pub tls: TlsSource,
    /// CA for client certificates, when mutual TLS is required.
    pub client_ca: Option<PathBuf>,
    /// HSTS `max-age`; `None` only with `dangerous_disable_hsts`.
    pub hsts_max_age: Option<u64>,
    /// Header read timeout.
    pub header_read_timeout: Duration,
    /// Shutdown grace period.
    pub shutdown_grace: Duration,
    /// Per-key rate: sustained requests per second, and burst.
    pub rate_limit: (u32, u32),
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Photos decoded at once, and submissions that may wait for a turn.
    pub inspections: (usize, usize),
    /// Connection bounds.
    pub connections: ConnectionConfig,
    /// Refusals audited one by one per client address: rate and burst.
    pub refusals: (u32, u32),
    /// User session lifetime.
    pub session_lifetime: Duration,
    /// How long a console session lasts without use.
    pub console_idle: Duration,
    /// Default overlap for API key rotation.
    pub key_rotation_overlap: Duration,
    /// Login attempts per minute per (name, client address).
    pub login_attempts_per_minute: u32,
    /// The evidence vault.
    pub vault: VaultConfig,
    /// The outbox's bounds and delivery to the hub.
    pub delivery: delivery::DeliveryConfig,
    /// SIEM export, when configured.
    pub siem: Option<siem::SiemConfig>,
    /// Checkpoint witnesses.
    pub audit: audit::AuditConfig,
    /// Watched folders.
    pub folders: Vec<sources::FolderSource>,
    /// Cameras.
    pub cameras: Vec<cameras::Camera>,
    /// Single sign-on and SCIM, when configured.
    pub sso: Option<sso::SsoConfig>,
}

impl ServerConfig {
    /// Validates a merged raw configuration; every problem is listed as
    /// `key: message`.
    pub fn validate(raw: &ServerConfigFile) -> Result<ServerConfig, Vec<String>> {
        let mut problems = Vec::new();
        let listen = raw.listen.as_deref().unwrap_or("127.0.0.1:8443");
        let listen = listen.parse::<SocketAddr>().unwrap_or_else(|_| {
            problems.push(format!(
                "listen: {listen:?} is not an address:port such as 127.0.0.1:8443"
            ));
            SocketAddr::from(([127, 0, 0, 1], 8443))
        });
        let tls = match (&raw.tls.cert_file, &raw.tls.key_file) {
            (None, None) => TlsSource::SelfSigned,
            (Some(cert), Some(key)) => TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => {
                problems.push("tls: cert_file and key_file go together".to_owned());
                TlsSource::SelfSigned
            }
        };
        let hsts = raw.http.hsts_max_age_secs.unwrap_or(MIN_HSTS_MAX_AGE);
        if hsts < MIN_HSTS_MAX_AGE {
            problems.push(format!(
                "http.hsts_max_age_secs: must be at least {MIN_HSTS_MAX_AGE} (one year), got {hsts}"
            ));
        }
        let header = raw.http.header_read_timeout_secs.unwrap_or(10);
        if !(1..=120).contains(&header) {
            problems.push(format!(
                "http.header_read_timeout_secs: must be 1 to 120, got {header}"
            ));
        }
        let grace = raw.http.shutdown_grace_secs.unwrap_or(30);
        if grace > 600 {
            problems.push(format!(
                "http.shutdown_grace_secs: must be 0 to 600, got {grace}"
            ));
        }
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        let workers = raw.http.inspection_workers.unwrap_or(cores);
        if !(1..=256).contains(&workers) {
            problems.push(format!(
                "http.inspection_workers: must be 1 to 256, got {workers}"
            ));
        }
        let queue = raw.http.inspection_queue.unwrap_or(4 * workers);
        if queue > 10_000 {
            problems.push(format!(
                "http.inspection_queue: must be 0 to 10000, got {queue}"
            ));
        }
        let connections = ConnectionConfig {
            max: raw.http.max_connections.unwrap_or(512),
            per_client: raw.http.max_connections_per_client.unwrap_or(64),
            idle: Duration::from_secs(raw.http.idle_timeout_secs.unwrap_or(60)),
            body_min_bytes_per_second: raw.http.body_min_bytes_per_second.unwrap_or(1024),
        };
        for (key, v, max) in [
            ("max_connections", connections.max as u64, 100_000),
            (
                "max_connections_per_client",
                connections.per_client as u64,
                100_000,
            ),
            ("idle_timeout_secs", connections.idle.as_secs(), 3600),
            (
                "body_min_bytes_per_second",
                connections.body_min_bytes_per_second,
                1_000_000_000,
            ),
        ] {
            if !(1..=max).contains(&v) {
                problems.push(format!("http.{key}: must be 1 to {max}, got {v}"));
            }
        }
        let refusals = (
            raw.http.refusals_per_second.unwrap_or(5),
            raw.http.refusals_burst.unwrap_or(20),
        );
        for (key, v) in [
            ("refusals_per_second", refusals.0),
            ("refusals_burst", refusals.1),
        ] {
            if !(1..=100_000).contains(&v) {
                problems.push(format!("http.{key}: must be 1 to 100000, got {v}"));
            }
        }
        let rate = raw.http.rate_limit_per_second.unwrap_or(50);
        let burst = raw.http.rate_limit_burst.unwrap_or(100);
        for (key, v) in [("rate_limit_per_second", rate), ("rate_limit_burst", burst)] {
            if !(1..=100_000).contains(&v) {
                problems.push(format!("http.{key}: must be 1 to 100000, got {v}"));
            }
        }
        let trusted_proxies = raw
            .http
            .trusted_proxies
            .iter()
            .filter_map(|p| {
                let net = p.parse::<ipnet::IpNet>().ok().or_else(|| {
                    p.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from)
                });
                if net.is_none() {
                    problems.push(format!(
                        "http.trusted_proxies: {p:?} is not an address or network such as 10.0.0.0/8"
                    ));
                }
                net
            })
            .collect();
        let mut ranged =
            |key: &str, v: Option<u32>, default: u32, range: std::ops::RangeInclusive<u32>| {
                let v = v.unwrap_or(default);
                if !range.contains(&v) {
                    problems.push(format!(
                        "auth.{key}: must be {} to {}, got {v}",
                        range.start(),
                        range.end()
                    ));
                }
                v
            };
        let session_hours = ranged("session_hours", raw.auth.session_hours, 12, 1..=168);
        let overlap_hours = ranged(
            "key_rotation_overlap_hours",
            raw.auth.key_rotation_overlap_hours,
            24,
            0..=720,
        );
        let console_idle = ranged(
            "console_idle_minutes",
            raw.auth.console_idle_minutes,
            15,
            1..=720,
        );
        let login_rate = ranged(
            "login_attempts_per_minute",
            raw.auth.login_attempts_per_minute,
            5,
            1..=1000,
        );
        let vault = raw.vault.validate(&mut problems);
        let delivery = delivery::validate(&raw.outbox, &raw.hub, &mut problems);
        let siem = raw.siem.validate(&mut problems);
        let audit = raw.audit.validate(
            matches!(vault.keys, VaultKeys::Pkcs11 { .. }),
            &mut problems,
        );
        let folders = raw.sources.validate(&mut problems);
        let folder_names: Vec<String> = folders.iter().map(|f| f.name.clone()).collect();
        let cameras = cameras::validate(&raw.cameras, &folder_names, &mut problems);
        let sso = raw.sso.validate(&mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ServerConfig {
            listen,
            data_dir: raw
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("lensguard-data")),
            models_dir: raw.models_dir.clone(),
            tls,
            client_ca: raw.tls.client_ca_file.clone(),
            hsts_max_age: (!raw.dangerous_disable_hsts).then_some(hsts),
            header_read_timeout: Duration::from_secs(header),
            shutdown_grace: Duration::from_secs(grace),
            rate_limit: (rate, burst),
            trusted_proxies,
            inspections: (workers, queue),
            connections,
            refusals,
            session_lifetime: Duration::from_secs(u64::from(session_hours) * 3600),
            console_idle: Duration::from_secs(u64::from(console_idle) * 60),
            key_rotation_overlap: Duration::from_secs(u64::from(overlap_hours) * 3600),
            login_attempts_per_minute: login_rate,
            vault,
            delivery,
            siem,
            audit,
            folders,
            cameras,
            sso,
        })
    }

    /// The names of the dangerous options in force (logged and audited at start).
    pub fn dangerous(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.hsts_max_age.is_none() {
            out.push("dangerous_disable_hsts");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_file_gives_safe_defaults() {
        let c = ServerConfig::validate(&ServerConfigFile::default()).expect("valid");
        assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 8443)));
        assert_eq!(c.tls, TlsSource::SelfSigned);
        assert_eq!(c.hsts_max_age, Some(MIN_HSTS_MAX_AGE));
        assert!(c.dangerous().is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let raw = ServerConfigFile {
            listen: Some("localhost".into()),
            tls: TlsSection {
                cert_file: Some("c.pem".into()),
                ..TlsSection::default()
            },
            http: HttpSection {
                hsts_max_age_secs: Some(3600),
                header_read_timeout_secs: Some(0),
                shutdown_grace_secs: Some(601),
                rate_limit_per_second: Some(0),
                rate_limit_burst: None,
                trusted_proxies: vec!["10.0.0.0/8".into(), "proxy.example".into()],
                inspection_workers: Some(0),
                inspection_queue: None,
                ..HttpSection::default()
            },
            auth: AuthSection {
                session_hours: Some(0),
                ..AuthSection::default()
            },
            ..ServerConfigFile::default()
        };
        let problems = ServerConfig::validate(&raw).expect_err("invalid");
        assert_eq!(problems.len(), 9, "{problems:?}");
        for key in [
            "listen",
            "tls",
            "hsts_max_age_secs",
            "header_read_timeout_secs",
            "shutdown_grace_secs",
            "rate_limit_per_second",
            "trusted_proxies: \"proxy.example\"",
            "session_hours",
        ] {
            assert!(
                problems.iter().any(|p| p.contains(key)),
                "{key}: {problems:?}"
            );
        }
    }

    #[test]
    fn disabling_hsts_is_dangerous_and_says_so() {
        let raw = ServerConfigFile {
            dangerous_disable_hsts: true,
            ..ServerConfigFile::default()
        };
        let c = ServerConfig::validate(&raw).expect("valid");
        assert_eq!(c.hsts_max_age, None);
        assert_eq!(c.dangerous(), ["dangerous_disable_hsts"]);
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ServerConfigFile>("[tls]\ncert = \"x\"\n").is_err());
        assert!(
            toml::from_str::<ServerConfigFile>(
                "listen = \"0.0.0.0:443\"\n[http]\nhsts_max_age_secs = 63072000\n"
            )
            .is_ok()
        );
    }
}
