//! Verifying a repository of model bundles carried on removable media
//! (`lensguard models import DIR`): `DIR/metadata/` and `DIR/targets/` as
//! the hub publishes them.
//!
//! Invariants (see the module above): `tough` verifies on a scratch copy of
//! the accepted metadata (`<data dir>/models/tuf/`); this module adds the
//! expiry rule and reads every bundle (`bundles/<name>.json`, then each file
//! it names under `<name>/<version>/`) through `tough`, which checks each
//! target's length and SHA-256 while reading. [`Verified::accept`] alone
//! makes the scratch copy the accepted metadata.

use super::bundle::{MANIFEST, Manifest, plain, pointer};
use super::{UpdateError, trust};
use crate::common::time_text::rfc3339;
use crate::fleet::wire::ModelPlan;
use std::path::{Path, PathBuf};
use tough::{ExpirationEnforcement, FilesystemTransport, IntoVec, RepositoryLoader, TargetName};

/// How an import treats expiry.
#[derive(Debug, Clone, Copy)]
pub struct ImportRules {
    /// How long past its expiry a timestamp is still accepted on import.
    pub timestamp_window: time::Duration,
}

/// A bundle whose every byte `tough` verified, manifest included.
#[derive(Debug)]
pub struct VerifiedBundle {
    /// Its manifest.
    pub manifest: Manifest,
    /// The manifest's bytes, as signed.
    pub manifest_bytes: Vec<u8>,
    /// Its files but the manifest: name and content.
    pub files: Vec<(String, Vec<u8>)>,
}

/// The versions of the roles an import accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleVersions {
    /// root.json
    pub root: u64,
    /// targets.json
    pub targets: u64,
    /// snapshot.json
    pub snapshot: u64,
    /// timestamp.json
    pub timestamp: u64,
}

/// A verified repository, not yet accepted.
#[derive(Debug)]
pub struct Verified {
    /// Its bundles.
    pub bundles: Vec<VerifiedBundle>,
    /// Its roles' versions.
    pub versions: RoleVersions,
    /// Set when the timestamp had expired (within the window): by how much.
    pub stale_timestamp: Option<String>,
    scratch: tempfile::TempDir,
    state: PathBuf,
}

/// Where the accepted metadata is kept (a symbolic link to it).
pub fn state_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(super::DIR).join("tuf")
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> UpdateError + '_ {
    move |e| UpdateError::Io(what.display().to_string(), e)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), UpdateError> {
    if !from.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        if entry.file_type().map_err(io(from))?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).map_err(io(to))?;
        }
    }
    Ok(())
}

/// Verifies the repository in `dir` for the site whose data directory is
/// `data_dir`.
pub async fn import(
    dir: &Path,
    data_dir: &Path,
    rules: ImportRules,
    now: time::OffsetDateTime,
) -> Result<Verified, UpdateError> {
    let base = std::fs::canonicalize(dir).map_err(io(dir))?;
    let url = |sub: &str| {
        url::Url::from_directory_path(base.join(sub))
            .map_err(|()| UpdateError::Refused(format!("{} is not a usable path", dir.display())))
    };
    let source = Source {
        metadata: url("metadata")?,
        targets: url("targets")?,
        transport: FilesystemTransport,
    };
    verify(source, data_dir, rules, now, &ModelPlan::default()).await
}

/// Where a repository is read from: its metadata and targets base URLs,
/// through a `tough` transport (files, or the hub over mutual TLS).
pub struct Source<T> {
    /// Base URL of `metadata/`, ending in `/`.
    pub metadata: url::Url,
    /// Base URL of `targets/`, ending in `/`.
    pub targets: url::Url,
    /// How to fetch.
    pub transport: T,
}

