//! Publishing model bundles as a TUF repository, with `tough`'s editor:
//! publishing a bundle (`models publish`), pointing a bundle back at an
//! older release (`models rollback`), and re-signing the timestamp
//! (`models refresh-timestamp`, and the hub on its own). The keys and roots
//! are made and rotated in [`super::keys`].
//!
//! The repository is a directory: `metadata/` (`N.root.json` for each root
//! version and `root.json`, the newest; `targets.json`, `snapshot.json`,
//! `timestamp.json`) and `targets/`, what the hub serves and what removable
//! media carry.
//!
//! Keys are ed25519, PKCS#8 files of mode 0600: the online keys (targets,
//! snapshot, timestamp) in one directory, the root keys in another.
//!
//! Invariants:
//! - A published release (`targets/<name>/<version>/`) is never changed:
//!   publishing the same version with other bytes is refused.
//! - Every change writes the new metadata beside the old and renames it
//!   into place with the timestamp last, so a client reading during a
//!   publish sees the old repository or the new one.
//! - Versions only go up; each change signs a new targets, snapshot and
//!   timestamp version (a timestamp refresh, only a new timestamp).

use super::bundle::{MANIFEST, Manifest, pointer};
use super::{UpdateError, write_durably};
use crate::common::durable::Mode;
use aws_lc_rs::rand::SystemRandom;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::{KeyHolder, RoleType, Signed, Target, Timestamp};
use tough::{ExpirationEnforcement, FilesystemTransport, RepositoryLoader, TargetName};

/// How long each role's metadata is valid.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// root.json
    pub root: time::Duration,
    /// targets.json
    pub targets: time::Duration,
    /// snapshot.json
    pub snapshot: time::Duration,
    /// timestamp.json: short, and re-signed often.
    pub timestamp: time::Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            root: time::Duration::days(365),
            targets: time::Duration::days(90),
            snapshot: time::Duration::days(30),
            timestamp: time::Duration::days(1),
        }
    }
}

/// The online keys' directory: one file a role.
pub fn online_key(keys: &Path, role: RoleType) -> PathBuf {
    keys.join(format!("{}.pk8", role_name(role)))
}

pub(super) fn role_name(role: RoleType) -> &'static str {
    match role {
        RoleType::Root => "root",
        RoleType::Targets => "targets",
        RoleType::Snapshot => "snapshot",
        RoleType::Timestamp => "timestamp",
        _ => "other",
    }
}

pub(super) fn io(what: &Path) -> impl Fn(std::io::Error) -> UpdateError + '_ {
    move |e| UpdateError::Io(what.display().to_string(), e)
}

pub(super) fn tough_err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> UpdateError + '_ {
    move |e| UpdateError::Publisher(format!("{what}: {e}"))
}

pub(super) fn expires(now: time::OffsetDateTime, lifetime: time::Duration) -> jiff::Timestamp {
    jiff::Timestamp::from_second((now + lifetime).unix_timestamp()).unwrap_or(jiff::Timestamp::MAX)
}

pub(super) fn metadata(repo: &Path) -> PathBuf {
    repo.join("metadata")
}

pub(super) fn targets_dir(repo: &Path) -> PathBuf {
    repo.join("targets")
}

pub(super) fn sources(paths: &[PathBuf]) -> Vec<Box<dyn KeySource>> {
    paths
        .iter()
        .map(|p| Box::new(LocalKeySource { path: p.clone() }) as Box<dyn KeySource>)
        .collect()
}

/// The repository in `repo` as its own publisher reads it: verified
/// against its newest root, expiry not enforced (a publisher refreshes
/// expired metadata).
pub(super) async fn load(repo: &Path) -> Result<Option<tough::Repository>, UpdateError> {
    let meta = metadata(repo);
    if !meta.join("timestamp.json").exists() {
        return Ok(None);
    }
    let root_path = meta.join("root.json");
    let root = std::fs::read(&root_path).map_err(io(&root_path))?;
    let base = std::fs::canonicalize(repo).map_err(io(repo))?;
    let url = |sub: &str| {
        url::Url::from_directory_path(base.join(sub)).map_err(|()| {
            UpdateError::Publisher(format!("{} is not a usable path", repo.display()))
        })
    };
    let scratch = tempfile::tempdir().map_err(io(repo))?;
    let loaded = RepositoryLoader::new(&root, url("metadata")?, url("targets")?)
        .transport(FilesystemTransport)
        .datastore(scratch.path())
        .expiration_enforcement(ExpirationEnforcement::Unsafe)
        .load()
        .await
        .map_err(|e| UpdateError::Refused(e.to_string()))?;
    Ok(Some(loaded))
}

