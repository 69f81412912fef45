//! Retention and evidence (`evidence:manage`): the data inventory under the
//! policy in force, legal holds (place, lift), erasure of a device's data,
//! and the latest deletion receipts. Holds and erasure go through the API's
//! own handlers ([`super::super::evidence`]); the page view is audited
//! through the holds list it shows (`holds.list`), and its receipts come from
//! the audit log itself.

use super::super::evidence as api;
use super::super::state::AppState;
use super::page::{Page, TokenForm};
use super::render::{self, Chrome};
use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::EvidenceManage;
use serde::Deserialize;

/// One category of the inventory.
pub struct CategoryRow {
    pub category: String,
    pub holds: String,
    pub stored: String,
    pub keep_days: u32,
    pub read_by: String,
    pub egress: String,
}

/// One hold.
pub struct HoldRow {
    pub id: String,
    pub target: String,
    pub reason: String,
    pub by: String,
    pub at: String,
    pub lifted: String,
    pub case: bool,
}

/// One deletion receipt.
pub struct ReceiptRow {
    pub at: String,
    pub object: String,
    pub category: String,
    pub inspection: String,
    pub sha256: String,
    pub method: String,
}

#[derive(Template)]
#[template(path = "console/retention.html")]
struct RetentionPage {
    chrome: Chrome,
    policy: String,
    categories: Vec<CategoryRow>,
    holds: Vec<HoldRow>,
    receipts: Vec<ReceiptRow>,
}

fn text(v: &serde_json::Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned()
}

/// The latest deletion receipts, from the audit log (newest first).
async fn receipts(state: &AppState) -> Vec<ReceiptRow> {
    let found = state.console.glances.latest(state, "*.delete").await;
    found
        .iter()
        .filter_map(|e| e.entry.event.receipt.as_ref())
        .map(|r| ReceiptRow {
            at: render::when(r.deleted_at.unix_timestamp()),
            object: r.object.clone(),
            category: r.category.clone(),
            inspection: r.inspection.clone(),
            sha256: r.content_sha256.clone(),
            method: r.method.clone(),
        })
        .collect()
}

/// `GET /console/retention`.
pub async fn page(State(state): State<AppState>, page: Page<EvidenceManage>) -> Response {
    let chrome = page.chrome.clone();
    let answer = api::holds(State(state.clone()), page.auth).await;
    let json = match render::api_outcome(&chrome, "Retention", answer).await {
        Ok(j) => j,
        Err(page) => return page,
    };
    let holds = json
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| HoldRow {
            id: text(h, "id"),
            target: text(h, "target"),
            reason: text(h, "reason"),
            by: text(h, "created_by"),
            at: text(h, "created_at"),
            lifted: text(h, "lifted_at"),
            case: text(h, "target").starts_with("case:"),
        })
        .collect();
    let policy = state.intake.policy();
    let inventory = crate::inventory::inventory(&policy);
    let categories = inventory
        .categories
        .iter()
        .map(|r| CategoryRow {
            category: r.category.to_owned(),
            holds: r.holds.to_owned(),
            stored: r.stored.to_owned(),
            keep_days: r.keep_days,
            read_by: r.read_by.clone(),
            egress: r.egress.clone(),
        })
        .collect();
    render::ok(&RetentionPage {
        chrome,
        policy: inventory.policy,
        categories,
        holds,
        receipts: receipts(&state).await,
    })
}

/// The form that places a hold.
#[derive(Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    inspection: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/retention/holds`.
pub async fn place(
    State(state): State<AppState>,
    page: Page<EvidenceManage>,
    Form(form): Form<HoldForm>,
) -> Response {
    let body = serde_json::json!({
        "inspection": render::non_empty(&form.inspection),
        "device": render::non_empty(&form.device),
        "from": super::inspections::time_field(&form.from),
        "to": super::inspections::time_field(&form.to),
        "reason": form.reason,
    })
    .to_string();
    let acted = page.act(&state, &form.csrf, |auth| {
        api::place_hold(State(state.clone()), auth, Body::from(body))
    });
    render::after(acted.await, "Hold not placed", "/console/retention").await
}

/// `POST /console/retention/holds/{id}/lift`.
pub async fn lift(
    State(state): State<AppState>,
    page: Page<EvidenceManage>,
    Path(id): Path<String>,
    Form(form): Form<TokenForm>,
) -> Response {
    let acted = page.act(&state, &form.csrf, |auth| {
        api::lift_hold(State(state.clone()), auth, Path(id))
    });
    render::after(acted.await, "Hold not lifted", "/console/retention").await
}

#[derive(Template)]
#[template(path = "console/erased.html")]
struct ErasedPage {
    chrome: Chrome,
    device: String,
    receipts: Vec<ReceiptRow>,
    held: u64,
}

/// The erasure form.
#[derive(Deserialize)]
pub struct EraseForm {
    #[serde(default)]
    device: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/retention/erase`: every kept object of one device, each
/// with its receipt (what a hold covers stays, and is counted).
pub async fn erase(
    State(state): State<AppState>,
    page: Page<EvidenceManage>,
    Form(form): Form<EraseForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let chrome = page.chrome.clone();
    let device = form.device.trim().to_owned();
    if form.confirm.trim() != device || device.is_empty() {
        return render::error_page(
            &chrome,
            StatusCode::BAD_REQUEST,
            "Nothing erased",
            "Type the device's name again to confirm the erasure.",
        );
    }
    let body = serde_json::json!({"device": device});
    let answer = api::erase(State(state), page.auth, Body::from(body.to_string())).await;
    let json = match render::api_outcome(&chrome, "Nothing erased", answer).await {
        Ok(j) => j,
        Err(page) => return page,
    };
    let receipts = json
        .get("deleted")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .map(|r| ReceiptRow {
            at: text(r, "deleted_at"),
            object: text(r, "object"),
            category: text(r, "category"),
            inspection: text(r, "inspection"),
            sha256: text(r, "content_sha256"),
            method: text(r, "method"),
        })
        .collect();
    render::ok(&ErasedPage {
        chrome,
        device,
        receipts,
        held: json.get("held").and_then(|h| h.as_u64()).unwrap_or(0),
    })
}