/// Verifies the repository at `source` for the site whose data directory
/// is `data_dir`, and reads the bundle releases `plan` names (a detector
/// it does not name: the repository's current release; one it names with
/// no release: none).
pub async fn verify<T: tough::Transport + 'static>(
    source: Source<T>,
    data_dir: &Path,
    rules: ImportRules,
    now: time::OffsetDateTime,
    plan: &ModelPlan,
) -> Result<Verified, UpdateError> {
    let installed = trust::installed(data_dir)?;
    let state = state_dir(data_dir);
    let parent = data_dir.join(super::DIR);
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
    sweep_scratch(&parent, &state);
    let scratch = tempfile::Builder::new()
        .prefix(".tuf-import-")
        .tempdir_in(&parent)
        .map_err(io(&parent))?;
    copy_dir(&state, scratch.path())?;
    // The newest root accepted so far, else the one installed by hand.
    let trusted = match std::fs::read(scratch.path().join("root.json")) {
        Ok(b) => b,
        Err(_) => installed,
    };
    let repo = RepositoryLoader::new(&trusted, source.metadata, source.targets)
        .transport(source.transport)
        .datastore(scratch.path())
        // Expiry is checked below, with the import window for the timestamp.
        .expiration_enforcement(ExpirationEnforcement::Unsafe)
        .load()
        .await
        .map_err(|e| UpdateError::Refused(chain(&e)))?;
    let at = now.unix_timestamp();
    let check = |role: &'static str, expires: i64| {
        if expires <= at {
            Err(UpdateError::Expired {
                role,
                at: rfc3339(expires),
                what: "publish fresh metadata (an expired role could be a frozen view)",
            })
        } else {
            Ok(())
        }
    };
    check("root", repo.root().signed.expires.as_second())?;
    check("targets", repo.targets().signed.expires.as_second())?;
    check("snapshot", repo.snapshot().signed.expires.as_second())?;
    let timestamp_expires = repo.timestamp().signed.expires.as_second();
    let window = rules.timestamp_window.whole_seconds();
    let stale_timestamp = if timestamp_expires > at {
        None
    } else if timestamp_expires + window > at {
        Some(format!(
            "the timestamp expired at {} ({} h ago), within the import window of {} h",
            rfc3339(timestamp_expires),
            (at - timestamp_expires) / 3600,
            window / 3600
        ))
    } else {
        return Err(UpdateError::Expired {
            role: "timestamp",
            at: rfc3339(timestamp_expires),
            what: if window == 0 {
                "the publisher must re-sign it (a hub does so on its own: check that it runs and that its clock is right)"
            } else {
                "beyond the import window: bring a fresh copy of the repository"
            },
        });
    };
    let mut bundles = Vec::new();
    let current: Vec<TargetName> = repo
        .all_targets()
        .map(|(name, _)| name.clone())
        .filter(|n| n.raw().starts_with("bundles/") && n.raw().ends_with(".json"))
        .collect();
    for name in current {
        let detector = name
            .raw()
            .trim_start_matches("bundles/")
            .trim_end_matches(".json")
            .to_owned();
        if !plan.releases.contains_key(&detector) {
            bundles.push(read_bundle(&repo, &name, None).await?);
        }
    }
    for (detector, release) in &plan.releases {
        if let Some(version) = release {
            if !plain(detector) || !plain(version) {
                return Err(UpdateError::Bundle(
                    format!("{detector} {version}"),
                    "the plan names a release that is not plain".to_owned(),
                ));
            }
            let own = target_name(detector, &format!("{detector}/{version}/{MANIFEST}"))?;
            bundles.push(read_bundle(&repo, &own, Some((detector, version))).await?);
        }
    }
    let versions = RoleVersions {
        root: repo.root().signed.version.get(),
        targets: repo.targets().signed.version.get(),
        snapshot: repo.snapshot().signed.version.get(),
        timestamp: repo.timestamp().signed.version.get(),
    };
    Ok(Verified {
        bundles,
        versions,
        stale_timestamp,
        scratch,
        state,
    })
}

/// Every cause of `e`, joined, each said once (`tough`'s messages often
/// repeat their source's).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !out.contains(&part) {
            out.push_str(": ");
            out.push_str(&part);
        }
        source = s.source();
    }
    out
}

