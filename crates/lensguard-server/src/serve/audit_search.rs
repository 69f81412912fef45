//! `GET /v1/audit/entries` (`audit:read`): the audit log's entries newest
//! first, filtered by actor, action (exact, or a prefix ending in `*`),
//! target text and time, a page at a time; the console's audit page runs the
//! same search ([`run`]).
//!
//! One request examines at most [`SCAN_LIMIT`] entries: a page may then hold
//! fewer than `limit` (even none) with a `next_cursor` to go on; only a
//! null cursor means nothing older matches.
//!
//! Each search is itself audited (`audit.search`, naming the filters) before
//! the answer. Entries are returned as the log holds them; whether the log
//! verifies is a separate question (`lensguard audit verify`, or the
//! console's verification).

use super::auth::Auth;
use super::http::{RequestId, audit_unavailable, error, json};
use super::paging::{decode_cursor, encode_cursor, parse_time};
use super::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::{AuditRead, Needs};
use lensguard_store::audit::Outcome;
use lensguard_store::audit::search::{AuditQuery, Found};

/// Query parameters of `GET /v1/audit/entries` (and the console's filters).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    pub(super) actor: Option<String>,
    pub(super) action: Option<String>,
    pub(super) target: Option<String>,
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
}

/// Entries one request examines at most: a rare filter answers a short
/// page (or none) with a cursor to go on, rather than reading the whole log
/// in one request.
pub(super) const SCAN_LIMIT: usize = 20_000;

/// Page size when none is asked for, and the most one page holds.
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// The search `q` asks for: the filter, page size and cursor; `Err` says
/// what is wrong with it.
pub(super) fn parse(q: &EntriesQuery) -> Result<(AuditQuery, usize, Option<u64>), &'static str> {
    let time = |s: &Option<String>, what: &'static str| -> Result<_, &'static str> {
        s.as_deref()
            .map(|t| {
                parse_time(t)
                    .and_then(|u| time::OffsetDateTime::from_unix_timestamp(u).ok())
                    .ok_or(what)
            })
            .transpose()
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err("limit must be 1 to 500");
    }
    let before = match q.cursor.as_deref() {
        Some(c) => Some(
            decode_cursor(c)
                .filter(|(_, kind)| kind == "audit")
                .and_then(|(offset, _)| u64::try_from(offset).ok())
                .ok_or("cursor is not one this service issued")?,
        ),
        None => None,
    };
    let text = |s: &Option<String>| s.as_deref().map(str::to_owned).filter(|t| !t.is_empty());
    Ok((
        AuditQuery {
            actor: text(&q.actor),
            action: text(&q.action),
            target: text(&q.target),
            from: time(&q.from, "from must be an RFC 3339 time")?,
            to: time(&q.to, "to must be an RFC 3339 time")?,
            scan_limit: Some(SCAN_LIMIT),
            since_offset: None,
        },
        limit as usize,
        before,
    ))
}

/// Why a search gave no answer.
pub(super) enum Failed {
    /// The cursor is not one of this log's.
    BadCursor,
    /// The search could not be audited.
    AuditUnavailable,
    /// The log could not be read.
    Unreadable,
}

/// Audits the search (`audit.search`, naming its filters; `via` says which
/// surface asked), then runs it.
pub(super) async fn run<S: Needs>(
    state: &AppState,
    auth: &Auth<S>,
    filter: AuditQuery,
    limit: usize,
    before: Option<u64>,
    via: &str,
) -> Result<Found, Failed> {
    let described = format!(
        "{via}; actor={} action={} target={} from={} to={}",
        filter.actor.as_deref().unwrap_or("*"),
        filter.action.as_deref().unwrap_or("*"),
        filter.target.as_deref().unwrap_or("*"),
        filter
            .from
            .map_or("*".to_owned(), |t| t.unix_timestamp().to_string()),
        filter
            .to
            .map_or("*".to_owned(), |t| t.unix_timestamp().to_string()),
    );
    let event = auth
        .ctx
        .event(auth.granted.principal().actor.to_string(), "audit.search")
        .target("audit".to_owned())
        .outcome(Outcome::Success, Some(described));
    if state.audit(event).await.is_err() {
        return Err(Failed::AuditUnavailable);
    }
    let dir = state.data_dir.join("audit");
    let searched = tokio::task::spawn_blocking(move || {
        lensguard_store::audit::search::search(&dir, &filter, before, limit)
    })
    .await;
    match searched {
        Ok(Ok(found)) => Ok(found),
        Ok(Err(lensguard_store::Error::Rejected(_))) => Err(Failed::BadCursor),
        Ok(Err(e)) => {
            eprintln!("lensguard: the audit log could not be searched: {e}");
            Err(Failed::Unreadable)
        }
        Err(_) => Err(Failed::Unreadable),
    }
}

/// The cursor for the page after `found`, when there is one.
pub(super) fn next_cursor(found: &Found) -> Option<String> {
    found
        .next_before
        .and_then(|b| i64::try_from(b).ok())
        .map(|b| encode_cursor(b, "audit"))
}

/// `GET /v1/audit/entries?actor=&action=&target=&from=&to=&limit=&cursor=`.
pub async fn entries(
    State(state): State<AppState>,
    auth: Auth<AuditRead>,
    query: Result<Query<EntriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(Query(q)) = query else {
        return bad(
            "unknown or malformed query parameter (actor, action, target, from, to, limit, cursor)",
        );
    };
    let (filter, limit, before) = match parse(&q) {
        Ok(p) => p,
        Err(why) => return bad(why),
    };
    let found = match run(&state, &auth, filter, limit, before, "api").await {
        Ok(f) => f,
        Err(Failed::BadCursor) => return bad("cursor is not one this service issued"),
        Err(Failed::AuditUnavailable) => return audit_unavailable(&rid),
        Err(Failed::Unreadable) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the audit log could not be read; the reason is in the service's log",
                &rid,
            );
        }
    };
    let mut body = String::from("{\"items\":[");
    for (i, e) in found.entries.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&e.json);
    }
    body.push_str("],\"next_cursor\":");
    body.push_str(&serde_json::to_string(&next_cursor(&found)).unwrap_or_else(|_| "null".into()));
    body.push('}');
    json(StatusCode::OK, body)
}
