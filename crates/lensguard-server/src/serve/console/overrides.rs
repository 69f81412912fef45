//! Overrides in the console: the list and the form on an inspection's page,
//! and the review page of every override (`/console/overrides`) for
//! delivery teams.
//!
//! The form posts to the API's own handler ([`super::super::overrides`]):
//! the same scope, policy check, audit and hub record. The review page is one
//! audited read per page view (`overrides.list`).

use super::super::overrides::{self as api, ListQuery};
use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome, url_encode, when};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use lensguard_core::access::needs::{InspectionsOverride, InspectionsRead};
use lensguard_core::access::{Principal, Scope};
use lensguard_store::audit::Outcome;
use lensguard_store::db::StoredOverride;
use serde::Deserialize;
use std::collections::HashMap;

/// One override as the pages show it.
pub struct OverrideRow {
    pub inspection: String,
    pub at: String,
    pub who: String,
    pub from_verdict: String,
    pub verdict: String,
    pub codes: String,
    pub reason: String,
    pub device: String,
}

fn row(o: &StoredOverride, names: &HashMap<String, String>) -> OverrideRow {
    OverrideRow {
        inspection: o.inspection_id.clone(),
        at: when(o.created_at),
        who: names
            .get(&o.actor)
            .cloned()
            .unwrap_or_else(|| o.actor.clone()),
        from_verdict: o.from_verdict.clone(),
        verdict: o.verdict.clone(),
        codes: o.reason_codes.join(", "),
        reason: o.reason.clone(),
        device: o.device_id.clone().unwrap_or_default(),
    }
}

async fn names(state: &AppState) -> HashMap<String, String> {
    state
        .db
        .list_users()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.username))
        .collect()
}

/// The overrides of inspection `id`, oldest first (part of the inspection's
/// audited page view).
pub async fn rows_of(state: &AppState, id: &str) -> Vec<OverrideRow> {
    let found = state.db.overrides_of(id).await.unwrap_or_default();
    if found.is_empty() {
        return Vec::new();
    }
    let names = names(state).await;
    found.iter().map(|o| row(o, &names)).collect()
}

/// What the override form offers on an inspection's page.
#[derive(Default)]
pub struct OverrideForm {
    /// The caller holds `inspections:override`.
    pub may: bool,
    /// The verdicts it may result in (empty when the policy refuses).
    pub targets: Vec<&'static str>,
    /// Why the policy refuses, when it does.
    pub refusal: String,
    /// The last attempt's error.
    pub error: String,
}

impl OverrideForm {
    /// The form for `principal` on the result `report`, under the policy in force.
    pub fn for_result(state: &AppState, principal: &Principal, report: &serde_json::Value) -> Self {
        if !principal.scopes.contains(&Scope::InspectionsOverride) {
            return OverrideForm::default();
        }
        let policy = state.intake.policy();
        let targets: Vec<&'static str> = ["pass", "retry"]
            .into_iter()
            .filter(|to| policy.overrides.check(report, to).is_ok())
            .collect();
        let refusal = if targets.is_empty() {
            policy
                .overrides
                .check(report, "pass")
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        } else {
            String::new()
        };
        OverrideForm {
            may: true,
            targets,
            refusal,
            error: String::new(),
        }
    }
}

/// The override form.
#[derive(Deserialize)]
pub struct OverridePost {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/inspections/{id}/override`: the API's handler, then back
/// to the inspection's page.
pub async fn create(
    State(state): State<AppState>,
    page: Page<InspectionsOverride>,
    Path(id): Path<String>,
    Form(form): Form<OverridePost>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let body = serde_json::json!({"verdict": form.verdict, "reason": form.reason});
    let principal = page.auth.granted.principal().clone();
    let (ctx, session, chrome) = (
        page.auth.ctx.clone(),
        page.session.clone(),
        page.chrome.clone(),
    );
    let answer = api::create(
        State(state.clone()),
        page.auth,
        Path(id.clone()),
        axum::body::Body::from(body.to_string()),
    )
    .await;
    if answer.status() == StatusCode::CREATED {
        return Redirect::to(&format!("/console/inspections/{}", url_encode(&id))).into_response();
    }
    let status = answer.status();
    let message = render::api_message(answer).await;
    let seen = super::page::Seen {
        principal: &principal,
        ctx: &ctx,
        session: &session,
        chrome: &chrome,
    };
    match super::inspections::detail_page(&state, &seen, &id, "console, after a refused override")
        .await
    {
        Ok(mut detail) => {
            detail.override_form.error = message;
            render::page(status, &detail)
        }
        Err(answer) => answer,
    }
}

#[derive(Template)]
#[template(path = "console/overrides.html")]
struct ReviewPage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<OverrideRow>,
    older: String,
    message: String,
}

/// The review page's filters (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    cursor: String,
}

/// `GET /console/overrides`: every override, newest first.
pub async fn review(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = query.map(|q| q.0).unwrap_or_default();
    let q = ListQuery {
        from: super::inspections::time_field(&filters.from),
        to: super::inspections::time_field(&filters.to),
        device: render::non_empty(&filters.device),
        verdict: render::non_empty(&filters.verdict),
        cursor: render::non_empty(&filters.cursor),
        ..ListQuery::default()
    };
    let principal = page.auth.granted.principal();
    let (f, limit) = match api::filter(&q, principal) {
        Ok(f) => f,
        Err(why) => {
            return render::page(
                StatusCode::BAD_REQUEST,
                &ReviewPage {
                    chrome: page.chrome,
                    filters,
                    rows: Vec::new(),
                    older: String::new(),
                    message: why.to_owned(),
                },
            );
        }
    };
    let Ok(found) = state.db.list_overrides(&f, limit).await else {
        return render::db_unavailable(&page.chrome);
    };
    let event = page
        .auth
        .ctx
        .event(principal.actor.to_string(), "overrides.list")
        .target("console".to_owned())
        .outcome(Outcome::Success, Some(format!("{} overrides", found.len())));
    if state.audit(event).await.is_err() {
        return render::unavailable(&page.chrome);
    }
    let older = api::next(&found, limit)
        .map(|c| {
            let f = &filters;
            let pairs = [
                ("from", f.from.as_str()),
                ("to", f.to.as_str()),
                ("device", f.device.as_str()),
                ("verdict", f.verdict.as_str()),
            ];
            render::next_page(&pairs, &c)
        })
        .unwrap_or_default();
    let names = names(&state).await;
    render::ok(&ReviewPage {
        chrome: page.chrome,
        rows: found.iter().map(|o| row(o, &names)).collect(),
        filters,
        older,
        message: String::new(),
    })
}
