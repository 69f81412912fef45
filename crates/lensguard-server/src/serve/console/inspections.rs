//! The inspections pages: a filtered listing with redacted thumbnails, one
//! inspection with its measurements, redacted image and retention, and its
//! original behind a stated reason.
//!
//! Audit: the listing is one `inspections.list` entry per page view naming
//! the inspections shown; an inspection's page is one `inspections.read`;
//! viewing an original is one `evidence.read_original` with the reason's
//! pseudonym, exactly as the API records it. Images load under the page's
//! grant ([`super::grants`]), each still through the scope check.

use super::super::evidence;
use super::super::http::RequestId;
use super::super::inspections::{ListQuery, filter};
use super::super::paging::encode_cursor;
use super::super::state::AppState;
use super::grants::audited_listing;
use super::page::{Page, Seen};
use super::render::{self, Chrome, when};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::Scope;
use lensguard_core::access::needs::{EvidenceReadOriginal, InspectionsRead, Needs};
use lensguard_core::policy::DataCategory;
use lensguard_store::audit::Outcome;
use serde::Deserialize;

/// The listing's filters as a browser's form sends them (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    overridden: String,
    #[serde(default)]
    cursor: String,
}

/// A `datetime-local` value (`2026-12-07T14:30`, read as UTC) or RFC 3339.
pub(super) fn time_field(s: &str) -> Option<String> {
    let t = render::non_empty(s)?;
    let has_zone = t.ends_with('Z') || t.get(19..).is_some_and(|z| z.contains(['+', '-']));
    Some(match (t.len(), has_zone) {
        (16, false) => format!("{t}:00Z"),
        (_, false) => format!("{t}Z"),
        _ => t,
    })
}

impl Filters {
    fn query(&self) -> ListQuery {
        ListQuery {
            from: time_field(&self.from),
            to: time_field(&self.to),
            verdict: render::non_empty(&self.verdict),
            reason: render::non_empty(&self.reason),
            source: render::non_empty(&self.source),
            device: render::non_empty(&self.device),
            overridden: match self.overridden.as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            cursor: render::non_empty(&self.cursor),
            ..ListQuery::default()
        }
    }

    /// The query string of these filters on another page (`cursor`).
    fn with_cursor(&self, cursor: &str) -> String {
        render::next_page(
            &[
                ("from", self.from.as_str()),
                ("to", self.to.as_str()),
                ("verdict", self.verdict.as_str()),
                ("reason", self.reason.as_str()),
                ("source", self.source.as_str()),
                ("device", self.device.as_str()),
                ("overridden", self.overridden.as_str()),
            ],
            cursor,
        )
    }
}

/// A reason on a result.
pub struct ReasonView {
    pub code: String,
    pub status: String,
    pub message: String,
}

/// One inspection as the pages show it.
pub struct Row {
    pub id: String,
    pub at: String,
    pub device: String,
    pub source: String,
    pub verdict: String,
    pub reasons: Vec<ReasonView>,
}

