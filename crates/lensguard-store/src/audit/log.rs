//! [`AuditLog`]: durable, group-committed appends with signed checkpoints.
//!
//! One writer thread owns the files. [`AuditLog::append`] queues an event and
//! waits; the writer takes every queued event, writes their lines, calls
//! `fdatasync` once, then answers them all (group commit). It signs a checkpoint
//! every `checkpoint_every` entries (a batch never crosses that count, so no
//! two checkpoints are further apart), after `checkpoint_interval` with
//! unsigned entries, when the log is opened with an unsigned tail, and when it
//! is closed; then it hands the checkpoint to the log's witnesses.
//!
//! The cadence is part of the log: after opening it with a `checkpoint_every`
//! other than the one last recorded (or opening a new log), the first batch
//! starts with an `audit.cadence` entry carrying it, which offline
//! verification enforces.

use super::checkpoint::{Checkpoint, Signer};
use super::event::{AuditEvent, EntryBody};
use super::files;
use super::merkle::{Hash, Levels, leaf_hash};
use super::verify::{MAX_CHECKPOINT_EVERY, chain_next, extends, scan};
use super::witness::Witness;
use crate::Error;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Tuning for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOptions {
    /// Sign a checkpoint after this many new entries: 1 to
    /// [`MAX_CHECKPOINT_EVERY`] (the default, 1000).
    pub checkpoint_every: u64,
    /// Sign a checkpoint when entries have waited this long unsigned. Default 60 s.
    pub checkpoint_interval: Duration,
    /// Most entries one sync may cover. Default 4096.
    pub max_batch: usize,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            checkpoint_every: MAX_CHECKPOINT_EVERY,
            checkpoint_interval: Duration::from_secs(60),
            max_batch: 4096,
        }
    }
}

/// What [`AuditLog::open_with`] adds to a plain open.
#[derive(Default)]
pub struct OpenWith {
    /// A checkpoint kept elsewhere (the database's anchor) that the log must
    /// extend, checked before anything is written or signed; a log that does
    /// not is refused with [`Error::NotExtending`].
    pub anchor: Option<Checkpoint>,
    /// Where every checkpoint signed from now on is copied (see
    /// [`super::witness`]).
    pub witnesses: Vec<Box<dyn Witness>>,
    /// The signing key; `None`: `signing.key` in the folder, made on first use.
    pub signer: Option<Signer>,
}

/// What an acknowledged append returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's sequence number.
    pub seq: u64,
    /// Its chain hash.
    pub chain: Hash,
}

enum Request {
    Append(AuditEvent, Reply),
    Checkpoint(SyncSender<Result<Checkpoint, String>>),
}

/// Where an append's answer goes: a blocked thread, or an awaiting task (which
/// then needs no thread of its own while the writer syncs).
enum Reply {
    Blocking(SyncSender<Result<Receipt, String>>),
    Async(tokio::sync::oneshot::Sender<Result<Receipt, String>>),
    /// An entry the writer adds itself (`audit.cadence`).
    Nobody,
}

impl Reply {
    fn send(self, answer: Result<Receipt, String>) {
        // A caller that stopped waiting has nothing left to be told.
        match self {
            Reply::Blocking(tx) => {
                let _ = tx.send(answer);
            }
            Reply::Async(tx) => {
                let _ = tx.send(answer);
            }
            Reply::Nobody => {}
        }
    }
}

/// What readers see: the tree and the checkpoints, updated after each sync.
struct Shared {
    levels: Levels,
    checkpoints: Vec<Checkpoint>,
    /// Checkpoints a witness could not keep, and the last reason.
    witness_failures: u64,
    witness_error: Option<String>,
    /// Why the log stopped accepting entries, once it has.
    failure: Option<String>,
}

/// An open audit log. Appends from any thread; dropping it signs a final
/// checkpoint and waits for the writer.
pub struct AuditLog {
    dir: PathBuf,
    tx: Option<Sender<Request>>,
    worker: Option<JoinHandle<()>>,
    shared: Arc<RwLock<Shared>>,
    public_key: Vec<u8>,
    pseudonyms: Option<super::Pseudonymizer>,
    _lock: File,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({})", self.dir.display())
    }
}

