//! The audit page (`audit:read`): search and filter entries, each entry's
//! details, the signed checkpoint, a verification of the log run by the
//! server, exports with the command that verifies them offline, and the
//! originals viewed, at a glance.
//!
//! Every view is audited: the page's search (`audit.search`, as the API's),
//! a verification (`audit.verify`), an export (`audit.export`). The
//! verification says what it checked and what it could not: it uses the
//! log's own key, so only a comparison with checkpoints kept elsewhere
//! proves the history was not rewritten by whoever holds that key.

use super::super::audit_search::{self, EntriesQuery, Failed};
use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::AuditRead;
use lensguard_store::audit::Outcome;
use lensguard_store::audit::search::FoundEntry;
use serde::Deserialize;
use std::collections::HashMap;

/// The page's filters as a browser sends them (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

impl Filters {
    fn query(&self) -> EntriesQuery {
        EntriesQuery {
            actor: render::non_empty(&self.actor),
            action: render::non_empty(&self.action),
            target: render::non_empty(&self.target),
            from: super::inspections::time_field(&self.from),
            to: super::inspections::time_field(&self.to),
            cursor: render::non_empty(&self.cursor),
            limit: None,
        }
    }

    fn with_cursor(&self, cursor: &str) -> String {
        render::next_page(
            &[
                ("actor", self.actor.as_str()),
                ("action", self.action.as_str()),
                ("target", self.target.as_str()),
                ("from", self.from.as_str()),
                ("to", self.to.as_str()),
            ],
            cursor,
        )
    }
}

/// One entry as the page shows it.
pub struct EntryRow {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub actor_name: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub reason: String,
    pub json: String,
}

fn row(e: &FoundEntry, names: &HashMap<String, String>) -> EntryRow {
    let ev = &e.entry.event;
    // The record exactly as the log holds it (what an export carries).
    let json = e.json.clone();
    EntryRow {
        seq: e.entry.seq,
        at: render::when(ev.time.unix_timestamp()),
        actor_name: names.get(&ev.actor).cloned().unwrap_or_default(),
        actor: ev.actor.clone(),
        action: ev.action.clone(),
        target: ev.target.clone().unwrap_or_default(),
        outcome: format!("{:?}", ev.outcome).to_lowercase(),
        reason: ev.reason.clone().unwrap_or_default(),
        json,
    }
}

/// The signed checkpoint as the page shows it.
pub struct CheckpointRow {
    pub size: u64,
    pub time: String,
    pub root: String,
    pub key_id: String,
}

/// A verification's outcome.
pub struct Verified {
    pub ok: bool,
    pub lines: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<EntryRow>,
    originals: Vec<EntryRow>,
    older: String,
    size: u64,
    public_key: String,
    checkpoint: Option<CheckpointRow>,
    verified: Option<Verified>,
}

/// `user:ID` → the user's name, for every user.
async fn user_names(state: &AppState) -> HashMap<String, String> {
    state
        .db
        .list_users()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.username))
        .collect()
}

async fn audit_page(
    state: &AppState,
    page: &Page<AuditRead>,
    filters: Filters,
    verified: Option<Verified>,
) -> Response {
    let (filter, limit, before) = match audit_search::parse(&filters.query()) {
        Ok(p) => p,
        Err(why) => {
            return render::error_page(&page.chrome, StatusCode::BAD_REQUEST, "Bad filter", why);
        }
    };
    let found = audit_search::run(state, &page.auth, filter, limit, before, "console").await;
    let found = match found {
        Ok(f) => f,
        Err(Failed::BadCursor) => {
            return render::error_page(
                &page.chrome,
                StatusCode::BAD_REQUEST,
                "Bad link",
                "That page of the log is not one this service linked to.",
            );
        }
        Err(Failed::AuditUnavailable) => return render::unavailable(&page.chrome),
        Err(Failed::Unreadable) => {
            return render::error_page(
                &page.chrome,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Log unreadable",
                "The audit log could not be read; the reason is in the service's log.",
            );
        }
    };
    // The originals viewed lately, at a glance (part of this page's view).
    let originals = state.console.glances.latest(state, "*.read_original").await;
    let names = user_names(state).await;
    let log = &state.audit;
    let older = audit_search::next_cursor(&found)
        .map(|c| filters.with_cursor(&c))
        .unwrap_or_default();
    render::ok(&AuditPage {
        chrome: page.chrome.clone(),
        rows: found.entries.iter().map(|e| row(e, &names)).collect(),
        originals: originals.iter().map(|e| row(e, &names)).collect(),
        filters,
        older,
        size: log.len(),
        public_key: hex::encode(log.public_key()),
        checkpoint: log.latest_checkpoint().map(|c| CheckpointRow {
            size: c.size,
            time: render::when(c.time.unix_timestamp()),
            root: c.root.clone(),
            key_id: c.key_id.clone(),
        }),
        verified,
    })
}

