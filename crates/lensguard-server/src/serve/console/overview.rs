//! The overview: verdicts per day over the last two weeks (a chart, with
//! the same numbers in a table), the commonest reasons, submissions per
//! device, the cameras' state, and, for sessions holding `metrics:read`,
//! the outbox and delivery to the hub. Counts only, within the caller's
//! device scope; one audited read per view (`inspections.summary`).

use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use lensguard_core::access::Scope;
use lensguard_core::access::needs::InspectionsRead;
use lensguard_store::audit::Outcome;

/// Days the overview covers.
const DAYS: i64 = 14;

/// One day's verdicts.
pub struct DayRow {
    pub day: String,
    pub pass: i64,
    pub retry: i64,
    pub fail: i64,
}

/// A named count with the largest of its kind (for a meter).
pub struct CountRow {
    pub name: String,
    pub count: i64,
    pub max: i64,
}

/// A camera's state.
pub struct CameraRow {
    pub name: String,
    pub state: String,
    pub last_picture: String,
    pub sessions: u64,
    pub failures: u64,
}

/// The outbox, for `metrics:read`.
pub struct OutboxRow {
    pub enrolled: bool,
    pub depth: u64,
    pub oldest: String,
    pub delivered: u64,
}

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
    days: Vec<DayRow>,
    chart: String,
    reasons: Vec<CountRow>,
    devices: Vec<CountRow>,
    cameras: Vec<CameraRow>,
    outbox: Option<OutboxRow>,
}

fn counts(list: &[(String, i64)], empty: &str) -> Vec<CountRow> {
    let max = list.iter().map(|(_, n)| *n).max().unwrap_or(0);
    list.iter()
        .map(|(name, count)| CountRow {
            name: if name.is_empty() {
                empty.to_owned()
            } else {
                name.clone()
            },
            count: *count,
            max,
        })
        .collect()
}

/// `GET /console/`.
pub async fn page(State(state): State<AppState>, page: Page<InspectionsRead>) -> Response {
    let principal = page.auth.granted.principal();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let first_day = now / 86400 - (DAYS - 1);
    let Ok(summary) = state
        .db
        .summary(first_day * 86400, principal.devices.as_ref())
        .await
    else {
        return render::db_unavailable(&page.chrome);
    };
    let event = page
        .auth
        .ctx
        .event(principal.actor.to_string(), "inspections.summary")
        .target("console".to_owned())
        .outcome(
            Outcome::Success,
            Some(format!("counts of the last {DAYS} days")),
        );
    if state.audit(event).await.is_err() {
        return render::unavailable(&page.chrome);
    }
    let days: Vec<DayRow> = (first_day..first_day + DAYS)
        .map(|d| {
            let n = |v: &str| {
                summary
                    .per_day
                    .iter()
                    .find(|(day, verdict, _)| *day == d && verdict == v)
                    .map_or(0, |(_, _, n)| *n)
            };
            DayRow {
                day: render::when(d * 86400)
                    .get(..10)
                    .unwrap_or_default()
                    .to_owned(),
                pass: n("pass"),
                retry: n("retry"),
                fail: n("fail"),
            }
        })
        .collect();
    let chart = serde_json::json!({
        "x": (first_day..first_day + DAYS).map(|d| d * 86400).collect::<Vec<_>>(),
        "pass": days.iter().map(|d| d.pass).collect::<Vec<_>>(),
        "retry": days.iter().map(|d| d.retry).collect::<Vec<_>>(),
        "fail": days.iter().map(|d| d.fail).collect::<Vec<_>>(),
    })
    .to_string();
    let cameras = super::super::cameras::views(&state, principal)
        .into_iter()
        .map(|c| CameraRow {
            name: c.name,
            state: c.state,
            last_picture: c.last_picture.unwrap_or_default(),
            sessions: c.sessions,
            failures: c.failures,
        })
        .collect();
    let outbox = if principal.scopes.contains(&Scope::MetricsRead) {
        let stats = state.db.outbox_stats().await.unwrap_or_default();
        Some(OutboxRow {
            enrolled: state.intake.outbox.queue_for_hub,
            depth: stats.depth,
            oldest: stats
                .oldest_created_at
                .map_or_else(String::new, render::when),
            delivered: state.intake.outbox.metrics.delivered.get(),
        })
    } else {
        None
    };
    render::ok(&OverviewPage {
        chrome: page.chrome,
        days,
        chart,
        reasons: counts(&summary.reasons, "(none)"),
        devices: counts(&summary.devices, "(no device named)"),
        cameras,
        outbox,
    })
}
