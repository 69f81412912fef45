//! Writing `/Users` and `/Groups` (POST, PUT, PATCH, DELETE), and what
//! each write does to lensguard users.
//!
//! Invariants:
//! - A write computes every touched user's access from the directory as it
//!   will be after the write (groups to roles by `[[sso.roles]]`, `active`)
//!   and commits it with the resources ([`lensguard_store::db::Db::scim_commit`]).
//! - `If-Match` on PUT, PATCH and DELETE must name the current version
//!   (412 otherwise).
//! - A group's members are Users of this directory (400 otherwise).
//! - `userName` is unique without case among all users (409 `uniqueness`).
//! - Every write is audited with its outcome (refusals with why), and so is
//!   each user it created, deprovisioned, restored or narrowed.

use super::{
    Client, admit, answer, body_json, precondition, refusal, unavailable_audit, unavailable_db,
    with_etag,
};
use crate::scim::resource::{etag, member_ids, normalise, render};
use crate::scim::{ScimError, patch};
use crate::serve::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use lensguard_store::audit::Outcome;
use lensguard_store::db::{
    ScimAccess, ScimApplied, ScimConflict, ScimKind, ScimPut, ScimResource, ScimWrite, new_scim_id,
};
use serde_json::{Value, json};

/// Which write a route makes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Create,
    Replace,
    Patch,
    Delete,
}

/// What a write does.
enum Change {
    Create(Value),
    Replace(String, Value),
    Patch(String, Value),
    Delete(String),
}

impl Change {
    fn action(&self) -> &'static str {
        match self {
            Change::Create(_) => "scim.create",
            Change::Replace(..) => "scim.replace",
            Change::Patch(..) => "scim.patch",
            Change::Delete(_) => "scim.delete",
        }
    }
}

/// The directory as a write leaves it, ready to commit.
struct Planned {
    write: ScimWrite,
    id: String,
}

/// The access `user` has once `groups` are as given.
fn access_of(client: &Client, user: &ScimResource, groups: &[ScimResource]) -> ScimAccess {
    let names: Vec<String> = groups
        .iter()
        .filter(|g| member_ids(&g.doc).contains(&user.id))
        .filter_map(|g| g.doc.get("displayName").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let active = user.doc.get("active").and_then(Value::as_bool) != Some(false);
    ScimAccess {
        id: user.id.clone(),
        username: user
            .doc
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        grant: active.then(|| client.scim.config.grant(&names)).flatten(),
    }
}

fn plan(
    client: &Client,
    kind: ScimKind,
    change: &Change,
    users: &[ScimResource],
    groups: &[ScimResource],
    headers: &HeaderMap,
) -> Result<Planned, ScimError> {
    let current = |id: &str| {
        let of_kind = if kind == ScimKind::User {
            users
        } else {
            groups
        };
        let found = of_kind
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ScimError::not_found(format!("no {} {id:?}", kind.as_str())))?;
        if precondition(headers, header::IF_MATCH, found.version) == Some(false) {
            return Err(ScimError::status(
                412,
                format!(
                    "{} {id:?} is at version {}",
                    kind.as_str(),
                    etag(found.version)
                ),
            ));
        }
        Ok(found)
    };
    let (id, doc, expect) = match change {
        Change::Create(body) => {
            let id = new_scim_id().map_err(|e| ScimError::status(500, e.to_string()))?;
            (id, Some(normalise(kind, body)?), None)
        }
        Change::Replace(id, body) => {
            let found = current(id)?;
            (
                id.clone(),
                Some(normalise(kind, body)?),
                Some(found.version),
            )
        }
        Change::Patch(id, body) => {
            let found = current(id)?;
            (
                id.clone(),
                Some(patch::apply(kind, &found.doc, body)?),
                Some(found.version),
            )
        }
        Change::Delete(id) => (id.clone(), None, Some(current(id)?.version)),
    };
    let mut write = ScimWrite::default();
    // The directory after the write.
    let mut users_after: Vec<ScimResource> = users.to_vec();
    let mut groups_after: Vec<ScimResource> = groups.to_vec();
    let of_kind = if kind == ScimKind::User {
        &mut users_after
    } else {
        &mut groups_after
    };
    let before: Option<ScimResource> = of_kind.iter().find(|r| r.id == id).cloned();
    of_kind.retain(|r| r.id != id);
    if let Some(doc) = &doc {
        of_kind.push(ScimResource {
            id: id.clone(),
            kind,
            doc: doc.clone(),
            version: expect.unwrap_or(0) + 1,
            created_at: 0,
            modified_at: 0,
        });
        write.puts.push(ScimPut {
            id: id.clone(),
            kind,
            doc: doc.clone(),
            expect_version: expect,
        });
    } else {
        write.deletes.push((kind, id.clone()));
    }
    let touched: Vec<String> = match kind {
        ScimKind::User => {
            if let Some(doc) = &doc {
                let name = doc
                    .get("userName")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let clash = users_after
                    .iter()
                    .filter(|u| u.id != id)
                    .filter_map(|u| u.doc.get("userName").and_then(Value::as_str))
                    .any(|n| n.eq_ignore_ascii_case(name));
                if clash {
                    return Err(ScimError {
                        status: 409,
                        scim_type: Some("uniqueness"),
                        detail: format!("a User named {name:?} exists"),
                    });
                }
                vec![id.clone()]
            } else {
                // A deleted user leaves every group it was in.
                for g in &mut groups_after {
                    let ids = member_ids(&g.doc);
                    if ids.contains(&id) {
                        let kept: Vec<Value> = ids
                            .iter()
                            .filter(|m| **m != id)
                            .map(|m| json!({"value": m}))
                            .collect();
                        if let Some(doc) = g.doc.as_object_mut() {
                            if kept.is_empty() {
                                doc.remove("members");
                            } else {
                                doc.insert("members".into(), Value::Array(kept));
                            }
                        }
                        write.puts.push(ScimPut {
                            id: g.id.clone(),
                            kind: ScimKind::Group,
                            doc: g.doc.clone(),
                            expect_version: Some(g.version),
                        });
                    }
                }
                Vec::new()
            }
        }
        ScimKind::Group => {
            let after = doc.as_ref().map(member_ids).unwrap_or_default();
            if let Some(stranger) = after.iter().find(|m| !users.iter().any(|u| &u.id == *m)) {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("member {stranger:?} is not a User of this directory"),
                ));
            }
            let mut touched = before.map(|b| member_ids(&b.doc)).unwrap_or_default();
            touched.extend(after);
            touched.sort();
            touched.dedup();
            touched
        }
    };
    for user in users_after.iter().filter(|u| touched.contains(&u.id)) {
        write.access.push(access_of(client, user, &groups_after));
    }
    Ok(Planned { write, id })
}

