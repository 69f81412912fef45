//! Cameras: each configured camera's analysed stream read over RTSP
//! ([`rtsp`]), decoded ([`lensguard_video::H264Decoder`]) and handed on at
//! most `detect_fps` pictures a second, with its live status kept.
//!
//! Invariants: one task per camera, which never ends on a camera's fault: a
//! failure marks the camera down with the reason and it is retried with
//! backoff and jitter (a refused password waits the longest delay, so a
//! wrong credential cannot become a retry storm); a change of state (up,
//! down, credentials refused) is audited once, by the actor `source:NAME`,
//! not every retry; every picture is decoded
//! (H.264 needs them all) but only a key picture starts decoding after a
//! (re)connect; a picture over the camera's pixel limit is refused before it
//! is decoded.

pub mod activity;
pub mod analysis;
pub mod recorder;
pub mod rtsp;
pub mod snapshot;
pub mod worker;

use crate::common::backoff::Backoff;
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use lensguard_video::{DecodedFrame, H264Decoder};
use rtsp::{Credentials, StreamError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The first retry delay after a failure.
pub const RETRY_INITIAL: Duration = Duration::from_millis(500);
/// The longest retry delay, and the delay after refused credentials.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// A camera's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not connected yet.
    Connecting,
    /// Pictures are arriving.
    Up,
    /// Down, with why.
    Down(String),
}

/// A camera's live status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// Up, down or connecting.
    pub state: State,
    /// Pictures decoded since the service started.
    pub decoded: u64,
    /// Pictures sampled for analysis (at most `detect_fps` a second).
    pub sampled: u64,
    /// Access units the decoder refused (skipped to the next key picture).
    pub damaged: u64,
    /// Sessions opened since the service started.
    pub sessions: u64,
    /// Times the camera went down (a failure after it was up, or the first).
    pub failures: u64,
    /// The analysed stream's picture size.
    pub size: Option<(u32, u32)>,
    /// The service's time of the last picture.
    pub last_picture: Option<time::OffsetDateTime>,
    /// Whether motion gating is (re)learning the background.
    pub calibrating: bool,
    /// Sampled pictures in which something moved.
    pub moving: u64,
    /// The service's time of the last picture in which something moved.
    pub last_motion: Option<time::OffsetDateTime>,
    /// Sampled pictures the analysis thread was still busy for (dropped).
    pub skipped: u64,
    /// Detector runs (on a moving region or a re-check of tracked objects).
    pub detections: u64,
    /// Detector runs that failed.
    pub detector_errors: u64,
    /// Events in progress.
    pub active_events: u64,
    /// Events ended since the service started.
    pub events: u64,
    /// Why no events are made, when the object detector is not loaded.
    pub detector_missing: Option<String>,
    /// The recorded stream's status, when the camera records.
    pub recording: Option<RecordingStatus>,
}

/// A recorded stream's live status.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingStatus {
    /// Up, down or connecting.
    pub state: State,
    /// `h264` or `h265`, once known.
    pub codec: Option<&'static str>,
    /// With `keep_audio`: `aac`, or why the audio is not recorded.
    pub audio: Option<String>,
    /// Segments sealed in the vault since the service started.
    pub stored: u64,
    /// Segments not kept (in `events` mode, footage away from any event;
    /// or a category the policy does not store).
    pub discarded: u64,
    /// Segments that could not be stored (vault or database unavailable,
    /// or the camera's quota full of held footage) and were lost.
    pub lost: u64,
    /// Gaps recorded (the stream broke and came back).
    pub gaps: u64,
    /// Segments the camera's disk quota deleted.
    pub quota_deleted: u64,
    /// Where the last segment received ends.
    pub last_segment_end: Option<time::OffsetDateTime>,
}

impl Default for RecordingStatus {
    fn default() -> Self {
        RecordingStatus {
            state: State::Connecting,
            codec: None,
            audio: None,
            stored: 0,
            discarded: 0,
            lost: 0,
            gaps: 0,
            quota_deleted: 0,
            last_segment_end: None,
        }
    }
}

impl Default for Status {
    fn default() -> Self {
        Status {
            state: State::Connecting,
            decoded: 0,
            sampled: 0,
            damaged: 0,
            sessions: 0,
            failures: 0,
            size: None,
            last_picture: None,
            calibrating: true,
            moving: 0,
            last_motion: None,
            skipped: 0,
            detections: 0,
            detector_errors: 0,
            active_events: 0,
            events: 0,
            detector_missing: None,
            recording: None,
        }
    }
}

