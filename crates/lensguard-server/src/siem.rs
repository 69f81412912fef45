//! SIEM export: the audit log, streamed to a syslog receiver over TLS
//! (RFC 5425: RFC 5424 messages with octet-counting framing).
//!
//! The audit log is the durable buffer: it is append-only and synced before
//! any entry is acknowledged, so the exporter keeps only a cursor,
//! `<data dir>/siem/cursor.json` (`{"offset", "next_seq"}`: where in
//! `audit/log.jsonl` the next entry to send starts), replaced atomically
//! (written, synced, renamed, folder synced).
//!
//! Syslog over TLS has no acknowledgements, so each delivery is a session:
//! connect, verify the receiver against the configured CA (only), present
//! this edge's certificate, write up to `batch_events` framed messages, send
//! TLS close_notify and FIN, and wait for the receiver to close its side. A
//! receiver that closes has read every byte before our FIN, so only then
//! does the cursor move. Any failure (refused, wrong certificate, reset, no
//! close within the timeout) leaves the cursor where it was and the session
//! is repeated with backoff: at-least-once delivery; the entry's `seq`
//! travels in every message so a SIEM can drop a repeat. Nothing leaves
//! before the receiver's certificate verifies.
//!
//! Each signed checkpoint is sent once the entries it covers have been
//! (`checkpoint_offset` in the cursor: read from there, never the whole file), so the receiver holds a witness of the
//! log's history (`lensguard audit verify --trusted-checkpoint` reads its
//! file in the `syslog` and `json` formats).

use crate::common::backoff::Backoff;
use crate::common::durable::{self, Mode};
use crate::sinks::Sink;
use anyhow::Context;
use lensguard_core::config::siem::SiemConfig;
use lensguard_store::audit::siem::{SiemFormat, frame, render, render_checkpoint};
use rustls_pki_types::ServerName;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

const SESSION_TIMEOUT: Duration = Duration::from_secs(15);
const IDLE: Duration = Duration::from_millis(500);

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Cursor {
    offset: u64,
    next_seq: u64,
    /// Where in `audit/checkpoints.jsonl` the next checkpoint to send starts.
    #[serde(default)]
    checkpoint_offset: u64,
}

/// The exporter.
pub struct Exporter {
    config: SiemConfig,
    format: SiemFormat,
    audit_dir: PathBuf,
    cursor_file: PathBuf,
    hostname: String,
    tls: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

impl Exporter {
    /// Prepares the exporter for `data_dir` (fails on unreadable
    /// certificates, so a misconfigured export stops the service at start).
    pub fn new(config: SiemConfig, data_dir: &Path) -> anyhow::Result<Exporter> {
        use crate::common::tls::{read_certs, read_key};
        let format: SiemFormat = config.format.parse().map_err(anyhow::Error::msg)?;
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(&config.ca_file)? {
            roots
                .add(c)
                .context("siem.ca_file holds an unusable certificate")?;
        }
        let builder = crate::common::tls::client_builder()?.with_root_certificates(roots);
        let tls = match &config.client {
            Some((cert, key)) => builder
                .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
                .context("siem.cert_file and siem.key_file do not match")?,
            None => builder.with_no_client_auth(),
        };
        let server_name = ServerName::try_from(config.server_name.clone())
            .with_context(|| format!("siem.server_name {:?} is not a name", config.server_name))?;
        let dir = data_dir.join("siem");
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Exporter {
            hostname: config.hostname.clone().unwrap_or_else(system_hostname),
            format,
            audit_dir: data_dir.join("audit"),
            cursor_file: dir.join("cursor.json"),
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            server_name,
            config,
        })
    }

    fn cursor(&self) -> Cursor {
        std::fs::read(&self.cursor_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn save(&self, cursor: &Cursor) -> anyhow::Result<()> {
        durable::write(
            &self.cursor_file,
            serde_json::to_string(cursor)?.as_bytes(),
            Mode::Private,
        )?;
        Ok(())
    }

    /// One session: `Ok(events delivered)`.
    async fn session(&self) -> anyhow::Result<usize> {
        let cursor = self.cursor();
        let (dir, offset, max) = (
            self.audit_dir.clone(),
            cursor.offset,
            self.config.batch_events,
        );
        let checkpoint_offset = cursor.checkpoint_offset;
        let (entries, checkpoints) = tokio::task::spawn_blocking(move || {
            let entries = lensguard_store::audit::entries_from(&dir, offset, max)?;
            let checkpoints = lensguard_store::audit::checkpoints_from(&dir, checkpoint_offset)?;
            anyhow::Ok((entries, checkpoints))
        })
        .await??;
        let next_seq = entries.last().map_or(cursor.next_seq, |l| l.entry.seq + 1);
        // Checkpoints go after the entries they cover, each once (sizes
        // only grow, so the ones covered are a prefix).
        let witnessed: Vec<_> = checkpoints
            .iter()
            .take_while(|(c, _)| c.size <= next_seq)
            .collect();
        if entries.is_empty() && witnessed.is_empty() {
            return Ok(0);
        }
        let next = Cursor {
            offset: entries.last().map_or(cursor.offset, |l| l.end),
            next_seq,
            checkpoint_offset: witnessed
                .last()
                .map_or(cursor.checkpoint_offset, |(_, end)| *end),
        };
        let version = env!("CARGO_PKG_VERSION");
        let mut bytes = Vec::new();
        for e in &entries {
            bytes.extend(frame(&render(
                self.format,
                &self.hostname,
                version,
                &e.json,
                &e.entry,
            )));
        }
        for (c, _) in &witnessed {
            bytes.extend(frame(&render_checkpoint(
                self.format,
                &self.hostname,
                version,
                c,
            )));
        }
        let deliver = async {
            let tcp = tokio::net::TcpStream::connect(&self.config.address)
                .await
                .context("cannot connect")?;
            let mut tls = self
                .tls
                .connect(self.server_name.clone(), tcp)
                .await
                .context("TLS handshake (is the receiver's certificate from siem.ca_file?)")?;
            tls.write_all(&bytes).await.context("write")?;
            tls.flush().await.context("flush")?;
            // close_notify and FIN; the receiver's close confirms it read it
            // all. Whatever it sends meanwhile is discarded, not buffered. A
            // close without close_notify (rsyslog's) counts as a close; a
            // reset does not.
            tls.shutdown().await.context("shutdown")?;
            match tokio::io::copy(&mut tls, &mut tokio::io::sink()).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                Err(e) => return Err(e).context("the receiver did not close cleanly"),
            }
            anyhow::Ok(())
        };
        tokio::time::timeout(SESSION_TIMEOUT, deliver)
            .await
            .context("the receiver did not close the session in time")??;
        self.save(&next).context("cannot save the SIEM cursor")?;
        Ok(entries.len() + witnessed.len())
    }
}

/// SIEM export as a sink: its cursor file is its durable cursor (advanced
/// only after the receiver confirmed the session).
impl Sink for Exporter {
    fn name(&self) -> String {
        format!("SIEM export to {}", self.config.address)
    }

    async fn deliver(&mut self) -> Result<usize, String> {
        self.session().await.map_err(|e| format!("{e:#}"))
    }

    fn idle(&self) -> Duration {
        IDLE
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(Duration::from_millis(200), Duration::from_secs(30))
    }
}
