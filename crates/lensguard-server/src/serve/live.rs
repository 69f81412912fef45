//! `GET /v1/cameras/{name}/live`: a camera's live view, redacted, as
//! MJPEG (`multipart/x-mixed-replace`) over HTTPS.
//!
//! Why MJPEG rather than fragmented MP4: every picture is checked and
//! redacted on its own before it leaves, and a JPEG per picture needs no
//! encoder state per viewer, no key-picture wait when a viewer joins, and
//! plays in any browser's `<img>` and in VLC; at the analysed stream's few
//! pictures a second its bandwidth is modest.
//!
//! Invariants: a picture leaves only as a [`Redacted`] picture made by
//! [`FrameRedactor`]: the camera's masks burned in, and faces hidden where
//! CenterFace finds them in this picture, or found them in one of the last
//! [`CoverSettings::hold`] pictures (hold-over, boxes grown with motion).
//! There is no look-ahead (it would delay the view): every picture is
//! searched itself before it is sent. Without the face detector nothing is
//! sent (503); a detection that fails ends the stream. At most
//! [`MAX_VIEWERS`] views run at once (each runs the detector on every
//! picture), each for at most [`MAX_SECONDS`]; opening one is audited.
//!
//! [`Redacted`]: lensguard_vision::redact::Redacted

use super::auth::{Auth, audit_read, may_read_device};
use super::http::{RequestId, error};
use super::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lensguard_core::access::needs::InspectionsRead;
use lensguard_video::cover::CoverSettings;
use lensguard_video::redactor::FrameRedactor;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Live views open at once, at most.
pub const MAX_VIEWERS: usize = 4;
/// How long one view lasts before the client must reconnect.
pub const MAX_SECONDS: u64 = 600;
/// The multipart boundary.
const BOUNDARY: &str = "lensguard-live-picture";

static VIEWERS: Semaphore = Semaphore::const_new(MAX_VIEWERS);

/// `GET /v1/cameras/{name}/live`.
pub async fn live(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(name): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let watched = match state.cameras.watch(&name) {
        Some(w) if may_read_device(auth.granted.principal(), Some(&name)) => w,
        _ => return error(StatusCode::NOT_FOUND, "not_found", "no such camera", &rid),
    };
    if state.intake.detectors.faces.is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "redaction_unavailable",
            "the face detector is not loaded: no live view can be redacted (fetch the models)",
            &rid,
        );
    }
    let Ok(permit) = VIEWERS.try_acquire() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_viewers",
            format!("{MAX_VIEWERS} live views are open; close one or try later"),
            &rid,
        );
    };
    if let Err(refused) = audit_read(
        &state,
        &auth,
        "cameras.live",
        format!("camera:{name}"),
        None,
    )
    .await
    {
        return refused;
    }
    let (pictures, masks) = watched;
    let policy = state.policy();
    let view = View {
        pictures,
        redactor: Some(FrameRedactor::new(
            CoverSettings {
                look_ahead: 0,
                ..CoverSettings::default()
            },
            masks,
            policy.redaction.faces,
        )),
        detectors: Arc::clone(&state.intake.detectors),
        scale: policy.detection.scale,
        threshold: policy.faces.threshold,
        until: Instant::now() + Duration::from_secs(MAX_SECONDS),
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(view, |mut view| async move {
        let part = view.next_part().await?;
        Some((Ok::<_, std::io::Error>(part), view))
    });
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/x-mixed-replace; boundary={BOUNDARY}"))
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// One viewer's state.
struct View {
    pictures: tokio::sync::watch::Receiver<crate::sources::camera::LivePicture>,
    redactor: Option<FrameRedactor>,
    detectors: Arc<lensguard_vision::derive::Detectors>,
    scale: u32,
    threshold: f32,
    until: Instant,
    _permit: tokio::sync::SemaphorePermit<'static>,
}

impl View {
    /// The next redacted picture as a multipart part; `None` ends the view.
    async fn next_part(&mut self) -> Option<bytes::Bytes> {
        loop {
            let left = self.until.checked_duration_since(Instant::now())?;
            tokio::time::timeout(left, self.pictures.changed())
                .await
                .ok()?
                .ok()?;
            let Some(picture) = self.pictures.borrow_and_update().clone() else {
                continue;
            };
            let mut redactor = self.redactor.take()?;
            let detectors = Arc::clone(&self.detectors);
            let (scale, threshold) = (self.scale, self.threshold);
            let done = tokio::task::spawn_blocking(move || {
                let faces = detectors.faces.as_ref().ok()?;
                let found =
                    crate::footage_redaction::boxes(faces.detect(&picture, scale, threshold).ok()?);
                let out = redactor.push((*picture).clone(), Some(&found));
                let jpeg = out.last()?.encode_jpeg(80).ok()?;
                Some((redactor, jpeg.into_bytes()))
            })
            .await
            .ok()
            .flatten();
            // A failed detection or encoding ends the view: nothing is sent
            // that was not checked.
            let (redactor, jpeg) = done?;
            self.redactor = Some(redactor);
            let mut part = format!(
                "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                jpeg.len()
            )
            .into_bytes();
            part.extend_from_slice(&jpeg);
            part.extend_from_slice(b"\r\n");
            return Some(bytes::Bytes::from(part));
        }
    }
}
