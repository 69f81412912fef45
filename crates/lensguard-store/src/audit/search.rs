//! Searching the log newest first, a page at a time (the console's audit
//! page and `GET /v1/audit/entries`).
//!
//! The log file is read backwards from the end (or from a cursor: the byte
//! offset where the previous page's oldest entry starts) in blocks, so the
//! newest page costs the same however long the log is; a filter that matches
//! rarely reads further back. Entries are in append order, whose times come
//! from the service clock: a search with `from` stops at the first older
//! entry. Nothing here verifies the log ([`super::verify::verify_dir`] does);
//! a line that does not parse is an error, not skipped.

use super::event::ParsedEntry;
use crate::Error;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// What to look for; every field that is set must match.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The actor, exactly (`user:ID`, `key:ID`, `system`).
    pub actor: Option<String>,
    /// The action, exactly; or every action starting with the text before a
    /// final `*` (`evidence.*`), or ending with the text after a leading `*`
    /// (`*.read_original`).
    pub action: Option<String>,
    /// Text the target contains.
    pub target: Option<String>,
    /// Only at or after this time.
    pub from: Option<time::OffsetDateTime>,
    /// Only before this time.
    pub to: Option<time::OffsetDateTime>,
    /// Examine at most this many entries (newest first) before answering
    /// with what matched so far; `None`: as many as it takes.
    pub scan_limit: Option<usize>,
    /// Only entries whose line starts at or after this byte offset (the
    /// `scanned_to` of an earlier search: what was added since).
    pub since_offset: Option<u64>,
}

impl AuditQuery {
    /// Texts a matching line must contain as they are (each set filter's
    /// literal part, when it is plain enough that JSON writes it unescaped):
    /// a line without them is skipped without being parsed.
    fn needles(&self) -> Vec<Vec<u8>> {
        let plain = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-/@ ".contains(&b))
        };
        [
            self.actor.as_deref(),
            self.action.as_deref().map(|a| a.trim_matches('*')),
            self.target.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| plain(t))
        .map(|t| t.as_bytes().to_vec())
        .collect()
    }

    /// Whether `e` matches.
    pub fn matches(&self, e: &ParsedEntry) -> bool {
        let ev = &e.event;
        self.actor.as_ref().is_none_or(|a| &ev.actor == a)
            && self.action.as_ref().is_none_or(|a| {
                if let Some(prefix) = a.strip_suffix('*') {
                    ev.action.starts_with(prefix)
                } else if let Some(suffix) = a.strip_prefix('*') {
                    ev.action.ends_with(suffix)
                } else {
                    &ev.action == a
                }
            })
            && self
                .target
                .as_ref()
                .is_none_or(|t| ev.target.as_deref().is_some_and(|x| x.contains(t.as_str())))
            && self.to.is_none_or(|to| ev.time < to)
    }
}

/// One entry found, with where its line starts (a cursor for the next page).
#[derive(Debug, Clone)]
pub struct FoundEntry {
    /// The entry's JSON as the log holds it.
    pub json: String,
    /// The parsed entry.
    pub entry: ParsedEntry,
    /// The byte offset of its line.
    pub offset: u64,
}

/// A page of results, newest first.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// At most the page size.
    pub entries: Vec<FoundEntry>,
    /// Where to continue for older entries (`None`: nothing older matches).
    pub next_before: Option<u64>,
    /// The byte offset just after the newest complete entry the search
    /// considered: a later search with `since_offset` of it sees only what
    /// was appended since.
    pub scanned_to: u64,
}

const BLOCK: u64 = 64 * 1024;

