//! The two slots each updatable detector has on an edge, and switching
//! between them: `<data dir>/models/slots/<name>/{a,b}/`, the symbolic link
//! `active` naming the slot in use, and `trial.json` while a newly
//! activated release is on trial.
//!
//! Invariants:
//! - A slot is complete when its `bundle.json` is there: staging writes
//!   and syncs every file first and the manifest last, so a crash while
//!   staging leaves an incomplete slot that is never made active.
//! - Only the inactive slot is ever written; the active one, and with it
//!   the previous release, stays as it is until the next update.
//! - `active` is replaced by one `rename`, after `trial.json` was written:
//!   a crash at any step leaves the old release or the new one active
//!   (or none, and so the built-in pinned model), never a partial one.
//! - A release on trial that has not been confirmed after
//!   [`MAX_TRIAL_STARTS`] starts of the service (each start that did not
//!   reach confirmation died, for example because the model crashed the
//!   detector) is switched back to the previous slot before any detector
//!   loads it again.

use super::bundle::{MANIFEST, MAX_MANIFEST_BYTES, Manifest};
use super::verify::VerifiedBundle;
use super::{UpdateError, write_durably};
use crate::common::crash_point;
use crate::common::durable::Mode;
use lensguard_vision::models::SignedPin;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Starts of the service a release on trial gets before it is switched back.
pub const MAX_TRIAL_STARTS: u32 = 2;

const SLOTS: [&str; 2] = ["a", "b"];

/// The slots of detector `name`.
pub fn dir(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join(super::DIR).join("slots").join(name)
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> UpdateError + '_ {
    move |e| UpdateError::Io(what.display().to_string(), e)
}

fn sync_dir(dir: &Path) -> Result<(), UpdateError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

/// The slot `active` names, if any.
fn active_slot(slots: &Path) -> Option<&'static str> {
    let target = std::fs::read_link(slots.join("active")).ok()?;
    SLOTS.into_iter().find(|s| target == Path::new(s))
}

/// Points `active` at `slot` by one rename (or removes it for `None`).
fn point(slots: &Path, slot: Option<&str>) -> Result<(), UpdateError> {
    let active = slots.join("active");
    match slot {
        Some(slot) => {
            let next = slots.join("active.next");
            let _ = std::fs::remove_file(&next);
            std::os::unix::fs::symlink(slot, &next).map_err(io(&next))?;
            std::fs::rename(&next, &active).map_err(io(&active))?;
        }
        None => match std::fs::remove_file(&active) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(UpdateError::Io(active.display().to_string(), e)),
        },
    }
    sync_dir(slots)
}

/// A complete slot's manifest.
fn manifest_in(slot_dir: &Path) -> Result<Manifest, UpdateError> {
    let path = slot_dir.join(MANIFEST);
    let bytes = crate::inputs::read_limited(&path, MAX_MANIFEST_BYTES)
        .map_err(|e| UpdateError::Bundle(path.display().to_string(), e.to_string()))?;
    Manifest::parse(&bytes).map_err(|e| UpdateError::Bundle(path.display().to_string(), e))
}

/// A release in a complete slot: its manifest, as verified when it was
/// staged, is the pin of its files.
#[derive(Debug, Clone)]
pub struct SlotModel {
    /// The slot's directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl SlotModel {
    /// The release in `slot_dir`, if the slot is complete.
    pub fn read(slot_dir: &Path) -> Result<SlotModel, UpdateError> {
        Ok(SlotModel {
            dir: slot_dir.to_path_buf(),
            manifest: manifest_in(slot_dir)?,
        })
    }

    /// The model file's path.
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.model)
    }

    /// The pin the model file is loaded against: the SHA-256 its signed
    /// metadata named.
    pub fn pin(&self) -> SignedPin {
        SignedPin {
            sha256: self
                .manifest
                .files
                .get(&self.manifest.model)
                .map(|f| f.sha256.clone())
                .unwrap_or_default(),
            release: self.manifest.version.clone(),
        }
    }
}

/// The release of `name` in use, or `None` for the built-in model.
pub fn active(data_dir: &Path, name: &str) -> Result<Option<SlotModel>, UpdateError> {
    let slots = dir(data_dir, name);
    match active_slot(&slots) {
        Some(slot) => SlotModel::read(&slots.join(slot)).map(Some),
        None => Ok(None),
    }
}

/// A release written into the inactive slot, not yet active.
#[derive(Debug)]
pub struct Staged {
    slots: PathBuf,
    slot: &'static str,
    previous: Option<&'static str>,
    /// The staged release.
    pub model: SlotModel,
}

/// Writes `bundle` into the inactive slot of its detector; the active slot
/// is not touched.
pub fn stage(data_dir: &Path, bundle: &VerifiedBundle) -> Result<Staged, UpdateError> {
    let slots = dir(data_dir, &bundle.manifest.name);
    std::fs::create_dir_all(&slots).map_err(io(&slots))?;
    let previous = active_slot(&slots);
    let slot = if previous == Some("a") { "b" } else { "a" };
    let slot_dir = slots.join(slot);
    match std::fs::remove_dir_all(&slot_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(UpdateError::Io(slot_dir.display().to_string(), e)),
    }
    std::fs::create_dir_all(&slot_dir).map_err(io(&slot_dir))?;
    for (file, bytes) in &bundle.files {
        write_durably(&slot_dir.join(file), bytes, Mode::Private)?;
    }
    crash_point::hit("models.staging");
    write_durably(
        &slot_dir.join(MANIFEST),
        &bundle.manifest_bytes,
        Mode::Private,
    )?;
    sync_dir(&slots)?;
    crash_point::hit("models.staged");
    Ok(Staged {
        model: SlotModel::read(&slot_dir)?,
        slots,
        slot,
        previous,
    })
}

