//! A camera's recorded stream: read over RTSP ([`super::rtsp`], H.264 or
//! H.265, never decoded), cut into segments ([`lensguard_video::segmenter`]),
//! classified by what the analysis saw ([`super::activity`]) and sealed in
//! the vault ([`crate::intake::Intake::record_segment`]).
//!
//! Invariants:
//! - No video byte touches the disk unsealed: segments wait in memory
//!   (at most [`MAX_WAITING_BYTES`]) until their category is final, i.e.
//!   until no event starting later could still claim them as pre-roll.
//! - In `events` mode only event footage is kept; in `continuous` mode
//!   everything is, under its category; `structure_only` never records
//!   (the configuration refuses a `record_url` there).
//! - When the stream breaks and comes back, the span between the last
//!   segment before and the first after is recorded as a gap, with why.
//! - A segment that cannot be sealed is retried while it fits in memory;
//!   beyond that the oldest is dropped, counted as lost and said in the log.
//! - Audio is set up only when the camera's `keep_audio` says so, and then
//!   kept in the same sealed segments as the video.
//! - Changes of state are audited once (`recordings.up`, `recordings.down`,
//!   `recordings.credentials_refused`), as for the analysed stream.

use super::activity::Activity;
use super::rtsp::{self, Credentials, Item, Purpose, StreamError};
use super::{RETRY_INITIAL, RecordingStatus, State, Status, Transitions};
use crate::common::backoff::Backoff;
use crate::intake::{Intake, SegmentOutcome};
use lensguard_core::config::cameras::CameraMode;
use lensguard_core::config::recording::RecordingSettings;
use lensguard_core::policy::DataCategory;
use lensguard_store::db::RecordingGap;
use lensguard_video::fmp4::Track;
use lensguard_video::segmenter::{Segment, Segmenter, Unit};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Bytes of one segment's samples at most (a 4 Mbit/s stream fills 64 MiB
/// in about two minutes; a segment is cut at this size).
pub const MAX_SEGMENT_BYTES: usize = 64 << 20;
/// Bytes of segments waiting for their category or for the vault, at most.
pub const MAX_WAITING_BYTES: usize = 256 << 20;
/// How long after a segment's pre-roll window its category is decided
/// (an event is confirmed a few pictures after its first sighting).
pub const SETTLE: Duration = Duration::from_secs(2);

/// What one camera's recorder needs.
pub struct Recorder {
    /// The camera's name.
    pub camera: String,
    /// The recorded stream's URL (no credentials in it).
    pub url: String,
    /// Its credentials.
    pub credentials: Option<Credentials>,
    /// The camera's mode (`events` or `continuous`).
    pub mode: CameraMode,
    /// Segment length, pre/post-roll, quota.
    pub settings: RecordingSettings,
    /// Whether the camera's AAC audio is kept beside the video.
    pub keep_audio: bool,
    /// What the analysis saw.
    pub activity: Arc<Mutex<Activity>>,
    /// The camera's status (its `recording` part is this recorder's).
    pub status: Arc<Mutex<Status>>,
    /// Where segments are sealed.
    pub intake: Arc<Intake>,
}

/// Why a session ended.
enum Ended {
    Failed(StreamError),
    Stopped,
}

/// State kept across sessions.
struct Progress {
    waiting: VecDeque<Segment>,
    waiting_bytes: usize,
    /// Where the last segment received ended, and why the stream broke
    /// after it (when it did).
    last_end: Option<i64>,
    broke: Option<String>,
    /// Whether sealing is failing (said once per streak).
    failing: bool,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Recorder {
    fn status(&self, f: impl FnOnce(&mut RecordingStatus)) {
        let mut s = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        f(s.recording.get_or_insert_with(RecordingStatus::default));
    }

    /// Records until `stop` turns true; what waits is sealed before it
    /// returns.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        self.status(|_| {});
        let events = Transitions {
            camera: self.camera.clone(),
            audit: Some(Arc::clone(&self.intake.audit)),
            stream: "recordings",
        };
        let mut backoff = Backoff::new(RETRY_INITIAL, super::RETRY_MAX);
        let mut progress = Progress {
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            last_end: None,
            broke: None,
            failing: false,
        };
        loop {
            let e = match self
                .session(&mut progress, &events, &mut backoff, &mut stop)
                .await
            {
                Ended::Stopped => break,
                Ended::Failed(e) => e,
            };
            self.failed(&e, &events, &mut progress).await;
            let delay = super::retry_delay(&e, &mut backoff);
            if self.wait(delay, &mut progress, &mut stop).await {
                break;
            }
        }
        self.seal_due(&mut progress, true).await;
    }

