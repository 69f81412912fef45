//! What the service does with updated models: at each start, count the
//! start of every release on trial and switch back the ones that used up
//! their starts ([`on_start`]); hand the detectors the releases to load
//! ([`Updates`]); and, once the service has run a release on trial for the
//! trial period, confirm it ([`confirm_after`]). Each step is audited.

use super::slots::{self, SlotModel, Start};
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long the service runs a release on trial before confirming it,
/// unless `LENSGUARD_MODEL_TRIAL_SECONDS` says otherwise.
pub const TRIAL: Duration = Duration::from_secs(120);

/// The trial period in force.
pub fn trial_period() -> Duration {
    std::env::var("LENSGUARD_MODEL_TRIAL_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(TRIAL, Duration::from_secs)
}

/// The updated releases the detectors load, by detector name.
#[derive(Debug, Default, Clone)]
pub struct Updates {
    /// Each detector's active release, and whether it is on trial.
    pub active: Vec<(SlotModel, bool)>,
}

impl Updates {
    /// The active release of detector `name`, and whether it is on trial.
    pub fn get(&self, name: &str) -> Option<&(SlotModel, bool)> {
        self.active.iter().find(|(m, _)| m.manifest.name == name)
    }

    /// What the detectors load.
    pub fn for_detectors(&self) -> Vec<crate::detection::UpdatedModel> {
        self.active
            .iter()
            .map(|(m, on_trial)| crate::detection::UpdatedModel {
                detector: m.manifest.name.clone(),
                path: m.model_path(),
                pin: m.pin(),
                on_trial: *on_trial,
            })
            .collect()
    }
}

/// Appends one entry by the system to `audit`; the error says why not.
pub fn append(
    audit: &AuditLog,
    action: &str,
    target: &str,
    outcome: Outcome,
    reason: String,
) -> Result<(), String> {
    let event = AuditEvent::new(time::OffsetDateTime::now_utc(), "system", action)
        .target(target.to_owned())
        .outcome(outcome, Some(reason));
    audit.append(event).map(|_| ()).map_err(|e| e.to_string())
}

/// [`append`], warning on standard error when the log refuses: used where
/// the step has happened already and there is nothing left to stop.
pub fn record(audit: &AuditLog, action: &str, target: &str, outcome: Outcome, reason: String) {
    if let Err(e) = append(audit, action, target, outcome, reason) {
        eprintln!("lensguard: WARNING: cannot audit {action} of {target}: {e}");
    }
}

/// Counts this start for every release on trial, switches back those
/// that used up their starts, and returns the releases to load.
pub fn on_start(data_dir: &Path, audit: &AuditLog) -> Updates {
    let mut updates = Updates::default();
    for name in slots::names(data_dir) {
        match slots::on_start(data_dir, &name) {
            Ok(Start::SwitchedBack(trial)) => {
                let back_to = slots::active(data_dir, &name)
                    .ok()
                    .flatten()
                    .map_or("the built-in model".to_owned(), |m| m.manifest.label());
                let why = format!(
                    "{name} {} did not stay up through {} starts on trial (the detector or the service died before the trial ended); switched back to {back_to}",
                    trial.release,
                    slots::MAX_TRIAL_STARTS
                );
                eprintln!("lensguard: WARNING: {why}");
                record(
                    audit,
                    "models.rollback",
                    &format!("{name} {}", trial.release),
                    Outcome::Success,
                    why,
                );
            }
            Ok(Start::OnTrial(trial)) => {
                eprintln!(
                    "lensguard: note: {name} {} is on trial (start {} of {})",
                    trial.release,
                    trial.starts,
                    slots::MAX_TRIAL_STARTS
                );
            }
            Ok(Start::Settled) => {}
            Err(e) => eprintln!("lensguard: WARNING: model slots of {name}: {e}"),
        }
        match slots::active(data_dir, &name) {
            Ok(Some(model)) => {
                let on_trial = slots::trial(data_dir, &name).is_some();
                updates.active.push((model, on_trial));
            }
            Ok(None) => {}
            Err(e) => eprintln!(
                "lensguard: WARNING: the active {name} release is unreadable ({e}); the built-in model is used"
            ),
        }
    }
    updates
}

/// A release that would not load: switched back at once if on trial,
/// audited.
pub fn refused_at_load(
    data_dir: &Path,
    audit: &AuditLog,
    updates: &Updates,
    detector: &str,
    why: &str,
) {
    let Some((model, _)) = updates.get(detector) else {
        return;
    };
    let name = &model.manifest.name;
    let trial = slots::trial(data_dir, name);
    let reason = match trial
        .as_ref()
        .map(|t| slots::switch_back(data_dir, name, t))
    {
        Some(Ok(())) => format!(
            "{} did not load ({why}); switched back",
            model.manifest.label()
        ),
        Some(Err(e)) => format!(
            "{} did not load ({why}); switching back failed: {e}",
            model.manifest.label()
        ),
        None => format!(
            "{} did not load ({why}); the built-in model is used until it is fixed",
            model.manifest.label()
        ),
    };
    eprintln!("lensguard: WARNING: {reason}");
    record(
        audit,
        "models.rollback",
        &model.manifest.label(),
        Outcome::Failure,
        reason,
    );
}

/// After the trial period, confirms every release still on trial.
pub async fn confirm_after(data_dir: std::path::PathBuf, audit: Arc<AuditLog>, period: Duration) {
    tokio::time::sleep(period).await;
    for name in slots::names(&data_dir) {
        match slots::confirm(&data_dir, &name) {
            Ok(Some(trial)) => record(
                &audit,
                "models.confirm",
                &format!("{name} {}", trial.release),
                Outcome::Success,
                format!(
                    "the service stayed up {} s with it loaded on trial; the previous release stays in the other slot",
                    period.as_secs()
                ),
            ),
            Ok(None) => {}
            Err(e) => eprintln!("lensguard: WARNING: confirming {name}: {e}"),
        }
    }
}
