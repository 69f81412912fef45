//! The hub service.
//!
//! One TLS listener (rustls, TLS 1.3 preferred, 1.2 minimum) with the hub's
//! server certificate. Client certificates are verified against the hub CA
//! when offered and not required at the handshake, because a new edge has
//! none yet; each route then requires what it needs:
//!
//! | route | who |
//! |---|---|
//! | `GET /healthz` | anyone (says only `ok`) |
//! | `POST /v1/enroll` | an edge with a one-time enrolment token |
//! | `GET /v1/edge/state`, `POST /v1/edge/batches`, `/v1/edge/models/...` | an enrolled, unrevoked edge's certificate |
//! | `GET /v1/records`, `GET /v1/edges`, `GET /v1/models`, `GET /metrics` | an operator token ([`super::operator_api`]) |
//! | `/console/...` | a hub user's session ([`super::console`]) |
//!
//! An edge is identified by the SHA-256 of the certificate it presented,
//! looked up on every request, so revocation takes effect on the next
//! request, also on a kept-alive connection. Batches are validated before
//! anything is stored: records in strictly increasing sequence order, each
//! at most 64 KiB, each `{"manifest", "data"}` whose `data` holds only
//! fields an egress manifest may name (kind `inspection`) or a deletion
//! receipt's fields (kind `deletion_receipt`), so no pixels, whatever an
//! edge sends.

use super::metrics::HubMetrics;
use crate::cli::HubDirArgs;
use crate::fleet::ca::{CaFiles, HubCa};
use crate::fleet::wire::{Batch, BatchAck, EdgeState, EnrolRequest, EnrolResponse, WireRecord};
use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::tls::TlsInfo;
use lensguard_store::hub::{CheckpointOutcome, CheckpointUpdate, Edge, HubDb, IngestRecord};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

/// The fields of a deletion receipt (`DeletionReceipt`).
const RECEIPT_FIELDS: [&str; 7] = [
    "object",
    "category",
    "inspection",
    "content_sha256",
    "policy",
    "deleted_at",
    "method",
];

/// Most records in one batch.
pub const MAX_BATCH_RECORDS: usize = 1000;
/// Most bytes of one record's payload.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub(super) struct Hub {
    pub(super) db: HubDb,
    ca: Arc<HubCa>,
    pub(super) metrics: Arc<HubMetrics>,
    pub(super) console: Arc<super::console::HubConsole>,
    pub(super) models: Arc<super::models::HubModels>,
}

pub(super) fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    crate::common::error_body::respond(
        status,
        crate::common::error_body::ErrorBody {
            code: code.to_owned(),
            message: message.into(),
            // The hub keeps no request log: the id names this answer only.
            request_id: uuid::Uuid::new_v4().to_string(),
        },
    )
}

pub(super) fn unavailable() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the hub database cannot be reached; retry later",
    )
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn tls_config(files: &CaFiles) -> anyhow::Result<rustls::ServerConfig> {
    use crate::common::tls::{provider, read_certs, read_key};
    let mut roots = rustls::RootCertStore::empty();
    for c in read_certs(&files.cert)? {
        roots.add(c).context("the hub CA certificate is unusable")?;
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(provider()),
    )
    .allow_unauthenticated()
    .build()
    .context("client certificate verifier")?;
    let chain = read_certs(&files.server_cert).with_context(|| {
        "no server certificate; run `lensguard hub init --name HOST` first".to_owned()
    })?;
    let mut config = crate::common::tls::server_builder()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, read_key(&files.server_key)?)
        .context("the server certificate and key do not match")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config.ignore_client_order = true;
    Ok(config)
}

