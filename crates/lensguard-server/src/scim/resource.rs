//! A resource's kept attributes, from what a client sent ([`normalise`]) to
//! what a client reads ([`render`], [`select`]).
//!
//! Invariants:
//! - A stored document holds only [`super::schema`]'s writable attributes,
//!   under their canonical names, with their types checked; members are
//!   kept as their ids alone.
//! - `active` that is absent means active (RFC 7643 leaves it to the
//!   server); it is stored and shown only when a client set it.
//! - Rendering adds what the server owns: `schemas`, `id`, `meta`, a
//!   member's `$ref`, and a user's `groups`.

use super::ScimError;
use super::schema::{self, Attr, Ty};
use crate::common::time_text::rfc3339;
use lensguard_store::db::{ScimKind, ScimResource};
use serde_json::{Map, Value, json};

/// The attribute of `kind` a client's key names: plain (`userName`) or
/// under the schema's URN (`urn:…:User:userName`), in any case. `None`
/// for an attribute lensguard does not keep.
pub fn resolve_key(kind: ScimKind, key: &str) -> Option<&'static Attr> {
    let urn = schema::urn(kind);
    let name = match key.get(..urn.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(urn) => key.get(urn.len() + 1..)?,
        _ => key,
    };
    schema::find(kind, name)
}

/// The document to store from a client's resource (POST, PUT, or the
/// result of a PATCH): unknown and read-only attributes dropped, types
/// checked, required ones present.
pub fn normalise(kind: ScimKind, input: &Value) -> Result<Value, ScimError> {
    let Some(object) = input.as_object() else {
        return Err(ScimError::bad(
            "invalidSyntax",
            "a resource is a JSON object",
        ));
    };
    let mut doc = Map::new();
    for (key, value) in object {
        let Some(attr) = resolve_key(kind, key) else {
            continue;
        };
        if attr.mutability == "readOnly" || value.is_null() {
            continue;
        }
        if let Some(v) = typed(attr, value)? {
            doc.insert(attr.name.to_owned(), v);
        }
    }
    for attr in schema::attributes(kind).iter().filter(|a| a.required) {
        let present = doc
            .get(attr.name)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty());
        if !present {
            return Err(ScimError::bad(
                "invalidValue",
                format!("{} is required", attr.name),
            ));
        }
    }
    Ok(Value::Object(doc))
}

/// `value` as `attr` holds it, or why not; `None` for an empty list.
fn typed(attr: &Attr, value: &Value) -> Result<Option<Value>, ScimError> {
    let wrong = || {
        ScimError::bad(
            "invalidValue",
            format!("{} must be {}", attr.name, expected(attr)),
        )
    };
    match (attr.ty, attr.multi) {
        (Ty::String | Ty::Reference, false) => match value {
            Value::String(s) if s.len() <= 1024 => Ok(Some(value.clone())),
            Value::String(_) => Err(ScimError::bad(
                "invalidValue",
                format!("{} is longer than 1024 bytes", attr.name),
            )),
            _ => Err(wrong()),
        },
        // Some directories send booleans as "True"/"False".
        (Ty::Boolean, false) => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(json!(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(json!(false))),
            _ => Err(wrong()),
        },
        (Ty::Complex, true) => {
            let items = match value {
                Value::Array(items) => items.as_slice(),
                Value::Object(_) => std::slice::from_ref(value),
                _ => return Err(wrong()),
            };
            let mut ids: Vec<Value> = Vec::new();
            for item in items {
                let id = item
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
                    .and_then(|(_, v)| v.as_str())
                    .ok_or_else(wrong)?;
                let entry = json!({ "value": id });
                if !ids.contains(&entry) {
                    ids.push(entry);
                }
            }
            Ok((!ids.is_empty()).then_some(Value::Array(ids)))
        }
        _ => Err(wrong()),
    }
}

fn expected(attr: &Attr) -> &'static str {
    match (attr.ty, attr.multi) {
        (Ty::Boolean, _) => "true or false",
        (Ty::Complex, true) => "a list of objects with a string \"value\"",
        _ => "a string",
    }
}

/// The member ids of a stored group.
pub fn member_ids(group: &Value) -> Vec<String> {
    group
        .get("members")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|e| e.get("value").and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Where resources live: `https://<host>/scim/v2`.
pub fn location(base: &str, kind: ScimKind, id: &str) -> String {
    format!("{base}/{}s/{id}", kind.as_str())
}

/// The weak ETag of version `v`.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The resource as clients read it. `groups` are every stored group (a
/// user's `groups` come from them).
pub fn render(res: &ScimResource, base: &str, groups: &[ScimResource]) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([schema::urn(res.kind)]));
    out.insert("id".into(), json!(res.id));
    if let Some(doc) = res.doc.as_object() {
        for (k, v) in doc {
            out.insert(k.clone(), v.clone());
        }
    }
    match res.kind {
        ScimKind::Group => {
            out.remove("members");
            let members: Vec<Value> = member_ids(&res.doc)
                .into_iter()
                .map(|id| json!({"value": id, "$ref": location(base, ScimKind::User, &id)}))
                .collect();
            if !members.is_empty() {
                out.insert("members".into(), Value::Array(members));
            }
        }
        ScimKind::User => {
            let of_user: Vec<Value> = groups
                .iter()
                .filter(|g| member_ids(&g.doc).contains(&res.id))
                .map(|g| {
                    json!({
                        "value": g.id,
                        "$ref": location(base, ScimKind::Group, &g.id),
                        "display": g.doc.get("displayName").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect();
            if !of_user.is_empty() {
                out.insert("groups".into(), Value::Array(of_user));
            }
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": res.kind.as_str(),
            "created": rfc3339(res.created_at),
            "lastModified": rfc3339(res.modified_at),
            "location": location(base, res.kind, &res.id),
            "version": etag(res.version),
        }),
    );
    Value::Object(out)
}

/// One name of an `attributes` or `excludedAttributes` list.
struct Wanted {
    name: String,
    sub: Option<String>,
}

fn wanted(kind: ScimKind, list: &str) -> Vec<Wanted> {
    let urn = schema::urn(kind);
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let plain = match item.get(..urn.len()) {
                Some(p) if p.eq_ignore_ascii_case(urn) => item.get(urn.len() + 1..).unwrap_or(""),
                _ => item,
            };
            match plain.split_once('.') {
                Some((name, sub)) => Wanted {
                    name: name.to_owned(),
                    sub: Some(sub.to_owned()),
                },
                None => Wanted {
                    name: plain.to_owned(),
                    sub: None,
                },
            }
        })
        .collect()
}

