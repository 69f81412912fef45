//! Publishing model bundles as a TUF repository, with `tough`'s editor:
//! creating the keys and the first root (`lensguard models keys init`),
//! rotating a role's key through a new root version (`models keys
//! rotate`), publishing a bundle (`models publish`), pointing a bundle back
//! at an older release (`models rollback`), and re-signing the timestamp
//! (`models refresh-timestamp`, and the hub on its own).
//!
//! The repository is a directory: `metadata/` (`N.root.json` for each root
//! version and `root.json`, the newest; `targets.json`, `snapshot.json`,
//! `timestamp.json`) and `targets/`, what the hub serves and what removable
//! media carry.
//!
//! Keys are ed25519, PKCS#8 files of mode 0600. The root keys live in their
//! own directory, meant to stay offline: only `keys init` and `keys rotate`
//! read them. The online keys (targets, snapshot, timestamp) live in
//! another.
//!
//! Invariants:
//! - A published release (`targets/<name>/<version>/`) is never changed:
//!   publishing the same version with other bytes is refused.
//! - Every change writes the new metadata beside the old and renames it
//!   into place with the timestamp last, so a client reading during a
//!   publish sees the old repository or the new one.
//! - Versions only go up; each change signs a new targets, snapshot and
//!   timestamp version (a timestamp refresh, only a new timestamp).

use super::UpdateError;
use super::bundle::{MANIFEST, Manifest, pointer};
use aws_lc_rs::rand::SystemRandom;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::{KeyHolder, RoleKeys, RoleType, Root, Signed, Target, Timestamp};
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

fn role_name(role: RoleType) -> &'static str {
    match role {
        RoleType::Root => "root",
        RoleType::Targets => "targets",
        RoleType::Snapshot => "snapshot",
        RoleType::Timestamp => "timestamp",
        _ => "other",
    }
}

fn io(what: &Path) -> impl Fn(std::io::Error) -> UpdateError + '_ {
    move |e| UpdateError::Io(what.display().to_string(), e)
}

fn tough_err<E: std::fmt::Display>(what: &str) -> impl Fn(E) -> UpdateError + '_ {
    move |e| UpdateError::Publisher(format!("{what}: {e}"))
}

/// Writes a file only its owner reads.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    crate::data_dir::write_private(path, bytes).map_err(|e| {
        UpdateError::Io(
            path.display().to_string(),
            std::io::Error::other(e.to_string()),
        )
    })
}

fn expires(now: time::OffsetDateTime, lifetime: time::Duration) -> jiff::Timestamp {
    jiff::Timestamp::from_second((now + lifetime).unix_timestamp()).unwrap_or(jiff::Timestamp::MAX)
}

fn metadata(repo: &Path) -> PathBuf {
    repo.join("metadata")
}

fn targets_dir(repo: &Path) -> PathBuf {
    repo.join("targets")
}

/// Writes a new private key file (ed25519, PKCS#8), refusing to overwrite.
fn new_key(path: &Path) -> Result<(), UpdateError> {
    let rng = SystemRandom::new();
    let doc = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| UpdateError::Publisher("the system could not generate a key".into()))?;
    if path.exists() {
        return Err(UpdateError::Publisher(format!(
            "{} exists already; keys are never overwritten",
            path.display()
        )));
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    write_private(path, doc.as_ref())
}

fn sources(paths: &[PathBuf]) -> Vec<Box<dyn KeySource>> {
    paths
        .iter()
        .map(|p| Box::new(LocalKeySource { path: p.clone() }) as Box<dyn KeySource>)
        .collect()
}

async fn public_key(path: &Path) -> Result<tough::schema::key::Key, UpdateError> {
    let source = LocalKeySource {
        path: path.to_path_buf(),
    };
    let sign = source
        .as_sign()
        .await
        .map_err(|e| UpdateError::Publisher(format!("{}: {e}", path.display())))?;
    Ok(sign.tuf_key())
}

/// The root key files in `root_keys` (`root-N.pk8`), in order.
pub fn root_key_files(root_keys: &Path) -> Result<Vec<PathBuf>, UpdateError> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root_keys)
        .map_err(io(root_keys))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("root-") && n.ends_with(".pk8"))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// What `keys init` made.
