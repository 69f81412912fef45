//! Sources: where photos come from besides the HTTP upload. Each source
//! turns what it watches into intake submissions (`crate::intake`) under
//! its own name, and stops between files when the service shuts down.
//!
//! Adding a source: its module here, its configuration section in
//! `lensguard-core/src/config/`, one line in [`start`], its tests, its
//! docs (ARCHITECTURE.md lists the steps).

pub mod camera;
pub mod folder;

use crate::intake::Intake;
use anyhow::Context;
use lensguard_core::Policy;
use lensguard_core::config::cameras::{Camera, CameraMode, CredentialSource};
use lensguard_core::config::sources::FolderSource;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running sources, and how to stop them.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Each camera's live status.
    pub cameras: Arc<camera::Registry>,
}

/// Checks every source's folder, policy and credentials, then starts them.
/// Refused (nothing started) when a folder is missing, a policy file is
/// invalid or a camera's credentials cannot be read.
pub fn start(
    folders: &[FolderSource],
    cameras: &[Camera],
    objects: &Result<Arc<lensguard_vision::models::ObjectDetector>, String>,
    intake: &Arc<Intake>,
) -> anyhow::Result<Running> {
    let mut ready = Vec::new();
    for source in folders {
        let meta = std::fs::metadata(&source.path).with_context(|| {
            format!(
                "source {}: cannot use the folder {}",
                source.name,
                source.path.display()
            )
        })?;
        anyhow::ensure!(
            meta.is_dir(),
            "source {}: {} is not a folder",
            source.name,
            source.path.display()
        );
        if let lensguard_core::config::sources::After::Move(to) = &source.after {
            anyhow::ensure!(
                std::fs::metadata(to).is_ok_and(|m| m.is_dir()),
                "source {}: move_to {} is not a folder",
                source.name,
                to.display()
            );
        }
        let policy = match &source.policy {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("source {}: cannot read {}", source.name, path.display())
                })?;
                let policy = Policy::from_toml(&text).map_err(|e| {
                    anyhow::anyhow!("source {}: {}: {e}", source.name, path.display())
                })?;
                Some(Arc::new(policy))
            }
            None => None,
        };
        ready.push(folder::FolderTask {
            source: source.clone(),
            intake: Arc::clone(intake),
            policy,
        });
    }
    let mut readers = Vec::new();
    for c in cameras {
        let credentials = match &c.credentials {
            None => None,
            Some(from) => Some(read_credentials(&c.name, from)?),
        };
        readers.push((
            c.clone(),
            camera::Reader::for_camera(c, credentials, intake.limits.max_camera_pixels),
        ));
    }
    let (stop, watch) = watch::channel(false);
    let mut tasks: Vec<JoinHandle<()>> = ready
        .into_iter()
        .map(|task| tokio::spawn(task.run(watch.clone())))
        .collect();
    let registry = Arc::new(camera::Registry::default());
    for (c, reader) in readers {
        let status = registry.add(&c.name, c.masks.clone());
        if let Err(why) = objects {
            status
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .detector_missing = Some(why.clone());
        }
        // Sampled pictures go to the camera's analysis thread (motion,
        // detection, events), which notes what it saw for the recorder.
        let activity = Arc::new(std::sync::Mutex::new(camera::activity::Activity::default()));
        let (analyse, event_recorder) = camera::worker::start(
            &c,
            objects.as_ref().ok().cloned(),
            Arc::clone(&status),
            Arc::clone(&activity),
            Arc::clone(intake),
            registry.live_sender(&c.name),
        )
        .with_context(|| format!("camera {}: cannot start its analysis thread", c.name))?;
        if let Some(url) = c
            .record_url
            .clone()
            .filter(|_| c.mode != CameraMode::StructureOnly)
        {
            let recorder = camera::recorder::Recorder {
                camera: c.name.clone(),
                url,
                credentials: reader.credentials.clone(),
                mode: c.mode,
                settings: c.recording,
                keep_audio: c.keep_audio,
                activity,
                status: Arc::clone(&status),
                intake: Arc::clone(intake),
            };
            tasks.push(tokio::spawn(recorder.run(watch.clone())));
        }
        let audit = Some(Arc::clone(&intake.audit));
        tasks.push(tokio::spawn(camera::run(
            reader,
            status,
            audit,
            watch.clone(),
            analyse,
        )));
        tasks.push(event_recorder);
    }
    Ok(Running {
        stop,
        tasks,
        cameras: registry,
    })
}

/// A camera's `user:password`, from its file's first line or its
/// environment variable; the error names where, never the value.
pub(crate) fn read_credentials(
    camera: &str,
    from: &CredentialSource,
) -> anyhow::Result<camera::rtsp::Credentials> {
    let (text, place) = match from {
        CredentialSource::File(path) => (
            std::fs::read_to_string(path).with_context(|| {
                format!(
                    "camera {camera}: cannot read credentials_file {}",
                    path.display()
                )
            })?,
            format!("credentials_file {}", path.display()),
        ),
        CredentialSource::Env(var) => (
            std::env::var(var).map_err(|_| {
                anyhow::anyhow!("camera {camera}: credentials_env {var} is not set")
            })?,
            format!("credentials_env {var}"),
        ),
    };
    camera::rtsp::Credentials::parse(&text).ok_or_else(|| {
        anyhow::anyhow!("camera {camera}: {place} must hold user:password on its first line")
    })
}

impl Running {
    /// Asks every source to stop and waits for each to finish the file in
    /// hand, at most `grace`; a source still busy after that is aborted (its
    /// claim makes the next start finish the file).
    pub async fn drain(self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                abort.abort();
            }
        }
    }
}
