//! What delivery is doing, for `lensguard edge status`:
//! `<data dir>/hub/delivery.json`, written by the service's delivery task.
//!
//! `{"failing_since", "last_error", "revoked", "recovered_at"}` (times RFC
//! 3339). It is rewritten only when something changes: delivery starts
//! failing, the reason of a failure changes, or delivery recovers; so a
//! steady edge does not write it at all. Each write is atomic (temporary
//! file, rename). The file is advisory: the outbox in the database is the
//! truth about what is still to be delivered.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name in the hub link folder.
pub const FILE: &str = "delivery.json";

/// The delivery task's last known state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryState {
    /// When the current streak of failures began (absent while delivering).
    pub failing_since: Option<String>,
    /// The latest failure's reason (kept after a recovery, for reference).
    pub last_error: Option<String>,
    /// Whether the hub answered that it revoked this edge.
    #[serde(default)]
    pub revoked: bool,
    /// When delivery last recovered from a failure.
    pub recovered_at: Option<String>,
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Keeps `delivery.json` in the link folder `dir` up to date.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    state: DeliveryState,
}

impl StateFile {
    /// The state file of the link folder `dir`, starting from what it holds.
    pub fn open(dir: &Path) -> StateFile {
        StateFile {
            path: dir.join(FILE),
            state: load(dir).unwrap_or_default(),
        }
    }

    /// A failure with reason `why`; written when it starts a streak or
    /// changes the reason.
    pub fn failed(&mut self, why: &str, revoked: bool) {
        if self.state.failing_since.is_some() && self.state.last_error.as_deref() == Some(why) {
            return;
        }
        if self.state.failing_since.is_none() {
            self.state.failing_since = Some(now());
        }
        self.state.last_error = Some(why.to_owned());
        self.state.revoked = revoked;
        self.write();
    }

    /// A successful round; written when it ends a streak of failures.
    pub fn delivered(&mut self) {
        if self.state.failing_since.is_none() && !self.state.revoked {
            return;
        }
        self.state.failing_since = None;
        self.state.revoked = false;
        self.state.recovered_at = Some(now());
        self.write();
    }

    fn write(&self) {
        let text = serde_json::to_vec_pretty(&self.state).unwrap_or_default();
        let written =
            crate::common::durable::write(&self.path, &text, crate::common::durable::Mode::Private);
        if let Err(e) = written {
            eprintln!(
                "lensguard: WARNING: cannot record the delivery state in {}: {e}",
                self.path.display()
            );
        }
    }
}

/// The state recorded in the link folder `dir`, if any.
pub fn load(dir: &Path) -> Option<DeliveryState> {
    let text = std::fs::read_to_string(dir.join(FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_is_written_once_per_reason_and_cleared_on_recovery() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut file = StateFile::open(dir.path());
        file.delivered();
        assert_eq!(load(dir.path()), None, "a steady edge writes nothing");
        file.failed("connection refused", false);
        let first = load(dir.path()).expect("written");
        assert!(first.failing_since.is_some());
        file.failed("the hub answered 403 this edge is revoked", true);
        let second = load(dir.path()).expect("written");
        assert_eq!(second.failing_since, first.failing_since, "same streak");
        assert!(second.revoked);
        file.delivered();
        let after = load(dir.path()).expect("written");
        assert_eq!(after.failing_since, None);
        assert!(!after.revoked && after.recovered_at.is_some());
        assert_eq!(
            after.last_error.as_deref(),
            Some("the hub answered 403 this edge is revoked")
        );
    }
}