    /// Marks the recording down (audited when news) and remembers why.
    async fn failed(&self, e: &StreamError, events: &Transitions, progress: &mut Progress) {
        let mut news = false;
        self.status(|r| news = super::mark_down(&mut r.state, e));
        if news {
            events.down(e, &e.to_string()).await;
        }
        if progress.broke.is_none() {
            progress.broke = Some(e.to_string());
        }
    }

    /// Waits `delay`, sealing what is due every second; whether to stop.
    async fn wait(
        &self,
        delay: Duration,
        progress: &mut Progress,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let until = tokio::time::Instant::now() + delay;
        loop {
            self.seal_due(progress, false).await;
            let next = (tokio::time::Instant::now() + Duration::from_secs(1)).min(until);
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                _ = stop.changed() => return true,
            }
            if *stop.borrow() {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
        }
    }

    /// One session: open, cut, hand on; why it ended.
    async fn session(
        &self,
        progress: &mut Progress,
        events: &Transitions,
        backoff: &mut Backoff,
        stop: &mut watch::Receiver<bool>,
    ) -> Ended {
        if *stop.borrow() {
            return Ended::Stopped;
        }
        let opened = tokio::select! {
            r = rtsp::open(&self.url, self.credentials.as_ref(), Purpose::Recording { audio: self.keep_audio }) => r,
            _ = stop.changed() => return Ended::Stopped,
        };
        let mut stream = match opened {
            Ok(s) => s,
            Err(e) => return Ended::Failed(e),
        };
        let codec = stream.codec;
        if self.keep_audio {
            let audio = match &stream.audio_missing {
                None => "aac".to_owned(),
                Some(why) => format!("not recorded: {why}"),
            };
            self.status(|r| r.audio = Some(audio));
        }
        let mut segmenter =
            Segmenter::new(f64::from(self.settings.segment_seconds), MAX_SEGMENT_BYTES);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_unit = tokio::time::Instant::now();
        let mut up = false;
        let ended = loop {
            tokio::select! {
                item = stream.next_item() => {
                    let unit = match item {
                        Ok(Item::Video(u)) => u,
                        Ok(Item::Audio(a)) => {
                            if let Some(track) = a.track {
                                segmenter.audio_parameters(track);
                            }
                            let at_ms = (a.at.unix_timestamp_nanos() / 1_000_000) as i64;
                            segmenter.push_audio(a.data, a.ticks, at_ms);
                            continue;
                        }
                        Err(e) => break Ended::Failed(e),
                    };
                    last_unit = tokio::time::Instant::now();
                    if let Some((record, (w, h))) = &unit.parameters {
                        let track = Track {
                            codec,
                            record: record.clone(),
                            width: u16::try_from(*w).unwrap_or(u16::MAX),
                            height: u16::try_from(*h).unwrap_or(u16::MAX),
                            timescale: stream.clock_rate,
                        };
                        if let Some(done) = segmenter.parameters(track) {
                            self.received(done, progress);
                        }
                        if !up {
                            up = true;
                            backoff.reset();
                            self.status(|r| {
                                r.state = State::Up;
                                r.codec = Some(codec.as_str());
                            });
                            events.up(format!("recording {w}x{h} {}", codec.as_str())).await;
                        }
                    }
                    let at_ms = (unit.at.unix_timestamp_nanos() / 1_000_000) as i64;
                    let done = segmenter.push(Unit {
                        data: unit.data,
                        ticks: unit.ticks,
                        at_ms,
                        key: unit.key,
                    });
                    if let Some(done) = done {
                        self.received(done, progress);
                        self.seal_due(progress, false).await;
                    }
                }
                _ = tick.tick() => {
                    if last_unit.elapsed() > rtsp::STALL_TIMEOUT {
                        break Ended::Failed(StreamError::Stalled(rtsp::STALL_TIMEOUT));
                    }
                    self.seal_due(progress, false).await;
                }
                _ = stop.changed() => break Ended::Stopped,
            }
        };
        if let Some(done) = segmenter.finish() {
            self.received(done, progress);
        }
        ended
    }