/// A picture sampled for analysis.
#[derive(Debug)]
pub struct Picture {
    /// The decoded picture (in colour too).
    pub frame: DecodedFrame,
    /// The service's time for it.
    pub at: time::OffsetDateTime,
    /// Its time on the stream's clock (seconds from the session's first
    /// picture).
    pub stream_secs: f64,
    /// The session it came in (a reconnect is a new session).
    pub session: u64,
}

/// The latest sampled picture of a camera, for its live view (`None`
/// until one arrives). Pictures are published only while someone watches.
pub type LivePicture = Option<Arc<lensguard_vision::RgbFrame>>;

/// A configured camera as the registry keeps it.
#[derive(Debug)]
struct Entry {
    name: String,
    masks: Vec<lensguard_core::config::cameras::Polygon>,
    status: Arc<Mutex<Status>>,
    live: Arc<tokio::sync::watch::Sender<LivePicture>>,
}

/// Every camera's status (and privacy masks), by name.
#[derive(Debug, Default)]
pub struct Registry {
    cameras: Mutex<Vec<Entry>>,
}

impl Registry {
    /// Adds a camera with its privacy masks; its status, for its task to
    /// keep.
    pub fn add(
        &self,
        name: &str,
        masks: Vec<lensguard_core::config::cameras::Polygon>,
    ) -> Arc<Mutex<Status>> {
        let status = Arc::new(Mutex::new(Status::default()));
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Entry {
                name: name.to_owned(),
                masks,
                status: Arc::clone(&status),
                live: Arc::new(tokio::sync::watch::channel(None).0),
            });
        status
    }

    /// A configured camera's privacy masks; `None` for a camera not in the
    /// configuration (its masks are unknown: it is not configured).
    pub fn masks(&self, name: &str) -> Option<Vec<lensguard_core::config::cameras::Polygon>> {
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.masks.clone())
    }

    /// Where camera `name`'s sampled pictures are published for its live
    /// view (the camera's analysis hands them on).
    pub fn live_sender(&self, name: &str) -> Option<Arc<tokio::sync::watch::Sender<LivePicture>>> {
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|e| e.name == name)
            .map(|e| Arc::clone(&e.live))
    }

    /// A configured camera's sampled pictures, as they come, with its
    /// privacy masks; `None` for a camera not in the configuration.
    pub fn watch(
        &self,
        name: &str,
    ) -> Option<(
        tokio::sync::watch::Receiver<LivePicture>,
        Vec<lensguard_core::config::cameras::Polygon>,
    )> {
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|e| e.name == name)
            .map(|e| (e.live.subscribe(), e.masks.clone()))
    }

    /// Every camera's name and status now, in configuration order.
    pub fn snapshot(&self) -> Vec<(String, Status)> {
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.status
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .clone(),
                )
            })
            .collect()
    }
}

/// What one camera's task needs.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The camera's name (its audit actor is `source:NAME`).
    pub name: String,
    /// The analysed stream's URL (no credentials in it).
    pub url: String,
    /// Its credentials, read at start.
    pub credentials: Option<Credentials>,
    /// Pictures handed on per second, at most.
    pub detect_fps: u32,
    /// The largest picture decoded.
    pub max_pixels: u64,
}

impl Reader {
    /// The reader of `camera`'s analysed stream.
    pub fn for_camera(
        camera: &lensguard_core::config::cameras::Camera,
        credentials: Option<Credentials>,
        max_pixels: u64,
    ) -> Reader {
        Reader {
            name: camera.name.clone(),
            url: camera.detect_url.clone(),
            credentials,
            detect_fps: camera.detect_fps,
            max_pixels,
        }
    }
}

