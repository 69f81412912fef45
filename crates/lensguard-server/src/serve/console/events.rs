//! The events timeline: the cameras' events, newest first, filtered by
//! camera, label and time, each with its redacted snapshot and a link to the
//! footage around it.
//!
//! Audit: one `events.list` entry per page view naming the events shown;
//! their snapshots load under the page's grant ([`super::grants`]), each
//! still through the API's checks (the caller's devices, a kept snapshot).
//! There is never an unredacted snapshot to show.

use super::super::events::{ListQuery, filter, locate_snapshot, snapshot_bytes};
use super::super::http::RequestId;
use super::super::paging::encode_cursor;
use super::super::state::AppState;
use super::grants::audited_listing;
use super::inspections::{GrantQuery, time_field};
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::InspectionsRead;
use lensguard_vision::models::EventLabel;
use serde::Deserialize;

/// The timeline's filters as a browser's form sends them (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    camera: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

impl Filters {
    fn query(&self) -> ListQuery {
        ListQuery {
            camera: render::non_empty(&self.camera),
            label: render::non_empty(&self.label),
            from: time_field(&self.from),
            to: time_field(&self.to),
            cursor: render::non_empty(&self.cursor),
            limit: None,
        }
    }
}

/// One event as the timeline shows it.
pub struct EventRow {
    pub id: String,
    pub camera: String,
    pub label: String,
    pub start: String,
    pub end: String,
    pub score: String,
    pub zones: String,
    /// The camera page's range around the event (`from=...&to=...`).
    pub footage: String,
}

impl EventRow {
    fn of(stored: &lensguard_store::db::StoredCameraEvent) -> EventRow {
        let e: serde_json::Value = serde_json::from_str(&stored.event).unwrap_or_default();
        let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
        let parse = |k: &str| {
            time::OffsetDateTime::parse(
                e[k].as_str().unwrap_or_default(),
                &time::format_description::well_known::Rfc3339,
            )
            .ok()
        };
        // The segments that overlap the event, from its first second to the
        // second after its last.
        let footage = match (parse("start"), parse("end")) {
            (Some(s), Some(t)) => format!(
                "from={}&to={}",
                render::form_time(s),
                render::form_time(t + time::Duration::seconds(1))
            ),
            _ => String::new(),
        };
        let zones: Vec<&str> = e["zones"]
            .as_array()
            .map(|z| z.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        EventRow {
            id: stored.id.clone(),
            camera: stored.camera.clone(),
            label: text("label"),
            start: render::when_text(&text("start")),
            end: render::when_text(&text("end")),
            score: format!("{:.2}", e["best_score"].as_f64().unwrap_or(0.0)),
            zones: zones.join(", "),
            footage,
        }
    }
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct TimelinePage {
    chrome: Chrome,
    filters: Filters,
    cameras: Vec<String>,
    labels: Vec<&'static str>,
    rows: Vec<EventRow>,
    grant: String,
    older: String,
    message: String,
}

/// `GET /console/events`.
pub async fn list(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = query.map(|q| q.0).unwrap_or_default();
    let principal = page.auth.granted.principal();
    let cameras = super::super::cameras::views(&state, principal)
        .into_iter()
        .map(|c| c.name)
        .collect();
    let labels = EventLabel::ALL.iter().map(|l| l.as_str()).collect();
    let mut timeline = TimelinePage {
        chrome: page.chrome.clone(),
        filters,
        cameras,
        labels,
        rows: Vec::new(),
        grant: String::new(),
        older: String::new(),
        message: String::new(),
    };
    let (filter, limit) = match filter(&timeline.filters.query(), principal) {
        Ok(f) => f,
        Err(why) => {
            timeline.message = why;
            return render::page(StatusCode::BAD_REQUEST, &timeline);
        }
    };
    let Ok(found) = state.db.list_camera_events(&filter, limit).await else {
        return render::db_unavailable(&page.chrome);
    };
    let ids: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
    let what = ("events.list", "events with snapshots");
    timeline.grant = match audited_listing(&state, &page.seen(), what, &ids, "snapshot").await {
        Ok(grant) => grant,
        Err(answer) => return answer,
    };
    if let Some(last) = found.last()
        && found.len() == limit as usize
    {
        let f = &timeline.filters;
        timeline.older = render::next_page(
            &[
                ("camera", f.camera.as_str()),
                ("label", f.label.as_str()),
                ("from", f.from.as_str()),
                ("to", f.to.as_str()),
            ],
            &encode_cursor(last.start_ms, &last.id),
        );
    }
    timeline.rows = found.iter().map(EventRow::of).collect();
    render::ok(&timeline)
}

/// `GET /console/events/{id}/snapshot?grant=`: an event's redacted
/// snapshot, under the timeline's grant.
pub async fn snapshot(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(id): Path<String>,
    Query(q): Query<GrantQuery>,
) -> Response {
    if !state
        .console
        .grants
        .take(&q.grant, &page.session, &format!("snapshot:{id}"))
    {
        return render::error_page(
            &page.chrome,
            StatusCode::FORBIDDEN,
            "Open the page first",
            "Snapshots load from the timeline that shows them; open the events page again.",
        );
    }
    let rid = RequestId(page.auth.ctx.request_id.clone());
    match locate_snapshot(&state, page.auth.granted.principal(), &id, &rid).await {
        Ok(info) => snapshot_bytes(&state, &page.auth, &info).await,
        Err(answer) => answer,
    }
}
