//! The hub's model repository and rollouts: where the repository and its
//! online keys live in the hub's data directory (`models/repository/`,
//! `models/keys/`), re-signing the timestamp before it expires, and the
//! `lensguard hub models ...` commands (publish in waves, pause, resume,
//! roll back, lock an edge to a release, show what runs where).
//!
//! Invariants: a publish through the hub records its rollout before the
//! release is signed, so no edge outside the first wave can take it in
//! between; a rollback is a new signed targets version and a rollout of
//! the old release to every edge at once.

use super::{HubDirArgs, open_db};
use crate::cli::HubModelsCommand;
use crate::model_updates::publish::{self, Lifetimes};
use anyhow::{Context, bail};
use lensguard_store::hub::Rollout;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The hub's model repository and its online keys.
#[derive(Debug, Clone)]
pub struct HubModels {
    /// `metadata/` and `targets/`.
    pub repo: PathBuf,
    /// targets, snapshot and timestamp keys.
    pub keys: PathBuf,
}

impl HubModels {
    /// Those of the hub whose data directory is `dir`.
    pub fn in_dir(dir: &Path) -> HubModels {
        HubModels {
            repo: dir.join("models").join("repository"),
            keys: dir.join("models").join("keys"),
        }
    }

    fn exists(&self) -> bool {
        self.repo.join("metadata").join("root.json").is_file()
    }
}

