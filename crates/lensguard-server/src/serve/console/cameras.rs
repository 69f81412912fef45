//! The cameras pages: every camera's state, one camera's recordings
//! (redacted clips, originals behind a stated reason) and its live view,
//! redacted.
//!
//! Every read goes through the API's own handler, called in-process with the
//! page's capability, so the console reaches no footage the API would refuse
//! and records exactly what the API records: the listing is `cameras.read`, a
//! camera's recordings `footage.list`, the live view `cameras.live`, a
//! redacted clip `footage.read_redacted`, an original
//! `footage.read_original` with the reason's pseudonym. Nothing here serves a
//! picture or a clip that has not passed the API's redaction.

use super::super::cameras::{CameraView, views};
use super::super::evidence::ReasonQuery;
use super::super::footage::{self, SegmentsQuery};
use super::super::state::AppState;
use super::inspections::OriginalForm;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::Scope;
use lensguard_core::access::needs::{EvidenceReadOriginal, InspectionsRead};
use serde::Deserialize;

/// A camera as the pages show it.
pub struct CameraRow {
    pub name: String,
    pub state: String,
    pub reason: String,
    pub last_picture: String,
    pub last_motion: String,
    pub events: u64,
    pub active_events: u64,
    pub recording: String,
    pub detector: String,
}

impl CameraRow {
    fn of(c: CameraView) -> CameraRow {
        let recording = match c.recording {
            None => "not recorded".to_owned(),
            Some(r) => {
                let mut s = format!("{}, {} segment(s) stored", r.state, r.stored);
                if r.gaps > 0 {
                    s.push_str(&format!(", {} gap(s)", r.gaps));
                }
                if let Some(why) = r.reason {
                    s.push_str(&format!(": {why}"));
                }
                s
            }
        };
        CameraRow {
            name: c.name,
            state: c.state,
            reason: c.reason.unwrap_or_default(),
            last_picture: c
                .last_picture
                .as_deref()
                .map_or_else(String::new, render::when_text),
            last_motion: c
                .last_motion
                .as_deref()
                .map_or_else(String::new, render::when_text),
            events: c.events,
            active_events: c.active_events,
            recording,
            detector: c.detector_missing.unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/cameras.html")]
struct ListPage {
    chrome: Chrome,
    cameras: Vec<CameraRow>,
}

/// `GET /console/cameras`: every camera the session may read, audited as
/// the API audits its camera list.
pub async fn list(State(state): State<AppState>, page: Page<InspectionsRead>) -> Response {
    let principal = page.auth.granted.principal();
    let event = page
        .auth
        .ctx
        .event(principal.actor.to_string(), "cameras.read")
        .target("cameras".to_owned());
    if state.audit(event).await.is_err() {
        return render::unavailable(&page.chrome);
    }
    let cameras = views(&state, principal)
        .into_iter()
        .map(CameraRow::of)
        .collect();
    render::ok(&ListPage {
        chrome: page.chrome,
        cameras,
    })
}

/// A camera page's time range as a browser's form sends it.
#[derive(Debug, Default, Deserialize)]
pub struct Range {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

/// One recorded segment.
pub struct SegmentRow {
    pub id: String,
    pub category: String,
    pub start: String,
    pub end: String,
    pub size: String,
    pub codec: String,
}

/// A gap in the recording.
pub struct GapRow {
    pub start: String,
    pub end: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "console/camera.html")]
struct CameraPage {
    chrome: Chrome,
    name: String,
    camera: Option<CameraRow>,
    range: Range,
    segments: Vec<SegmentRow>,
    gaps: Vec<GapRow>,
    later: String,
    may_view_original: bool,
}

/// `GET /console/cameras/{name}?from=&to=`: the camera's state and its
/// recordings in the range (default: the last hour), through the API's
/// segment listing.
pub async fn camera(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(name): Path<String>,
    query: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let mut range = query.map(|q| q.0).unwrap_or_default();
    if range.from.trim().is_empty() && range.to.trim().is_empty() {
        let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        range.from = render::form_time(hour_ago);
    }
    let principal = page.auth.granted.principal();
    let may_view_original = principal.scopes.contains(&Scope::EvidenceReadOriginal);
    let camera = views(&state, principal)
        .into_iter()
        .find(|c| c.name == name)
        .map(CameraRow::of);
    let Page { auth, chrome, .. } = page;
    let query = SegmentsQuery {
        from: super::inspections::time_field(&range.from),
        to: super::inspections::time_field(&range.to),
        cursor: render::non_empty(&range.cursor),
        limit: None,
    };
    let answer = footage::list(State(state), auth, Path(name.clone()), Ok(Query(query))).await;
    let listed = match render::api_outcome(&chrome, "No recordings", answer).await {
        Ok(v) => v,
        Err(page) => return page,
    };
    let text = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let segments = listed["segments"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|s| SegmentRow {
                    id: text(s, "id"),
                    category: text(s, "category")
                        .trim_start_matches("footage_")
                        .to_owned(),
                    start: render::when_text(&text(s, "start")),
                    end: render::when_text(&text(s, "end")),
                    size: size(s["bytes"].as_f64().unwrap_or(0.0)),
                    codec: text(s, "codec"),
                })
                .collect()
        })
        .unwrap_or_default();
    let gaps = listed["gaps"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|g| GapRow {
                    start: render::when_text(&text(g, "start")),
                    end: render::when_text(&text(g, "end")),
                    reason: text(g, "reason"),
                })
                .collect()
        })
        .unwrap_or_default();
    let later = listed["next_cursor"]
        .as_str()
        .map_or_else(String::new, |c| {
            render::next_page(
                &[("from", range.from.as_str()), ("to", range.to.as_str())],
                c,
            )
        });
    render::ok(&CameraPage {
        chrome,
        name,
        camera,
        range,
        segments,
        gaps,
        later,
        may_view_original,
    })
}