/// Runs the hub service until SIGINT or SIGTERM.
pub fn serve(
    dir: &HubDirArgs,
    listen: &str,
    url: &str,
    sessions: super::console::SessionLimits,
) -> anyhow::Result<ExitCode> {
    let addr: std::net::SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address:port"))?;
    let files = CaFiles::in_dir(&dir.data_dir);
    let ca = Arc::new(HubCa::load(&files)?);
    let tls = tls_config(&files)?;
    let identity = Arc::new(super::identity::HubIdentity::open(&dir.data_dir)?);
    let runtime = super::runtime()?;
    runtime.block_on(async move {
        let db = HubDb::open(url)
            .await
            .context("cannot open the hub database")?;
        let hub = Hub {
            db,
            ca,
            metrics: Arc::new(HubMetrics::new()),
            console: Arc::new(super::console::HubConsole::new(identity, sessions)),
            models: Arc::new(super::models::HubModels::in_dir(&dir.data_dir)),
        };
        tokio::spawn(super::models::refresh_timestamps(Arc::clone(&hub.models)));
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/enroll", post(enroll))
            .route("/v1/edge/state", get(edge_state))
            .route("/v1/edge/batches", post(batches))
            .route(
                "/v1/edge/models/metadata/{file}",
                get(super::models_api::metadata),
            )
            .route(
                "/v1/edge/models/targets/{*path}",
                get(super::models_api::target),
            )
            .route("/v1/edge/models/plan", get(super::models_api::plan))
            .route("/v1/edge/models/report", post(super::models_api::report))
            .route("/v1/models", get(super::models_api::overview))
            .route("/v1/records", get(super::operator_api::records))
            .route("/v1/edges", get(super::operator_api::edges))
            .route("/metrics", get(super::operator_api::metrics))
            .merge(super::console::routes())
            .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
            .with_state(hub);
        let handle = axum_server::Handle::new();
        let server = axum_server::bind_rustls(
            addr,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
        )
        .handle(handle.clone());
        let serving = tokio::spawn(
            server.serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>()),
        );
        let Some(bound) = handle.listening().await else {
            let why = match serving.await {
                Ok(Err(e)) => e.to_string(),
                _ => "the listener stopped".to_owned(),
            };
            anyhow::bail!("cannot listen on {addr}: {why}");
        };
        {
            let mut out = std::io::stdout().lock();
            writeln!(out, "lensguard hub listening on https://{bound}")?;
            out.flush()?;
        }
        let stop = crate::common::shutdown::signal()?;
        stop.await;
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        let _ = serving.await;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

/// The enrolled, unrevoked edge that presented this connection's certificate.
pub(super) async fn edge_of(hub: &Hub, tls: Option<&TlsInfo>) -> Result<Edge, Response> {
    let refuse_as = |code: &'static str, m: &str| {
        hub.metrics.refused.inc();
        json_error(StatusCode::FORBIDDEN, code, m.to_owned())
    };
    let refuse = |m: &str| refuse_as("not_an_edge", m);
    let Some(cert) = tls.and_then(|t| t.peer_certificates.first()) else {
        return Err(refuse(
            "this route needs an enrolled edge's client certificate",
        ));
    };
    let fingerprint = hex::encode(crate::common::tls::sha256(cert));
    match hub.db.edge_by_cert(&fingerprint).await {
        Ok(Some(edge)) if edge.revoked_at.is_none() => Ok(edge),
        Ok(Some(_)) => Err(refuse_as(
            crate::fleet::wire::EDGE_REVOKED,
            "this edge is revoked",
        )),
        Ok(None) => Err(refuse("this certificate belongs to no enrolled edge")),
        Err(_) => Err(unavailable()),
    }
}

async fn enroll(State(hub): State<Hub>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<EnrolRequest>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected {\"token\", \"csr_pem\", \"audit_key\"}",
        );
    };
    let refused = || {
        hub.metrics.refused.inc();
        json_error(
            StatusCode::FORBIDDEN,
            "enrolment_refused",
            "the enrolment token is unknown, already used or expired",
        )
    };
    let Some((id, secret)) = request.token.split_once('.') else {
        return refused();
    };
    let key_ok =
        request.audit_key.len() == 64 && request.audit_key.bytes().all(|b| b.is_ascii_hexdigit());
    if !key_ok {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "audit_key is 32 bytes, hex",
        );
    }
    let now = now();
    match hub.db.enrolment_usable(id, secret, now).await {
        Ok(true) => {}
        Ok(false) => return refused(),
        Err(_) => return unavailable(),
    }
    let edge_id = uuid::Uuid::new_v4().to_string();
    let (certificate_pem, fingerprint) = match hub.ca.sign_edge(&request.csr_pem, &edge_id) {
        Ok(c) => c,
        Err(why) => return json_error(StatusCode::BAD_REQUEST, "bad_csr", why),
    };
    let edge = lensguard_store::hub::NewEdge {
        id: &edge_id,
        cert_sha256: &hex::encode(fingerprint),
        audit_key: &request.audit_key.to_ascii_lowercase(),
    };
    match hub.db.redeem_enrolment(id, secret, edge, now).await {
        Ok(Some(_)) => (
            StatusCode::CREATED,
            axum::Json(EnrolResponse {
                edge_id,
                certificate_pem,
                ca_pem: hub.ca.cert_pem.clone(),
            }),
        )
            .into_response(),
        Ok(None) => refused(),
        Err(_) => unavailable(),
    }
}

