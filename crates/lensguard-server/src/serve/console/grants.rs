//! View grants: what a console page that was audited may load without
//! auditing again.
//!
//! A page that shows evidence is one audited read, and a listing is one
//! audited read per page view, naming what it showed. The images on such a
//! page are separate requests; each still passes the same scope check as the
//! API, and is served without a second audit entry only when it presents a
//! grant the page issued: bound to the session that viewed the page, naming
//! exactly the objects the audit entry named, and short-lived. A grant for an
//! original is spent by its first use.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a page's grant works.
pub const GRANT_LIFETIME: Duration = Duration::from_secs(120);
/// Grants held at once; past it the oldest go first.
const MAX_GRANTS: usize = 10_000;

struct Grant {
    session: String,
    targets: HashSet<String>,
    until: Instant,
    single_use: bool,
}

/// The grants issued by pages, in memory.
#[derive(Default)]
pub struct ViewGrants(Mutex<HashMap<String, Grant>>);

impl ViewGrants {
    /// A grant for `session` to load `targets` (e.g. `thumbnail:ID`).
    pub fn issue(&self, session: &str, targets: HashSet<String>, single_use: bool) -> String {
        let token = hex::encode(uuid::Uuid::new_v4().as_bytes());
        let now = Instant::now();
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, g| g.until > now);
        if map.len() >= MAX_GRANTS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, g)| g.until)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            token.clone(),
            Grant {
                session: session.to_owned(),
                targets,
                until: now + GRANT_LIFETIME,
                single_use,
            },
        );
        token
    }

    /// Whether `token` lets `session` load `target` now (spending a
    /// single-use grant).
    pub fn take(&self, token: &str, session: &str, target: &str) -> bool {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(grant) = map.get(token) else {
            return false;
        };
        let ok = grant.session == session
            && grant.until > Instant::now()
            && grant.targets.contains(target);
        if ok && grant.single_use {
            map.remove(token);
        }
        ok
    }
}

/// Audits a listing page that shows `ids` with their images: one `action`
/// entry naming them (`"N {what}: id id ..."`), then a grant for `session`
/// to load `{kind}:{id}` of each. `Err` is the 503 page when the audit log
/// cannot record the view (nothing is shown).
pub async fn audited_listing(
    state: &super::super::state::AppState,
    seen: &super::page::Seen<'_>,
    (action, what): (&str, &str),
    ids: &[&str],
    kind: &str,
) -> Result<String, axum::response::Response> {
    let event = seen
        .ctx
        .event(seen.principal.actor.to_string(), action)
        .target("console".to_owned())
        .outcome(
            lensguard_store::audit::Outcome::Success,
            Some(format!("{} {what}: {}", ids.len(), ids.join(" "))),
        );
    if state.audit(event).await.is_err() {
        return Err(super::render::unavailable(seen.chrome));
    }
    let targets: HashSet<String> = ids.iter().map(|id| format!("{kind}:{id}")).collect();
    Ok(state.console.grants.issue(seen.session, targets, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_covers_its_session_and_targets_only() {
        let grants = ViewGrants::default();
        let t = grants.issue("s1", ["thumbnail:a".to_owned()].into(), false);
        assert!(grants.take(&t, "s1", "thumbnail:a"));
        assert!(grants.take(&t, "s1", "thumbnail:a"), "reusable");
        assert!(!grants.take(&t, "s2", "thumbnail:a"), "another session");
        assert!(!grants.take(&t, "s1", "thumbnail:b"), "another object");
        assert!(!grants.take("nope", "s1", "thumbnail:a"));
        let once = grants.issue("s1", ["original:a".to_owned()].into(), true);
        assert!(grants.take(&once, "s1", "original:a"));
        assert!(!grants.take(&once, "s1", "original:a"), "spent");
    }
}
