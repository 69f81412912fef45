//! The records across edges: what every edge delivered (metadata only, as
//! its egress manifest projected it), filtered by edge, device, verdict,
//! kind and time, oldest first, in pages. One audited read per page view
//! (`records.list`, naming the filter and how many were shown).

use super::super::api::Hub;
use super::page::{HubPage, unavailable};
use crate::web::frame::{self, Chrome, when};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::InspectionsRead;
use lensguard_core::text::printable;
use lensguard_store::audit::Outcome;
use lensguard_store::hub::RecordFilter;
use serde::Deserialize;

/// Records per page.
const PAGE: u32 = 50;

/// The filters as a browser's form sends them (empty = any).
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    edge: String,
    #[serde(default)]
    device: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

/// A `datetime-local` value (UTC) or RFC 3339, as seconds.
fn seconds(field: &str, name: &str) -> Result<Option<i64>, String> {
    let Some(t) = frame::non_empty(field) else {
        return Ok(None);
    };
    let full = match t.len() {
        16 => format!("{t}:00Z"),
        19 => format!("{t}Z"),
        _ => t,
    };
    time::OffsetDateTime::parse(&full, &time::format_description::well_known::Rfc3339)
        .map(|t| Some(t.unix_timestamp()))
        .map_err(|_| format!("{name} is not a time (YYYY-MM-DDTHH:MM, UTC)"))
}

impl Filters {
    fn filter(&self) -> Result<RecordFilter, String> {
        let after = match frame::non_empty(&self.cursor) {
            None => None,
            Some(a) => {
                let parts: Vec<&str> = a.splitn(3, ':').collect();
                match parts.as_slice() {
                    [t, seq, edge] => t
                        .parse()
                        .ok()
                        .zip(seq.parse().ok())
                        .map(|(t, s)| (t, (*edge).to_owned(), s)),
                    _ => None,
                }
                .ok_or("the page position is not one this hub made")?
                .into()
            }
        };
        Ok(RecordFilter {
            edge: frame::non_empty(&self.edge),
            device: frame::non_empty(&self.device),
            verdict: frame::non_empty(&self.verdict),
            kind: frame::non_empty(&self.kind),
            from: seconds(&self.from, "From")?,
            to: seconds(&self.to, "To")?,
            after,
        })
    }
}

/// One record as the page shows it.
pub struct RecordRow {
    pub edge: String,
    pub seq: i64,
    pub kind: String,
    pub written: String,
    pub received: String,
    pub manifest: String,
    pub data: String,
}

#[derive(Template)]
#[template(path = "hub/records.html")]
struct RecordsPage {
    chrome: Chrome,
    filters: Filters,
    rows: Vec<RecordRow>,
    later: String,
    message: String,
}

/// `GET /console/records`.
pub async fn list(
    State(hub): State<Hub>,
    page: HubPage<InspectionsRead>,
    query: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let filters = query.map(|q| q.0).unwrap_or_default();
    let mut shown = RecordsPage {
        chrome: page.chrome.clone(),
        filters,
        rows: Vec::new(),
        later: String::new(),
        message: String::new(),
    };
    let filter = match shown.filters.filter() {
        Ok(f) => f,
        Err(why) => {
            shown.message = why;
            return frame::page(StatusCode::BAD_REQUEST, &shown);
        }
    };
    let Ok(found) = hub.db.records(&filter, PAGE).await else {
        return unavailable(&page.chrome);
    };
    let e = page
        .event("records.list")
        .target("console".to_owned())
        .outcome(
            Outcome::Success,
            Some(format!(
                "{} records (edge {}, device {}, verdict {}, kind {})",
                found.len(),
                filter.edge.as_deref().unwrap_or("any"),
                filter.device.as_deref().unwrap_or("any"),
                filter.verdict.as_deref().unwrap_or("any"),
                filter.kind.as_deref().unwrap_or("any"),
            )),
        );
    if let Err(answer) = page.record(&hub, e).await {
        return answer;
    }
    if let Some(last) = found.last()
        && found.len() == PAGE as usize
    {
        let f = &shown.filters;
        shown.later = frame::next_page(
            &[
                ("edge", f.edge.as_str()),
                ("device", f.device.as_str()),
                ("verdict", f.verdict.as_str()),
                ("kind", f.kind.as_str()),
                ("from", f.from.as_str()),
                ("to", f.to.as_str()),
            ],
            &format!("{}:{}:{}", last.created_at, last.seq, last.edge_id),
        );
    }
    shown.rows = found
        .iter()
        .map(|r| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            RecordRow {
                edge: r.edge_id.clone(),
                seq: r.seq,
                kind: r.kind.clone(),
                written: when(r.created_at),
                received: when(r.received_at),
                manifest: printable(&r.manifest).into_owned(),
                data: printable(&payload["data"].to_string()).into_owned(),
            }
        })
        .collect();
    frame::ok(&shown)
}
