//! A watched folder (`[[sources.folder]]`): industrial cameras and scanners
//! drop files into it (FTP, SMB); each file is inspected through the intake
//! exactly once, then deleted (the default) or moved.
//!
//! A file is taken when it is complete: unchanged (inode, size,
//! modification time) for the settle time. Before it is processed, the
//! claim (the file as found, and the inspection id it will get) is recorded
//! durably in the database (`source_claims`); the result is stored under
//! that id with the id as its idempotency key, so a crash at any point
//! neither loses the file nor inspects it twice: on start the source
//! resumes its claims first (`lensguard_store::db::Claim`).
//!
//! - An undecodable file is stored as an inspection with the `error`
//!   verdict and its reason, and deleted like any other: never retried,
//!   never left in plaintext.
//! - When the service cannot take it (audit log, vault, database or outbox
//!   unavailable), the file stays where it is and is retried with backoff.
//! - Symbolic links, hard-linked files (more than one link: the bytes may
//!   live outside the folder) and anything but regular files are refused:
//!   audited once as `sources.refused`, left untouched.
//! - Every submission is audited as `inspections.submit` by the actor
//!   `source:NAME`, with `NAME` as its device id.
//!
//! Subfolders are not watched. Files whose names start with `.` are
//! ignored (uploads in progress under a temporary name).

use crate::common::backoff::Backoff;
use crate::common::crash_point;
use crate::intake::{self, Accepted, Intake, IntakeError, Origin, SubmissionMeta, Turns};
use lensguard_core::Policy;
use lensguard_core::config::sources::{After, FolderSource};
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::db::{Claim, FileIdentity};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the folder is listed.
const POLL: Duration = Duration::from_millis(250);

/// A watched folder, ready to run.
pub struct FolderTask {
    /// Its configuration.
    pub source: FolderSource,
    /// Where its files go in.
    pub intake: Arc<Intake>,
    /// Its own policy, when it names one.
    pub policy: Option<Arc<Policy>>,
}

/// A file as listed, and since when it has looked like this.
struct Seen {
    identity: FileIdentity,
    since: Instant,
}

/// What became of one file.
enum Step {
    /// Inspected (now or before) and deleted or moved; or gone.
    Done,
    /// Left in place; try again after a delay.
    Retry(String),
}

fn identity(meta: &std::fs::Metadata) -> FileIdentity {
    FileIdentity {
        inode: meta.ino(),
        size: meta.size(),
        mtime_ns: meta
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.mtime_nsec()),
    }
}

/// Why a listed entry is not a file the source may take, if it is not.
fn refusal(meta: &std::fs::Metadata) -> Option<&'static str> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        Some("a symbolic link")
    } else if kind.is_dir() {
        None
    } else if !kind.is_file() {
        Some("not a regular file")
    } else if meta.nlink() > 1 {
        Some("a file with more than one link (its bytes may live outside the folder)")
    } else {
        None
    }
}

