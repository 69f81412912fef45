//! Offline verification of an audit folder or an exported file.
//!
//! Every check names the first bad entry it finds: a sequence number out of place
//! (deleted, inserted, reordered entries), a chain hash that does not match its
//! entry (modified entries), a checkpoint whose signature fails or whose root the
//! entries no longer produce (a rewritten chain), or a log shorter than a signed
//! checkpoint (truncation), or checkpoints missing where the log's cadence
//! requires them (deleted together with a rewritten chain). A final line
//! without its newline is an unacknowledged, torn append: reported, not an
//! error (opening the log discards it).
//!
//! # The cadence rule
//!
//! No more than `checkpoint_every` entries may lie between two signed
//! checkpoints, or after the last one. The value is the log's own
//! (`audit.cadence` entries; the newest one in force, or any recorded within
//! the stretch, whichever is larger), capped at [`MAX_CHECKPOINT_EVERY`],
//! which also applies to a log that records none. So a log of more than
//! 1000 entries without a checkpoint never verifies, whatever its entries say.

use super::checkpoint::Checkpoint;
use super::event::ParsedEntry;
use super::files;
use super::merkle::{Hash, Levels, leaf_hash, verify_inclusion};
use crate::Error;
use aws_lc_rs::digest::{Context, SHA256};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The most entries a log may hold between signed checkpoints, whatever
/// cadence it records (and the cadence of a log that records none).
pub const MAX_CHECKPOINT_EVERY: u64 = 1000;

/// The first problem verification found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Finding {
    /// The first bad entry, when the problem is one entry.
    pub entry: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

impl Finding {
    fn at(entry: u64, problem: impl Into<String>) -> Self {
        Finding {
            entry: Some(entry),
            problem: problem.into(),
        }
    }

    fn log(problem: impl Into<String>) -> Self {
        Finding {
            entry: None,
            problem: problem.into(),
        }
    }

    fn describe(&self) -> String {
        match self.entry {
            Some(i) => format!("audit log does not verify at entry {i}: {}", self.problem),
            None => format!("audit log does not verify: {}", self.problem),
        }
    }
}

/// What a successful verification saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Entries checked.
    pub entries: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// Merkle root over all entries, hex (empty tree: the empty root).
    pub root: String,
    /// Key id of the checkpoint signatures (empty when there are none).
    pub key_id: String,
    /// The Ed25519 public key the signatures were checked with, hex (what
    /// `--public-key` takes; empty when there is none).
    pub public_key: String,
    /// Entries after the last checkpoint (not yet covered by a signature).
    pub unsigned_entries: u64,
    /// Bytes of a torn final append that opening the log will discard.
    pub torn_tail_bytes: u64,
    /// What was checked of an export's completeness (empty for a log folder,
    /// which is always read whole).
    pub completeness: String,
}

/// The chain hash after an entry with leaf hash `leaf`.
pub(crate) fn chain_next(prev: &Hash, leaf: &Hash) -> Hash {
    let mut c = Context::new(&SHA256);
    c.update(prev);
    c.update(leaf);
    let mut out = [0u8; 32];
    out.copy_from_slice(c.finish().as_ref());
    out
}

fn parse_hash(s: &[u8]) -> Option<Hash> {
    let v = hex::decode(s).ok()?;
    v.try_into().ok()
}

/// The state of a folder after a scan: what `AuditLog::open` resumes from.
pub(crate) struct Scan {
    pub(crate) levels: Levels,
    pub(crate) chain: Hash,
    pub(crate) checkpoints: Vec<Checkpoint>,
    /// Length of the log file up to the end of its last complete line.
    pub(crate) log_len: u64,
    pub(crate) torn_log_bytes: u64,
    pub(crate) checkpoints_len: u64,
    pub(crate) torn_checkpoint_bytes: u64,
    pub(crate) key_id: String,
    pub(crate) public_key: String,
    /// The newest cadence the log records (`audit.cadence`), if any.
    pub(crate) cadence: Option<u64>,
    /// Entries covered by the last checkpoint.
    pub(crate) signed: u64,
    /// The cadence the entries after it must keep.
    pub(crate) stretch: u64,
}

