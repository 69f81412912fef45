//! The policy over the API: `GET /v1/policy` and `PUT /v1/policy`
//! (`policy:manage`), and the policy file in the data directory.
//!
//! The service judges photos by `<data dir>/policy.toml` when it exists (checked
//! at start; an invalid file stops the start with its located errors), else by
//! the built-in default. A change is TOML in the body, validated with the same
//! located errors as `lensguard policy check` (400), must raise `revision`
//! (409 otherwise, so an old policy cannot silently come back), is audited
//! (`policy.change`, with the name, revision and SHA-256 of the text) before it is
//! written, is written atomically (temporary file, fsync, rename, fsync of the
//! folder), and applies to the next submission.

use super::auth::{Auth, audit_read};
use super::http::{RequestId, audit_unavailable, error};
use super::state::AppState;
use anyhow::Context;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use lensguard_core::Policy;
use lensguard_core::access::needs::PolicyManage;
use lensguard_store::audit::Outcome;
use schemars::JsonSchema;
use serde::Serialize;
use std::path::Path;

/// The policy file's name in the data directory.
pub const FILE: &str = "policy.toml";

/// The policy the service starts with.
pub fn load(data_dir: &Path) -> anyhow::Result<Policy> {
    let path = data_dir.join(FILE);
    if !path.exists() {
        return Ok(Policy::default());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    crate::common::durable::write(path, text.as_bytes(), crate::common::durable::Mode::Private)
}

/// The answer to a change.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PolicyChanged {
    /// The policy's name.
    pub name: String,
    /// Its revision.
    pub revision: u32,
    /// SHA-256 of the TOML text as sent, hex.
    pub sha256: String,
}

/// `GET /v1/policy`: the policy in force, as TOML.
pub async fn get(State(state): State<AppState>, auth: Auth<PolicyManage>) -> Response {
    if let Err(refused) = audit_read(&state, &auth, "policy.read", "policy".into(), None).await {
        return refused;
    }
    let text = state.policy().to_toml();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/toml"),
        )],
        text,
    )
        .into_response()
}

/// `PUT /v1/policy`: replaces the policy.
pub async fn put(State(state): State<AppState>, auth: Auth<PolicyManage>, body: Body) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    const MAX: usize = 256 * 1024;
    let bytes = match http_body_util::Limited::new(body, MAX).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let m = format!("send the policy as TOML text of at most {MAX} bytes");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", m, &rid);
        }
    };
    let Ok(text) = String::from_utf8(bytes.to_vec()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_policy",
            "the policy is not UTF-8",
            &rid,
        );
    };
    let policy = match Policy::from_toml(&text) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_policy", e.to_string(), &rid),
    };
    let actor = auth.granted.principal().actor.to_string();
    let sha256 = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        text.as_bytes(),
    ));
    let current = state.policy();
    let target = format!("policy:{}", policy.name);
    if policy.revision <= current.revision {
        let why = format!(
            "revision {} is not above the policy in force ({} revision {})",
            policy.revision, current.name, current.revision
        );
        let event = auth
            .ctx
            .event(actor, "policy.change")
            .target(target)
            .outcome(Outcome::Failure, Some(why.clone()));
        if state.audit(event).await.is_err() {
            return audit_unavailable(&rid);
        }
        return error(StatusCode::CONFLICT, "stale_revision", why, &rid);
    }
    let reason = format!(
        "revision {} -> {}; sha256 {sha256}",
        current.revision, policy.revision
    );
    let event = auth
        .ctx
        .event(actor, "policy.change")
        .target(target)
        .outcome(Outcome::Success, Some(reason));
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    let path = state.data_dir.join(FILE);
    let written = tokio::task::spawn_blocking(move || write_atomically(&path, &text)).await;
    if !matches!(written, Ok(Ok(()))) {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the policy could not be written; the policy in force is unchanged",
            &rid,
        );
    }
    let answer = PolicyChanged {
        name: policy.name.clone(),
        revision: policy.revision,
        sha256,
    };
    state.set_policy(policy);
    Json(answer).into_response()
}