async fn audit(
    state: &AppState,
    client: &Client,
    action: &str,
    target: String,
    outcome: Outcome,
    reason: Option<String>,
) -> Result<(), Response> {
    let event = client
        .auth
        .ctx
        .event(client.actor(), action)
        .target(target)
        .outcome(outcome, reason);
    state.audit(event).await.map_err(|_| unavailable_audit())
}

/// Records what a write did to lensguard users.
async fn audit_applied(
    state: &AppState,
    client: &Client,
    applied: &ScimApplied,
) -> Result<(), Response> {
    for (id, ended) in &applied.deprovisioned {
        let why = format!(
            "SCIM: access ended; {} session(s) ended, {} API key(s) revoked",
            ended.sessions, ended.keys
        );
        audit(
            state,
            client,
            "users.deprovision",
            format!("user:{id}"),
            Outcome::Success,
            Some(why),
        )
        .await?;
    }
    for id in &applied.created {
        audit(
            state,
            client,
            "users.create",
            format!("user:{id}"),
            Outcome::Success,
            Some("SCIM".into()),
        )
        .await?;
    }
    for id in &applied.restored {
        let why = "SCIM: access granted (API keys revoked earlier stay revoked)".to_owned();
        audit(
            state,
            client,
            "users.restore",
            format!("user:{id}"),
            Outcome::Success,
            Some(why),
        )
        .await?;
    }
    for id in &applied.narrowed {
        let why = "SCIM: role or devices narrowed; sessions ended".to_owned();
        audit(
            state,
            client,
            "users.role",
            format!("user:{id}"),
            Outcome::Success,
            Some(why),
        )
        .await?;
    }
    Ok(())
}

