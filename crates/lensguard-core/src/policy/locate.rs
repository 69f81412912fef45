//! Maps byte offsets and dotted key paths to 1-based line and column numbers.

use toml::de::{DeTable, DeValue};

/// 1-based line and column of a byte offset in `source`.
pub(crate) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where the key at dotted `path` (e.g. `gps.geofence.lat`) is written, if it is.
/// Falls back to the nearest enclosing table that is written.
pub(crate) fn key_location(source: &str, path: &str) -> Option<(usize, usize)> {
    let root = DeTable::parse(source).ok()?;
    let mut table = root.get_ref();
    let mut found = None;
    for part in path.split('.') {
        let Some((key, value)) = table.get_key_value(part) else {
            break;
        };
        found = Some(key.span().start);
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    found.map(|offset| line_column(source, offset))
}