/// A file's size for people (`840 kB`, `12.5 MB`).
fn size(bytes: f64) -> String {
    if bytes < 1e6 {
        format!("{:.0} kB", (bytes / 1e3).ceil())
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

#[derive(Template)]
#[template(path = "console/live.html")]
struct LivePage {
    chrome: Chrome,
    name: String,
    unavailable: String,
    minutes: u64,
}

/// `GET /console/cameras/{name}/live`: the page holding the live view (the
/// view itself is [`stream`], opened by the page's image).
pub async fn live(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(name): Path<String>,
) -> Response {
    let principal = page.auth.granted.principal();
    if !views(&state, principal).iter().any(|c| c.name == name) {
        return render::error_page(
            &page.chrome,
            StatusCode::NOT_FOUND,
            "No such camera",
            "There is no configured camera with that name that you may watch.",
        );
    }
    let unavailable = if state.intake.detectors.faces.is_err() {
        "The face detector is not loaded, so no live view can be redacted and none is shown \
         (fetch the models and restart the service)."
            .to_owned()
    } else {
        String::new()
    };
    render::ok(&LivePage {
        chrome: page.chrome,
        name,
        unavailable,
        minutes: super::super::live::MAX_SECONDS / 60,
    })
}

/// `GET /console/cameras/{name}/stream`: the live view (MJPEG, every
/// picture redacted), through the API's handler, which audits opening it.
pub async fn stream(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(name): Path<String>,
) -> Response {
    super::super::live::live(State(state), page.auth, Path(name)).await
}

/// `GET /console/segments/{id}/redacted`: a recorded segment with faces
/// hidden and masks burned in, as a download, through the API's handler.
pub async fn redacted(
    State(state): State<AppState>,
    page: Page<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let Page { auth, chrome, .. } = page;
    download(
        &chrome,
        footage::redacted(State(state), auth, Path(id)).await,
    )
    .await
}

/// `POST /console/segments/{id}/original`: with a stated reason, the
/// segment as the camera sent it, as a download, through the API's handler
/// (which requires the reason and audits it before reading a byte).
pub async fn original(
    State(state): State<AppState>,
    page: Page<EvidenceReadOriginal>,
    Path(id): Path<String>,
    Form(form): Form<OriginalForm>,
) -> Response {
    let reason = ReasonQuery {
        reason: Some(form.reason),
    };
    let acted = page
        .act(&state.clone(), &form.csrf, |auth| {
            footage::original(State(state), auth, Path(id), Ok(Query(reason)))
        })
        .await;
    match acted {
        Ok((chrome, answer)) => download(&chrome, answer).await,
        Err(refused) => refused,
    }
}

/// A footage handler's answer: the clip when it succeeded, else a page
/// saying why not.
async fn download(chrome: &Chrome, answer: Response) -> Response {
    if answer.status().is_success() {
        answer
    } else {
        render::api_error(chrome, "No footage", answer).await
    }
}

/// Whether the console lists cameras and events (some camera is
/// configured).
pub fn configured(state: &AppState) -> bool {
    !state.cameras.snapshot().is_empty()
}
