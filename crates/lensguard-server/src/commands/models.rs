//! `lensguard models` on a site: the root of trust for model updates,
//! importing a TUF repository from removable media and activating its
//! releases, the known-answer test, and what runs. Each change is audited
//! first (see [`super::local`]); a refused import is audited with why and
//! changes nothing. The publisher's commands are in [`super::model_publish`].

use super::local::{Local, open};
use crate::cli::ModelsCommand;
use crate::model_updates::activation::{self, Activation};
use crate::model_updates::slots::{self, SlotModel};
use crate::model_updates::verify::{ImportRules, Verified, VerifiedBundle, state_dir};
use crate::model_updates::{UpdateError, known_answer, trust};
use anyhow::bail;
use lensguard_store::audit::Outcome;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Where verified bundles are kept: `<data dir>/models/bundles/<name>/<version>/`.
fn bundles_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join(crate::model_updates::DIR).join("bundles")
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    super::local::block_on(run_async(cmd))?
}

async fn run_async(cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ModelsCommand::Trust {
            data,
            root,
            replace,
        } => {
            let local = open(&data.data_dir).await?;
            let name = root.display().to_string();
            let bytes =
                std::fs::read(&root).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
            let checked = match trust::check(&name, bytes) {
                Ok(c) => c,
                Err(e) => {
                    local.record(
                        "models.trust",
                        "root",
                        Outcome::Failure,
                        Some(e.to_string()),
                    )?;
                    bail!(e);
                }
            };
            let path = trust::path(&data.data_dir);
            if path.exists() && !replace {
                let why = "a root of trust is installed already; --replace replaces it";
                local.record(
                    "models.trust",
                    "root",
                    Outcome::Failure,
                    Some(why.to_owned()),
                )?;
                bail!(why);
            }
            let target = format!("root:v{}", checked.version);
            let reason = format!(
                "fingerprint sha256:{}{}",
                checked.fingerprint,
                if replace {
                    " (replacing the installed root)"
                } else {
                    ""
                }
            );
            local.record("models.trust", &target, Outcome::Success, Some(reason))?;
            std::fs::create_dir_all(data.data_dir.join(crate::model_updates::DIR))?;
            if replace {
                // A new root starts over: what the old one accepted is forgotten.
                crate::model_updates::verify::forget(&data.data_dir)?;
            }
            crate::data_dir::write_private(&path, &checked.bytes)?;
            writeln!(
                out,
                "trusted root version {} from {name}\nfingerprint sha256:{}\n\
                 compare it with the fingerprint the publisher gave you over another channel",
                checked.version, checked.fingerprint
            )?;
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Import {
            data,
            dir,
            timestamp_window_hours,
            models,
        } => {
            let local = open(&data.data_dir).await?;
            if !dir.join("metadata").is_dir() {
                bail!(
                    "{} holds no metadata/ directory: give the repository's directory (metadata/ and targets/)",
                    dir.display()
                );
            }
            let rules = ImportRules {
                timestamp_window: time::Duration::hours(i64::from(timestamp_window_hours)),
            };
            let now = time::OffsetDateTime::now_utc();
            let target = format!("repository:{}", dir.display());
            match crate::model_updates::verify::import(&dir, &data.data_dir, rules, now).await {
                Ok(verified) => {
                    let models_dir = models
                        .models
                        .unwrap_or_else(crate::detection::default_models_dir);
                    take_in(&local, &target, verified, &models_dir, &mut out)
                }
                Err(UpdateError::NoTrust) => bail!(UpdateError::NoTrust),
                Err(e) => {
                    local.record(
                        "models.import",
                        &target,
                        Outcome::Failure,
                        Some(e.to_string()),
                    )?;
                    writeln!(out, "refused: {e}\nnothing was changed")?;
                    Ok(ExitCode::from(1))
                }
            }
        }
        ModelsCommand::Status { data } => {
            crate::data_dir::require(&data.data_dir)?;
            status(&data.data_dir, &mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::KnownAnswer { dir, slot, models } => {
            let models_dir = models
                .models
                .unwrap_or_else(crate::detection::default_models_dir);
            run_known_answer(&dir, slot, &models_dir, &mut out)
        }
        ModelsCommand::Keys(cmd) => super::model_publish::keys(cmd, &mut out).await,
        ModelsCommand::Publish { bundle, repo } => {
            super::model_publish::publish(&bundle, &repo, &mut out).await
        }
        ModelsCommand::Rollback { name, to, repo } => {
            super::model_publish::rollback(&name, &to, &repo, &mut out).await
        }
        ModelsCommand::RefreshTimestamp { repo } => {
            super::model_publish::refresh_timestamp(&repo, &mut out).await
        }
    }
}

/// `models known-answer`: the boxes found, then passed or why not.
fn run_known_answer(
    dir: &Path,
    slot: bool,
    models_dir: &Path,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let model = if slot {
        SlotModel::read(dir)?
    } else {
        // A publisher's directory: the manifest completed from its files,
        // the way `models publish` will sign it.
        let (manifest, _) = crate::model_updates::bundle::from_source(dir)?;
        SlotModel {
            dir: dir.to_path_buf(),
            manifest,
        }
    };
    let found = match known_answer::detect(&model, models_dir) {
        Ok(f) => f,
        Err(why) => {
            writeln!(out, "failed: {why}")?;
            return Ok(ExitCode::from(1));
        }
    };
    let boxes: Vec<serde_json::Value> = found
        .iter()
        .map(|d| {
            let r = |v: f32| (f64::from(v) * 10.0).round() / 10.0;
            serde_json::json!({"x": r(d.x), "y": r(d.y), "width": r(d.width), "height": r(d.height)})
        })
        .collect();
    writeln!(out, "found: {}", serde_json::Value::Array(boxes))?;
    match known_answer::compare(&model.manifest.known_answer, &found) {
        Ok(()) => {
            writeln!(out, "passed: {}", model.manifest.label())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            writeln!(out, "failed: {why}")?;
            Ok(ExitCode::from(1))
        }
    }
}

/// Activates `bundle` (see [`crate::model_updates::activation`]) and says
/// what became of it. Returns whether it is active now.
fn activate(
    local: &Local,
    bundle: &VerifiedBundle,
    models_dir: &Path,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let record = |action: &str, target: &str, outcome, reason: String| {
        local
            .record(action, target, outcome, Some(reason))
            .map_err(|e| format!("{e:#}"))
    };
    let label = bundle.manifest.label();
    Ok(
        match activation::activate(&local.data_dir, bundle, models_dir, &record)? {
            Activation::Already => {
                writeln!(out, "{label}: active already")?;
                true
            }
            Activation::Activated(reason) => {
                writeln!(out, "{label}: activated; {reason}")?;
                true
            }
            Activation::Refused(reason) => {
                writeln!(out, "{label}: {reason}")?;
                false
            }
        },
    )
}

/// Keeps the verified bundles, then accepts the metadata, audited first.
fn take_in(
    local: &Local,
    target: &str,
    mut verified: Verified,
    models_dir: &Path,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let v = verified.versions;
    let names: Vec<String> = verified
        .bundles
        .iter()
        .map(|b| b.manifest.label())
        .collect();
    let mut reason = format!(
        "root v{}, targets v{}, snapshot v{}, timestamp v{}; bundles: {}",
        v.root,
        v.targets,
        v.snapshot,
        v.timestamp,
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    );
    if let Some(stale) = &verified.stale_timestamp {
        reason.push_str("; ");
        reason.push_str(stale);
    }
    local.record(
        "models.import",
        target,
        Outcome::Success,
        Some(reason.clone()),
    )?;
    for bundle in &verified.bundles {
        let dir = bundles_dir(&local.data_dir)
            .join(&bundle.manifest.name)
            .join(&bundle.manifest.version);
        std::fs::create_dir_all(&dir)?;
        for (file, bytes) in &bundle.files {
            crate::data_dir::write_private(&dir.join(file), bytes)?;
        }
        crate::data_dir::write_private(
            &dir.join(crate::model_updates::bundle::MANIFEST),
            &bundle.manifest_bytes,
        )?;
    }
    let bundles = std::mem::take(&mut verified.bundles);
    verified.accept()?;
    writeln!(out, "imported: {reason}")?;
    let mut all_active = true;
    for bundle in &bundles {
        all_active &= activate(local, bundle, models_dir, out)?;
    }
    Ok(if all_active {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn status(data_dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    match trust::installed(data_dir) {
        Ok(bytes) => writeln!(out, "root of trust: sha256:{}", trust::fingerprint(&bytes))?,
        Err(e) => writeln!(out, "root of trust: none ({e})")?,
    }
    let state = state_dir(data_dir);
    for role in ["root", "targets", "snapshot", "timestamp"] {
        let version = std::fs::read(state.join(format!("{role}.json")))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["signed"]["version"].as_u64());
        match version {
            Some(n) => writeln!(out, "accepted {role}: version {n}")?,
            None => writeln!(out, "accepted {role}: none yet")?,
        }
    }
    for name in ["faces", "objects"] {
        match slots::active(data_dir, name) {
            Ok(Some(m)) => {
                let trial = slots::trial(data_dir, name).map_or(String::new(), |t| {
                    format!(
                        " (on trial: {} of {} starts)",
                        t.starts,
                        slots::MAX_TRIAL_STARTS
                    )
                });
                writeln!(out, "active {name}: {}{trial}", m.manifest.version)?;
            }
            Ok(None) => writeln!(out, "active {name}: the built-in model")?,
            Err(e) => writeln!(
                out,
                "active {name}: the built-in model (the active slot: {e})"
            )?,
        }
    }
    let Ok(names) = std::fs::read_dir(bundles_dir(data_dir)) else {
        writeln!(out, "bundles: none imported")?;
        return Ok(());
    };
    for name in names.flatten() {
        let mut versions: Vec<String> = std::fs::read_dir(name.path())
            .into_iter()
            .flatten()
            .flatten()
            .map(|v| v.file_name().to_string_lossy().into_owned())
            .collect();
        versions.sort();
        writeln!(
            out,
            "bundle {}: {}",
            name.file_name().to_string_lossy(),
            versions.join(", ")
        )?;
    }
    Ok(())
}
