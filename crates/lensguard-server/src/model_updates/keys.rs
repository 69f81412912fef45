//! The keys and roots of a model repository: making the keys and the
//! first root (`lensguard models keys init`) and replacing a role's key
//! through a new root version (`models keys rotate`). The root keys live
//! in their own directory, meant to stay offline: only these two read it.

use super::publish::{
    Lifetimes, Versions, expires, io, load, metadata, next, online_key, role_name, sign_and_write,
    sources, targets_dir, tough_err,
};
use super::{UpdateError, write_durably};
use crate::common::durable::Mode;
use aws_lc_rs::rand::SystemRandom;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use tough::editor::RepositoryEditor;
use tough::editor::signed::SignedRole;
use tough::key_source::{KeySource, LocalKeySource};
use tough::schema::{KeyHolder, RoleKeys, RoleType, Root, Signed};

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
    write_durably(path, doc.as_ref(), Mode::Private)
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
    write_durably(&numbered, bytes, Mode::Public)?;
    write_durably(&meta.join("root.json"), bytes, Mode::Public)
}

/// What a rotation made.
#[derive(Debug)]
pub struct Rotated {
    /// The new root's version.
    pub version: u64,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Whether there was published metadata to sign anew.
    pub resigned: bool,
}

/// Replaces the key of `role` (targets, snapshot or timestamp) with a new
/// one through a new root version signed by the root keys, then signs the
/// role's metadata anew. The old key file is moved to `revoked/`.
pub async fn rotate(
    repo: &Path,
    keys: &Path,
    root_keys: &Path,
    role: RoleType,
    lifetimes: Lifetimes,
    now: time::OffsetDateTime,
) -> Result<Rotated, UpdateError> {
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
    let resigned = loaded.is_some();
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
    Ok(Rotated {
        version,
        fingerprint: super::trust::fingerprint(signed.buffer()),
        resigned,
    })
}
