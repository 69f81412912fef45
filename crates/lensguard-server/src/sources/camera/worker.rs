//! A camera's analysis thread and its event recorder.
//!
//! The camera's reading task hands each sampled picture to the analysis
//! thread through a channel that holds one picture: when detection is still
//! busy with the last one, the new picture is dropped and counted
//! (`skipped`), never queued, so a slow detector cannot grow memory or
//! delay the stream. Events that end go through a bounded channel to a
//! task that records them with the intake; a failure to record (audit log or
//! database unavailable, outbox full) is said in the log and retried with
//! backoff until it succeeds or the service stops, so an event is not
//! dropped silently (and audited once, however many attempts it takes). When the camera's task ends, the thread ends the live
//! events and the recorder stores them before it finishes.

use super::analysis::{Analysis, Ended};
use super::{Picture, Status};
use crate::common::backoff::Backoff;
use crate::intake::{CameraEvent, Intake, IntakeError};
use lensguard_vision::models::ObjectDetector;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Events waiting to be recorded, at most.
const EVENTS_WAITING: usize = 256;

/// Starts `camera`'s analysis thread and event recorder; the function the
/// reading task hands sampled pictures to, and the recorder's task.
pub fn start(
    camera: &lensguard_core::config::cameras::Camera,
    objects: Option<Arc<ObjectDetector>>,
    status: Arc<Mutex<Status>>,
    activity: Arc<Mutex<super::activity::Activity>>,
    intake: Arc<Intake>,
    live: Option<Arc<tokio::sync::watch::Sender<super::LivePicture>>>,
) -> std::io::Result<(impl FnMut(Picture) + Send + 'static, JoinHandle<()>)> {
    let (pictures, inbox) = mpsc::sync_channel::<Picture>(1);
    let (events, mut outbox) = tokio::sync::mpsc::channel::<Ended>(EVENTS_WAITING);
    let mut analysis = Analysis::new(
        camera,
        objects,
        Some(Arc::clone(&intake.detectors)),
        Arc::clone(&status),
        activity,
    );
    std::thread::Builder::new()
        .name(format!("camera-{}", camera.name))
        .spawn(move || {
            for picture in inbox {
                for event in analysis.picture(picture) {
                    if events.blocking_send(event).is_err() {
                        return;
                    }
                }
            }
            for event in analysis.finish() {
                if events.blocking_send(event).is_err() {
                    return;
                }
            }
        })?;
    let name = camera.name.clone();
    let recorder = tokio::spawn(async move {
        while let Some(ended) = outbox.recv().await {
            if let Some(picture) = ended.picture {
                keep_snapshot(&intake, &ended.event, picture, ended.masks).await;
            }
            record(&intake, &name, &ended.event).await;
        }
    });
    let hand_on = move |picture: Picture| {
        // A copy for the live view, only while someone watches.
        if let (Some(live), Some(rgb)) = (&live, &picture.frame.rgb)
            && live.receiver_count() > 0
        {
            live.send_replace(Some(Arc::new(rgb.clone())));
        }
        if pictures.try_send(picture).is_err() {
            status
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .skipped += 1;
        }
    };
    Ok((hand_on, recorder))
}

/// Redacts and seals `event`'s snapshot; a snapshot that must be withheld
/// (a detector the policy needs is unavailable) or cannot be stored is said
/// in the log, and the event is recorded without it.
async fn keep_snapshot(
    intake: &Arc<Intake>,
    event: &CameraEvent,
    picture: lensguard_vision::RgbFrame,
    masks: Vec<lensguard_core::config::cameras::Polygon>,
) {
    let policy = intake.policy();
    let detectors = Arc::clone(&intake.detectors);
    let redacted = tokio::task::spawn_blocking(move || {
        super::snapshot::redacted_snapshot(&picture, &masks, &detectors, &policy)
    })
    .await;
    let outcome = match redacted {
        Ok(Ok(image)) => intake
            .record_snapshot(event, image)
            .await
            .map_err(|e| why(&e).to_owned()),
        Ok(Err(withheld)) => Err(format!("withheld: {withheld}")),
        Err(_) => Err("redaction failed".to_owned()),
    };
    if let Err(why) = outcome {
        eprintln!(
            "lensguard: camera {}: event {} has no snapshot ({why})",
            event.camera, event.id
        );
    }
}

async fn record(intake: &Intake, camera: &str, event: &CameraEvent) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut audited = false;
    loop {
        match intake.record_event(event, &mut audited).await {
            Ok(()) => return,
            Err(e) => {
                eprintln!(
                    "lensguard: camera {camera}: event {} could not be recorded ({}); retrying",
                    event.id,
                    why(&e)
                );
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

fn why(e: &IntakeError) -> &'static str {
    match e {
        IntakeError::AuditUnavailable => "the audit log cannot take entries",
        IntakeError::DatabaseUnavailable | IntakeError::StorageFailed => {
            "the database cannot be written"
        }
        IntakeError::VaultUnavailable => "the vault's keys are unreachable",
        IntakeError::OutboxFull { .. } => "the outbox is full",
        _ => "an internal error",
    }
}
