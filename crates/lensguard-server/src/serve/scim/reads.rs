//! Reading `/Users` and `/Groups`: lists (`filter`, `startIndex`,
//! `count`, `attributes`, `excludedAttributes`), `/.search`, and one
//! resource by id.
//!
//! Invariants: every read of resources is audited before it is answered
//! (`scim.read`, naming the resource or how many were found); a list holds
//! at most [`MAX_RESULTS`] resources; `If-None-Match` on GET answers 304
//! when it names the current version.

use super::{
    Client, admit, answer, audited_read, body_json, precondition, refusal, unavailable_db,
    with_etag,
};
use crate::scim::resource::{render, select};
use crate::scim::schema::{LIST, MAX_RESULTS, SEARCH};
use crate::scim::{ScimError, filter};
use crate::serve::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use lensguard_store::db::{ScimKind, ScimResource};
use serde_json::{Value, json};

/// A list request's parameters, from the query or a `/.search` body.
#[derive(Debug, Default)]
struct Query {
    filter: Option<String>,
    start: usize,
    count: usize,
    attributes: Option<String>,
    excluded: Option<String>,
}

fn number(text: Option<&str>, name: &str) -> Result<Option<i64>, ScimError> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::bad("invalidValue", format!("{name} must be an integer")))
    })
    .transpose()
}

impl Query {
    fn new(
        filter: Option<String>,
        start: Option<i64>,
        count: Option<i64>,
        attributes: Option<String>,
        excluded: Option<String>,
    ) -> Query {
        Query {
            filter,
            start: usize::try_from(start.unwrap_or(1).max(1)).unwrap_or(1),
            count: usize::try_from(count.unwrap_or(100).max(0))
                .unwrap_or(0)
                .min(MAX_RESULTS),
            attributes,
            excluded,
        }
    }

    fn from_uri(query: Option<&str>) -> Result<Query, ScimError> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        Ok(Query::new(
            get("filter"),
            number(get("startIndex").as_deref(), "startIndex")?,
            number(get("count").as_deref(), "count")?,
            get("attributes"),
            get("excludedAttributes"),
        ))
    }

    fn from_search(body: &Value) -> Result<Query, ScimError> {
        let named = body
            .get("schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(SEARCH)));
        if !named {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("a search body's schemas must name {SEARCH}"),
            ));
        }
        let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
        let list = |name: &str| match body.get(name) {
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let int = |name: &str| body.get(name).and_then(Value::as_i64);
        Ok(Query::new(
            text("filter"),
            int("startIndex"),
            int("count"),
            list("attributes"),
            list("excludedAttributes"),
        ))
    }
}

/// The list answer for `q` over the resources of `kinds` (both for a
/// search at the root), Users first.
async fn listing(state: &AppState, client: &Client, kinds: &[ScimKind], q: Query) -> Response {
    let filter = match q.filter.as_deref().map(filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return refusal(&e),
    };
    let mut found = Vec::new();
    for &kind in kinds {
        let (all, groups) = match everything(state, kind).await {
            Ok(x) => x,
            Err(r) => return r,
        };
        for res in &all {
            let rendered = render(res, &client.base, &groups);
            let keep = match &filter {
                Some(f) => match filter::matches(kind, f, &rendered) {
                    Ok(k) => k,
                    Err(e) => return refusal(&e),
                },
                None => true,
            };
            if keep {
                found.push((kind, rendered));
            }
        }
    }
    let total = found.len();
    let page: Vec<Value> = found
        .into_iter()
        .skip(q.start - 1)
        .take(q.count)
        .map(|(kind, r)| select(kind, r, q.attributes.as_deref(), q.excluded.as_deref()))
        .collect();
    let names: Vec<String> = kinds.iter().map(|k| k.as_str().to_lowercase()).collect();
    let target = format!("{}s:{total}", names.join("+"));
    if let Err(r) = audited_read(state, client, target).await {
        return r;
    }
    answer(
        StatusCode::OK,
        &json!({
            "schemas": [LIST],
            "totalResults": total,
            "itemsPerPage": page.len(),
            "startIndex": q.start,
            "Resources": page,
        }),
    )
}

/// Every resource of `kind`, and every group (for users' `groups`).
async fn everything(
    state: &AppState,
    kind: ScimKind,
) -> Result<(Vec<ScimResource>, Vec<ScimResource>), Response> {
    let groups = state
        .db
        .scim_resources(ScimKind::Group)
        .await
        .map_err(|_| unavailable_db())?;
    let all = match kind {
        ScimKind::Group => groups.clone(),
        ScimKind::User => state
            .db
            .scim_resources(ScimKind::User)
            .await
            .map_err(|_| unavailable_db())?,
    };
    Ok((all, groups))
}

async fn list(state: AppState, req: Request, kind: ScimKind) -> Response {
    let (parts, _) = req.into_parts();
    let client = match admit(&state, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match Query::from_uri(parts.uri.query()) {
        Ok(q) => listing(&state, &client, &[kind], q).await,
        Err(e) => refusal(&e),
    }
}

/// `POST …/.search`: over `kinds`.
pub async fn search(state: AppState, req: Request, kinds: &[ScimKind]) -> Response {
    let (parts, body) = req.into_parts();
    let client = match admit(&state, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    match body_json(body).await.and_then(|b| Query::from_search(&b)) {
        Ok(q) => listing(&state, &client, kinds, q).await,
        Err(e) => refusal(&e),
    }
}

async fn get_one(state: AppState, req: Request, kind: ScimKind, id: String) -> Response {
    let (parts, _) = req.into_parts();
    let client = match admit(&state, &parts).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q = match Query::from_uri(parts.uri.query()) {
        Ok(q) => q,
        Err(e) => return refusal(&e),
    };
    let (all, groups) = match everything(&state, kind).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(res) = all.iter().find(|r| r.id == id) else {
        return refusal(&ScimError::not_found(format!(
            "no {} {id:?}",
            kind.as_str()
        )));
    };
    let target = format!("{}:{id}", kind.as_str().to_lowercase());
    if let Err(r) = audited_read(&state, &client, target).await {
        return r;
    }
    if precondition(&parts.headers, header::IF_NONE_MATCH, res.version) == Some(true) {
        let r = Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default();
        return with_etag(r, res.version);
    }
    let shown = select(
        kind,
        render(res, &client.base, &groups),
        q.attributes.as_deref(),
        q.excluded.as_deref(),
    );
    with_etag(answer(StatusCode::OK, &shown), res.version)
}

pub async fn list_users(State(s): State<AppState>, req: Request) -> Response {
    list(s, req, ScimKind::User).await
}
pub async fn list_groups(State(s): State<AppState>, req: Request) -> Response {
    list(s, req, ScimKind::Group).await
}
pub async fn search_users(State(s): State<AppState>, req: Request) -> Response {
    search(s, req, &[ScimKind::User]).await
}
pub async fn search_groups(State(s): State<AppState>, req: Request) -> Response {
    search(s, req, &[ScimKind::Group]).await
}
pub async fn get_user(State(s): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    get_one(s, req, ScimKind::User, id).await
}
pub async fn get_group(
    State(s): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    get_one(s, req, ScimKind::Group, id).await
}
pub async fn search_all(State(s): State<AppState>, req: Request) -> Response {
    search(s, req, &[ScimKind::User, ScimKind::Group]).await
}