    /// A segment arrived: a gap before it is recorded, and it waits for
    /// its category.
    fn received(&self, segment: Segment, progress: &mut Progress) {
        if let (Some(end), Some(reason)) = (progress.last_end, progress.broke.take()) {
            let gap = RecordingGap {
                camera: self.camera.clone(),
                start_ms: end,
                end_ms: segment.start_ms.max(end),
                reason,
            };
            let db = self.intake.db.clone();
            let camera = self.camera.clone();
            // The gap is metadata; recording it must not hold up the stream.
            tokio::spawn(async move {
                if let Err(e) = db.record_gap(&gap).await {
                    eprintln!(
                        "lensguard: camera {camera}: a recording gap could not be recorded: {e}"
                    );
                }
            });
            self.status(|r| r.gaps += 1);
        }
        progress.broke = None;
        progress.last_end = Some(segment.end_ms);
        let end =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(segment.end_ms) * 1_000_000)
                .ok();
        self.status(|r| r.last_segment_end = end);
        progress.waiting_bytes += segment.file.len();
        progress.waiting.push_back(segment);
        while progress.waiting_bytes > MAX_WAITING_BYTES {
            let Some(dropped) = progress.waiting.pop_front() else {
                break;
            };
            progress.waiting_bytes -= dropped.file.len();
            self.status(|r| r.lost += 1);
            eprintln!(
                "lensguard: camera {}: a segment was lost: the vault has not taken segments for a while",
                self.camera
            );
        }
    }

    /// Seals every waiting segment whose category is final (all of them
    /// when `all`), oldest first; stops at the first the vault refuses.
    async fn seal_due(&self, progress: &mut Progress, all: bool) {
        let pre_roll = i64::from(self.settings.pre_roll_seconds) * 1000;
        let post_roll = i64::from(self.settings.post_roll_seconds) * 1000;
        let settle = SETTLE.as_millis() as i64;
        while let Some(front) = progress.waiting.front() {
            if !all && front.end_ms + pre_roll + settle > now_ms() {
                return;
            }
            let category = self
                .activity
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .category((front.start_ms, front.end_ms), pre_roll, post_roll);
            if self.mode == CameraMode::Events && category != DataCategory::FootageEvent {
                if let Some(segment) = progress.waiting.pop_front() {
                    progress.waiting_bytes -= segment.file.len();
                }
                self.status(|r| r.discarded += 1);
                continue;
            }
            let kept = self
                .intake
                .record_segment(&self.camera, front, category, self.settings.quota_bytes)
                .await;
            if kept.is_ok()
                && let Some(segment) = progress.waiting.pop_front()
            {
                progress.waiting_bytes -= segment.file.len();
            }
            match kept {
                Ok(SegmentOutcome::Stored { quota_deleted, .. }) => {
                    if std::mem::take(&mut progress.failing) {
                        eprintln!(
                            "lensguard: camera {}: segments are sealed again",
                            self.camera
                        );
                    }
                    self.status(|r| {
                        r.stored += 1;
                        r.quota_deleted += quota_deleted;
                    });
                }
                Ok(SegmentOutcome::NotKept) => self.status(|r| r.discarded += 1),
                Err(e) => {
                    // It stays first in line and is tried again next time;
                    // said once per streak of failures.
                    if !progress.failing {
                        progress.failing = true;
                        eprintln!(
                            "lensguard: camera {}: segments cannot be sealed ({e:?}); retrying every second",
                            self.camera
                        );
                    }
                    return;
                }
            }
        }
    }
}