/// The versions a change signs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// targets.json
    pub targets: u64,
    /// snapshot.json
    pub snapshot: u64,
    /// timestamp.json
    pub timestamp: u64,
}

pub(super) fn next(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n.saturating_add(1)).unwrap_or(NonZeroU64::MAX)
}

/// An editor on the repository, and the versions it had.
async fn editor(
    repo: &Path,
    root_path: &Path,
) -> Result<(RepositoryEditor, Versions), UpdateError> {
    match load(repo).await? {
        Some(loaded) => {
            let had = Versions {
                targets: loaded.targets().signed.version.get(),
                snapshot: loaded.snapshot().signed.version.get(),
                timestamp: loaded.timestamp().signed.version.get(),
            };
            let editor = RepositoryEditor::from_repo(root_path, loaded)
                .await
                .map_err(tough_err("editing the repository"))?;
            Ok((editor, had))
        }
        None => {
            let editor = RepositoryEditor::new(root_path)
                .await
                .map_err(tough_err("editing the repository"))?;
            Ok((
                editor,
                Versions {
                    targets: 0,
                    snapshot: 0,
                    timestamp: 0,
                },
            ))
        }
    }
}

/// Signs the next targets, snapshot and timestamp versions and renames
/// them into place, the timestamp last.
pub(super) async fn sign_and_write(
    repo: &Path,
    mut editor: RepositoryEditor,
    had: Versions,
    keys: &Path,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<Versions, UpdateError> {
    editor
        .targets_version(next(had.targets))
        .map_err(tough_err("targets"))?
        .targets_expires(expires(now, lifetimes.targets))
        .map_err(tough_err("targets"))?
        .snapshot_version(next(had.snapshot))
        .snapshot_expires(expires(now, lifetimes.snapshot))
        .timestamp_version(next(had.timestamp))
        .timestamp_expires(expires(now, lifetimes.timestamp));
    let key_files: Vec<PathBuf> = [RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp]
        .into_iter()
        .map(|r| online_key(keys, r))
        .collect();
    let signed = editor
        .sign(&sources(&key_files))
        .await
        .map_err(tough_err("signing"))?;
    let scratch = tempfile::Builder::new()
        .prefix(".publish-")
        .tempdir_in(repo)
        .map_err(io(repo))?;
    signed
        .write(scratch.path())
        .await
        .map_err(tough_err("writing the metadata"))?;
    let meta = metadata(repo);
    for name in ["targets.json", "snapshot.json", "timestamp.json"] {
        let bytes = std::fs::read(scratch.path().join(name)).map_err(io(scratch.path()))?;
        write_durably(&meta.join(name), &bytes, Mode::Public)?;
    }
    Ok(Versions {
        targets: had.targets + 1,
        snapshot: had.snapshot + 1,
        timestamp: had.timestamp + 1,
    })
}

async fn add_target(
    editor: &mut RepositoryEditor,
    repo: &Path,
    name: &str,
) -> Result<(), UpdateError> {
    let path = targets_dir(repo).join(name);
    let target = Target::from_path(&path)
        .await
        .map_err(tough_err("reading a target"))?;
    let name = TargetName::new(name).map_err(tough_err("naming a target"))?;
    editor
        .add_target(name, target)
        .map_err(tough_err("adding a target"))?;
    Ok(())
}

/// What a publish or rollback made current.
#[derive(Debug)]
pub struct Published {
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// The versions signed.
    pub versions: Versions,
}

/// Publishes the bundle in `bundle_dir` (its `bundle.json` without
/// `files`, and the files it names) as the current release of its name.
pub async fn publish(
    repo: &Path,
    keys: &Path,
    bundle_dir: &Path,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<Published, UpdateError> {
    let (manifest, manifest_bytes) = super::bundle::from_source(bundle_dir)?;
    let release = targets_dir(repo)
        .join(&manifest.name)
        .join(&manifest.version);
    if release.exists() {
        let same =
            std::fs::read(release.join(MANIFEST)).ok().as_deref() == Some(&manifest_bytes[..]);
        return Err(UpdateError::Publisher(format!(
            "{} is published already{}; a published release is never changed, so give this one a new version",
            manifest.label(),
            if same {
                " with these files"
            } else {
                " with other files"
            }
        )));
    }
    let root_path = metadata(repo).join("root.json");
    let (mut editor, had) = editor(repo, &root_path).await?;
    // The release's files, then the pointer to it.
    let staging = targets_dir(repo).join(format!(".{}-{}", manifest.name, manifest.version));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    for file in manifest.files.keys() {
        std::fs::copy(bundle_dir.join(file), staging.join(file)).map_err(io(bundle_dir))?;
    }
    write_durably(&staging.join(MANIFEST), &manifest_bytes, Mode::Public)?;
    std::fs::create_dir_all(release.parent().unwrap_or(repo)).map_err(io(repo))?;
    std::fs::rename(&staging, &release).map_err(io(&release))?;
    for file in manifest
        .files
        .keys()
        .chain(std::iter::once(&MANIFEST.to_owned()))
    {
        add_target(&mut editor, repo, &manifest.target(file)).await?;
    }
    set_pointer(&mut editor, repo, &manifest.name, &manifest_bytes).await?;
    let versions = sign_and_write(repo, editor, had, keys, lifetimes, now).await?;
    Ok(Published { manifest, versions })
}

async fn set_pointer(
    editor: &mut RepositoryEditor,
    repo: &Path,
    name: &str,
    manifest_bytes: &[u8],
) -> Result<(), UpdateError> {
    let path = targets_dir(repo).join(pointer(name));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    write_durably(&path, manifest_bytes, Mode::Public)?;
    add_target(editor, repo, &pointer(name)).await
}

/// Points `name` back at its published release `version`: a new targets
/// version whose pointer is that release's manifest.
pub async fn rollback(
    repo: &Path,
    keys: &Path,
    name: &str,
    version: &str,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<Published, UpdateError> {
    let root_path = metadata(repo).join("root.json");
    let (mut editor, had) = editor(repo, &root_path).await?;
    let loaded = load(repo)
        .await?
        .ok_or_else(|| UpdateError::Publisher("nothing was published yet".into()))?;
    let own = format!("{name}/{version}/{MANIFEST}");
    let target = TargetName::new(own.clone()).map_err(tough_err("naming a target"))?;
    let stream = loaded
        .read_target(&target)
        .await
        .map_err(|e| UpdateError::Publisher(format!("{own}: {e}")))?
        .ok_or_else(|| {
            UpdateError::Publisher(format!(
                "{name} {version} was never published here (no signed {own})"
            ))
        })?;
    let bytes = tough::IntoVec::into_vec(stream)
        .await
        .map_err(|e| UpdateError::Publisher(format!("{own}: {e}")))?;
    let manifest = Manifest::parse(&bytes).map_err(|e| UpdateError::Bundle(own.clone(), e))?;
    set_pointer(&mut editor, repo, name, &bytes).await?;
    let versions = sign_and_write(repo, editor, had, keys, lifetimes, now).await?;
    Ok(Published { manifest, versions })
}

/// Signs a new timestamp version over the same snapshot; returns its
/// version. Needs only the timestamp key.
pub async fn refresh_timestamp(
    repo: &Path,
    keys: &Path,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<u64, UpdateError> {
    let loaded = load(repo)
        .await?
        .ok_or_else(|| UpdateError::Publisher("nothing was published yet".into()))?;
    let old = &loaded.timestamp().signed;
    let timestamp = Timestamp {
        spec_version: old.spec_version.clone(),
        version: next(old.version.get()),
        expires: expires(now, lifetimes.timestamp),
        meta: old.meta.clone(),
        _extra: old._extra.clone(),
    };
    let root = loaded.root().signed.clone();
    let signed = SignedRole::new(
        timestamp,
        &KeyHolder::Root(root),
        &sources(&[online_key(keys, RoleType::Timestamp)]),
        &SystemRandom::new(),
    )
    .await
    .map_err(tough_err("signing the timestamp"))?;
    write_durably(
        &metadata(repo).join("timestamp.json"),
        signed.buffer(),
        Mode::Public,
    )?;
    Ok(signed.signed().signed.version.get())
}

/// Whether the timestamp has used up half its life (or cannot be read),
/// and so is due to be re-signed.
pub fn timestamp_due(repo: &Path, lifetimes: Lifetimes, now: time::OffsetDateTime) -> bool {
    let path = metadata(repo).join("timestamp.json");
    let Ok(bytes) = std::fs::read(&path) else {
        return false;
    };
    let Ok(ts) = serde_json::from_slice::<Signed<Timestamp>>(&bytes) else {
        return true;
    };
    ts.signed.expires.as_second() - now.unix_timestamp() < lifetimes.timestamp.whole_seconds() / 2
}

#[cfg(test)]
mod tests {
    use super::super::keys::init;
    use super::*;

    /// A bundle directory whose files are stand-ins (publishing does not
    /// run the known-answer test).
    fn bundle(dir: &Path, version: &str) -> PathBuf {
        let b = dir.join(format!("bundle-{version}"));
        std::fs::create_dir_all(&b).unwrap();
        for f in ["m.onnx", "card.md", "in.png"] {
            std::fs::write(b.join(f), format!("{f} {version}")).unwrap();
        }
        let manifest = serde_json::json!({
            "name": "faces", "version": version, "format": "centerface",
            "model": "m.onnx", "card": "card.md", "requires": {"lensguard": "0.1.0"},
            "known_answer": {"input": "in.png", "threshold": 0.5, "min_iou": 0.5, "expected": []}
        });
        std::fs::write(b.join("bundle.json"), manifest.to_string()).unwrap();
        b
    }

    /// A new repository with one root key: (its directory, the repository,
    /// the online keys).
    async fn new_repository() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let (repo, keys) = (dir.path().join("repo"), dir.path().join("keys"));
        let now = time::OffsetDateTime::now_utc();
        init(
            &repo,
            &keys,
            &dir.path().join("root"),
            1,
            1,
            Lifetimes::default(),
            now,
        )
        .await
        .unwrap();
        (dir, repo, keys)
    }

    #[tokio::test]
    async fn the_timestamp_is_due_at_half_its_life_and_refreshing_signs_a_new_version() {
        let (dir, repo, keys) = new_repository().await;
        let now = time::OffsetDateTime::now_utc();
        let life = Lifetimes::default();
        assert!(!timestamp_due(&repo, life, now), "nothing published yet");
        let done = publish(&repo, &keys, &bundle(dir.path(), "1"), life, now)
            .await
            .unwrap();
        assert_eq!(done.versions.timestamp, 1);
        assert!(!timestamp_due(&repo, life, now + time::Duration::hours(11)));
        let later = now + time::Duration::hours(13);
        assert!(timestamp_due(&repo, life, later));
        assert_eq!(
            refresh_timestamp(&repo, &keys, life, later).await.unwrap(),
            2
        );
        assert!(!timestamp_due(&repo, life, later));
        // A published release is never changed.
        let again = publish(&repo, &keys, &bundle(dir.path(), "1"), life, later).await;
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn a_rollback_needs_a_release_published_before() {
        let (dir, repo, keys) = new_repository().await;
        let now = time::OffsetDateTime::now_utc();
        let life = Lifetimes::default();
        publish(&repo, &keys, &bundle(dir.path(), "1"), life, now)
            .await
            .unwrap();
        publish(&repo, &keys, &bundle(dir.path(), "2"), life, now)
            .await
            .unwrap();
        let missing = rollback(&repo, &keys, "faces", "7", life, now).await;
        assert!(missing.unwrap_err().to_string().contains("never published"));
        let back = rollback(&repo, &keys, "faces", "1", life, now)
            .await
            .unwrap();
        assert_eq!(back.manifest.version, "1");
        assert_eq!(
            back.versions.targets, 3,
            "a rollback is a new targets version"
        );
    }
}