fn keep_subs(value: &Value, subs: &[&str], keep: bool) -> Value {
    let pick = |o: &Map<String, Value>| {
        Value::Object(
            o.iter()
                .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)) == keep)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    };
    match value {
        Value::Object(o) => pick(o),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| i.as_object().map_or_else(|| i.clone(), pick))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `rendered` with only the `attributes` asked for, or without the
/// `excluded` ones (RFC 7644 §3.4.2.5); `schemas` and `id` always stay.
pub fn select(
    kind: ScimKind,
    rendered: Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Value {
    let Value::Object(object) = rendered else {
        return rendered;
    };
    let always = |k: &str| k == "schemas" || k == "id";
    let out: Map<String, Value> = match (attributes, excluded) {
        (Some(list), _) => {
            let wanted = wanted(kind, list);
            object
                .into_iter()
                .filter_map(|(k, v)| {
                    if always(&k) {
                        return Some((k, v));
                    }
                    let of_k: Vec<&Wanted> = wanted
                        .iter()
                        .filter(|w| w.name.eq_ignore_ascii_case(&k))
                        .collect();
                    if of_k.is_empty() {
                        None
                    } else if of_k.iter().any(|w| w.sub.is_none()) {
                        Some((k, v))
                    } else {
                        let subs: Vec<&str> =
                            of_k.iter().filter_map(|w| w.sub.as_deref()).collect();
                        Some((k, keep_subs(&v, &subs, true)))
                    }
                })
                .collect()
        }
        (None, Some(list)) => {
            let unwanted = wanted(kind, list);
            object
                .into_iter()
                .filter_map(|(k, v)| {
                    let of_k: Vec<&Wanted> = unwanted
                        .iter()
                        .filter(|w| w.name.eq_ignore_ascii_case(&k))
                        .collect();
                    if always(&k) || of_k.is_empty() {
                        Some((k, v))
                    } else if of_k.iter().any(|w| w.sub.is_none()) {
                        None
                    } else {
                        let subs: Vec<&str> =
                            of_k.iter().filter_map(|w| w.sub.as_deref()).collect();
                        Some((k, keep_subs(&v, &subs, false)))
                    }
                })
                .collect()
        }
        (None, None) => object,
    };
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_keeps_only_what_is_needed() {
        let input = json!({
            "schemas": [schema::USER],
            "id": "chosen-by-client",
            "UserName": "Alice@Example.org",
            "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Alice",
            "active": "False",
            "emails": [{"value": "alice@example.org"}],
            "name": {"givenName": "Alice"},
            "groups": [{"value": "x"}],
        });
        let doc = normalise(ScimKind::User, &input).expect("valid");
        assert_eq!(
            doc,
            json!({"userName": "Alice@Example.org", "displayName": "Alice", "active": false})
        );
    }

    #[test]
    fn normalise_refuses_missing_and_mistyped() {
        let missing = normalise(ScimKind::User, &json!({"displayName": "x"}));
        assert_eq!(missing.map_err(|e| e.scim_type), Err(Some("invalidValue")));
        let mistyped = normalise(ScimKind::User, &json!({"userName": "a", "active": 3}));
        assert!(mistyped.is_err());
        let members = normalise(
            ScimKind::Group,
            &json!({"displayName": "g", "members": [{"value": "a", "$ref": "x"}, {"value": "a"}]}),
        );
        assert_eq!(
            members.ok(),
            Some(json!({"displayName": "g", "members": [{"value": "a"}]}))
        );
    }

    #[test]
    fn select_keeps_always_returned() {
        let v = json!({"schemas": [], "id": "1", "userName": "a", "displayName": "b",
                       "meta": {"created": "t", "location": "l"}});
        assert_eq!(
            select(
                ScimKind::User,
                v.clone(),
                Some("displayName,meta.created"),
                None
            ),
            json!({"schemas": [], "id": "1", "displayName": "b", "meta": {"created": "t"}})
        );
        assert_eq!(
            select(ScimKind::User, v, None, Some("DisplayName,id")),
            json!({"schemas": [], "id": "1", "userName": "a",
                   "meta": {"created": "t", "location": "l"}})
        );
    }
}