/// Re-signs the timestamp whenever half its life is used, every ten
/// minutes at most, for as long as the hub runs.
pub async fn refresh_timestamps(models: Arc<HubModels>) {
    let lifetimes = Lifetimes::default();
    loop {
        if models.exists() {
            let now = time::OffsetDateTime::now_utc();
            if publish::timestamp_due(&models.repo, lifetimes, now) {
                match publish::refresh_timestamp(&models.repo, &models.keys, lifetimes, now).await {
                    Ok(v) => eprintln!("lensguard hub: model repository timestamp v{v} signed"),
                    Err(e) => eprintln!(
                        "lensguard hub: WARNING: cannot re-sign the model repository's timestamp: {e}"
                    ),
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The release `name` points at now, if any.
fn current_release(repo: &Path, name: &str) -> Option<String> {
    let bytes = std::fs::read(
        repo.join("targets")
            .join(crate::model_updates::bundle::pointer(name)),
    )
    .ok()?;
    crate::model_updates::bundle::Manifest::parse(&bytes)
        .ok()
        .map(|m| m.version)
}

/// Runs `lensguard hub models ...`.
pub fn run(cmd: HubModelsCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(run_async(cmd, out))
}

fn models_of(dir: &HubDirArgs) -> anyhow::Result<HubModels> {
    let models = HubModels::in_dir(&dir.data_dir);
    if !models.exists() {
        bail!(
            "the hub has no model repository yet: run `lensguard models keys init --repo {} --keys {} --root-keys OFFLINE_DIR` first; nothing was done",
            models.repo.display(),
            models.keys.display()
        );
    }
    Ok(models)
}

async fn run_async(cmd: HubModelsCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let lifetimes = Lifetimes::default();
    match cmd {
        HubModelsCommand::Publish {
            dir,
            bundle,
            wave_percent,
            wave_minutes,
        } => {
            let db = open_db(&dir).await?;
            let models = models_of(&dir)?;
            let (manifest, _) = crate::model_updates::bundle::from_source(&bundle)?;
            let rollout = Rollout {
                previous: current_release(&models.repo, &manifest.name),
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                started_at: now(),
                wave_percent: i64::from(wave_percent),
                wave_seconds: i64::from(wave_minutes) * 60,
                paused_at: None,
            };
            let before = db
                .rollouts()
                .await?
                .into_iter()
                .find(|r| r.name == manifest.name);
            // The rollout first: an edge outside the first wave keeps the
            // previous release from the moment the new one is signed.
            db.start_rollout(&rollout)
                .await
                .context("cannot record the rollout")?;
            let done = publish::publish(
                &models.repo,
                &models.keys,
                &bundle,
                lifetimes,
                time::OffsetDateTime::now_utc(),
            )
            .await;
            let done = match done {
                Ok(d) => d,
                Err(e) => {
                    // Nothing was signed: put the rollouts back as they were.
                    let restored = match &before {
                        Some(r) => match db.start_rollout(r).await {
                            Ok(()) => match r.paused_at {
                                Some(p) => db.pause_rollout(&r.name, true, p).await.map(|_| ()),
                                None => Ok(()),
                            },
                            Err(e) => Err(e),
                        },
                        None => db.end_rollout(&manifest.name).await,
                    };
                    if let Err(db_error) = restored {
                        return Err(anyhow::anyhow!(
                            "{e}; and the rollout of {} could not be put back ({db_error}): check `lensguard hub models status`",
                            manifest.name
                        ));
                    }
                    return Err(e.into());
                }
            };
            writeln!(
                out,
                "published {}; targets v{}; rollout: {wave_percent}% of edges every {wave_minutes} min, the rest keep {}",
                done.manifest.label(),
                done.versions.targets,
                rollout
                    .previous
                    .as_deref()
                    .unwrap_or("their built-in model")
            )?;
        }
        HubModelsCommand::Pause { dir, name } => {
            let db = open_db(&dir).await?;
            if !db.pause_rollout(&name, true, now()).await? {
                bail!("no running rollout of {name} to pause; nothing was done");
            }
            writeln!(
                out,
                "the rollout of {name} is paused: no further edge takes it"
            )?;
        }
        HubModelsCommand::Resume { dir, name } => {
            let db = open_db(&dir).await?;
            if !db.pause_rollout(&name, false, now()).await? {
                bail!("no paused rollout of {name} to resume; nothing was done");
            }
            writeln!(
                out,
                "the rollout of {name} goes on from the share it reached"
            )?;
        }
        HubModelsCommand::Rollback { dir, name, to } => {
            let db = open_db(&dir).await?;
            let models = models_of(&dir)?;
            let done = publish::rollback(
                &models.repo,
                &models.keys,
                &name,
                &to,
                lifetimes,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            db.start_rollout(&Rollout {
                name: name.clone(),
                version: to.clone(),
                previous: None,
                started_at: now(),
                wave_percent: 100,
                wave_seconds: 60,
                paused_at: None,
            })
            .await
            .context("cannot record the rollback")?;
            writeln!(
                out,
                "{name} points at {to} again (targets v{}); every edge is told to run it",
                done.versions.targets
            )?;
        }
        HubModelsCommand::Lock {
            dir,
            edge,
            name,
            version,
        } => {
            let db = open_db(&dir).await?;
            if db.edge(&edge).await?.is_none() {
                bail!("no edge {edge} (see `lensguard hub edges`); nothing was done");
            }
            if let Some(v) = &version {
                let models = models_of(&dir)?;
                let published = crate::model_updates::bundle::plain(&name)
                    && crate::model_updates::bundle::plain(v)
                    && models
                        .repo
                        .join("targets")
                        .join(&name)
                        .join(v)
                        .join(crate::model_updates::bundle::MANIFEST)
                        .is_file();
                if !published {
                    bail!("{name} {v} was never published on this hub; nothing was done");
                }
            }
            db.lock_model(&edge, &name, version.as_deref(), now())
                .await?;
            match version {
                Some(v) => writeln!(out, "edge {edge} runs {name} {v} whatever the rollouts")?,
                None => writeln!(out, "edge {edge} follows the rollouts of {name} again")?,
            }
        }
        HubModelsCommand::Status { dir } => {
            let db = open_db(&dir).await?;
            let at = now();
            for r in db.rollouts().await? {
                writeln!(
                    out,
                    "rollout {} {}: {}% of edges{}, the rest keep {}",
                    r.name,
                    r.version,
                    r.share_at(at),
                    if r.paused_at.is_some() {
                        " (paused)"
                    } else {
                        ""
                    },
                    r.previous.as_deref().unwrap_or("their built-in model")
                )?;
            }
            for m in db.edge_models().await? {
                writeln!(
                    out,
                    "edge {} {}: {} {}{}",
                    m.edge_id,
                    m.name,
                    m.version,
                    m.state,
                    if m.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", m.detail)
                    }
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
