//! Overrides of verdicts: `POST /v1/inspections/{id}/overrides`
//! (`inspections:override`), `GET /v1/inspections/{id}/overrides` and
//! `GET /v1/overrides` (`inspections:read`).
//!
//! A person reviewing a retry or fail may decide that another verdict
//! stands, with a stated reason, where the policy's `[overrides]` allows it
//! for every reason that set the verdict. The stored result never changes:
//! the override is a record of its own on the inspection. It is audited
//! before it is stored (`inspections.override`, the stated reason as a
//! pseudonym, as for originals); a refusal is audited too. On an enrolled
//! edge its hub record is queued in the same transaction when the egress
//! manifest names override fields, and never carries who or why.

use super::auth::{Auth, audit_read, may_read_device};
use super::http::{RequestId, audit_unavailable, db_unavailable, error, json, read_json};
use super::inspections::no_such_inspection;
use super::paging::{encode_cursor, page_request, parse_time};
use super::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::{InspectionsOverride, InspectionsRead};
use lensguard_store::audit::Outcome;
use lensguard_store::db::{NewOutboxRecord, NewOverride, OverrideFilter, StoredOverride};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /v1/inspections/{id}/overrides` body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOverrideBody {
    /// The verdict that stands: `pass` (of a retry or fail) or `retry` (of a fail).
    pub verdict: String,
    /// Why (1 to 500 characters): shown to reviewers, kept in the audit log
    /// as a pseudonym, never sent to the hub.
    pub reason: String,
}

/// An override.
#[derive(Debug, Serialize, JsonSchema)]
pub struct OverrideView {
    /// Its id.
    pub id: String,
    /// The inspection.
    pub inspection: String,
    /// Who (`user:ID`, `key:ID`).
    pub actor: String,
    /// When (RFC 3339).
    pub time: String,
    /// Their stated reason.
    pub reason: String,
    /// The verdict overridden.
    pub from_verdict: String,
    /// The verdict that stands.
    pub verdict: String,
    /// The reason codes overridden.
    pub reason_codes: Vec<String>,
    /// The inspection's device, when named.
    pub device_id: Option<String>,
}

impl From<&StoredOverride> for OverrideView {
    fn from(o: &StoredOverride) -> Self {
        OverrideView {
            id: o.id.clone(),
            inspection: o.inspection_id.clone(),
            actor: o.actor.clone(),
            time: super::identity::rfc3339(o.created_at),
            reason: o.reason.clone(),
            from_verdict: o.from_verdict.clone(),
            verdict: o.verdict.clone(),
            reason_codes: o.reason_codes.clone(),
            device_id: o.device_id.clone(),
        }
    }
}

/// The reason codes that set `report`'s verdict (status retry or fail).
fn deciding_codes(report: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = report
        .get("reasons")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter(|r| {
            matches!(
                r.get("status").and_then(|s| s.as_str()),
                Some("retry" | "fail")
            )
        })
        .filter_map(|r| r.get("code").and_then(|c| c.as_str()).map(str::to_owned))
        .collect();
    codes.dedup();
    codes
}

/// `POST /v1/inspections/{id}/overrides`.
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<InspectionsOverride>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let req: NewOverrideBody = match read_json(body, &rid).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(reason) = super::evidence::usable_reason(&req.reason) else {
        return error(
            StatusCode::BAD_REQUEST,
            "reason_required",
            "state why the verdict is overridden: reason, 1 to 500 characters without control characters",
            &rid,
        );
    };
    let principal = auth.granted.principal();
    let found = match state.db.get_inspection(&id).await {
        Ok(Some(f)) if may_read_device(principal, f.device_id.as_deref()) => f,
        Ok(_) => return no_such_inspection(&rid),
        Err(_) => return db_unavailable(&rid),
    };
    let report: serde_json::Value = serde_json::from_str(&found.report).unwrap_or_default();
    let from = report
        .get("verdict")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    let policy = state.intake.policy();
    let actor = principal.actor.to_string();
    let target = format!("inspection:{id}");
    let pseudonym = state.audit.pseudonym(&reason);
    if let Err(why) = policy.overrides.check(&report, &req.verdict) {
        let event = auth
            .ctx
            .event(actor, "inspections.override")
            .target(target)
            .outcome(Outcome::Denied, Some(why.to_string()));
        if state.audit(event).await.is_err() {
            return audit_unavailable(&rid);
        }
        return error(
            StatusCode::CONFLICT,
            "not_overridable",
            why.to_string(),
            &rid,
        );
    }
    let event = auth
        .ctx
        .event(actor.clone(), "inspections.override")
        .target(target)
        .outcome(
            Outcome::Success,
            Some(format!("{from} -> {}; reason {pseudonym}", req.verdict)),
        );
    if state.audit(event).await.is_err() {
        return audit_unavailable(&rid);
    }
    let override_id = uuid::Uuid::new_v4().to_string();
    let now = time::OffsetDateTime::now_utc();
    let codes = deciding_codes(&report);
    let manifest = format!("{}@{}", policy.name, policy.revision);
    let wire = serde_json::json!({
        "id": override_id, "inspection": id, "from_verdict": from, "verdict": req.verdict,
        "time": super::identity::rfc3339(now.unix_timestamp()), "reason_codes": codes,
    });
    let outbox = &state.intake.outbox;
    let queued = outbox
        .queue_for_hub
        .then(|| policy.egress.override_record(&manifest, &wire))
        .flatten();
    let new = NewOverride {
        inspection_id: &id,
        actor: &actor,
        reason: &reason,
        from_verdict: &from,
        verdict: &req.verdict,
        reason_codes: &codes,
        device_id: found.device_id.as_deref(),
        outbox: queued.as_ref().map(|record| NewOutboxRecord {
            record,
            limits: outbox.limits,
        }),
    };
    match state.db.add_override(&new, &override_id, now).await {
        Ok(stored) => {
            if queued.is_some() {
                outbox.wake.notify_one();
            }
            let body = serde_json::to_string(&OverrideView::from(&stored)).unwrap_or_default();
            json(StatusCode::CREATED, body)
        }
        Err(lensguard_store::Error::OutboxFull { depth, .. }) => super::outbox::full(&rid, depth),
        Err(_) => db_unavailable(&rid),
    }
}

/// `{"items": [...]}` of `found`.
fn items(found: &[StoredOverride], next: Option<String>) -> String {
    let views: Vec<OverrideView> = found.iter().map(OverrideView::from).collect();
    serde_json::json!({"items": views, "next_cursor": next}).to_string()
}

/// `GET /v1/inspections/{id}/overrides`: oldest first (audited as one read).
pub async fn of_inspection(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    Path(id): Path<String>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    match state.db.get_inspection(&id).await {
        Ok(Some(f)) if may_read_device(auth.granted.principal(), f.device_id.as_deref()) => {}
        Ok(_) => return no_such_inspection(&rid),
        Err(_) => return db_unavailable(&rid),
    }
    let target = format!("inspection:{id}");
    if let Err(r) = audit_read(&state, &auth, "overrides.read", target, None).await {
        return r;
    }
    match state.db.overrides_of(&id).await {
        Ok(found) => json(StatusCode::OK, items(&found, None)),
        Err(_) => db_unavailable(&rid),
    }
}

/// Query of `GET /v1/overrides` (and the console's review page).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
    pub(super) actor: Option<String>,
    pub(super) device: Option<String>,
    pub(super) verdict: Option<String>,
    pub(super) limit: Option<u32>,
    pub(super) cursor: Option<String>,
}

/// The filter and page size `q` asks for, within `principal`'s devices.
pub(super) fn filter(
    q: &ListQuery,
    principal: &lensguard_core::access::Principal,
) -> Result<(OverrideFilter, u32), &'static str> {
    let mut f = OverrideFilter::default();
    if let Some(t) = &q.from {
        f.from = Some(parse_time(t).ok_or("from must be an RFC 3339 time")?);
    }
    if let Some(t) = &q.to {
        f.to = Some(parse_time(t).ok_or("to must be an RFC 3339 time")?);
    }
    if let Some(v) = &q.verdict {
        if v != "pass" && v != "retry" {
            return Err("verdict must be pass or retry (what an override results in)");
        }
        f.verdict = Some(v.clone());
    }
    f.actor = q.actor.clone();
    f.device = q.device.clone();
    f.devices = principal.devices.clone();
    let (limit, after) = page_request(q.limit, q.cursor.as_deref())?;
    f.after = after;
    Ok((f, limit))
}

/// The cursor after a full page.
pub(super) fn next(found: &[StoredOverride], limit: u32) -> Option<String> {
    (found.len() == limit as usize)
        .then(|| found.last().map(|o| encode_cursor(o.created_at, &o.id)))
        .flatten()
}

/// `GET /v1/overrides`: newest first, filtered by time, actor, device and
/// resulting verdict (audited as one read per page).
pub async fn list(
    State(state): State<AppState>,
    auth: Auth<InspectionsRead>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let rid = RequestId(auth.ctx.request_id.clone());
    let bad = |m: &str| error(StatusCode::BAD_REQUEST, "bad_request", m.to_owned(), &rid);
    let Ok(Query(q)) = query else {
        return bad(
            "unknown or malformed query parameter (from, to, actor, device, verdict, limit, cursor)",
        );
    };
    let (f, limit) = match filter(&q, auth.granted.principal()) {
        Ok(f) => f,
        Err(why) => return bad(why),
    };
    let found = match state.db.list_overrides(&f, limit).await {
        Ok(found) => found,
        Err(_) => return db_unavailable(&rid),
    };
    let reason = Some(format!("{} overrides", found.len()));
    if let Err(r) = audit_read(&state, &auth, "overrides.list", "overrides".into(), reason).await {
        return r;
    }
    json(StatusCode::OK, items(&found, next(&found, limit)))
}