/// The record of a release on trial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    /// The slot on trial.
    pub slot: String,
    /// The slot to switch back to (`None`: the built-in model).
    pub previous: Option<String>,
    /// The release on trial.
    pub release: String,
    /// Starts of the service since it was activated.
    pub starts: u32,
}

fn trial_path(slots: &Path) -> PathBuf {
    slots.join("trial.json")
}

fn read_trial(slots: &Path) -> Option<Trial> {
    let bytes = std::fs::read(trial_path(slots)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn write_trial(slots: &Path, trial: &Trial) -> Result<(), UpdateError> {
    let bytes = serde_json::to_vec(trial).unwrap_or_default();
    write_durably(&trial_path(slots), &bytes, Mode::Private)
}

fn end_trial(slots: &Path) -> Result<(), UpdateError> {
    let path = trial_path(slots);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_dir(slots),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UpdateError::Io(path.display().to_string(), e)),
    }
}

impl Staged {
    /// Makes the staged release active, on trial; the previous one stays
    /// in the other slot to switch back to. Returns the previous release.
    pub fn activate(self) -> Result<Option<String>, UpdateError> {
        let previous_release = match self.previous {
            Some(p) => SlotModel::read(&self.slots.join(p))
                .ok()
                .map(|m| m.manifest.version),
            None => None,
        };
        write_trial(
            &self.slots,
            &Trial {
                slot: self.slot.to_owned(),
                previous: self.previous.map(str::to_owned),
                release: self.model.manifest.version.clone(),
                starts: 0,
            },
        )?;
        crash_point::hit("models.trial");
        point(&self.slots, Some(self.slot))?;
        crash_point::hit("models.switched");
        Ok(previous_release)
    }
}

/// What a start of the service found for one detector.
#[derive(Debug, PartialEq, Eq)]
pub enum Start {
    /// No release on trial.
    Settled,
    /// A release on trial, now at this many starts.
    OnTrial(Trial),
    /// A release on trial was switched back: it did not survive
    /// [`MAX_TRIAL_STARTS`] starts.
    SwitchedBack(Trial),
}

/// Counts a start of the service for detector `name`, before its model is
/// loaded; switches back a release that used up its trial starts.
pub fn on_start(data_dir: &Path, name: &str) -> Result<Start, UpdateError> {
    let slots = dir(data_dir, name);
    let Some(mut trial) = read_trial(&slots) else {
        return Ok(Start::Settled);
    };
    if active_slot(&slots) != Some(trial.slot.as_str()) {
        // A crash between writing the trial and switching: nothing changed.
        end_trial(&slots)?;
        return Ok(Start::Settled);
    }
    if trial.starts >= MAX_TRIAL_STARTS {
        switch_back(data_dir, name, &trial)?;
        return Ok(Start::SwitchedBack(trial));
    }
    trial.starts += 1;
    write_trial(&slots, &trial)?;
    Ok(Start::OnTrial(trial))
}

fn rejected_path(slots: &Path) -> PathBuf {
    slots.join("rejected.json")
}

/// The releases of `name` switched back on this edge: never activated
/// again here (a fixed model comes as a new release).
pub fn rejected(data_dir: &Path, name: &str) -> Vec<String> {
    std::fs::read(rejected_path(&dir(data_dir, name)))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Switches detector `name` back from the release on `trial`, and
/// remembers that release as rejected.
pub fn switch_back(data_dir: &Path, name: &str, trial: &Trial) -> Result<(), UpdateError> {
    let slots = dir(data_dir, name);
    let mut rejected = rejected(data_dir, name);
    if !rejected.contains(&trial.release) {
        rejected.push(trial.release.clone());
        let bytes = serde_json::to_vec(&rejected).unwrap_or_default();
        write_durably(&rejected_path(&slots), &bytes, Mode::Private)?;
    }
    let previous = trial
        .previous
        .as_deref()
        .and_then(|p| SLOTS.into_iter().find(|s| *s == p))
        .filter(|p| SlotModel::read(&slots.join(p)).is_ok());
    point(&slots, previous)?;
    end_trial(&slots)
}

/// Ends the trial of detector `name`: the release stays. Returns it, if
/// one was on trial.
pub fn confirm(data_dir: &Path, name: &str) -> Result<Option<Trial>, UpdateError> {
    let slots = dir(data_dir, name);
    let trial = read_trial(&slots);
    end_trial(&slots)?;
    Ok(trial)
}

/// The release of `name` on trial, if any.
pub fn trial(data_dir: &Path, name: &str) -> Option<Trial> {
    read_trial(&dir(data_dir, name))
}

/// The names of the detectors that have slots.
pub fn names(data_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(data_dir.join(super::DIR).join("slots"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}