async fn edge_state(
    State(hub): State<Hub>,
    tls: Option<axum::Extension<Arc<TlsInfo>>>,
) -> Response {
    let edge = match edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Ok(last_seq) = hub.db.last_seq(&edge.id).await else {
        return unavailable();
    };
    axum::Json(EdgeState {
        edge_id: edge.id,
        last_seq,
        checkpoint_size: u64::try_from(edge.checkpoint_size).unwrap_or(0),
    })
    .into_response()
}

/// Checks a record against the hub's own egress rules; `Err` says why not.
fn admit(r: &WireRecord, previous: i64) -> Result<IngestRecord, String> {
    if r.seq <= previous {
        return Err(format!(
            "record {} is out of order (after {previous})",
            r.seq
        ));
    }
    let allowed: &[&str] = match r.kind.as_str() {
        "inspection" => lensguard_core::policy::EGRESS_FIELDS,
        "deletion_receipt" => &RECEIPT_FIELDS,
        "camera_event" => lensguard_core::policy::EVENT_FIELDS,
        "override" => lensguard_core::policy::OVERRIDE_FIELDS,
        other => return Err(format!("record {}: unknown kind {other:?}", r.seq)),
    };
    let text = r.payload.to_string();
    if text.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "record {} is larger than {MAX_RECORD_BYTES} bytes",
            r.seq
        ));
    }
    let manifest = r.payload.get("manifest").and_then(|m| m.as_str());
    let data = r.payload.get("data").and_then(|d| d.as_object());
    let (Some(manifest), Some(data)) = (manifest, data) else {
        return Err(format!(
            "record {} is not {{\"manifest\", \"data\"}}",
            r.seq
        ));
    };
    if r.payload.as_object().is_some_and(|o| o.len() != 2) {
        return Err(format!(
            "record {} has fields beside manifest and data",
            r.seq
        ));
    }
    if let Some(k) = data.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "record {}: field {k:?} may not leave an edge",
            r.seq
        ));
    }
    let text_of = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    Ok(IngestRecord {
        seq: r.seq,
        created_at: r.created_at,
        kind: r.kind.clone(),
        manifest: manifest.to_owned(),
        inspection_id: if r.kind == "camera_event" {
            None
        } else {
            text_of(data.get("id").or_else(|| data.get("inspection")))
        },
        device_id: text_of(data.get("submission").and_then(|s| s.get("device_id"))),
        verdict: text_of(data.get("verdict")),
        payload: text,
    })
}

