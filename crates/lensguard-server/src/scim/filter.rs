//! Evaluating a SCIM filter (RFC 7644 §3.4.2.2) against a rendered
//! resource. Parsing is `scim_v2`'s, with its bounds on depth and terms.
//!
//! Invariants: attribute names compare without case; values compare with
//! case only where the schema says `caseExact`; a multi-valued attribute
//! matches when any of its values does (a complex one through its
//! `value`); an attribute lensguard does not keep is absent, so it matches
//! only `not (… pr)`.

use super::ScimError;
use super::schema;
use lensguard_store::db::ScimKind;
use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

/// Parses `text` into a filter, or the 400 `invalidFilter` it deserves.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    text.parse::<Filter>()
        .map_err(|e| ScimError::bad("invalidFilter", format!("filter {text:?}: {e}")))
}

/// Whether `resource` (as rendered) matches `filter`.
pub fn matches(kind: ScimKind, filter: &Filter, resource: &Value) -> Result<bool, ScimError> {
    Ok(match filter {
        Filter::Attr(e) => attr_exp(kind, e, resource, None)?,
        Filter::ValuePath(vp) => {
            let Some(name) = own_name(kind, &vp.attr) else {
                return Ok(false);
            };
            let mut any = false;
            for element in elements(resource, name) {
                if val_filter(kind, &vp.filter, element, name)? {
                    any = true;
                    break;
                }
            }
            any
        }
        Filter::Not(inner) => !matches(kind, inner, resource)?,
        Filter::And(ops) => {
            for f in ops.as_slice() {
                if !matches(kind, f, resource)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(ops) => {
            for f in ops.as_slice() {
                if matches(kind, f, resource)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// Whether one element of the multi-valued attribute `parent` matches.
pub fn val_filter(
    kind: ScimKind,
    filter: &ValFilter,
    element: &Value,
    parent: &str,
) -> Result<bool, ScimError> {
    Ok(match filter {
        ValFilter::Attr(e) => attr_exp(kind, e, element, Some(parent))?,
        ValFilter::Not(inner) => !val_filter(kind, inner, element, parent)?,
        ValFilter::And(ops) => {
            for f in ops.as_slice() {
                if !val_filter(kind, f, element, parent)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(ops) => {
            for f in ops.as_slice() {
                if val_filter(kind, f, element, parent)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// The name `path` gives, when it is plain or under `kind`'s schema URN.
fn own_name(kind: ScimKind, path: &AttrPath) -> Option<&str> {
    match &path.uri {
        Some(uri) if !uri.eq_ignore_ascii_case(schema::urn(kind)) => None,
        _ => Some(&path.name),
    }
}

fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The elements of the multi-valued `name` of `object` (or the one value).
fn elements<'v>(object: &'v Value, name: &str) -> Vec<&'v Value> {
    match field(object, name) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(v) => vec![v],
    }
}

/// The values `path` designates in `object`.
fn values<'v>(object: &'v Value, name: &str, sub: Option<&str>) -> Vec<&'v Value> {
    elements(object, name)
        .into_iter()
        .filter_map(|v| match (sub, v) {
            (Some(sub), _) => field(v, sub),
            (None, Value::Object(_)) => field(v, "value"),
            (None, v) => Some(v),
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn attr_exp(
    kind: ScimKind,
    exp: &AttrExp,
    object: &Value,
    parent: Option<&str>,
) -> Result<bool, ScimError> {
    let path = match exp {
        AttrExp::Present(p) | AttrExp::Comparison(p, _, _) => p,
    };
    let Some(name) = own_name(kind, path) else {
        return Ok(false);
    };
    let (found, exact) = match parent {
        // Inside `members[…]`, names are the elements' sub-attributes.
        Some(parent) => (
            values(object, name, path.sub_attr.as_deref()),
            schema::case_exact(kind, parent, Some(name)),
        ),
        None => (
            values(object, name, path.sub_attr.as_deref()),
            schema::case_exact(kind, name, path.sub_attr.as_deref()),
        ),
    };
    match exp {
        AttrExp::Present(_) => Ok(found.iter().any(|v| match v {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        })),
        AttrExp::Comparison(_, op, CompValue::Null) => match op {
            CompareOp::Eq => Ok(found.is_empty()),
            CompareOp::Ne => Ok(!found.is_empty()),
            _ => Err(ScimError::bad(
                "invalidFilter",
                "null compares only with eq and ne",
            )),
        },
        AttrExp::Comparison(_, op, value) => {
            for v in found {
                if compare(v, op, value, exact)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

fn compare(v: &Value, op: &CompareOp, with: &CompValue, exact: bool) -> Result<bool, ScimError> {
    match (v, with) {
        (Value::Bool(b), CompValue::True | CompValue::False) => {
            let want = matches!(with, CompValue::True);
            match op {
                CompareOp::Eq => Ok(*b == want),
                CompareOp::Ne => Ok(*b != want),
                _ => Err(ScimError::bad(
                    "invalidFilter",
                    "a boolean compares only with eq and ne",
                )),
            }
        }
        (Value::String(s), CompValue::Str(w)) => {
            let (s, w) = if exact {
                (s.clone(), w.clone())
            } else {
                (s.to_lowercase(), w.to_lowercase())
            };
            Ok(match op {
                CompareOp::Eq => s == w,
                CompareOp::Ne => s != w,
                CompareOp::Co => s.contains(&w),
                CompareOp::Sw => s.starts_with(&w),
                CompareOp::Ew => s.ends_with(&w),
                CompareOp::Gt => s > w,
                CompareOp::Ge => s >= w,
                CompareOp::Lt => s < w,
                CompareOp::Le => s <= w,
            })
        }
        // A value of another type never matches (and `ne` always does).
        _ => Ok(matches!(op, CompareOp::Ne)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"id": "a1", "userName": "Alice", "active": true, "externalId": "X-1",
               "groups": [{"value": "g1", "display": "Ops"}],
               "meta": {"created": "2026-12-01T00:00:00Z"}})
    }

    fn check(text: &str) -> bool {
        let f = parse(text).expect("parses");
        matches(ScimKind::User, &f, &user()).expect("evaluates")
    }

    #[test]
    fn comparisons_follow_case_exactness() {
        assert!(check(r#"userName eq "alice""#));
        assert!(check(r#"USERNAME sw "AL""#));
        assert!(!check(r#"externalId eq "x-1""#));
        assert!(check(r#"externalId eq "X-1""#));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ALICE""#
        ));
        assert!(!check(
            r#"urn:ietf:params:scim:schemas:core:2.0:Group:userName eq "alice""#
        ));
    }

    #[test]
    fn logic_presence_and_multi_values() {
        assert!(check(r#"active eq true and not (displayName pr)"#));
        assert!(check(r#"groups eq "g1" or userName eq "bob""#));
        assert!(check(r#"groups[display eq "ops"]"#));
        assert!(!check(r#"groups[value eq "g2"]"#));
        assert!(check(r#"meta.created gt "2026-11-30T00:00:00Z""#));
        assert!(!check(r#"emails pr"#));
    }

    #[test]
    fn refuses_what_cannot_be_evaluated() {
        assert!(parse("userName eq").is_err());
        let f = parse("active gt true").expect("parses");
        assert!(matches(ScimKind::User, &f, &user()).is_err());
    }
}