/// Reads the camera until `stop` turns true, updating `status` and calling
/// `analyse` with at most `detect_fps` pictures a second (sampled by the
/// stream's clock); changes of state go to `audit` when given.
pub async fn run(
    reader: Reader,
    status: Arc<Mutex<Status>>,
    audit: Option<Arc<AuditLog>>,
    mut stop: watch::Receiver<bool>,
    mut analyse: impl FnMut(Picture) + Send,
) {
    let mut backoff = Backoff::new(RETRY_INITIAL, RETRY_MAX);
    let events = Transitions {
        camera: reader.name.clone(),
        audit,
        stream: "cameras",
    };
    while !*stop.borrow() {
        lock(&status).sessions += 1;
        let outcome = tokio::select! {
            r = session(&reader, &status, &events, &mut analyse, &mut backoff) => r,
            _ = stop.changed() => return,
        };
        let delay = retry_delay(&outcome, &mut backoff);
        let reason = outcome.to_string();
        let changed = {
            let mut s = lock(&status);
            let changed = mark_down(&mut s.state, &outcome);
            if changed {
                s.failures += 1;
            }
            changed
        };
        if changed {
            events.down(&outcome, &reason).await;
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// How long to wait before retrying after `outcome`: refused credentials
/// wait the longest delay (no retry storm), anything else backs off.
fn retry_delay(outcome: &StreamError, backoff: &mut Backoff) -> Duration {
    match outcome {
        StreamError::Unauthorized => RETRY_MAX,
        _ => backoff.next_delay(),
    }
}

/// Marks `state` down for `outcome`; whether that is news (audited and
/// counted): only a change between refused credentials and any other
/// failure is, the same failure again is not.
fn mark_down(state: &mut State, outcome: &StreamError) -> bool {
    let changed = match state {
        State::Down(before) => {
            (*before == StreamError::Unauthorized.to_string())
                != matches!(outcome, StreamError::Unauthorized)
        }
        State::Up | State::Connecting => true,
    };
    *state = State::Down(outcome.to_string());
    changed
}

fn lock(status: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    status.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Audits a camera stream's changes of state (`cameras.*` for the
/// analysed stream, `recordings.*` for the recorded one).
struct Transitions {
    camera: String,
    audit: Option<Arc<AuditLog>>,
    /// The actions' prefix.
    stream: &'static str,
}

impl Transitions {
    async fn append(&self, action: &str, outcome: Outcome, reason: String) {
        let Some(audit) = &self.audit else {
            return;
        };
        let event = AuditEvent::new(
            time::OffsetDateTime::now_utc(),
            format!("source:{}", self.camera),
            format!("{}.{action}", self.stream),
        )
        .target(format!("camera:{}", self.camera))
        .outcome(outcome, Some(reason));
        // An audit log that cannot take entries raises its own alert; the
        // camera goes on being read.
        let _ = crate::common::audit_alert::append(audit, event).await;
    }

    async fn up(&self, what: String) {
        self.append("up", Outcome::Success, what).await;
    }

    async fn down(&self, why: &StreamError, reason: &str) {
        let (action, outcome) = match why {
            StreamError::Unauthorized => ("credentials_refused", Outcome::Denied),
            _ => ("down", Outcome::Failure),
        };
        self.append(action, outcome, reason.to_owned()).await;
    }
}

/// One session: open, decode, hand on; returns why it ended.
async fn session(
    reader: &Reader,
    status: &Arc<Mutex<Status>>,
    events: &Transitions,
    analyse: &mut (impl FnMut(Picture) + Send),
    backoff: &mut Backoff,
) -> StreamError {
    let session = lock(status).sessions;
    let mut stream = match rtsp::open(
        &reader.url,
        reader.credentials.as_ref(),
        rtsp::Purpose::Analysis,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut decoder: Option<H264Decoder> = None;
    let interval = 1.0 / f64::from(reader.detect_fps.max(1));
    let mut next_analysis = 0.0;
    loop {
        let unit = match stream.next().await {
            Ok(u) => u,
            Err(e) => return e,
        };
        if let Some((record, (w, h))) = &unit.parameters {
            if u64::from(*w) * u64::from(*h) > reader.max_pixels {
                return StreamError::Protocol(format!(
                    "{w}x{h} pictures exceed the camera limit of {} pixels; analyse the sub-stream",
                    reader.max_pixels
                ));
            }
            match H264Decoder::new(record, reader.max_pixels) {
                Ok(d) => decoder = Some(d),
                Err(e) => return StreamError::Protocol(e.to_string()),
            }
            lock(status).size = Some((*w, *h));
        }
        let Some(d) = decoder.as_mut() else {
            continue;
        };
        let due = unit.stream_secs + 1e-6 >= next_analysis;
        match d.decode(&unit.data, due) {
            Ok(Some(frame)) => {
                backoff.reset();
                let came_up = {
                    let mut s = lock(status);
                    let came_up = s.state != State::Up;
                    s.state = State::Up;
                    s.decoded += 1;
                    s.last_picture = Some(unit.at);
                    if due {
                        s.sampled += 1;
                    }
                    came_up.then(|| (frame.luma.width(), frame.luma.height()))
                };
                if let Some((w, h)) = came_up {
                    events.up(format!("receiving {w}x{h} H.264")).await;
                }
                if due {
                    next_analysis = unit.stream_secs + interval;
                    analyse(Picture {
                        frame,
                        at: unit.at,
                        stream_secs: unit.stream_secs,
                        session,
                    });
                }
            }
            Ok(None) => {}
            Err(_) => lock(status).damaged += 1,
        }
    }
}

#[cfg(test)]
mod tests;