async fn batches(
    State(hub): State<Hub>,
    tls: Option<axum::Extension<Arc<TlsInfo>>>,
    body: Bytes,
) -> Response {
    let edge = match edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let bad = |m: String| {
        hub.metrics.refused.inc();
        json_error(StatusCode::BAD_REQUEST, "bad_batch", m)
    };
    let batch: Batch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("malformed batch: {e}")),
    };
    if batch.records.len() > MAX_BATCH_RECORDS {
        return bad(format!("a batch holds at most {MAX_BATCH_RECORDS} records"));
    }
    let mut admitted = Vec::with_capacity(batch.records.len());
    let mut previous = 0;
    for r in &batch.records {
        match admit(r, previous) {
            Ok(a) => admitted.push(a),
            Err(why) => return bad(why),
        }
        previous = r.seq;
    }
    let now = now();
    let outcome = match hub.db.ingest(&edge.id, &admitted, now).await {
        Ok(o) => o,
        Err(_) => return unavailable(),
    };
    hub.metrics.batches.inc();
    hub.metrics.stored.inc_by(outcome.stored);
    hub.metrics.duplicates.inc_by(outcome.duplicates);
    let mut checkpoint = None;
    let mut checkpoint_size = u64::try_from(edge.checkpoint_size).unwrap_or(0);
    if let Some(cp) = &batch.checkpoint {
        let proof: Result<Vec<[u8; 32]>, _> = cp
            .proof
            .iter()
            .map(|h| {
                hex::decode(h)
                    .ok()
                    .and_then(|v| <[u8; 32]>::try_from(v).ok())
                    .ok_or(())
            })
            .collect();
        let Ok(proof) = proof else {
            return bad("a proof hash is not 32 bytes of hex".into());
        };
        let update = CheckpointUpdate {
            checkpoint: &cp.checkpoint,
            from_size: cp.from_size,
            proof: &proof,
        };
        match hub.db.accept_checkpoint(&edge.id, update, now).await {
            Ok(CheckpointOutcome::Accepted(size)) => {
                checkpoint = Some("accepted".to_owned());
                checkpoint_size = size;
            }
            Ok(CheckpointOutcome::Stale(size)) => {
                checkpoint = Some("stale".to_owned());
                checkpoint_size = size;
            }
            Ok(CheckpointOutcome::Flagged(reason)) => {
                hub.metrics.flagged.inc();
                eprintln!("lensguard hub: edge {} flagged: {reason}", edge.id);
                checkpoint = Some("flagged".to_owned());
            }
            Err(_) => return unavailable(),
        }
    }
    axum::Json(BatchAck {
        acknowledged_through: outcome.acknowledged_through,
        stored: outcome.stored,
        duplicates: outcome.duplicates,
        checkpoint,
        checkpoint_size,
    })
    .into_response()
}

#[cfg(test)]
mod admit_tests {
    use super::*;

    fn record(kind: &str, data: serde_json::Value) -> WireRecord {
        WireRecord {
            seq: 7,
            created_at: 0,
            kind: kind.to_owned(),
            payload: serde_json::json!({"manifest": "p@1", "data": data}),
        }
    }

    #[test]
    fn a_camera_event_is_taken_with_event_fields_only() {
        let ok = admit(
            &record(
                "camera_event",
                serde_json::json!({"id": "e1", "label": "person", "zones": ["door"]}),
            ),
            0,
        )
        .expect("event fields are taken");
        assert_eq!(ok.kind, "camera_event");
        assert_eq!(ok.inspection_id, None, "an event id is not an inspection");
        let refused = admit(
            &record(
                "camera_event",
                serde_json::json!({"label": "person", "measurements": {}}),
            ),
            0,
        );
        assert!(refused.is_err_and(|e| e.contains("measurements")));
        let unknown = admit(&record("frames", serde_json::json!({})), 0);
        assert!(unknown.is_err_and(|e| e.contains("unknown kind")));
    }
}