/// Up to `max` entries of the log in `dir` matching `query`, newest first,
/// from before byte `before` (the end of the log when `None`; an unfinished
/// last line is left out).
pub fn search(
    dir: &Path,
    query: &AuditQuery,
    before: Option<u64>,
    max: usize,
) -> Result<Found, Error> {
    let path = dir.join(super::files::LOG);
    let mut file =
        std::fs::File::open(&path).map_err(Error::io(format!("cannot open {}", path.display())))?;
    let len = file
        .metadata()
        .map_err(Error::io(format!("cannot read {}", path.display())))?
        .len();
    let mut end = before.unwrap_or(len).min(len);
    if before.is_some() && end > 0 {
        // A cursor must be the start of a line.
        let mut prev = [0u8; 1];
        file.seek(SeekFrom::Start(end - 1))
            .and_then(|_| file.read_exact(&mut prev))
            .map_err(Error::io("cannot read the audit log"))?;
        if prev[0] != b'\n' {
            return Err(Error::Rejected(
                "the cursor is not one this log issued".into(),
            ));
        }
    }
    let mut found = Found::default();
    // Bytes before `end` not yet split into lines (the start of a line whose
    // beginning lies in an earlier block).
    let mut carry: Vec<u8> = Vec::new();
    let mut first_block = before.is_none();
    found.scanned_to = end;
    let mut examined = 0usize;
    let needles: Vec<memchr::memmem::Finder<'_>> = {
        let owned = query.needles();
        owned
            .into_iter()
            .map(|n| memchr::memmem::Finder::new(&n).into_owned())
            .collect()
    };
    while end > 0 || !carry.is_empty() {
        let start = end.saturating_sub(BLOCK);
        let mut block = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut block))
            .map_err(Error::io("cannot read the audit log"))?;
        block.extend_from_slice(&carry);
        if first_block {
            // An unfinished last line (an append in progress) is not an entry.
            match block.iter().rposition(|b| *b == b'\n') {
                Some(nl) => block.truncate(nl + 1),
                None => block.clear(),
            }
            found.scanned_to = start + block.len() as u64;
            first_block = false;
        }
        // Complete lines are those after a newline in this block, or from
        // the file's start.
        let mut line_end = block.len();
        let mut cut = block.len();
        loop {
            let search_to = line_end.saturating_sub(1);
            let line_start = match block[..search_to].iter().rposition(|b| *b == b'\n') {
                Some(nl) => nl + 1,
                None if start == 0 => 0,
                None => break,
            };
            let line = &block[line_start..search_to];
            if !line.is_empty() {
                let offset = start + line_start as u64;
                if query.since_offset.is_some_and(|since| offset < since) {
                    return Ok(found);
                }
                let Some(body) = line.get(65..) else {
                    return Err(Error::Corrupt(format!("audit log line at byte {offset}")));
                };
                if query.scan_limit.is_some_and(|limit| examined == limit) {
                    // Older entries were not examined: say where to go on.
                    found.next_before = Some(offset + line.len() as u64 + 1);
                    return Ok(found);
                }
                if !needles.iter().all(|n| n.find(body).is_some()) {
                    examined += 1;
                    cut = line_start;
                    line_end = line_start;
                    if line_start == 0 {
                        break;
                    }
                    continue;
                }
                let entry: ParsedEntry =
                    serde_json::from_slice(body).map_err(|e| Error::Corrupt(e.to_string()))?;
                if query.from.is_some_and(|from| entry.event.time < from) {
                    return Ok(found);
                }
                examined += 1;
                if query.matches(&entry) {
                    if found.entries.len() == max {
                        found.next_before = found.entries.last().map(|e| e.offset);
                        return Ok(found);
                    }
                    let json = String::from_utf8_lossy(body).into_owned();
                    found.entries.push(FoundEntry {
                        json,
                        entry,
                        offset,
                    });
                }
            }
            cut = line_start;
            line_end = line_start;
            if line_start == 0 {
                break;
            }
        }
        carry = block[..cut].to_vec();
        if start == 0 {
            break;
        }
        end = start;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, AuditLog, AuditOptions, Outcome};

    fn log_with(n: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().expect("dir");
        let log = AuditLog::open(dir.path(), AuditOptions::default()).expect("log");
        let t0 = time::macros::datetime!(2026-12-01 00:00 UTC);
        for i in 0..n {
            let action = if i % 3 == 0 {
                "evidence.read"
            } else {
                "inspections.list"
            };
            // Long reasons make entries span the 64 KiB blocks.
            let reason = "x".repeat((i as usize * 37) % 900);
            let e = AuditEvent::new(
                t0 + time::Duration::minutes(i as i64),
                format!("user:u{}", i % 4),
                action,
            )
            .target(format!("inspection:i{i}"))
            .outcome(Outcome::Success, Some(reason));
            log.append(e).expect("append");
        }
        (dir, log)
    }

    fn seqs(found: &Found) -> Vec<u64> {
        found.entries.iter().map(|e| e.entry.seq).collect()
    }

    #[test]
    fn pages_walk_back_through_every_match_once() {
        let (dir, log) = log_with(700);
        let total = log.len();
        let mut all = Vec::new();
        let mut before = None;
        loop {
            let page = search(dir.path(), &AuditQuery::default(), before, 50).expect("search");
            all.extend(seqs(&page));
            match page.next_before {
                Some(b) => before = Some(b),
                None => break,
            }
        }
        let expected: Vec<u64> = (0..total).rev().collect();
        assert_eq!(all, expected, "every entry once, newest first");
    }

    #[test]
    fn filters_match_actor_action_prefix_target_and_time() {
        let (dir, _log) = log_with(300);
        let q = AuditQuery {
            actor: Some("user:u1".into()),
            action: Some("evidence.*".into()),
            ..AuditQuery::default()
        };
        let found = search(dir.path(), &q, None, 1000).expect("search");
        assert!(!found.entries.is_empty());
        for e in &found.entries {
            assert_eq!(e.entry.event.actor, "user:u1");
            assert!(e.entry.event.action.starts_with("evidence."));
        }
        let expected = (0..300u64).filter(|i| i % 4 == 1 && i % 3 == 0).count();
        // The log's own start entries (none here) are not counted.
        assert_eq!(found.entries.len(), expected);
        let q = AuditQuery {
            target: Some("inspection:i123".into()),
            ..AuditQuery::default()
        };
        let found = search(dir.path(), &q, None, 10).expect("search");
        assert_eq!(found.entries.len(), 1);
        let q = AuditQuery {
            action: Some("*.list".into()),
            ..AuditQuery::default()
        };
        let found = search(dir.path(), &q, None, 1000).expect("search");
        assert_eq!(found.entries.len(), 200);
        let t0 = time::macros::datetime!(2026-12-01 00:00 UTC);
        let q = AuditQuery {
            from: Some(t0 + time::Duration::minutes(290)),
            to: Some(t0 + time::Duration::minutes(295)),
            ..AuditQuery::default()
        };
        let found = search(dir.path(), &q, None, 100).expect("search");
        assert_eq!(found.entries.len(), 5);
    }

    #[test]
    fn an_unfinished_last_line_is_not_an_entry() {
        let (dir, log) = log_with(10);
        let path = dir.path().join(crate::audit::files::LOG);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("log");
        std::io::Write::write_all(&mut f, b"0123456789abcdef {\"seq\": 10, \"act").expect("tail");
        let found = search(dir.path(), &AuditQuery::default(), None, 100).expect("search");
        assert_eq!(found.entries.len() as u64, log.len());
        assert_eq!(found.entries[0].entry.seq, log.len() - 1);
    }

    #[test]
    fn a_scan_limit_stops_early_and_says_where_to_go_on() {
        let (dir, _log) = log_with(300);
        let q = AuditQuery {
            action: Some("evidence.*".into()),
            scan_limit: Some(30),
            ..AuditQuery::default()
        };
        let first = search(dir.path(), &q, None, 100).expect("search");
        assert_eq!(first.entries.len(), 10, "a third of the newest 30 entries");
        let next = first.next_before.expect("where to go on");
        let second = search(dir.path(), &q, Some(next), 100).expect("search");
        assert_eq!(second.entries.len(), 10);
        // Every third entry matches: the second page goes on with the next
        // match older than the first page's last, none skipped.
        assert_eq!(second.entries[0].entry.seq, first.entries[9].entry.seq - 3);
    }

    #[test]
    fn a_search_since_an_offset_sees_only_what_was_appended() {
        let (dir, log) = log_with(50);
        let first = search(dir.path(), &AuditQuery::default(), None, 1000).expect("search");
        assert_eq!(first.entries.len() as u64, log.len());
        let len = std::fs::metadata(dir.path().join(crate::audit::files::LOG))
            .expect("log")
            .len();
        assert_eq!(first.scanned_to, len);
        let t = time::macros::datetime!(2026-12-02 00:00 UTC);
        for i in 0..3 {
            log.append(AuditEvent::new(t, "user:late", format!("late.{i}")))
                .expect("append");
        }
        let q = AuditQuery {
            since_offset: Some(first.scanned_to),
            ..AuditQuery::default()
        };
        let later = search(dir.path(), &q, None, 1000).expect("search");
        let actions: Vec<&str> = later
            .entries
            .iter()
            .map(|e| e.entry.event.action.as_str())
            .collect();
        assert_eq!(actions, ["late.2", "late.1", "late.0"]);
        assert!(later.next_before.is_none());
    }

    #[test]
    fn a_cursor_that_is_not_a_line_start_is_refused() {
        let (dir, _log) = log_with(5);
        assert!(matches!(
            search(dir.path(), &AuditQuery::default(), Some(7), 10),
            Err(Error::Rejected(_))
        ));
    }
}
