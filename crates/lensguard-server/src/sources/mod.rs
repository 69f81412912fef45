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
use lensguard_core::config::sources::FolderSource;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running sources, and how to stop them.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Checks every source's folder and policy, then starts them. Refused
/// (nothing started) when a folder is missing or a policy file is invalid.
pub fn start(folders: &[FolderSource], intake: &Arc<Intake>) -> anyhow::Result<Running> {
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
    let (stop, watch) = watch::channel(false);
    let tasks = ready
        .into_iter()
        .map(|task| tokio::spawn(task.run(watch.clone())))
        .collect();
    Ok(Running { stop, tasks })
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