fn io_string(context: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{context}: {e}")
}

impl AuditLog {
    /// Opens (or creates) the log in `dir`: takes the writer lock, verifies every
    /// entry and checkpoint, discards a torn final append, and starts the writer.
    /// A log that does not verify is refused with the first bad entry named.
    pub fn open(dir: &Path, options: AuditOptions) -> Result<AuditLog, Error> {
        Self::open_with(dir, options, OpenWith::default())
    }

    /// [`AuditLog::open`] with the signing key, anchor and witnesses of
    /// `with` (see [`OpenWith`]).
    pub fn open_with(dir: &Path, options: AuditOptions, with: OpenWith) -> Result<AuditLog, Error> {
        let OpenWith {
            anchor,
            witnesses,
            signer,
        } = with;
        if !(1..=MAX_CHECKPOINT_EVERY).contains(&options.checkpoint_every) {
            return Err(Error::Misconfigured(format!(
                "the audit checkpoint cadence must be 1 to {MAX_CHECKPOINT_EVERY} entries, not {}",
                options.checkpoint_every
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(files::LOCK))
            .map_err(Error::io("cannot open the audit lock"))?;
        if lock.try_lock().is_err() {
            return Err(Error::Locked(dir.display().to_string()));
        }
        let signer = match signer {
            Some(s) => s,
            None if !dir.join(files::SIGNING_KEY).exists()
                && dir.join(files::PUBLIC_KEY).exists() =>
            {
                return Err(Error::Misconfigured(format!(
                    "the audit log in {} is signed by a key held elsewhere (a PKCS#11 token: \
                     {} without {}); open it with that key",
                    dir.display(),
                    files::PUBLIC_KEY,
                    files::SIGNING_KEY
                )));
            }
            None => Signer::load_or_create(&dir.join(files::SIGNING_KEY))?,
        };
        if let Some(folder_key) = super::checkpoint::folder_public_key(dir)?
            && folder_key != signer.public_key()
        {
            return Err(Error::Misconfigured(format!(
                "the audit log in {} is signed by key {} but the configured signing key is {}: \
                 a log keeps its signing key for life (configure the key it was made with)",
                dir.display(),
                super::key_id(&folder_key),
                super::key_id(signer.public_key())
            )));
        }
        let s = scan(dir, Some(signer.public_key()))?;
        s.check_tail()?;
        if let Some(cp) = &anchor {
            extends(&s.levels, cp, signer.public_key()).map_err(|finding| Error::NotExtending {
                size: cp.size,
                time: cp.time,
                finding,
            })?;
        }
        let public_file = dir.join(files::PUBLIC_KEY);
        if !public_file.exists() {
            super::checkpoint::write_private(
                &public_file,
                hex::encode(signer.public_key()).as_bytes(),
            )?;
        }
        let log = open_append(&dir.join(files::LOG), s.log_len, s.torn_log_bytes)?;
        let cps = open_append(
            &dir.join(files::CHECKPOINTS),
            s.checkpoints_len,
            s.torn_checkpoint_bytes,
        )?;
        let shared = Arc::new(RwLock::new(Shared {
            levels: s.levels,
            checkpoints: s.checkpoints,
            witness_failures: 0,
            witness_error: None,
            failure: None,
        }));
        let (tx, rx) = mpsc::channel();
        let public_key = signer.public_key().to_vec();
        let writer = Writer {
            log,
            cps,
            signer,
            chain: s.chain,
            shared: Arc::clone(&shared),
            options,
            poisoned: None,
            witnesses,
            cadence_due: (s.cadence != Some(options.checkpoint_every))
                .then_some(options.checkpoint_every),
        };
        let worker = std::thread::Builder::new()
            .name("audit-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(Error::io("cannot start the audit writer"))?;
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            tx: Some(tx),
            worker: Some(worker),
            shared,
            public_key,
            pseudonyms: None,
            _lock: lock,
        })
    }

    /// Why the log stopped accepting entries (a write or sync failed), or
    /// `None` while it is writable.
    pub fn failure(&self) -> Option<String> {
        self.read().failure.clone()
    }

    /// How many signed checkpoints a witness failed to keep, with the last
    /// reason (none when every witness kept every checkpoint).
    pub fn witness_failures(&self) -> (u64, Option<String>) {
        let s = self.read();
        (s.witness_failures, s.witness_error.clone())
    }

    /// The same log, writing identifying values through `pseudonyms` (the
    /// installation key's HMAC; see [`AuditLog::pseudonym`]).
    #[must_use]
    pub fn with_pseudonyms(mut self, pseudonyms: super::Pseudonymizer) -> AuditLog {
        self.pseudonyms = Some(pseudonyms);
        self
    }

    /// What an event may say in place of an identifying value (a device id,
    /// a user name, an external reference, a free-text reason): its keyed
    /// pseudonym, `hmac:<32 hex digits>`, which an auditor holding the
    /// installation key can compute for a value to search for
    /// (`lensguard audit pseudonym`). A log opened without the key writes
    /// `hmac:withheld`: never the value itself.
    pub fn pseudonym(&self, value: &str) -> String {
        match &self.pseudonyms {
            Some(p) => p.pseudonym(value),
            None => "hmac:withheld".to_owned(),
        }
    }

    /// What an entry's reason says of a credential's device scope:
    /// `"; devices hmac:.. hmac:.."` (each pattern pseudonymised, as a pattern
    /// may be one device's id), or nothing for a credential without one.
    pub fn devices_note(&self, scope: Option<&lensguard_core::devices::DeviceScope>) -> String {
        scope.map_or_else(String::new, |d| {
            let named: Vec<String> = d.patterns().iter().map(|p| self.pseudonym(p)).collect();
            format!("; devices {}", named.join(" "))
        })
    }

    /// Appends `event`; returns once it is on disk. An error means it is *not*
    /// recorded, and the caller must not perform the action it describes.
    pub fn append(&self, event: AuditEvent) -> Result<Receipt, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Request::Append(event, Reply::Blocking(reply)))?;
        answer.recv().map_err(|_| stopped())?.map_err(fail)
    }