/// `GET /console/audit`.
pub async fn list(
    State(state): State<AppState>,
    page: Page<AuditRead>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = query.map(|q| q.0).unwrap_or_default();
    audit_page(&state, &page, filters, None).await
}

/// The verification form.
#[derive(Deserialize)]
pub struct VerifyForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/audit/verify`: the server verifies its log (hash chain,
/// Merkle tree, every checkpoint's signature with the log's key) and says
/// what that does not prove.
pub async fn verify(
    State(state): State<AppState>,
    page: Page<AuditRead>,
    Form(form): Form<VerifyForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let dir = state.data_dir.join("audit");
    let key = state.audit.public_key().to_vec();
    let result = tokio::task::spawn_blocking(move || {
        lensguard_store::audit::verify::verify_dir(&dir, Some(&key), &[])
    })
    .await;
    let verified = match result {
        Ok(Ok(s)) => Verified {
            ok: true,
            lines: vec![
                format!(
                    "Verified {} entries: every hash-chain link and the Merkle root {}.",
                    s.entries, s.root
                ),
                format!(
                    "{} signed checkpoint(s) checked with key {}; {} entr(ies) after the newest are not yet covered by a signature.",
                    s.checkpoints, s.key_id, s.unsigned_entries
                ),
                "Not checked here: that this history was not rewritten and re-signed by whoever \
                 holds this server's signing key. Only checkpoints kept elsewhere prove that: run \
                 `lensguard audit verify --data-dir DIR --public-key KEY --trusted-checkpoint \
                 WITNESS-FILE` on a copy."
                    .to_owned(),
            ],
        },
        Ok(Err(e)) => Verified {
            ok: false,
            lines: vec![format!("The log does NOT verify: {e}")],
        },
        Err(_) => Verified {
            ok: false,
            lines: vec!["The verification could not run.".to_owned()],
        },
    };
    let outcome = if verified.ok {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    let event = page
        .auth
        .ctx
        .event(
            page.auth.granted.principal().actor.to_string(),
            "audit.verify",
        )
        .target("audit".to_owned())
        .outcome(outcome, verified.lines.first().cloned());
    if state.audit(event).await.is_err() {
        return render::unavailable(&page.chrome);
    }
    audit_page(&state, &page, Filters::default(), Some(verified)).await
}

/// Query of an export.
#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// `GET /console/audit/export?format=jsonl|csv&from=&to=`: the entries
/// covered by the newest signed checkpoint, as `lensguard audit export`
/// writes them (JSON Lines verify offline; CSV is for people).
pub async fn export(
    State(state): State<AppState>,
    page: Page<AuditRead>,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = query.map(|q| q.0).unwrap_or_default();
    let format = match q.format.as_str() {
        "csv" => lensguard_store::audit::ExportFormat::Csv,
        _ => lensguard_store::audit::ExportFormat::Jsonl,
    };
    let time = |s: &str| {
        super::inspections::time_field(s)
            .as_deref()
            .and_then(super::super::paging::parse_time)
            .and_then(|u| time::OffsetDateTime::from_unix_timestamp(u).ok())
    };
    let (from, to) = (time(&q.from), time(&q.to));
    let event = page
        .auth
        .ctx
        .event(
            page.auth.granted.principal().actor.to_string(),
            "audit.export",
        )
        .target("audit".to_owned())
        .outcome(
            Outcome::Success,
            Some(format!(
                "console; {} from={} to={}",
                if format == lensguard_store::audit::ExportFormat::Csv {
                    "csv"
                } else {
                    "jsonl"
                },
                from.map_or("*".into(), |t| t.unix_timestamp().to_string()),
                to.map_or("*".into(), |t| t.unix_timestamp().to_string())
            )),
        );
    if state.audit(event).await.is_err() {
        return render::unavailable(&page.chrome);
    }
    let dir = state.data_dir.join("audit");
    let written = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        lensguard_store::audit::export(&dir, from, to, format, &mut out).map(|_| out)
    })
    .await;
    let Ok(Ok(bytes)) = written else {
        return render::error_page(
            &page.chrome,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Export failed",
            "The log could not be exported: it must verify first. Run the verification on the audit page.",
        );
    };
    let (kind, name) = if format == lensguard_store::audit::ExportFormat::Csv {
        (
            "text/csv; charset=utf-8",
            "attachment; filename=\"audit.csv\"",
        )
    } else {
        (
            "application/x-ndjson",
            "attachment; filename=\"audit.jsonl\"",
        )
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static(name)),
        ],
        bytes,
    )
        .into_response()
}