async fn read_target(repo: &tough::Repository, name: &TargetName) -> Result<Vec<u8>, UpdateError> {
    let stream = repo
        .read_target(name)
        .await
        .map_err(|e| UpdateError::Refused(chain(&e)))?
        .ok_or_else(|| UpdateError::Refused(format!("{} is not in targets.json", name.raw())))?;
    stream
        .into_vec()
        .await
        .map_err(|e| UpdateError::Refused(format!("{}: {}", name.raw(), chain(&e))))
}

/// Reads the bundle whose manifest is the target `manifest_name`: a
/// detector's current-release pointer (`release` is `None`), or the
/// manifest of the release `(name, version)`.
async fn read_bundle(
    repo: &tough::Repository,
    manifest_name: &TargetName,
    release: Option<(&str, &str)>,
) -> Result<VerifiedBundle, UpdateError> {
    let raw = manifest_name.raw().to_owned();
    let manifest_bytes = read_target(repo, manifest_name).await?;
    let manifest =
        Manifest::parse(&manifest_bytes).map_err(|e| UpdateError::Bundle(raw.clone(), e))?;
    let named_right = match release {
        None => pointer(&manifest.name) == raw,
        Some((name, version)) => manifest.name == name && manifest.version == version,
    };
    if !named_right {
        return Err(UpdateError::Bundle(
            raw,
            format!("it names itself {}", manifest.label()),
        ));
    }
    // The release's own copy of the manifest must be the same bytes.
    let own = target_name(&raw, &manifest.target(MANIFEST))?;
    if read_target(repo, &own).await? != manifest_bytes {
        return Err(UpdateError::Bundle(
            raw,
            format!("it differs from {}", own.raw()),
        ));
    }
    let mut files = Vec::new();
    for (file, expected) in &manifest.files {
        debug_assert!(plain(file));
        let target = target_name(&raw, &manifest.target(file))?;
        let bytes = read_target(repo, &target).await?;
        if bytes.len() as u64 != expected.length
            || trust::fingerprint(&bytes) != expected.sha256.to_ascii_lowercase()
        {
            return Err(UpdateError::Bundle(
                raw,
                format!("{file} differs from the manifest"),
            ));
        }
        files.push((file.clone(), bytes));
    }
    Ok(VerifiedBundle {
        manifest,
        manifest_bytes,
        files,
    })
}

fn target_name(bundle: &str, path: &str) -> Result<TargetName, UpdateError> {
    TargetName::new(path).map_err(|e| UpdateError::Bundle(bundle.to_owned(), e.to_string()))
}

impl Verified {
    /// Makes this import's metadata the accepted one (so a later import
    /// cannot roll it back): `models/tuf` is a symbolic link to the
    /// accepted copy, replaced by one `rename`, so a crash leaves either
    /// the old or the new metadata accepted, never neither.
    pub fn accept(self) -> Result<(), UpdateError> {
        let parent = self
            .state
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let kept = self.scratch.keep();
        let name = kept
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
            .unwrap_or_default();
        let link = parent.join("tuf.new");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&name, &link).map_err(io(&link))?;
        let old = std::fs::read_link(&self.state).ok();
        std::fs::rename(&link, &self.state).map_err(io(&self.state))?;
        std::fs::File::open(&parent)
            .and_then(|d| d.sync_all())
            .map_err(io(&parent))?;
        if let Some(old) = old.filter(|o| *o != name) {
            let _ = std::fs::remove_dir_all(parent.join(old));
        }
        Ok(())
    }
}

/// Forgets the accepted metadata (a new root of trust starts over).
pub fn forget(data_dir: &Path) -> Result<(), UpdateError> {
    let state = state_dir(data_dir);
    let target = std::fs::read_link(&state).ok();
    match std::fs::remove_file(&state) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(UpdateError::Io(state.display().to_string(), e)),
    }
    if let (Some(target), Some(parent)) = (target, state.parent()) {
        let _ = std::fs::remove_dir_all(parent.join(target));
    }
    Ok(())
}

/// Removes scratch copies a crashed import left (all but the accepted one).
fn sweep_scratch(parent: &Path, state: &Path) {
    let accepted = std::fs::read_link(state).ok();
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".tuf-import-")
            && accepted.as_deref() != Some(Path::new(&name))
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
