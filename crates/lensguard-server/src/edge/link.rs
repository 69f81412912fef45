//! This edge's link to its hub: `<data dir>/hub/`, written by `lensguard
//! edge enroll`.
//!
//! - `ca.pem`: the hub CA, the only root trusted for the hub;
//! - `edge.pem`, `edge.key` (mode 0600): this edge's client certificate;
//! - `link.json`: `{"url", "edge_id", "enrolled_at"}`, written last, so its
//!   presence means the rest is complete. No `link.json`, no hub: the
//!   service then never enqueues and never connects anywhere.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The enrolled hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HubLink {
    /// The hub's URL.
    pub url: String,
    /// The id the hub gave this edge.
    pub edge_id: String,
    /// When this edge enrolled (RFC 3339).
    pub enrolled_at: String,
    /// The folder holding the files.
    #[serde(skip)]
    pub dir: PathBuf,
}

/// The link folder of `data_dir`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("hub")
}

impl HubLink {
    /// The link of `data_dir`, or `None` when this edge never enrolled.
    pub fn load(data_dir: &Path) -> anyhow::Result<Option<HubLink>> {
        let dir = dir(data_dir);
        let path = dir.join("link.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut link: HubLink = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged; enrol again", path.display()))?;
        link.dir = dir;
        Ok(Some(link))
    }

    /// Mutual TLS settings for this hub.
    pub fn client_config(&self) -> anyhow::Result<rustls::ClientConfig> {
        crate::fleet::client::mutual_tls(
            &self.dir.join("ca.pem"),
            &self.dir.join("edge.pem"),
            &self.dir.join("edge.key"),
        )
    }

    /// `url (edge id)`, for receipts and logs.
    pub fn destination(&self) -> String {
        format!("{} edge {}", self.url, self.edge_id)
    }
}
