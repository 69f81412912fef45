//! Model updates from the hub, on an enrolled edge: every round the edge
//! asks its hub which release of each detector to run (the rollout's
//! waves and locks decide), verifies the hub's TUF repository with `tough`
//! over the same mutual-TLS link that delivers the outbox
//! ([`HubTransport`]), activates what the plan names
//! ([`crate::model_updates::activation`]), and reports what it runs.
//!
//! Invariants:
//! - The hub is only a transport: every byte is verified against the root
//!   of trust, as from removable media. A hub that serves altered or old
//!   metadata is refused (audited) and nothing changes.
//! - The root of trust of an edge that has none is the hub's first root
//!   (`1.root.json`), fetched once over the enrolled link (the hub's CA was
//!   pinned at enrolment) and audited with its fingerprint; later roots
//!   arrive through the signed chain.
//! - Online, the timestamp must be current (no import window).
//! - A release activated here is loaded by restarting the service in place
//!   (`reload`: the service drains like on SIGTERM and runs again in the
//!   same process), so the trial starts count as for any start.

use super::link::HubLink;
use crate::fleet::client::HubClient;
use crate::fleet::wire::{ModelPlan, ModelReport, ModelState};
use crate::model_updates::activation::{self, Activation};
use crate::model_updates::service::{self, Updates};
use crate::model_updates::verify::{self, ImportRules, Source};
use crate::model_updates::{UpdateError, slots, trust};
use hyper::Method;
use lensguard_store::audit::{AuditLog, Outcome};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tough::{TransportError, TransportErrorKind, TransportStream};

/// Most bytes of one file fetched from the hub's repository.
const MAX_FILE_BYTES: usize = 256 << 20;

/// `tough`'s transport over the edge's client for its hub: `GET` of the
/// URL's path on the hub, whole, within [`MAX_FILE_BYTES`]; a 404 is
/// "file not found" (how `tough` learns there is no newer root).
#[derive(Clone)]
pub struct HubTransport {
    client: Arc<tokio::sync::Mutex<HubClient>>,
}

impl std::fmt::Debug for HubTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HubTransport")
    }
}

impl HubTransport {
    /// A transport over `client`.
    pub fn new(client: HubClient) -> HubTransport {
        HubTransport {
            client: Arc::new(tokio::sync::Mutex::new(
                client.with_max_answer(MAX_FILE_BYTES),
            )),
        }
    }

    async fn get(&self, path: &str) -> Result<(u16, bytes::Bytes), String> {
        self.client
            .lock()
            .await
            .request(Method::GET, path, None)
            .await
            .map_err(|e| e.to_string())
    }
}

#[tough::async_trait]
impl tough::Transport for HubTransport {
    async fn fetch(&self, url: url::Url) -> Result<TransportStream, TransportError> {
        match self.get(url.path()).await {
            Ok((200, body)) => Ok(Box::pin(futures_util::stream::once(
                async move { Ok(body) },
            ))),
            Ok((404, _)) => Err(TransportError::new(TransportErrorKind::FileNotFound, url)),
            Ok((status, body)) => Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                url,
                format!(
                    "the hub answered {status}: {}",
                    crate::fleet::client::hub_message(&body)
                ),
            )),
            Err(why) => Err(TransportError::new_with_cause(
                TransportErrorKind::Other,
                url,
                why,
            )),
        }
    }
}

/// The update rounds of one edge.
pub struct ModelSync {
    /// The edge's data directory.
    pub data_dir: PathBuf,
    /// Where the runtime library is (for the known-answer test).
    pub models_dir: PathBuf,
    /// The hub.
    pub link: HubLink,
    /// The edge's audit log.
    pub audit: Arc<AuditLog>,
    /// What the running service loaded at its start.
    pub loaded: Updates,
    /// Time between rounds.
    pub every: Duration,
    /// Deadline of each exchange with the hub.
    pub timeout: Duration,
    /// Told when a release was activated: the service restarts to load it.
    pub reload: Arc<tokio::sync::Notify>,
}

impl ModelSync {
    fn record(&self, action: &str, target: &str, outcome: Outcome, reason: String) {
        service::record(&self.audit, action, target, outcome, reason);
    }

    /// Runs a round now and then every [`ModelSync::every`], for as long
    /// as the service runs.
    pub async fn run(self) {
        let mut last_problem = String::new();
        loop {
            match self.round().await {
                Ok(()) => last_problem.clear(),
                Err(why) => {
                    // Said once until it changes, not every round.
                    if why != last_problem {
                        eprintln!("lensguard: model updates from the hub: {why}");
                        last_problem = why;
                    }
                }
            }
            tokio::time::sleep(self.every).await;
        }
    }

    fn transport(&self) -> Result<HubTransport, String> {
        let config = self.link.client_config().map_err(|e| format!("{e:#}"))?;
        let client = HubClient::new("the hub", &self.link.url, config, self.timeout)
            .map_err(|e| e.to_string())?;
        Ok(HubTransport::new(client))
    }

