//! PATCH (RFC 7644 §3.5.2) on a stored document: `add`, `replace` and
//! `remove`, with or without a path, and `members[value eq "…"]` paths.
//!
//! Invariants: operations apply in order to a copy, and the result is
//! checked as a whole by [`normalise`] (so nothing half-applied is ever
//! stored); read-only attributes refuse with `mutability`; attributes
//! lensguard does not keep are dropped, as they are on POST and PUT.

use super::ScimError;
use super::filter::val_filter;
use super::resource::{normalise, resolve_key};
use super::schema::{self, Attr};
use lensguard_store::db::ScimKind;
use scim_v2::filter::PatchPath;
use serde_json::{Map, Value};

/// The most operations one PATCH may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// `doc` after the PATCH `body`, checked and ready to store.
pub fn apply(kind: ScimKind, doc: &Value, body: &Value) -> Result<Value, ScimError> {
    let schemas_ok = body
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(schema::PATCH_OP)));
    if !schemas_ok {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a PATCH body's schemas must name {}", schema::PATCH_OP),
        ));
    }
    let operations = body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PATCH body needs Operations"))?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::bad(
            "tooMany",
            format!("at most {MAX_OPERATIONS} operations in one PATCH"),
        ));
    }
    let mut doc = doc.as_object().cloned().unwrap_or_default();
    for op in operations {
        let field = |name: &str| {
            op.as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let verb = field("op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| ScimError::bad("invalidSyntax", "an operation needs an op"))?;
        let value = field("value");
        match field("path").and_then(Value::as_str) {
            Some(path) => at_path(kind, &mut doc, &verb, path, value)?,
            None => {
                if verb == "remove" {
                    return Err(ScimError::bad("noTarget", "remove needs a path"));
                }
                let Some(Value::Object(attrs)) = value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "an operation without a path needs an object value",
                    ));
                };
                for (key, v) in attrs {
                    at_path(kind, &mut doc, &verb, key, Some(v))?;
                }
            }
        }
    }
    normalise(kind, &Value::Object(doc))
}

