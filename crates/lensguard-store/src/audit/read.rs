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
