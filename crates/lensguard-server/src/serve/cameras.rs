//! `GET /v1/cameras`: every configured camera's live status. Read with
//! `inspections:read` (a camera's status is operational metadata beside the
//! results it will produce) and audited like every read; a caller whose
//! scope names devices sees only the cameras it names (a camera's name is
//! its device id).

use super::auth::{Auth, audit_read};
use super::state::AppState;
use crate::sources::camera::State as CameraState;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::InspectionsRead;
use schemars::JsonSchema;
use serde::Serialize;

/// One camera's status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CameraView {
    /// The camera's name.
    pub name: String,
    /// `connecting`, `up` or `down`.
    pub state: String,
    /// Why it is down (never its credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Pictures of the analysed stream decoded since the service started.
    pub decoded: u64,
    /// Pictures sampled for analysis (at most `detect_fps` a second).
    pub sampled: u64,
    /// Access units the decoder refused (decoding resumed at the next key picture).
    pub damaged: u64,
    /// RTSP sessions opened since the service started.
    pub sessions: u64,
    /// Times the camera went down (retries of the same failure not counted).
    pub failures: u64,
    /// Whether motion gating is (re)learning the background.
    pub calibrating: bool,
    /// Sampled pictures in which something moved.
    pub moving: u64,
    /// The service's time of the last picture in which something moved (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_motion: Option<String>,
    /// The analysed stream's picture width and height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<[u32; 2]>,
    /// The service's time of the last picture (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_picture: Option<String>,
    /// Sampled pictures dropped because detection was still busy.
    pub skipped: u64,
    /// Detector runs (on what moved, or re-checks of tracked objects).
    pub detections: u64,
    /// Detector runs that failed.
    pub detector_errors: u64,
    /// Events in progress.
    pub active_events: u64,
    /// Events ended since the service started (stored through the intake).
    pub events: u64,
    /// Why this camera makes no events, when its detector is not loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_missing: Option<String>,
    /// The recorded stream, when the camera records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingView>,
}

/// A camera's recorded stream.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RecordingView {
    /// `connecting`, `up` or `down`.
    pub state: String,
    /// Why it is down (never its credentials).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `h264` or `h265`, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// With `keep_audio`: `aac`, or why the audio is not recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// Segments sealed in the vault since the service started.
    pub stored: u64,
    /// Segments not kept (away from any event in `events` mode, or a
    /// category the policy does not store).
    pub discarded: u64,
    /// Segments lost because the vault did not take them in time.
    pub lost: u64,
    /// Gaps recorded since the service started.
    pub gaps: u64,
    /// Segments the camera's disk quota deleted since the service started.
    pub quota_deleted: u64,
    /// Where the last segment received ends (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_segment_end: Option<String>,
}

fn state_view(s: CameraState) -> (String, Option<String>) {
    match s {
        CameraState::Connecting => ("connecting".to_owned(), None),
        CameraState::Up => ("up".to_owned(), None),
        CameraState::Down(why) => ("down".to_owned(), Some(why)),
    }
}

/// The answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CameraList {
    /// In configuration order.
    pub cameras: Vec<CameraView>,
}

/// `GET /v1/cameras`.
pub async fn list(State(state): State<AppState>, auth: Auth<InspectionsRead>) -> Response {
    if let Err(refused) = audit_read(&state, &auth, "cameras.read", "cameras".into(), None).await {
        return refused;
    }
    Json(CameraList {
        cameras: views(&state, auth.granted.principal()),
    })
    .into_response()
}

/// The status of every configured camera `principal` may read (a caller
/// whose scope names devices sees only the cameras it names), in
/// configuration order; the caller audits the read.
pub(super) fn views(
    state: &AppState,
    principal: &lensguard_core::access::Principal,
) -> Vec<CameraView> {
    state
        .cameras
        .snapshot()
        .into_iter()
        .filter(|(name, _)| super::auth::may_read_device(principal, Some(name)))
        .map(|(name, s)| {
            let (state, reason) = state_view(s.state);
            let recording = s.recording.map(|r| {
                let (state, reason) = state_view(r.state);
                RecordingView {
                    state,
                    reason,
                    codec: r.codec.map(str::to_owned),
                    audio: r.audio,
                    stored: r.stored,
                    discarded: r.discarded,
                    lost: r.lost,
                    gaps: r.gaps,
                    quota_deleted: r.quota_deleted,
                    last_segment_end: r.last_segment_end.and_then(rfc3339),
                }
            });
            CameraView {
                name,
                state,
                reason,
                decoded: s.decoded,
                sampled: s.sampled,
                damaged: s.damaged,
                sessions: s.sessions,
                failures: s.failures,
                calibrating: s.calibrating,
                moving: s.moving,
                last_motion: s.last_motion.and_then(rfc3339),
                size: s.size.map(|(w, h)| [w, h]),
                last_picture: s.last_picture.and_then(rfc3339),
                skipped: s.skipped,
                detections: s.detections,
                detector_errors: s.detector_errors,
                active_events: s.active_events,
                events: s.events,
                detector_missing: s.detector_missing,
                recording,
            }
        })
        .collect()
}

fn rfc3339(t: time::OffsetDateTime) -> Option<String> {
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}
