//! The at-a-glance lists (originals viewed lately, deletion receipts): the
//! newest audit entries of one kind, kept in memory and brought up to date
//! by reading only what the log gained since the last look.
//!
//! The first look after the service starts reads back through at most
//! [`GLANCE`] entries; later looks read only the entries appended since
//! (again at most [`GLANCE`]; when more came, the list starts over from
//! them). So a list always covers at least the latest [`GLANCE`] entries,
//! which is what the pages say.

use super::super::state::AppState;
use lensguard_store::audit::search::{AuditQuery, FoundEntry, search};
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries a list looks back through at least.
pub const GLANCE: usize = 5_000;
/// Entries a list shows.
const SHOWN: usize = 10;

#[derive(Clone, Default)]
struct Seen {
    scanned_to: u64,
    latest: Vec<FoundEntry>,
}

/// The lists, by action pattern.
#[derive(Default)]
pub struct Glances(Mutex<HashMap<&'static str, Seen>>);

impl Glances {
    /// The newest entries whose action matches `action` (`*.read_original`).
    pub async fn latest(&self, state: &AppState, action: &'static str) -> Vec<FoundEntry> {
        let before = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(action)
            .cloned();
        let query = AuditQuery {
            action: Some(action.to_owned()),
            scan_limit: Some(GLANCE),
            since_offset: before.as_ref().map(|b| b.scanned_to),
            ..AuditQuery::default()
        };
        let dir = state.data_dir.join("audit");
        let found = tokio::task::spawn_blocking(move || search(&dir, &query, None, SHOWN))
            .await
            .ok()
            .and_then(Result::ok);
        let Some(found) = found else {
            return before.map(|b| b.latest).unwrap_or_default();
        };
        // Stopped short of where the last look ended (too many new entries,
        // or a full list): the new entries alone are the latest.
        let covered = found.next_before.is_none();
        let mut latest = found.entries;
        if covered && let Some(b) = before {
            latest.extend(b.latest);
        }
        latest.truncate(SHOWN);
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                action,
                Seen {
                    scanned_to: found.scanned_to,
                    latest: latest.clone(),
                },
            );
        latest
    }
}
