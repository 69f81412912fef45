//! The fleet's edges: state (ok, flagged for a rewritten audit history,
//! revoked), when each was last seen, what the hub holds from it; an edge's
//! page with its accepted audit checkpoints and what left it under which
//! egress manifest (with `audit:read`); revocation (`keys:manage`: an edge's
//! certificate is a credential).
//!
//! Audit: each page view is one entry (`edges.list`, `edges.read`); a
//! revocation is recorded before it is made (`edges.revoke`).

use super::super::api::Hub;
use super::page::{HubPage, unavailable};
use crate::web::frame::{self, Chrome, when};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lensguard_core::access::Scope;
use lensguard_core::access::needs::{InspectionsRead, KeysManage};
use lensguard_core::text::printable;
use lensguard_store::audit::Outcome;
use lensguard_store::hub::Edge;
use serde::Deserialize;

/// One edge as the pages show it.
pub struct EdgeRow {
    pub id: String,
    pub name: String,
    pub enrolled: String,
    pub last_seen: String,
    pub state: String,
    pub flag: String,
    pub revoked: bool,
    pub records: u64,
    pub audit_entries: i64,
}

impl EdgeRow {
    fn of(e: &Edge, records: u64) -> EdgeRow {
        let state = match (e.revoked_at, &e.flagged_at) {
            (Some(t), _) => format!("revoked {}", when(t)),
            (None, Some(t)) => format!("flagged {}", when(*t)),
            (None, None) => "ok".to_owned(),
        };
        EdgeRow {
            id: e.id.clone(),
            name: printable(&e.name).into_owned(),
            enrolled: when(e.enrolled_at),
            last_seen: e.last_seen.map_or_else(|| "never".to_owned(), when),
            state,
            flag: e
                .flag_reason
                .as_deref()
                .map_or_else(String::new, |f| printable(f).into_owned()),
            revoked: e.revoked_at.is_some(),
            records,
            audit_entries: e.checkpoint_size,
        }
    }
}

#[derive(Template)]
#[template(path = "hub/edges.html")]
struct EdgesPage {
    chrome: Chrome,
    edges: Vec<EdgeRow>,
}

/// `GET /console/`: every edge.
pub async fn list(State(hub): State<Hub>, page: HubPage<InspectionsRead>) -> Response {
    let Ok(all) = hub.db.edges().await else {
        return unavailable(&page.chrome);
    };
    let mut edges = Vec::with_capacity(all.len());
    for e in &all {
        let Ok(counts) = hub.db.record_counts(&e.id).await else {
            return unavailable(&page.chrome);
        };
        edges.push(EdgeRow::of(e, counts.records));
    }
    let e = page
        .event("edges.list")
        .target("console".to_owned())
        .outcome(Outcome::Success, Some(format!("{} edges", edges.len())));
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    frame::ok(&EdgesPage {
        chrome: page.chrome,
        edges,
    })
}

/// An accepted audit checkpoint.
pub struct CheckpointRow {
    pub size: u64,
    pub root: String,
    pub signed: String,
    pub key: String,
}

/// What left the edge under one kind and manifest.
pub struct EgressRow {
    pub kind: String,
    pub manifest: String,
    pub records: i64,
    pub first: String,
    pub last: String,
    pub fields: String,
}

#[derive(Template)]
#[template(path = "hub/edge.html")]
struct EdgePage {
    chrome: Chrome,
    edge: EdgeRow,
    audit_key: String,
    may_audit: bool,
    checkpoints: Vec<CheckpointRow>,
    egress: Vec<EgressRow>,
    may_revoke: bool,
}

/// `GET /console/edges/{id}`.
pub async fn detail(
    State(hub): State<Hub>,
    page: HubPage<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let edge = match hub.db.edge(&id).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return frame::error_page(
                &page.chrome,
                StatusCode::NOT_FOUND,
                "No such edge",
                "There is no enrolled edge with that id.",
            );
        }
        Err(_) => return unavailable(&page.chrome),
    };
    let Ok(counts) = hub.db.record_counts(&id).await else {
        return unavailable(&page.chrome);
    };
    let scopes = &page.granted.principal().scopes;
    let may_audit = scopes.contains(&Scope::AuditRead);
    let may_revoke = scopes.contains(&Scope::KeysManage);
    let (mut checkpoints, mut egress) = (Vec::new(), Vec::new());
    if may_audit {
        let (Ok(cps), Ok(out)) = (hub.db.checkpoints(&id).await, hub.db.egress_of(&id).await)
        else {
            return unavailable(&page.chrome);
        };
        checkpoints = cps
            .iter()
            .rev()
            .take(20)
            .map(|c| CheckpointRow {
                size: c.size,
                root: c.root.clone(),
                signed: when(c.time.unix_timestamp()),
                key: c.key_id.clone(),
            })
            .collect();
        egress = out
            .into_iter()
            .map(|g| EgressRow {
                kind: g.kind,
                manifest: printable(&g.manifest).into_owned(),
                records: g.records,
                first: when(g.first_at),
                last: when(g.last_at),
                fields: g.fields.join(", "),
            })
            .collect();
    }
    let e = page
        .event("edges.read")
        .target(format!("edge:{id}"))
        .outcome(
            Outcome::Success,
            Some(if may_audit {
                "with checkpoints and egress".to_owned()
            } else {
                "state only".to_owned()
            }),
        );
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    frame::ok(&EdgePage {
        chrome: page.chrome,
        audit_key: edge.audit_key.clone(),
        edge: EdgeRow::of(&edge, counts.records),
        may_audit,
        checkpoints,
        egress,
        may_revoke,
    })
}

/// The revocation form: the edge's name typed again, as a confirmation.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /console/edges/{id}/revoke`: the edge's certificate stops working
/// on its next request.
pub async fn revoke(
    State(hub): State<Hub>,
    page: HubPage<KeysManage>,
    Path(id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Err(refused) = page.check_form(&hub, &form.csrf).await {
        return refused;
    }
    let edge = match hub.db.edge(&id).await {
        Ok(Some(e)) if e.revoked_at.is_none() => e,
        Ok(_) => {
            return frame::error_page(
                &page.chrome,
                StatusCode::NOT_FOUND,
                "Nothing to revoke",
                "There is no unrevoked edge with that id.",
            );
        }
        Err(_) => return unavailable(&page.chrome),
    };
    if form.confirm.trim() != edge.name {
        return frame::error_page(
            &page.chrome,
            StatusCode::BAD_REQUEST,
            "Not revoked",
            "Type the edge's name to confirm the revocation; nothing was changed.",
        );
    }
    let e = page
        .event("edges.revoke")
        .target(format!("edge:{id}"))
        .outcome(Outcome::Success, None);
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match hub.db.revoke_edge(&id, now).await {
        Ok(_) => Redirect::to(&format!("/console/edges/{id}")).into_response(),
        Err(_) => unavailable(&page.chrome),
    }
}