impl Row {
    fn of(i: &lensguard_store::db::StoredInspection) -> (Row, serde_json::Value) {
        let report: serde_json::Value = serde_json::from_str(&i.report).unwrap_or_default();
        let text = |v: &serde_json::Value, k: &str| {
            v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned()
        };
        let reasons = report
            .get("reasons")
            .and_then(|r| r.as_array())
            .map(|rs| {
                rs.iter()
                    .map(|r| ReasonView {
                        code: text(r, "code"),
                        status: text(r, "status"),
                        message: text(r, "message"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let source = i
            .actor
            .strip_prefix("source:")
            .map_or_else(|| "api".to_owned(), str::to_owned);
        let row = Row {
            id: i.id.clone(),
            at: when(i.created_at),
            device: i.device_id.clone().unwrap_or_default(),
            source,
            verdict: text(&report, "verdict"),
            reasons,
        };
        (row, report)
    }
}

#[derive(Template)]
#[template(path = "console/inspections.html")]
struct ListPage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<Row>,
    grant: String,
    older: String,
    message: String,
}

/// `GET /console/inspections`.
pub async fn list(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = query.map(|q| q.0).unwrap_or_default();
    let principal = page.auth.granted.principal();
    let (filter, limit) = match filter(&filters.query(), principal) {
        Ok(f) => f,
        Err(why) => {
            let listing = ListPage {
                chrome: page.chrome,
                filters,
                rows: Vec::new(),
                grant: String::new(),
                older: String::new(),
                message: why.to_owned(),
            };
            return render::page(StatusCode::BAD_REQUEST, &listing);
        }
    };
    let Ok(found) = state.db.list_inspections(&filter, limit).await else {
        return render::db_unavailable(&page.chrome);
    };
    let ids: Vec<&str> = found.iter().map(|i| i.id.as_str()).collect();
    let what = ("inspections.list", "results with thumbnails");
    let grant = match audited_listing(&state, &page.seen(), what, &ids, "thumbnail").await {
        Ok(grant) => grant,
        Err(answer) => return answer,
    };
    let older = match found.last() {
        Some(last) if found.len() == limit as usize => {
            filters.with_cursor(&encode_cursor(last.created_at, &last.id))
        }
        _ => String::new(),
    };
    let rows = found.iter().map(|i| Row::of(i).0).collect();
    render::ok(&ListPage {
        chrome: page.chrome,
        filters,
        rows,
        grant,
        older,
        message: String::new(),
    })
}

/// One measurement, flattened (`exposure.mean_luma`).
pub struct Measurement {
    pub name: String,
    pub value: String,
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<Measurement>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(s) => out.push(Measurement {
            name: prefix.to_owned(),
            value: s.clone(),
        }),
        other => out.push(Measurement {
            name: prefix.to_owned(),
            value: other.to_string(),
        }),
    }
}

/// What is kept of an inspection and until when.
pub struct Kept {
    pub what: String,
    pub until: String,
}

#[derive(Template)]
#[template(path = "console/inspection.html")]
pub(super) struct DetailPage {
    chrome: Chrome,
    row: Row,
    measurements: Vec<Measurement>,
    kept: Vec<Kept>,
    redacted: bool,
    grant: String,
    original_kept: bool,
    may_view_original: bool,
    original_grant: String,
    reason_error: String,
    overrides: Vec<super::overrides::OverrideRow>,
    pub(super) override_form: super::overrides::OverrideForm,
}

/// Everything the inspection page shows of `id`, after auditing the view;
/// `Err` is the page to answer instead.
pub(super) async fn detail_page(
    state: &AppState,
    page: &Seen<'_>,
    id: &str,
    audit_reason: &str,
) -> Result<DetailPage, Response> {
    let principal = page.principal;
    let found = match state.db.get_inspection(id).await {
        Ok(Some(f)) if super::super::auth::may_read_device(principal, f.device_id.as_deref()) => f,
        Ok(_) => {
            return Err(render::error_page(
                page.chrome,
                StatusCode::NOT_FOUND,
                "No such inspection",
                "There is no inspection with that id that you may read.",
            ));
        }
        Err(_) => return Err(render::db_unavailable(page.chrome)),
    };
    let mut kept = Vec::new();
    if let Some(t) = found.expires_at {
        kept.push(Kept {
            what: "the result (verdict, reasons, measurements)".into(),
            until: when(t),
        });
    }
    let mut redacted = false;
    let mut original_kept = false;
    for category in [
        DataCategory::Redacted,
        DataCategory::Thumbnail,
        DataCategory::Original,
    ] {
        match state.vault.find(id, category).await {
            Ok(Some(info)) => {
                redacted |= category == DataCategory::Redacted;
                original_kept |= category == DataCategory::Original;
                kept.push(Kept {
                    what: format!("the {category} image"),
                    until: when(info.expires_at),
                });
            }
            Ok(None) => {}
            Err(_) => return Err(render::db_unavailable(page.chrome)),
        }
    }
    let event = page
        .ctx
        .event(principal.actor.to_string(), "inspections.read")
        .target(format!("inspection:{id}"))
        .outcome(Outcome::Success, Some(audit_reason.to_owned()));
    if state.audit(event).await.is_err() {
        return Err(render::unavailable(page.chrome));
    }
    let (row, report) = Row::of(&found);
    let mut measurements = Vec::new();
    if let Some(m) = report.get("measurements") {
        flatten("", m, &mut measurements);
    }
    let grant = state
        .console
        .grants
        .issue(page.session, [format!("redacted:{id}")].into(), false);
    Ok(DetailPage {
        chrome: page.chrome.clone(),
        row,
        measurements,
        kept,
        redacted,
        grant,
        original_kept,
        may_view_original: principal.scopes.contains(&Scope::EvidenceReadOriginal),
        original_grant: String::new(),
        reason_error: String::new(),
        overrides: super::overrides::rows_of(state, id).await,
        override_form: super::overrides::OverrideForm::for_result(state, principal, &report),
    })
}

/// `GET /console/inspections/{id}`: one audited read.
pub async fn detail(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    match detail_page(
        &state,
        &page.seen(),
        &id,
        "console, with the redacted image",
    )
    .await
    {
        Ok(detail) => render::ok(&detail),
        Err(answer) => answer,
    }
}

/// The form that asks to see an original (a photo's, or a segment's).
#[derive(Deserialize)]
pub struct OriginalForm {
    /// Why: recorded (as a pseudonym) in the audit log.
    #[serde(default)]
    pub(super) reason: String,
    /// The form token.
    #[serde(default)]
    pub(super) csrf: String,
}

/// `POST /console/inspections/{id}/original`: with a stated reason, the
/// original is shown once: audited as the API audits it, then loaded under a
/// single-use grant.
pub async fn original(
    State(state): State<AppState>,
    page: Page<EvidenceReadOriginal>,
    Path(id): Path<String>,
    Form(form): Form<OriginalForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let reason = evidence::usable_reason(&form.reason);
    let mut detail =
        match detail_page(&state, &page.seen(), &id, "console, asked for the original").await {
            Ok(d) => d,
            Err(answer) => return answer,
        };
    let Some(reason) = reason else {
        detail.reason_error = "State why you need the original (1 to 500 characters).".into();
        return render::page(StatusCode::BAD_REQUEST, &detail);
    };
    let rid = RequestId(page.auth.ctx.request_id.clone());
    let principal = page.auth.granted.principal();
    let info = match evidence::locate(&state, principal, &id, DataCategory::Original, &rid).await {
        Ok(info) => info,
        Err(answer) => return render::api_error(&page.chrome, "No original", answer).await,
    };
    if let Err(answer) = evidence::audit_object(&state, &page.auth, &info, Some(reason)).await {
        return render::api_error(&page.chrome, "Not available", answer).await;
    }
    detail.original_grant =
        state
            .console
            .grants
            .issue(&page.session, [format!("original:{id}")].into(), true);
    render::ok(&detail)
}

/// Query of an image: the page's grant.
#[derive(Deserialize)]
pub struct GrantQuery {
    #[serde(default)]
    pub(super) grant: String,
}

/// Serves `category` of inspection `id` to `page` when its grant covers it.
async fn granted_image<S: Needs>(
    state: &AppState,
    page: &Page<S>,
    id: &str,
    category: DataCategory,
    grant: &str,
) -> Response {
    let target = format!("{category}:{id}");
    if !state.console.grants.take(grant, &page.session, &target) {
        return render::error_page(
            &page.chrome,
            StatusCode::FORBIDDEN,
            "Open the page first",
            "Images load from the page that shows them; open the inspection's page again.",
        );
    }
    let rid = RequestId(page.auth.ctx.request_id.clone());
    let principal = page.auth.granted.principal();
    match evidence::locate(state, principal, id, category, &rid).await {
        Ok(info) => evidence::object_bytes(state, &page.auth, &info).await,
        Err(answer) => answer,
    }
}

/// `GET /console/images/{kind}/{id}?grant=`: a thumbnail or redacted image.
pub async fn image(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path((kind, id)): Path<(String, String)>,
    Query(q): Query<GrantQuery>,
) -> Response {
    let category = match kind.as_str() {
        "thumbnail" => DataCategory::Thumbnail,
        "redacted" => DataCategory::Redacted,
        _ => {
            return render::error_page(
                &page.chrome,
                StatusCode::NOT_FOUND,
                "No such image",
                "Images are thumbnails or redacted.",
            );
        }
    };
    granted_image(&state, &page, &id, category, &q.grant).await
}

/// `GET /console/originals/{id}?grant=`: an original, once, after its page
/// recorded the reason.
pub async fn original_image(
    State(state): State<AppState>,
    page: Page<EvidenceReadOriginal>,
    Path(id): Path<String>,
    Query(q): Query<GrantQuery>,
) -> Response {
    granted_image(&state, &page, &id, DataCategory::Original, &q.grant).await
}