#[derive(Debug)]
pub struct Initialised {
    /// The first root's file.
    pub root: PathBuf,
    /// Its fingerprint (SHA-256 of the file).
    pub fingerprint: String,
}

/// Makes the keys and the first root of a new repository in `repo`.
pub async fn init(
    repo: &Path,
    keys: &Path,
    root_keys: &Path,
    root_count: u8,
    root_threshold: u8,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<Initialised, UpdateError> {
    if root_threshold == 0 || root_threshold > root_count {
        return Err(UpdateError::Publisher(format!(
            "a threshold of {root_threshold} of {root_count} root keys cannot be met"
        )));
    }
    if metadata(repo).join("1.root.json").exists() {
        return Err(UpdateError::Publisher(format!(
            "{} holds a repository already",
            repo.display()
        )));
    }
    let root_files: Vec<PathBuf> = (1..=root_count)
        .map(|i| root_keys.join(format!("root-{i}.pk8")))
        .collect();
    for f in &root_files {
        new_key(f)?;
    }
    for role in [RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp] {
        new_key(&online_key(keys, role))?;
    }
    let mut root = Root {
        spec_version: "1.0.0".to_owned(),
        consistent_snapshot: false,
        version: NonZeroU64::MIN,
        expires: expires(now, lifetimes.root),
        keys: HashMap::new(),
        roles: HashMap::new(),
        _extra: HashMap::new(),
    };
    set_role(&mut root, RoleType::Root, &root_files, root_threshold).await?;
    for role in [RoleType::Targets, RoleType::Snapshot, RoleType::Timestamp] {
        set_role(&mut root, role, &[online_key(keys, role)], 1).await?;
    }
    let signed = SignedRole::new(
        root.clone(),
        &KeyHolder::Root(root),
        &sources(&root_files),
        &SystemRandom::new(),
    )
    .await
    .map_err(tough_err("signing the root"))?;
    let meta = metadata(repo);
    std::fs::create_dir_all(&meta).map_err(io(&meta))?;
    std::fs::create_dir_all(targets_dir(repo)).map_err(io(repo))?;
    write_root(&meta, signed.buffer(), 1)?;
    Ok(Initialised {
        root: meta.join("1.root.json"),
        fingerprint: super::trust::fingerprint(signed.buffer()),
    })
}

/// Makes `files` the keys of `role`, with `threshold`, dropping the keys
/// it had that no other role uses.
async fn set_role(
    root: &mut Root,
    role: RoleType,
    files: &[PathBuf],
    threshold: u8,
) -> Result<(), UpdateError> {
    let mut ids = Vec::new();
    for f in files {
        let key = public_key(f).await?;
        let id = key.key_id().map_err(tough_err("computing a key id"))?;
        root.keys.insert(id.clone(), key);
        ids.push(id);
    }
    let old = root.roles.insert(
        role,
        RoleKeys {
            keyids: ids,
            threshold: NonZeroU64::new(u64::from(threshold)).unwrap_or(NonZeroU64::MIN),
            _extra: HashMap::new(),
        },
    );
    for id in old.map(|o| o.keyids).unwrap_or_default() {
        if !root.roles.values().any(|r| r.keyids.contains(&id)) {
            root.keys.remove(&id);
        }
    }
    Ok(())
}

/// Writes root `version` as `N.root.json`, then `root.json` (the newest).
fn write_root(meta: &Path, bytes: &[u8], version: u64) -> Result<(), UpdateError> {
    let numbered = meta.join(format!("{version}.root.json"));
    if numbered.exists() {
        return Err(UpdateError::Publisher(format!(
            "{} exists already",
            numbered.display()
        )));
    }
    replace_file(&numbered, bytes)?;
    replace_file(&meta.join("root.json"), bytes)
}

/// Writes `bytes` to `path` by a rename, synced.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), UpdateError> {
    use std::io::Write;
    let next = path.with_extension("json.next");
    let mut f = std::fs::File::create(&next).map_err(io(&next))?;
    f.write_all(bytes).map_err(io(&next))?;
    f.sync_all().map_err(io(&next))?;
    std::fs::rename(&next, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

/// The repository in `repo` as its own publisher reads it: verified
/// against its newest root, expiry not enforced (a publisher refreshes
/// expired metadata).
async fn load(repo: &Path) -> Result<Option<tough::Repository>, UpdateError> {
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

fn next(n: u64) -> NonZeroU64 {
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
async fn sign_and_write(
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
        replace_file(&meta.join(name), &bytes)?;
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
    write_private(&staging.join(MANIFEST), &manifest_bytes)?;
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
    replace_file(&path, manifest_bytes)?;
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
    replace_file(&metadata(repo).join("timestamp.json"), signed.buffer())?;
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

/// Replaces the key of `role` (targets, snapshot or timestamp) with a new
/// one through a new root version signed by the root keys, then signs the
/// role's metadata anew. The old key file is moved to `revoked/`. Returns
/// the new root's version and fingerprint.
pub async fn rotate(
    repo: &Path,
    keys: &Path,
    root_keys: &Path,
    role: RoleType,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<(u64, String), UpdateError> {
    if role == RoleType::Root {
        return Err(UpdateError::Publisher(
            "rotating the root keys is not built yet; rotate targets, snapshot or timestamp".into(),
        ));
    }
    let meta = metadata(repo);
    let root_path = meta.join("root.json");
    let old: Signed<Root> =
        serde_json::from_slice(&std::fs::read(&root_path).map_err(io(&root_path))?)
            .map_err(|e| UpdateError::NotARoot(root_path.display().to_string(), e.to_string()))?;
    // Read the repository under the old root before the new one exists.
    let loaded = load(repo).await?;
    let current = online_key(keys, role);
    let revoked =
        keys.join("revoked")
            .join(format!("{}-v{}.pk8", role_name(role), old.signed.version));
    let fresh = keys.join(format!(".{}.new.pk8", role_name(role)));
    let _ = std::fs::remove_file(&fresh);
    new_key(&fresh)?;
    let mut root = old.signed.clone();
    root.version = next(root.version.get());
    root.expires = expires(now, lifetimes.root);
    set_role(&mut root, role, std::slice::from_ref(&fresh), 1).await?;
    let root_files = root_key_files(root_keys)?;
    let signed = SignedRole::new(
        root.clone(),
        &KeyHolder::Root(root.clone()),
        &sources(&root_files),
        &SystemRandom::new(),
    )
    .await
    .map_err(tough_err("signing the new root"))?;
    // The new root is written aside first: the editor signs under it.
    let scratch = tempfile::tempdir_in(repo).map_err(io(repo))?;
    let new_root_path = scratch.path().join("root.json");
    std::fs::write(&new_root_path, signed.buffer()).map_err(io(&new_root_path))?;
    std::fs::create_dir_all(keys.join("revoked")).map_err(io(keys))?;
    std::fs::rename(&current, &revoked).map_err(io(&current))?;
    std::fs::rename(&fresh, &current).map_err(io(&current))?;
    let version = root.version.get();
    write_root(&meta, signed.buffer(), version)?;
    if let Some(loaded) = loaded {
        let had = Versions {
            targets: loaded.targets().signed.version.get(),
            snapshot: loaded.snapshot().signed.version.get(),
            timestamp: loaded.timestamp().signed.version.get(),
        };
        let editor = RepositoryEditor::from_repo(&new_root_path, loaded)
            .await
            .map_err(tough_err("editing the repository"))?;
        sign_and_write(repo, editor, had, keys, lifetimes, now).await?;
    }
    Ok((version, super::trust::fingerprint(signed.buffer())))
}

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn the_timestamp_is_due_at_half_its_life_and_refreshing_signs_a_new_version() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, keys, root_keys) = (
            dir.path().join("repo"),
            dir.path().join("keys"),
            dir.path().join("root"),
        );
        let now = time::OffsetDateTime::now_utc();
        let life = Lifetimes::default();
        init(&repo, &keys, &root_keys, 1, 1, life, now)
            .await
            .unwrap();
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
        let dir = tempfile::tempdir().unwrap();
        let (repo, keys, root_keys) = (
            dir.path().join("repo"),
            dir.path().join("keys"),
            dir.path().join("root"),
        );
        let now = time::OffsetDateTime::now_utc();
        let life = Lifetimes::default();
        init(&repo, &keys, &root_keys, 1, 1, life, now)
            .await
            .unwrap();
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
