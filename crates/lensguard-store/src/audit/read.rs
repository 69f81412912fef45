//! Reading entries back, in order, streaming (for reports over the log).
//! This does not verify anything: verify the folder first
//! ([`super::verify::verify_dir`]) when the answer must be trusted.

use super::event::ParsedEntry;
use crate::Error;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// Calls `each` with every entry of the log in `dir`, in order.
pub fn for_each_entry(dir: &Path, mut each: impl FnMut(ParsedEntry)) -> Result<(), Error> {
    let path = dir.join(super::files::LOG);
    let file =
        std::fs::File::open(&path).map_err(Error::io(format!("cannot open {}", path.display())))?;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(Error::io("cannot read the audit log"))?;
        let Some(body) = line.get(65..) else {
            continue;
        };
        let entry: ParsedEntry =
            serde_json::from_slice(body).map_err(|e| Error::Corrupt(e.to_string()))?;
        each(entry);
    }
    Ok(())
}

/// One entry with its exact JSON and where the next one starts.
#[derive(Debug, Clone)]
pub struct RawEntry {
    /// The entry's JSON as the log holds it.
    pub json: String,
    /// The parsed entry.
    pub entry: ParsedEntry,
    /// Byte offset of the next line in the log file.
    pub end: u64,
}

/// Up to `max` complete entries starting at byte `offset` of the log in
/// `dir` (an unterminated last line, still being written, is left for
/// later).
pub fn entries_from(dir: &Path, offset: u64, max: usize) -> Result<Vec<RawEntry>, Error> {
    lines_from(&dir.join(super::files::LOG), offset, max, |line, end| {
        let body = line.get(65..).unwrap_or_default();
        let json = String::from_utf8(body.to_vec()).map_err(|e| Error::Corrupt(e.to_string()))?;
        let entry: ParsedEntry =
            serde_json::from_str(&json).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(RawEntry { json, entry, end })
    })
}

/// The signed checkpoints of the log in `dir` from byte `offset` of its
/// checkpoint file, each with the offset after it (none when there is no
/// file; a torn last line is left for later). Not verified.
pub fn checkpoints_from(dir: &Path, offset: u64) -> Result<Vec<(super::Checkpoint, u64)>, Error> {
    let path = dir.join(super::files::CHECKPOINTS);
    if !path.exists() {
        return Ok(Vec::new());
    }
    lines_from(&path, offset, usize::MAX, |line, end| {
        let cp = serde_json::from_slice(line).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok((cp, end))
    })
}

/// Every signed checkpoint of the log in `dir` ([`checkpoints_from`] 0).
pub fn checkpoints(dir: &Path) -> Result<Vec<super::Checkpoint>, Error> {
    Ok(checkpoints_from(dir, 0)?
        .into_iter()
        .map(|(cp, _)| cp)
        .collect())
}

/// Up to `max` complete lines of `path` from byte `offset`, each (without
/// its newline) passed to `parse` with the offset after it.
fn lines_from<T>(
    path: &Path,
    offset: u64,
    max: usize,
    parse: impl Fn(&[u8], u64) -> Result<T, Error>,
) -> Result<Vec<T>, Error> {
    use std::io::{Seek, SeekFrom};
    let mut file =
        std::fs::File::open(path).map_err(Error::io(format!("cannot open {}", path.display())))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(Error::io(format!("cannot seek in {}", path.display())))?;
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut end = offset;
    let mut line = Vec::new();
    while out.len() < max {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(Error::io(format!("cannot read {}", path.display())))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        end += n as u64;
        out.push(parse(&line[..line.len() - 1], end)?);
    }
    Ok(out)
}
