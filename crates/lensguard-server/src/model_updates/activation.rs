//! Activating a verified release on an edge, the same way whether it came
//! from removable media (`lensguard models import`) or from the hub (the
//! service's update round): skip one that is active already or was
//! switched back here before, stage it into the inactive slot, run its
//! known-answer test in a child process, and only if it passed make it the
//! active slot, on trial. Each outcome is audited before it takes effect.

use super::UpdateError;
use super::known_answer;
use super::slots;
use super::verify::VerifiedBundle;
use lensguard_store::audit::Outcome;
use std::path::Path;

/// What became of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// It was active already.
    Already,
    /// It is active now, on trial; the reason says what it replaced.
    Activated(String),
    /// It was not activated; the reason says why.
    Refused(String),
}

/// Writes one audit entry (action, target, outcome, reason); an error
/// stops the activation before anything changes.
pub type Recorder<'a> = &'a dyn Fn(&str, &str, Outcome, String) -> Result<(), String>;

/// Activates `bundle` on the edge whose data directory is `data_dir`, its
/// known-answer test run on the runtime of `models_dir`.
pub fn activate(
    data_dir: &Path,
    bundle: &VerifiedBundle,
    models_dir: &Path,
    record: Recorder<'_>,
) -> Result<Activation, UpdateError> {
    let label = bundle.manifest.label();
    let name = &bundle.manifest.name;
    let audit = |outcome, reason: &str| {
        record("models.activate", &label, outcome, reason.to_owned()).map_err(UpdateError::Audit)
    };
    let running = slots::active(data_dir, name).ok().flatten();
    if running
        .as_ref()
        .is_some_and(|m| m.manifest.version == bundle.manifest.version)
    {
        return Ok(Activation::Already);
    }
    if slots::rejected(data_dir, name).contains(&bundle.manifest.version) {
        let reason = "not activated: this release was switched back on this edge before (it failed on trial); a fixed model comes as a new release";
        audit(Outcome::Failure, reason)?;
        return Ok(Activation::Refused(reason.to_owned()));
    }
    let staged = slots::stage(data_dir, bundle)?;
    if let Err(why) = known_answer::in_child(&staged.model.dir, models_dir) {
        let reason = format!("not activated: the known-answer test failed: {why}");
        audit(Outcome::Failure, &reason)?;
        return Ok(Activation::Refused(reason));
    }
    let previous = running.map_or("the built-in model".to_owned(), |m| m.manifest.label());
    let reason = format!(
        "known-answer test passed; replaces {previous}, kept in the other slot; on trial until the service ran it {} s, switched back if it does not stay up through {} starts",
        super::service::trial_period().as_secs(),
        slots::MAX_TRIAL_STARTS
    );
    audit(Outcome::Success, &reason)?;
    staged.activate()?;
    Ok(Activation::Activated(reason))
}
