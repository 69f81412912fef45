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
            serde_json::from_slice(body).map_err(|e| Error::Invalid(e.to_string()))?;
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
    use std::io::{Seek, SeekFrom};
    let path = dir.join(super::files::LOG);
    let mut file =
        std::fs::File::open(&path).map_err(Error::io(format!("cannot open {}", path.display())))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(Error::io("cannot seek in the audit log"))?;
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut end = offset;
    let mut line = Vec::new();
    while out.len() < max {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(Error::io("cannot read the audit log"))?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        end += n as u64;
        let body = line.get(65..line.len() - 1).unwrap_or_default();
        let json = String::from_utf8(body.to_vec()).map_err(|e| Error::Invalid(e.to_string()))?;
        let entry: ParsedEntry =
            serde_json::from_str(&json).map_err(|e| Error::Invalid(e.to_string()))?;
        out.push(RawEntry { json, entry, end });
    }
    Ok(out)
}

/// The signed checkpoints of the log in `dir`, as written (none when there
/// is no checkpoint file; a torn last line is left out). Not verified.
pub fn checkpoints(dir: &Path) -> Result<Vec<super::Checkpoint>, Error> {
    let path = dir.join(super::files::CHECKPOINTS);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
    };
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).map_err(|e| Error::Invalid(e.to_string())))
        .collect()
}