/// Opens `path` without following a link and checks it is still the file
/// that was listed; reads at most `limit + 1` bytes.
fn read_claimed(
    path: &Path,
    expected: FileIdentity,
    limit: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK,
        Mode::empty(),
    )?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() > 1 || identity(&meta) != expected {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Fsyncs the folder that holds a changed entry.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl FolderTask {
    fn actor(&self) -> String {
        format!("source:{}", self.source.name)
    }

    /// Runs until `stop` turns true; the file in hand is finished first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let mut seen: HashMap<OsString, Seen> = HashMap::new();
        let mut refused: HashSet<(OsString, FileIdentity)> = HashSet::new();
        let mut resumed = false;
        let mut last_problem: Option<String> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let outcome = if resumed {
                self.round(&mut seen, &mut refused, &stop).await
            } else {
                let r = self.resume(&stop).await;
                resumed = r.is_ok();
                r
            };
            let wait = match outcome {
                Ok(()) => {
                    backoff.reset();
                    last_problem = None;
                    POLL
                }
                Err(problem) => {
                    if last_problem.as_deref() != Some(problem.as_str()) {
                        eprintln!(
                            "lensguard: source {}: {problem}; the file stays and is tried again",
                            self.source.name
                        );
                    }
                    last_problem = Some(problem);
                    backoff.next_delay()
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Finishes what a previous run claimed.
    async fn resume(&self, stop: &watch::Receiver<bool>) -> Result<(), String> {
        let db = &self.intake.db;
        let claims = db
            .claims(&self.source.name)
            .await
            .map_err(|e| format!("cannot read its claims ({e})"))?;
        for claim in claims {
            if *stop.borrow() {
                break;
            }
            let path = PathBuf::from(&claim.path);
            let current = std::fs::symlink_metadata(&path).ok();
            if current.as_ref().map(identity) != Some(claim.identity) {
                // Gone or replaced: the next listing finds whatever is there.
                db.forget_claim(&self.source.name, &claim.path)
                    .await
                    .map_err(|e| format!("cannot forget a claim ({e})"))?;
                continue;
            }
            if let Step::Retry(why) = self.process(&path, claim).await {
                return Err(why);
            }
        }
        Ok(())
    }

    /// Lists the folder and takes every file that has settled.
    async fn round(
        &self,
        seen: &mut HashMap<OsString, Seen>,
        refused: &mut HashSet<(OsString, FileIdentity)>,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), String> {
        let dir = self.source.path.clone();
        let listed = tokio::task::spawn_blocking(move || list(&dir))
            .await
            .map_err(|_| "the folder listing failed".to_owned())?
            .map_err(|e| format!("cannot list {} ({e})", self.source.path.display()))?;
        let now = Instant::now();
        seen.retain(|name, _| listed.iter().any(|(n, _)| n == name));
        refused.retain(|(name, _)| listed.iter().any(|(n, _)| n == name));
        let mut ready = Vec::new();
        for (name, meta) in listed {
            let id = identity(&meta);
            if let Some(why) = refusal(&meta) {
                if refused.insert((name.clone(), id)) {
                    self.refuse(&name, why).await?;
                }
                continue;
            }
            if meta.is_dir() {
                continue;
            }
            match seen.get(&name) {
                Some(s) if s.identity == id => {
                    if now.duration_since(s.since) >= self.source.settle {
                        ready.push((name, id));
                    }
                }
                _ => {
                    seen.insert(
                        name,
                        Seen {
                            identity: id,
                            since: now,
                        },
                    );
                }
            }
        }
        ready.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, id) in ready {
            if *stop.borrow() {
                break;
            }
            let path = self.source.path.join(&name);
            let path_text = path.to_string_lossy().into_owned();
            let claim = self
                .intake
                .db
                .claim_file(
                    &self.source.name,
                    &path_text,
                    id,
                    &uuid::Uuid::new_v4().to_string(),
                    time::OffsetDateTime::now_utc(),
                )
                .await
                .map_err(|e| format!("cannot record its claim on {path_text} ({e})"))?;
            crash_point::hit("folder.claimed");
            match self.process(&path, claim).await {
                Step::Done => {
                    seen.remove(&name);
                }
                Step::Retry(why) => return Err(why),
            }
        }
        Ok(())
    }

    /// Audits a refused entry (once per entry as found).
    async fn refuse(&self, name: &std::ffi::OsStr, why: &str) -> Result<(), String> {
        let event = AuditEvent::new(
            time::OffsetDateTime::now_utc(),
            self.actor(),
            "sources.refused",
        )
        .target(format!("source:{}", self.source.name))
        .outcome(
            Outcome::Denied,
            Some(format!(
                "{} is {why}; left untouched",
                self.intake.audit.pseudonym(&name.to_string_lossy())
            )),
        );
        crate::common::audit_alert::append(&self.intake.audit, event)
            .await
            .map_err(|e| format!("cannot audit a refused entry ({e})"))
    }

    /// Submits a claimed file (unless its result is stored already), then
    /// deletes or moves it and forgets the claim.
    async fn process(&self, path: &Path, claim: Claim) -> Step {
        let db = &self.intake.db;
        let name = self.source.name.as_str();
        if !claim.inspected {
            let limit = self.intake.limits.max_file_bytes;
            let read = {
                let path = path.to_path_buf();
                tokio::task::spawn_blocking(move || read_claimed(&path, claim.identity, limit))
                    .await
            };
            let bytes = match read {
                Ok(Ok(Some(bytes))) => bytes,
                // Changed or replaced since it was listed: listed again.
                Ok(Ok(None)) => {
                    return match db.forget_claim(name, &claim.path).await {
                        Ok(()) => Step::Done,
                        Err(e) => Step::Retry(format!("cannot forget a claim ({e})")),
                    };
                }
                Ok(Err(e)) => return Step::Retry(format!("cannot read {} ({e})", path.display())),
                Err(_) => return Step::Retry("reading a file failed".to_owned()),
            };
            match self.submit(bytes, &claim).await {
                Ok(()) => {}
                // The claim's id was spent on other bytes (the file changed
                // without its size or time changing): a new claim next time.
                Err(IntakeError::KeyReused) => {
                    let _ = db.forget_claim(name, &claim.path).await;
                    return Step::Retry(describe(&IntakeError::KeyReused));
                }
                Err(e) => return Step::Retry(describe(&e)),
            }
            crash_point::hit("folder.stored");
            if let Err(e) = db.mark_claim_inspected(name, &claim.path).await {
                return Step::Retry(format!("cannot record the file as inspected ({e})"));
            }
        }
        crash_point::hit("folder.inspected");
        let after = self.source.after.clone();
        let (file, expected, id) = (
            path.to_path_buf(),
            claim.identity,
            claim.inspection_id.clone(),
        );
        match tokio::task::spawn_blocking(move || dispose(&file, expected, &after, &id)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return Step::Retry(format!(
                    "inspected, but cannot remove {} from the folder ({e})",
                    path.display()
                ));
            }
            Err(_) => return Step::Retry("removing a file failed".to_owned()),
        }
        crash_point::hit("folder.removed");
        match db.forget_claim(name, &claim.path).await {
            Ok(()) => Step::Done,
            Err(e) => Step::Retry(format!("cannot forget a claim ({e})")),
        }
    }

    /// Hands the file's bytes to the intake under its claim's id.
    async fn submit(&self, bytes: Vec<u8>, claim: &Claim) -> Result<(), IntakeError> {
        let actor = self.actor();
        let intake = &self.intake;
        let admitted = intake
            .admit(&actor, Some(claim.inspection_id.clone()))
            .await?;
        let origin = Origin {
            event: AuditEvent::new(
                time::OffsetDateTime::now_utc(),
                actor.clone(),
                "inspections.submit",
            ),
            actor,
            turns: Turns::Wait,
            record_undecodable: true,
        };
        let submission = intake::Submission {
            photo: bytes.into(),
            meta: SubmissionMeta {
                device_id: Some(self.source.name.clone()),
                ..SubmissionMeta::default()
            },
            id: Some(claim.inspection_id.clone()),
            policy: self.policy.clone(),
        };
        intake
            .submit(admitted, origin, submission)
            .await
            .map(|(Accepted::Stored { .. } | Accepted::Replayed { .. })| ())
    }
}

/// Why the intake did not take a file, for the log line.
fn describe(e: &IntakeError) -> String {
    match e {
        IntakeError::AuditUnavailable => "the audit log cannot take entries".to_owned(),
        IntakeError::DatabaseUnavailable => "the database is unavailable".to_owned(),
        IntakeError::VaultUnavailable => "the evidence vault cannot seal".to_owned(),
        IntakeError::OutboxFull { depth } => format!("the outbox is full ({depth} records)"),
        IntakeError::Busy(_) => "every inspection turn is taken".to_owned(),
        IntakeError::Undecodable { code, .. } => format!("undecodable ({code})"),
        IntakeError::KeyReused => "its claim was used for other bytes".to_owned(),
        IntakeError::StorageFailed => "the result could not be stored".to_owned(),
        IntakeError::Internal => "the inspection failed".to_owned(),
    }
}

/// The folder's entries (not following links), without names starting with
/// `.`.
fn list(dir: &Path) -> std::io::Result<Vec<(OsString, std::fs::Metadata)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.as_encoded_bytes().first() == Some(&b'.') {
            continue;
        }
        // `DirEntry::metadata` does not follow symbolic links.
        match entry.metadata() {
            Ok(meta) => out.push((name, meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Deletes or moves an inspected file, when it is still the one claimed.
fn dispose(path: &Path, expected: FileIdentity, after: &After, id: &str) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if identity(&meta) == expected => {}
        // Gone, or replaced by a new file that is not ours to remove.
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    match after {
        After::Delete => std::fs::remove_file(path)?,
        After::Move(to) => {
            let name = path.file_name().unwrap_or_default();
            let mut target = to.join(name);
            if target.exists() {
                target = to.join(format!("{}-{id}", name.to_string_lossy()));
            }
            match std::fs::rename(path, &target) {
                Ok(()) => {}
                // Another file system: copy, make it durable, then remove.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::XDEV.raw_os_error()) => {
                    let tmp = to.join(format!(".{id}.part"));
                    std::fs::copy(path, &tmp)?;
                    std::fs::File::open(&tmp)?.sync_all()?;
                    std::fs::rename(&tmp, &target)?;
                    sync_dir(to)?;
                    std::fs::remove_file(path)?;
                }
                Err(e) => return Err(e),
            }
            sync_dir(to)?;
        }
    }
    sync_dir(dir)
}