/// Reads complete lines; returns them with the byte length they cover and the
/// number of trailing bytes that form no complete line.
fn lines(path: &Path) -> Result<(Vec<Vec<u8>>, u64, u64), Error> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0, 0)),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
    };
    // Read no further than the length at open: a file that grows meanwhile (or a
    // device that never ends) cannot make the scan run away.
    let len = file
        .metadata()
        .map_err(Error::io(format!("cannot read {}", path.display())))?
        .len();
    let mut reader = BufReader::new(file.take(len));
    let (mut out, mut complete, mut torn) = (Vec::new(), 0u64, 0u64);
    loop {
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(Error::io(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        if line.last() == Some(&b'\n') {
            complete += n as u64;
            line.pop();
            out.push(line);
        } else {
            torn = n as u64;
        }
    }
    Ok((out, complete, torn))
}

/// Checks one log line as entry `i` after chain hash `prev`; returns its leaf,
/// chain hash and parsed entry.
fn check_entry(i: u64, line: &[u8], prev: &Hash) -> Result<(Hash, Hash, ParsedEntry), Finding> {
    if line.len() < 66 || line[64] != b' ' {
        return Err(Finding::at(i, "the line is not `<hash> <entry>`"));
    }
    let stored =
        parse_hash(&line[..64]).ok_or_else(|| Finding::at(i, "the stored hash is not hex"))?;
    let json = &line[65..];
    let entry: ParsedEntry = serde_json::from_slice(json)
        .map_err(|e| Finding::at(i, format!("the entry is not a valid event ({e})")))?;
    if entry.seq != i {
        return Err(Finding::at(
            i,
            format!(
                "found sequence number {} here: entries were deleted, inserted or reordered",
                entry.seq
            ),
        ));
    }
    let leaf = leaf_hash(json);
    let chain = chain_next(prev, &leaf);
    if chain != stored {
        return Err(Finding::at(
            i,
            "the stored hash does not match the entry: it or an earlier entry was modified",
        ));
    }
    Ok((leaf, chain, entry))
}

/// Tracks the cadence rule over a log read in order.
struct Cadence {
    /// The cadence in force.
    current: u64,
    /// The largest cadence in force within the stretch since the last checkpoint.
    stretch: u64,
    /// Where that stretch starts.
    start: u64,
    /// The newest cadence the log records.
    recorded: Option<u64>,
}

impl Cadence {
    fn new() -> Self {
        Cadence {
            current: MAX_CHECKPOINT_EVERY,
            stretch: MAX_CHECKPOINT_EVERY,
            start: 0,
            recorded: None,
        }
    }

    fn entry(&mut self, i: u64, entry: &ParsedEntry) -> Result<(), Finding> {
        if entry.event.action != "audit.cadence" {
            return Ok(());
        }
        let n = entry.event.checkpoint_every.unwrap_or(0);
        if !(1..=MAX_CHECKPOINT_EVERY).contains(&n) {
            return Err(Finding::at(
                i,
                format!(
                    "the cadence entry sets {n} entries between checkpoints; 1 to {MAX_CHECKPOINT_EVERY} are allowed"
                ),
            ));
        }
        self.current = n;
        // A cadence recorded first in its stretch governs all of it; one
        // recorded later, only the entries after it.
        self.stretch = if i == self.start {
            n
        } else {
            self.stretch.max(n)
        };
        self.recorded = Some(n);
        Ok(())
    }

    /// A checkpoint of `size` entries after one of `previous`.
    fn checkpoint(&mut self, previous: u64, size: u64) -> Result<(), Finding> {
        self.check(previous, size, &format!("before the checkpoint of {size}"))?;
        self.stretch = self.current;
        self.start = size;
        Ok(())
    }

    /// Entries `previous..size` lie between two checkpoints (`what` says
    /// which end), and there may be no more of them than the cadence allows.
    fn check(&self, previous: u64, size: u64, what: &str) -> Result<(), Finding> {
        let n = size - previous;
        if n > self.stretch {
            return Err(Finding::at(
                previous,
                format!(
                    "entries {previous} to {} ({n}) have no signed checkpoint {what}, but the \
                     log's cadence requires a signed checkpoint at least every {} entries: \
                     checkpoints were removed (with a rewritten history, or by emptying \
                     checkpoints.jsonl)",
                    size - 1,
                    self.stretch
                ),
            ));
        }
        Ok(())
    }
}

/// Checks that the tree `levels` extends `trusted`, a checkpoint kept
/// elsewhere: signed by `public_key`, covering no more entries than there
/// are, with the root the first `trusted.size` entries give.
pub(crate) fn extends(
    levels: &Levels,
    trusted: &Checkpoint,
    public_key: &[u8],
) -> Result<(), Finding> {
    if !trusted.verify(public_key) {
        return Err(Finding::log(format!(
            "the trusted checkpoint of {} entries (key {}) is not signed by this log's key {}:              the signing key was replaced, or it is another installation's checkpoint",
            trusted.size,
            trusted.key_id,
            super::key_id(public_key)
        )));
    }
    if trusted.size > levels.len() {
        return Err(Finding::at(
            levels.len(),
            format!(
                "the log ends here but the trusted checkpoint signed {} entries: entries were removed from the end",
                trusted.size
            ),
        ));
    }
    if levels.root(trusted.size).map(hex::encode).as_deref() != Some(trusted.root.as_str()) {
        return Err(Finding::log(format!(
            "the log's first {} entries no longer give the root of the trusted checkpoint              (signed {}): the history it witnessed was rewritten",
            trusted.size, trusted.time
        )));
    }
    Ok(())
}

/// Checks checkpoint signatures and order before the entries are read.
fn check_checkpoints(cps: &[Checkpoint], public_key: &[u8]) -> Result<(), Finding> {
    let mut last = 0;
    for (k, cp) in cps.iter().enumerate() {
        if !cp.verify(public_key) {
            return Err(Finding::log(format!(
                "checkpoint {k} (size {}) has an invalid signature",
                cp.size
            )));
        }
        if cp.size < last {
            return Err(Finding::log(format!(
                "checkpoint {k} signs {} entries, fewer than the one before it",
                cp.size
            )));
        }
        last = cp.size;
    }
    Ok(())
}

/// Scans an audit folder: every entry, every checkpoint. `public_key` pins the
/// signing key; without it the folder's own `signing.key` is used.
pub(crate) fn scan(dir: &Path, public_key: Option<&[u8]>) -> Result<Scan, Error> {
    let key = match public_key {
        Some(k) => Some(k.to_vec()),
        None => super::checkpoint::folder_public_key(dir)?,
    };
    let (cp_lines, checkpoints_len, torn_checkpoint_bytes) = lines(&dir.join(files::CHECKPOINTS))?;
    let mut checkpoints = Vec::with_capacity(cp_lines.len());
    for (k, line) in cp_lines.iter().enumerate() {
        let cp: Checkpoint = serde_json::from_slice(line)
            .map_err(|e| Finding::log(format!("checkpoint {k} is malformed ({e})")))?;
        checkpoints.push(cp);
    }
    if !checkpoints.is_empty() {
        let Some(key) = &key else {
            return Err(Finding::log("checkpoints exist but the signing key is missing").into());
        };
        check_checkpoints(&checkpoints, key)?;
    }
    let (log_lines, log_len, torn_log_bytes) = lines(&dir.join(files::LOG))?;
    let mut levels = Levels::new();
    let mut chain = [0u8; 32];
    let mut next_cp = 0;
    let mut matched = 0u64;
    let mut cadence = Cadence::new();
    for (i, line) in log_lines.iter().enumerate() {
        let i = i as u64;
        let (leaf, c, entry) = check_entry(i, line, &chain)?;
        cadence.entry(i, &entry)?;
        levels.push(leaf);
        chain = c;
        while let Some(cp) = checkpoints
            .get(next_cp)
            .filter(|cp| cp.size == levels.len())
        {
            if levels.root(cp.size).map(hex::encode).as_deref() != Some(cp.root.as_str()) {
                return Err(Finding::log(format!(
                    "checkpoint {next_cp} signed {} entries with a root the log no longer gives: \
                     an entry between {matched} and {} was rewritten together with the hashes after it",
                    cp.size,
                    cp.size - 1
                ))
                .into());
            }
            cadence.checkpoint(matched, cp.size)?;
            matched = cp.size;
            next_cp += 1;
        }
    }
    if let Some(cp) = checkpoints.iter().find(|cp| cp.size > levels.len()) {
        return Err(Finding::at(
            levels.len(),
            format!("the log ends here but a checkpoint signed {} entries: entries were removed from the end", cp.size),
        )
        .into());
    }
    Ok(Scan {
        levels,
        chain,
        checkpoints,
        log_len,
        torn_log_bytes,
        checkpoints_len,
        torn_checkpoint_bytes,
        key_id: key.as_deref().map(super::key_id).unwrap_or_default(),
        public_key: key.as_deref().map(hex::encode).unwrap_or_default(),
        cadence: cadence.recorded,
        signed: matched,
        stretch: cadence.stretch,
    })
}

impl Scan {
    /// The cadence rule for the entries after the last checkpoint. Only for a
    /// scan that raced no writer: a reader beside the running service may read
    /// the checkpoints before the writer signed one the entries it then read
    /// needed.
    pub(crate) fn check_tail(&self) -> Result<(), Finding> {
        Cadence {
            current: self.stretch,
            stretch: self.stretch,
            start: self.signed,
            recorded: self.cadence,
        }
        .check(self.signed, self.levels.len(), "after them")
    }
}

fn summary(
    levels: &Levels,
    checkpoints: usize,
    signed: u64,
    (key_id, public_key): (String, String),
    torn: u64,
) -> Summary {
    Summary {
        completeness: String::new(),
        public_key,
        entries: levels.len(),
        checkpoints,
        root: hex::encode(
            levels
                .root(levels.len())
                .unwrap_or_else(super::merkle::empty_root),
        ),
        key_id,
        unsigned_entries: levels.len().saturating_sub(signed),
        torn_tail_bytes: torn,
    }
}

/// Verifies an audit folder offline. `public_key` (32 bytes) pins the signing
/// key; the log must extend every checkpoint of `trusted` (kept elsewhere:
/// see [`super::witness`]).
pub fn verify_dir(
    dir: &Path,
    public_key: Option<&[u8]>,
    trusted: &[Checkpoint],
) -> Result<Summary, Error> {
    let mut s = scan(dir, public_key)?;
    if s.check_tail().is_err() {
        // The service may have signed a checkpoint between the two reads.
        s = scan(dir, public_key)?;
        s.check_tail()?;
    }
    if !trusted.is_empty() {
        let key = hex::decode(&s.public_key).map_err(|_| {
            Finding::log("trusted checkpoints given but the log has no signing key")
        })?;
        for cp in trusted {
            extends(&s.levels, cp, &key)?;
        }
    }
    let signed = s.checkpoints.last().map_or(0, |c| c.size);
    Ok(summary(
        &s.levels,
        s.checkpoints.len(),
        signed,
        (s.key_id, s.public_key),
        s.torn_log_bytes,
    ))
}

/// One line of an export (`lensguard-audit-export/v1`).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ExportLine {
    Header {
        format: String,
        public_key: String,
        /// The export claims every entry below the checkpoint's size.
        #[serde(default)]
        full: Option<bool>,
        /// The first and last index it claims to hold.
        #[serde(default)]
        first_seq: Option<u64>,
        #[serde(default)]
        last_seq: Option<u64>,
    },
    Checkpoint(Checkpoint),
    Entry {
        seq: u64,
        prev: String,
        hash: String,
        entry: String,
        proof: Vec<String>,
    },
}

