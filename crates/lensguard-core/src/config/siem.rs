//! `[siem]`: where audit and security events go, over RFC 5425 syslog over
//! TLS. Off unless `address` is set. The receiver is verified against
//! `ca_file` (only), and this edge presents `cert_file`/`key_file` when
//! given (mutual TLS).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[siem]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiemSection {
    /// `host:port` of the receiver (RFC 5425 uses 6514).
    pub address: Option<String>,
    /// `syslog` (RFC 5424, default), `cef` or `json`.
    pub format: Option<String>,
    /// CA certificate(s) the receiver's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// This edge's client certificate (PEM), for mutual TLS.
    pub cert_file: Option<PathBuf>,
    /// Its key.
    pub key_file: Option<PathBuf>,
    /// The name the receiver's certificate must carry. Default: the host
    /// part of `address`.
    pub server_name: Option<String>,
    /// HOSTNAME in each message. Default: this machine's host name.
    pub hostname: Option<String>,
    /// Events per delivery session. Default 500.
    pub batch_events: Option<usize>,
}

/// Validated `[siem]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemConfig {
    /// `host:port`.
    pub address: String,
    /// `syslog`, `cef` or `json`.
    pub format: String,
    /// Receiver CA.
    pub ca_file: PathBuf,
    /// Client certificate and key.
    pub client: Option<(PathBuf, PathBuf)>,
    /// Expected receiver name.
    pub server_name: String,
    /// HOSTNAME field, when set.
    pub hostname: Option<String>,
    /// Events per session.
    pub batch_events: usize,
}

impl SiemSection {
    /// `None` when off; problems are added to `problems`.
    pub fn validate(&self, problems: &mut Vec<String>) -> Option<SiemConfig> {
        let address = self.address.clone()?;
        let Some((host, port)) = address.rsplit_once(':') else {
            problems.push(format!("siem.address: {address:?} is not host:port"));
            return None;
        };
        if port.parse::<u16>().is_err() || host.is_empty() {
            problems.push(format!("siem.address: {address:?} is not host:port"));
        }
        let format = self.format.clone().unwrap_or_else(|| "syslog".to_owned());
        if !["syslog", "cef", "json"].contains(&format.as_str()) {
            problems.push(format!(
                "siem.format: {format:?} is not syslog, cef or json"
            ));
        }
        let Some(ca_file) = self.ca_file.clone() else {
            problems.push(
                "siem.ca_file: the receiver's CA is required (the receiver is always verified)"
                    .to_owned(),
            );
            return None;
        };
        let client = match (&self.cert_file, &self.key_file) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => {
                problems.push("siem: cert_file and key_file go together".to_owned());
                None
            }
        };
        let batch_events = self.batch_events.unwrap_or(500);
        if !(1..=10_000).contains(&batch_events) {
            problems.push(format!(
                "siem.batch_events: must be 1 to 10000, got {batch_events}"
            ));
        }
        Some(SiemConfig {
            server_name: self.server_name.clone().unwrap_or_else(|| {
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned()
            }),
            address,
            format,
            ca_file,
            client,
            hostname: self.hostname.clone(),
            batch_events: batch_events.clamp(1, 10_000),
        })
    }
}