fn writable(attr: &'static Attr) -> Result<&'static Attr, ScimError> {
    if attr.mutability == "readOnly" {
        Err(ScimError::bad(
            "mutability",
            format!("{} is read-only", attr.name),
        ))
    } else {
        Ok(attr)
    }
}

fn at_path(
    kind: ScimKind,
    doc: &mut Map<String, Value>,
    verb: &str,
    path: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if verb != "remove" && value.is_none() {
        return Err(ScimError::bad(
            "invalidValue",
            format!("{verb} needs a value"),
        ));
    }
    // A plain name, possibly under the schema URN; `parse` handles the rest.
    if let Some(attr) = resolve_key(kind, path) {
        return whole(doc, verb, writable(attr)?, value);
    }
    let parsed = path
        .parse::<PatchPath>()
        .map_err(|e| ScimError::bad("invalidPath", format!("path {path:?}: {e}")))?;
    let (attr_path, filter, sub) = match parsed {
        PatchPath::Attr(p) => (p, None, None),
        PatchPath::Value(vp) => (vp.attr, Some(vp.filter), vp.sub_attr),
    };
    let own = attr_path
        .uri
        .as_deref()
        .is_none_or(|u| u.eq_ignore_ascii_case(schema::urn(kind)));
    let Some(attr) = own.then(|| schema::find(kind, &attr_path.name)).flatten() else {
        // Not an attribute lensguard keeps (a name, an e-mail…): dropped.
        return Ok(());
    };
    let attr = writable(attr)?;
    if attr_path.sub_attr.is_some() || sub.is_some() {
        return Err(ScimError::bad(
            "invalidPath",
            format!("{path:?}: lensguard changes {} only as a whole", attr.name),
        ));
    }
    let Some(filter) = filter else {
        return whole(doc, verb, attr, value);
    };
    let items = doc
        .get(attr.name)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut kept = Vec::new();
    for item in items {
        if !val_filter(kind, &filter, &item, attr.name)? {
            kept.push(item);
        }
    }
    match (verb, value) {
        ("remove", _) => {}
        ("replace", Some(v)) => kept.extend(as_list(v)),
        _ => {
            return Err(ScimError::bad(
                "invalidPath",
                format!("{path:?}: a filtered path takes remove or replace"),
            ));
        }
    }
    doc.insert(attr.name.to_owned(), Value::Array(kept));
    Ok(())
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

/// An operation on `attr` as a whole.
fn whole(
    doc: &mut Map<String, Value>,
    verb: &str,
    attr: &Attr,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    match (verb, value) {
        // Some directories name the members to remove in the value.
        ("remove", Some(v)) if attr.multi => {
            let gone: Vec<Value> = as_list(v)
                .iter()
                .filter_map(|i| i.get("value").cloned())
                .collect();
            let items: Vec<Value> = doc
                .get(attr.name)
                .map(as_list)
                .unwrap_or_default()
                .into_iter()
                .filter(|i| i.get("value").is_none_or(|id| !gone.contains(id)))
                .collect();
            doc.insert(attr.name.to_owned(), Value::Array(items));
        }
        ("remove", _) => {
            if attr.required {
                return Err(ScimError::bad(
                    "mutability",
                    format!("{} is required and cannot be removed", attr.name),
                ));
            }
            doc.remove(attr.name);
        }
        ("add", Some(v)) if attr.multi => {
            let mut items = doc.get(attr.name).map(as_list).unwrap_or_default();
            items.extend(as_list(v));
            doc.insert(attr.name.to_owned(), Value::Array(items));
        }
        ("add" | "replace", Some(v)) => {
            doc.insert(attr.name.to_owned(), v.clone());
        }
        _ => {
            return Err(ScimError::bad(
                "invalidSyntax",
                format!("op {verb:?} is not add, replace or remove"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(ops: Value) -> Value {
        json!({"schemas": [schema::PATCH_OP], "Operations": ops})
    }

    #[test]
    fn members_are_added_and_removed_by_filter() {
        let group = json!({"displayName": "ops", "members": [{"value": "a"}]});
        let added = apply(
            ScimKind::Group,
            &group,
            &patch(json!([{"op": "Add", "path": "members", "value": [{"value": "b"}, {"value": "a"}]}])),
        )
        .expect("applies");
        assert_eq!(added["members"], json!([{"value": "a"}, {"value": "b"}]));
        let removed = apply(
            ScimKind::Group,
            &added,
            &patch(json!([{"op": "remove", "path": "members[value eq \"a\"]"}])),
        )
        .expect("applies");
        assert_eq!(removed["members"], json!([{"value": "b"}]));
    }

    #[test]
    fn pathless_replace_and_string_booleans() {
        let user = json!({"userName": "alice"});
        let out = apply(
            ScimKind::User,
            &user,
            &patch(json!([{"op": "Replace", "value": {"active": "False", "name": {"givenName": "A"}}}])),
        )
        .expect("applies");
        assert_eq!(out, json!({"userName": "alice", "active": false}));
    }

    #[test]
    fn refusals() {
        let user = json!({"userName": "alice"});
        let refused = |ops: Value| apply(ScimKind::User, &user, &patch(ops)).err();
        assert_eq!(
            refused(json!([{"op": "remove", "path": "userName"}])).and_then(|e| e.scim_type),
            Some("mutability")
        );
        assert_eq!(
            refused(json!([{"op": "replace", "path": "groups", "value": []}]))
                .and_then(|e| e.scim_type),
            Some("mutability")
        );
        assert_eq!(
            refused(json!([{"op": "remove"}])).and_then(|e| e.scim_type),
            Some("noTarget")
        );
        assert_eq!(
            refused(json!([{"op": "move", "path": "displayName", "value": "x"}]))
                .and_then(|e| e.scim_type),
            Some("invalidSyntax")
        );
        assert!(apply(ScimKind::User, &user, &json!({"Operations": []})).is_err());
    }
}