    /// Like [`AuditLog::append`], for async callers: the task waits, no thread
    /// blocks. The entry is durable when this resolves to `Ok`.
    pub async fn append_async(&self, event: AuditEvent) -> Result<Receipt, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Request::Append(event, Reply::Async(reply)))?;
        answer.await.map_err(|_| stopped())?.map_err(fail)
    }

    /// Signs a checkpoint over everything appended so far.
    pub fn checkpoint(&self) -> Result<Checkpoint, Error> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Request::Checkpoint(reply))?;
        answer.recv().map_err(|_| stopped())?.map_err(fail)
    }

    fn send(&self, r: Request) -> Result<(), Error> {
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(r)
            .map_err(|_| stopped())
    }

    /// Number of acknowledged entries.
    pub fn len(&self) -> u64 {
        self.read().levels.len()
    }

    /// Whether the log has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Merkle root of the first `size` entries.
    pub fn root(&self, size: u64) -> Option<Hash> {
        self.read().levels.root(size)
    }

    /// The leaf hash of entry `seq`.
    pub fn leaf(&self, seq: u64) -> Option<Hash> {
        self.read().levels.leaf(seq)
    }

    /// Inclusion proof of entry `seq` in the tree of `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Option<Vec<Hash>> {
        self.read().levels.inclusion_proof(seq, size)
    }

    /// Consistency proof between tree sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        self.read().levels.consistency_proof(old, new)
    }

    /// The newest signed checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Option<Checkpoint> {
        self.read().checkpoints.last().cloned()
    }

    /// The signed checkpoints so far.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.read().checkpoints.clone()
    }

    /// The 32-byte Ed25519 public key that signs checkpoints.
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Shared> {
        // A writer that panicked mid-update left the tree as of its last sync,
        // which is still consistent with the disk; reading it is safe.
        self.shared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn fail(message: String) -> Error {
    Error::AuditUnavailable(message)
}

fn stopped() -> Error {
    Error::AuditUnavailable("the audit writer has stopped".to_owned())
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Opens `path` for appending after cutting a torn tail of `torn` bytes.
fn open_append(path: &Path, valid_len: u64, torn: u64) -> Result<File, Error> {
    let ctx = || format!("cannot open {}", path.display());
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(Error::io(ctx()))?;
    if torn > 0 {
        f.set_len(valid_len).map_err(Error::io(ctx()))?;
        f.sync_data().map_err(Error::io(ctx()))?;
    }
    Ok(f)
}

struct Writer {
    log: File,
    cps: File,
    signer: Signer,
    chain: Hash,
    shared: Arc<RwLock<Shared>>,
    options: AuditOptions,
    poisoned: Option<String>,
    witnesses: Vec<Box<dyn Witness>>,
    /// The cadence to record before the next entry, when the log does not
    /// record the one in force yet.
    cadence_due: Option<u64>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Request>) {
        let mut unsigned_since: Option<Instant> = None;
        // A tail left unsigned by a stop without a final checkpoint (a crash)
        // is signed before anything is added, so it never grows past the cadence.
        if self.unsigned() > 0 {
            let _ = self.sign();
        }
        loop {
            let first = match rx.recv_timeout(self.options.checkpoint_interval) {
                Ok(r) => r,
                Err(RecvTimeoutError::Timeout) => {
                    if unsigned_since.is_some() && self.sign().is_ok() {
                        unsigned_since = None;
                    }
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // No batch crosses the cadence: a checkpoint is due when it
            // fills (counting the cadence entry that may go first).
            let due_cadence = u64::from(self.cadence_due.is_some());
            let room = self
                .options
                .checkpoint_every
                .saturating_sub(self.unsigned() + due_cadence)
                .max(1);
            let mut appends = u64::from(matches!(first, Request::Append(..)));
            let mut batch = vec![first];
            while batch.len() < self.options.max_batch && appends < room {
                match rx.try_recv() {
                    Ok(r) => {
                        appends += u64::from(matches!(r, Request::Append(..)));
                        batch.push(r);
                    }
                    Err(_) => break,
                }
            }
            // The cadence goes before the first entry, in a commit of its own
            // (so even a cadence of 1 is kept).
            if let Some(n) = self.cadence_due.filter(|_| appends > 0) {
                let event = AuditEvent {
                    checkpoint_every: Some(n),
                    ..AuditEvent::new(time::OffsetDateTime::now_utc(), "system", "audit.cadence")
                };
                self.commit(
                    vec![Request::Append(event, Reply::Nobody)],
                    &mut unsigned_since,
                );
            }
            self.commit(batch, &mut unsigned_since);
        }
        if self.poisoned.is_none() && self.unsigned() > 0 {
            let _ = self.sign();
        }
    }

    fn unsigned(&self) -> u64 {
        let s = self.read();
        s.levels.len() - s.checkpoints.last().map_or(0, |c| c.size)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Shared> {
        self.shared
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn commit(&mut self, batch: Vec<Request>, unsigned_since: &mut Option<Instant>) {
        let mut appends = Vec::new();
        let mut checkpoint_requests = Vec::new();
        for r in batch {
            match r {
                Request::Append(e, reply) => appends.push((e, reply)),
                Request::Checkpoint(reply) => checkpoint_requests.push(reply),
            }
        }
        if let Some(why) = &self.poisoned {
            for (_, reply) in appends {
                reply.send(Err(why.clone()));
            }
            for reply in checkpoint_requests {
                let _ = reply.send(Err(why.clone()));
            }
            return;
        }
        let start = self.read().levels.len();
        let mut buf = Vec::with_capacity(appends.len() * 256);
        let mut leaves = Vec::with_capacity(appends.len());
        let mut chain = self.chain;
        let mut receipts = Vec::with_capacity(appends.len());
        for (i, (event, _)) in appends.iter().enumerate() {
            let seq = start + i as u64;
            let body = match serde_json::to_vec(&EntryBody { seq, event }) {
                Ok(b) => b,
                Err(e) => {
                    self.poison(format!("cannot serialise an audit event: {e}"));
                    return self.commit(restore(appends, checkpoint_requests), unsigned_since);
                }
            };
            let leaf = leaf_hash(&body);
            chain = chain_next(&chain, &leaf);
            buf.extend_from_slice(hex::encode(chain).as_bytes());
            buf.push(b' ');
            buf.extend_from_slice(&body);
            buf.push(b'\n');
            leaves.push(leaf);
            receipts.push(Receipt { seq, chain });
        }
        if !appends.is_empty() {
            let written = self
                .log
                .write_all(&buf)
                .and_then(|()| self.log.sync_data())
                .map_err(io_string("cannot write the audit log"));
            if let Err(why) = written {
                self.poison(why);
                return self.commit(restore(appends, checkpoint_requests), unsigned_since);
            }
            self.chain = chain;
            self.cadence_due = None;
            {
                let mut s = self
                    .shared
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                for l in leaves {
                    s.levels.push(l);
                }
            }
            for ((_, reply), receipt) in appends.into_iter().zip(receipts) {
                reply.send(Ok(receipt));
            }
            unsigned_since.get_or_insert_with(Instant::now);
        }
        let due = self.unsigned() >= self.options.checkpoint_every
            || unsigned_since.is_some_and(|t| t.elapsed() >= self.options.checkpoint_interval);
        if due || !checkpoint_requests.is_empty() {
            let signed = self.sign();
            if signed.is_ok() {
                *unsigned_since = None;
            }
            for reply in checkpoint_requests {
                let _ = reply.send(signed.clone());
            }
        }
    }

    fn poison(&mut self, why: String) {
        self.shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .failure = Some(why.clone());
        self.poisoned = Some(why);
    }

    /// Signs and durably records a checkpoint over everything acknowledged.
    fn sign(&mut self) -> Result<Checkpoint, String> {
        if let Some(why) = &self.poisoned {
            return Err(why.clone());
        }
        let (size, root) = {
            let s = self.read();
            let size = s.levels.len();
            (
                size,
                s.levels
                    .root(size)
                    .unwrap_or_else(super::merkle::empty_root),
            )
        };
        // A checkpoint that cannot be signed stops the log: appending on
        // would break the cadence the log promises.
        let cp = match self
            .signer
            .sign(size, &root, time::OffsetDateTime::now_utc())
        {
            Ok(cp) => cp,
            Err(e) => {
                let why = format!("cannot sign an audit checkpoint: {e}");
                self.poison(why.clone());
                return Err(why);
            }
        };
        let mut line = serde_json::to_vec(&cp).map_err(|e| e.to_string())?;
        line.push(b'\n');
        let written = self
            .cps
            .write_all(&line)
            .and_then(|()| self.cps.sync_data())
            .map_err(io_string("cannot write an audit checkpoint"));
        if let Err(why) = written {
            self.poison(why.clone());
            return Err(why);
        }
        self.shared
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .checkpoints
            .push(cp.clone());
        for w in &mut self.witnesses {
            if let Err(why) = w.record(&cp) {
                let mut s = self
                    .shared
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                s.witness_failures += 1;
                s.witness_error = Some(format!("{}: {why}", w.name()));
            }
        }
        Ok(cp)
    }
}

/// Puts a batch back together so a poisoned writer can answer every request.
fn restore(
    appends: Vec<(AuditEvent, Reply)>,
    checkpoints: Vec<SyncSender<Result<Checkpoint, String>>>,
) -> Vec<Request> {
    appends
        .into_iter()
        .map(|(e, r)| Request::Append(e, r))
        .chain(checkpoints.into_iter().map(Request::Checkpoint))
        .collect()
}