async fn write(
    state: AppState,
    req: Request,
    kind: ScimKind,
    id: Option<String>,
    verb: Verb,
) -> Response {
    let (parts, body) = req.into_parts();
    let client = match admit(&state, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let needs_body = verb != Verb::Delete;
    let body = if needs_body {
        match body_json(body).await {
            Ok(b) => Some(b),
            Err(e) => return refusal(&e),
        }
    } else {
        None
    };
    let change = match (verb, id, body) {
        (Verb::Create, _, Some(b)) => Change::Create(b),
        (Verb::Replace, Some(id), Some(b)) => Change::Replace(id, b),
        (Verb::Patch, Some(id), Some(b)) => Change::Patch(id, b),
        (Verb::Delete, Some(id), _) => Change::Delete(id),
        _ => return refusal(&ScimError::status(500, "no such write")),
    };
    let kind_name = kind.as_str().to_lowercase();
    let _writing = client.scim.writes.lock().await;
    let (users, groups) = match (
        state.db.scim_resources(ScimKind::User).await,
        state.db.scim_resources(ScimKind::Group).await,
    ) {
        (Ok(u), Ok(g)) => (u, g),
        _ => return unavailable_db(),
    };
    let planned = match plan(&client, kind, &change, &users, &groups, &parts.headers) {
        Ok(p) => p,
        Err(e) => {
            let target = match &change {
                Change::Create(_) => kind_name.clone(),
                Change::Replace(id, _) | Change::Patch(id, _) | Change::Delete(id) => {
                    format!("{kind_name}:{id}")
                }
            };
            let outcome = Outcome::Failure;
            if let Err(r) = audit(
                &state,
                &client,
                change.action(),
                target,
                outcome,
                Some(e.detail.clone()),
            )
            .await
            {
                return r;
            }
            return refusal(&e);
        }
    };
    let target = format!("{kind_name}:{}", planned.id);
    let now = time::OffsetDateTime::now_utc();
    let applied = match state
        .db
        .scim_commit(&planned.write, &state.secrets, now)
        .await
    {
        Ok(Ok(applied)) => applied,
        Ok(Err(conflict)) => {
            let e = match conflict {
                ScimConflict::NameTaken(name) => ScimError {
                    status: 409,
                    scim_type: Some("uniqueness"),
                    detail: format!("a lensguard user is named {name:?} already"),
                },
                ScimConflict::Version(id) => {
                    ScimError::status(412, format!("{id} changed meanwhile; read it again"))
                }
            };
            if let Err(r) = audit(
                &state,
                &client,
                change.action(),
                target,
                Outcome::Failure,
                Some(e.detail.clone()),
            )
            .await
            {
                return r;
            }
            return refusal(&e);
        }
        Err(lensguard_store::Error::Rejected(why)) => {
            let e = ScimError::bad("invalidValue", why);
            if let Err(r) = audit(
                &state,
                &client,
                change.action(),
                target,
                Outcome::Failure,
                Some(e.detail.clone()),
            )
            .await
            {
                return r;
            }
            return refusal(&e);
        }
        Err(_) => return unavailable_db(),
    };
    if let Err(r) = audit(
        &state,
        &client,
        change.action(),
        target,
        Outcome::Success,
        None,
    )
    .await
    {
        return r;
    }
    if let Err(r) = audit_applied(&state, &client, &applied).await {
        return r;
    }
    if matches!(change, Change::Delete(_)) {
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default();
    }
    let (res, groups) = match (
        state.db.scim_resource(kind, &planned.id).await,
        state.db.scim_resources(ScimKind::Group).await,
    ) {
        (Ok(Some(r)), Ok(g)) => (r, g),
        _ => return unavailable_db(),
    };
    let status = if matches!(change, Change::Create(_)) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut r = with_etag(
        answer(status, &render(&res, &client.base, &groups)),
        res.version,
    );
    if status == StatusCode::CREATED
        && let Ok(v) = HeaderValue::from_str(&crate::scim::resource::location(
            &client.base,
            kind,
            &res.id,
        ))
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

pub async fn create_user(State(s): State<AppState>, req: Request) -> Response {
    write(s, req, ScimKind::User, None, Verb::Create).await
}
pub async fn create_group(State(s): State<AppState>, req: Request) -> Response {
    write(s, req, ScimKind::Group, None, Verb::Create).await
}
pub async fn replace_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::User, Some(id), Verb::Replace).await
}
pub async fn replace_group(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::Group, Some(id), Verb::Replace).await
}
pub async fn patch_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::User, Some(id), Verb::Patch).await
}
pub async fn patch_group(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::Group, Some(id), Verb::Patch).await
}
pub async fn delete_user(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::User, Some(id), Verb::Delete).await
}
pub async fn delete_group(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    write(s, req, ScimKind::Group, Some(id), Verb::Delete).await
}