    /// Installs the hub's first root as the root of trust, if there is
    /// none; `Ok(false)` when the hub has no model repository.
    async fn bootstrap(&self, transport: &HubTransport) -> Result<bool, String> {
        match trust::installed(&self.data_dir) {
            Ok(_) => return Ok(true),
            Err(UpdateError::NoTrust) => {}
            Err(e) => return Err(e.to_string()),
        }
        let (status, body) = transport
            .get("/v1/edge/models/metadata/1.root.json")
            .await?;
        match status {
            200 => {}
            404 => return Ok(false),
            other => return Err(format!("the hub answered {other} for its root")),
        }
        let checked =
            trust::check("the hub's 1.root.json", body.to_vec()).map_err(|e| e.to_string())?;
        self.record(
            "models.trust",
            &format!("root:v{}", checked.version),
            Outcome::Success,
            format!(
                "fingerprint sha256:{}; from the enrolled hub {}",
                checked.fingerprint,
                self.link.destination()
            ),
        );
        let path = trust::path(&self.data_dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        crate::data_dir::write_private(&path, &checked.bytes).map_err(|e| format!("{e:#}"))?;
        Ok(true)
    }

    async fn round(&self) -> Result<(), String> {
        let transport = self.transport()?;
        if !self.bootstrap(&transport).await? {
            return Ok(());
        }
        let (status, body) = transport.get("/v1/edge/models/plan").await?;
        if status != 200 {
            return Err(format!(
                "the hub answered {status} for the plan: {}",
                crate::fleet::client::hub_message(&body)
            ));
        }
        let plan: ModelPlan =
            serde_json::from_slice(&body).map_err(|e| format!("the hub's plan: {e}"))?;
        let base = url::Url::parse(&self.link.url).map_err(|e| e.to_string())?;
        let join = |p: &str| base.join(p).map_err(|e| e.to_string());
        let source = Source {
            metadata: join("/v1/edge/models/metadata/")?,
            targets: join("/v1/edge/models/targets/")?,
            transport: transport.clone(),
        };
        let rules = ImportRules {
            timestamp_window: time::Duration::ZERO,
        };
        let now = time::OffsetDateTime::now_utc();
        let verified = match verify::verify(source, &self.data_dir, rules, now, &plan).await {
            Ok(v) => v,
            Err(e @ (UpdateError::Io(..) | UpdateError::NoTrust)) => return Err(e.to_string()),
            Err(e) => {
                self.record(
                    "models.update",
                    &self.link.destination(),
                    Outcome::Failure,
                    e.to_string(),
                );
                return Err(e.to_string());
            }
        };
        let mut verified = verified;
        let bundles = std::mem::take(&mut verified.bundles);
        verified.accept().map_err(|e| e.to_string())?;
        let mut report = ModelReport { models: Vec::new() };
        let mut activated = false;
        for bundle in bundles {
            let data_dir = self.data_dir.clone();
            let models_dir = self.models_dir.clone();
            let audit = Arc::clone(&self.audit);
            let name = bundle.manifest.name.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let record = |action: &str, target: &str, outcome, reason: String| {
                    service::append(&audit, action, target, outcome, reason)
                };
                activation::activate(&data_dir, &bundle, &models_dir, &record)
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
            activated |= matches!(outcome, Activation::Activated(_));
            report.models.push(self.state_of(&name, &outcome));
        }
        let sent = self.send_report(&transport, &report).await;
        // Restart to load what was activated, whether or not the hub heard.
        if activated {
            self.reload.notify_one();
        }
        sent
    }

    async fn send_report(
        &self,
        transport: &HubTransport,
        report: &ModelReport,
    ) -> Result<(), String> {
        let body = serde_json::to_vec(report).map_err(|e| e.to_string())?;
        let mut client = transport.client.lock().await;
        let (status, answer) = client
            .request(Method::POST, "/v1/edge/models/report", Some(body))
            .await
            .map_err(|e| e.to_string())?;
        if status != 204 {
            return Err(format!(
                "the hub answered {status} to the report: {}",
                crate::fleet::client::hub_message(&answer)
            ));
        }
        Ok(())
    }

    /// Detector `name`'s state for the report.
    fn state_of(&self, name: &str, outcome: &Activation) -> ModelState {
        let active = slots::active(&self.data_dir, name)
            .ok()
            .flatten()
            .map_or("built-in".to_owned(), |m| m.manifest.version);
        let loaded = self
            .loaded
            .get(name)
            .map_or("built-in".to_owned(), |(m, _)| m.manifest.version.clone());
        let state = match outcome {
            Activation::Refused(_) => "refused",
            _ if slots::trial(&self.data_dir, name).is_some() => "on-trial",
            _ => "active",
        };
        let mut detail = match outcome {
            Activation::Refused(why) => why.clone(),
            _ => String::new(),
        };
        if loaded != active {
            if !detail.is_empty() {
                detail.push_str("; ");
            }
            detail.push_str(&format!(
                "the running service loaded {loaded}; it restarts in place to load {active}"
            ));
        }
        ModelState {
            name: name.to_owned(),
            version: active,
            state: state.to_owned(),
            detail,
        }
    }
}