/// Verifies an exported file offline: the header's key (or the pinned one) signs the
/// checkpoint; every entry's chain link holds and its inclusion proof leads to the
/// checkpoint's root.
pub fn verify_export(reader: impl Read, public_key: Option<&[u8]>) -> Result<Summary, Error> {
    let mut key: Option<Vec<u8>> = public_key.map(<[u8]>::to_vec);
    let mut checkpoint: Option<(Checkpoint, Hash)> = None;
    let mut last: Option<(u64, Hash)> = None;
    let mut entries = 0u64;
    let mut claim: Option<(bool, Option<u64>, Option<u64>)> = None;
    let mut first_seen: Option<u64> = None;
    for (n, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(Error::io("cannot read the export"))?;
        let parsed: ExportLine = serde_json::from_str(&line).map_err(|e| {
            Finding::log(format!("line {} of the export is malformed ({e})", n + 1))
        })?;
        match parsed {
            ExportLine::Header {
                format,
                public_key: pk,
                full,
                first_seq,
                last_seq,
            } => {
                claim = full.map(|full| (full, first_seq, last_seq));
                if format != "lensguard-audit-export/v1" {
                    return Err(Finding::log(format!("unknown export format {format:?}")).into());
                }
                let pk = hex::decode(pk)
                    .map_err(|_| Finding::log("the header's public key is not hex"))?;
                match &key {
                    Some(pinned) if *pinned != pk => {
                        return Err(Finding::log(
                            "the export is signed by a different key than the one given",
                        )
                        .into());
                    }
                    _ => key = Some(pk),
                }
            }
            ExportLine::Checkpoint(cp) => {
                let k = key
                    .as_deref()
                    .ok_or_else(|| Finding::log("checkpoint before the header"))?;
                check_checkpoints(std::slice::from_ref(&cp), k)?;
                let root = cp
                    .root_hash()
                    .ok_or_else(|| Finding::log("the checkpoint root is not hex"))?;
                checkpoint = Some((cp, root));
            }
            ExportLine::Entry {
                seq,
                prev,
                hash,
                entry,
                proof,
            } => {
                let (cp, root) = checkpoint
                    .as_ref()
                    .ok_or_else(|| Finding::log("entry before the checkpoint"))?;
                let prev = parse_hash(prev.as_bytes())
                    .ok_or_else(|| Finding::at(seq, "prev is not a hash"))?;
                let stored = parse_hash(hash.as_bytes())
                    .ok_or_else(|| Finding::at(seq, "hash is not a hash"))?;
                if let Some((last_seq, last_hash)) = last {
                    if seq <= last_seq {
                        return Err(Finding::at(seq, "entries are out of order or repeated").into());
                    }
                    if claim.is_some() && seq != last_seq + 1 {
                        return Err(Finding::at(
                            last_seq + 1,
                            "the export claims every entry in its range, but this one is missing",
                        )
                        .into());
                    }
                    if seq == last_seq + 1 && prev != last_hash {
                        return Err(Finding::at(
                            seq,
                            "prev does not match the previous entry's hash",
                        )
                        .into());
                    }
                }
                let mut line = hex::encode(stored).into_bytes();
                line.push(b' ');
                line.extend_from_slice(entry.as_bytes());
                let (leaf, _, _) = check_entry(seq, &line, &prev)?;
                let proof: Option<Vec<Hash>> =
                    proof.iter().map(|p| parse_hash(p.as_bytes())).collect();
                let proof = proof.ok_or_else(|| Finding::at(seq, "the proof is not hex"))?;
                if verify_inclusion(&leaf, seq, cp.size, &proof, root).is_err() {
                    return Err(Finding::at(
                        seq,
                        "the inclusion proof does not lead to the checkpoint's root",
                    )
                    .into());
                }
                let _ = leaf;
                first_seen.get_or_insert(seq);
                last = Some((seq, stored));
                entries += 1;
            }
        }
    }
    let (cp, _) = checkpoint.ok_or_else(|| Finding::log("the export has no checkpoint"))?;
    let seen = (first_seen, last.map(|(s, _)| s));
    let completeness = match claim {
        None => "not checked: the export claims no range (written before exports did)".to_owned(),
        Some((true, ..)) => {
            let want = (cp.size > 0).then_some(0).zip(cp.size.checked_sub(1));
            if seen != (want.map(|w| w.0), want.map(|w| w.1)) {
                return Err(Finding::log(format!(
                    "the export claims the whole log of {} entries but holds {entries} (indices {seen:?}): entries were removed",
                    cp.size
                ))
                .into());
            }
            format!("complete: every entry of the signed log of {}", cp.size)
        }
        Some((false, first, last_claimed)) => {
            if seen != (first, last_claimed) {
                return Err(Finding::log(format!(
                    "the export claims entries {first:?} to {last_claimed:?} but holds {seen:?}: entries were removed"
                ))
                .into());
            }
            match (first, last_claimed) {
                (Some(a), Some(b)) => format!(
                    "complete between entries {a} and {b} (a time range: its boundaries are as the unsigned header claims them)"
                ),
                _ => "empty time range (as the unsigned header claims)".to_owned(),
            }
        }
    };
    Ok(Summary {
        completeness,
        entries,
        checkpoints: 1,
        root: cp.root.clone(),
        key_id: cp.key_id.clone(),
        public_key: key.as_deref().map(hex::encode).unwrap_or_default(),
        unsigned_entries: 0,
        torn_tail_bytes: 0,
    })
}
