//! The hub's model-update routes.
//!
//! For enrolled edges (mutual TLS, as every `/v1/edge/` route):
//! - `GET /v1/edge/models/metadata/{file}`: the repository's signed
//!   metadata (`N.root.json`, `root.json`, `timestamp.json`,
//!   `snapshot.json`, `targets.json`), and `GET
//!   /v1/edge/models/targets/{path}`: its target files. The edge verifies
//!   everything with `tough`; the hub is only the transport, so a hub that
//!   serves altered bytes is refused like any other mirror.
//! - `GET /v1/edge/models/plan`: which release each detector should run on
//!   this edge ([`crate::model_updates::rollout`]).
//! - `POST /v1/edge/models/report`: what the edge runs now.
//!
//! For operators (a bearer token): `GET /v1/models`: the rollouts in force
//! and what each edge reported.
//!
//! Paths are checked before any file is opened: metadata names from a
//! fixed pattern, target paths of plain components only.

use super::api::{Hub, edge_of, json_error, unavailable};
use crate::fleet::wire::{ModelPlan, ModelReport};
use crate::model_updates::bundle::plain;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_server::tls::TlsInfo;
use std::path::PathBuf;
use std::sync::Arc;

/// Largest file served (a model file is far smaller).
const MAX_FILE_BYTES: u64 = 256 << 20;

type Tls = Option<axum::Extension<Arc<TlsInfo>>>;

fn not_found() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such file in the model repository",
    )
}

fn serve_file(path: PathBuf) -> Response {
    match crate::inputs::read_limited(&path, MAX_FILE_BYTES) {
        Ok(bytes) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            Bytes::from(bytes),
        )
            .into_response(),
        Err(crate::inputs::ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            not_found()
        }
        Err(_) => json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unreadable",
            "the file cannot be read on the hub",
        ),
    }
}

fn metadata_name(file: &str) -> bool {
    let role = |s: &str| matches!(s, "root" | "timestamp" | "snapshot" | "targets");
    match file.strip_suffix(".json") {
        Some(stem) => match stem.split_once('.') {
            Some((n, "root")) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
            Some(_) => false,
            None => role(stem),
        },
        None => false,
    }
}

pub(super) async fn metadata(
    State(hub): State<Hub>,
    tls: Tls,
    UrlPath(file): UrlPath<String>,
) -> Response {
    if let Err(r) = edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        return r;
    }
    if !metadata_name(&file) {
        return not_found();
    }
    serve_file(hub.models.repo.join("metadata").join(file))
}

pub(super) async fn target(
    State(hub): State<Hub>,
    tls: Tls,
    UrlPath(path): UrlPath<String>,
) -> Response {
    if let Err(r) = edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        return r;
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() > 4 || !parts.iter().all(|p| plain(p)) {
        return not_found();
    }
    let mut full = hub.models.repo.join("targets");
    full.extend(parts);
    serve_file(full)
}

pub(super) async fn plan(State(hub): State<Hub>, tls: Tls) -> Response {
    let edge = match edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let (Ok(edges), Ok(rollouts), Ok(locks)) = (
        hub.db.edges().await,
        hub.db.rollouts().await,
        hub.db.model_locks(&edge.id).await,
    ) else {
        return unavailable();
    };
    let ids: Vec<String> = edges
        .into_iter()
        .filter(|e| e.revoked_at.is_none())
        .map(|e| e.id)
        .collect();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let plan: ModelPlan =
        crate::model_updates::rollout::plan_for(&edge.id, &ids, &rollouts, &locks, now);
    axum::Json(plan).into_response()
}

pub(super) async fn report(State(hub): State<Hub>, tls: Tls, body: Bytes) -> Response {
    let edge = match edge_of(&hub, tls.as_deref().map(|t| t.as_ref())).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Ok(report) = serde_json::from_slice::<ModelReport>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "expected {\"models\": [{\"name\", \"version\", \"state\", \"detail\"}]}",
        );
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let short = |s: &str| s.chars().take(500).collect::<String>();
    for m in report.models.iter().take(8) {
        let row = lensguard_store::hub::EdgeModel {
            edge_id: edge.id.clone(),
            name: short(&m.name),
            version: short(&m.version),
            state: short(&m.state),
            detail: short(&m.detail),
            reported_at: now,
        };
        if hub.db.report_model(&row).await.is_err() {
            return unavailable();
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn overview(State(hub): State<Hub>, headers: HeaderMap) -> Response {
    if let Err(r) = super::operator_api::operator(&hub, &headers).await {
        return r;
    }
    let (Ok(rollouts), Ok(models), Ok(edges)) = (
        hub.db.rollouts().await,
        hub.db.edge_models().await,
        hub.db.edges().await,
    ) else {
        return unavailable();
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let rollouts: Vec<serde_json::Value> = rollouts
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "version": r.version, "previous": r.previous,
                "share_percent": r.share_at(now), "wave_percent": r.wave_percent,
                "wave_seconds": r.wave_seconds, "paused": r.paused_at.is_some(),
            })
        })
        .collect();
    let name_of = |id: &str| {
        edges
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.name.clone())
            .unwrap_or_default()
    };
    let running: Vec<serde_json::Value> = models
        .iter()
        .map(|m| {
            serde_json::json!({
                "edge": m.edge_id, "edge_name": name_of(&m.edge_id), "model": m.name,
                "version": m.version, "state": m.state, "detail": m.detail,
                "reported_at": crate::common::time_text::rfc3339(m.reported_at),
            })
        })
        .collect();
    axum::Json(serde_json::json!({"rollouts": rollouts, "edges": running})).into_response()
}

#[cfg(test)]
mod tests {
    use super::metadata_name;

    #[test]
    fn only_role_files_are_metadata() {
        for ok in [
            "root.json",
            "1.root.json",
            "12.root.json",
            "timestamp.json",
            "targets.json",
        ] {
            assert!(metadata_name(ok), "{ok}");
        }
        for bad in [
            "../x.json",
            "a.root.json",
            ".root.json",
            "keys.json",
            "root",
            "1.targets.json",
        ] {
            assert!(!metadata_name(bad), "{bad}");
        }
    }
}
