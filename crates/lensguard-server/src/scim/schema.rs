//! The attributes lensguard keeps of a directory's Users and Groups, and
//! the discovery documents that publish them (RFC 7643 §5-§7, RFC 7644 §4).
//!
//! Invariant: this table is the whole of what is stored. An attribute a
//! directory sends that is not here (names, e-mail addresses, phone
//! numbers, photos…) is dropped, never kept: lensguard needs a login name,
//! a label, whether the person is active, and their groups.

use lensguard_store::db::ScimKind;
use serde_json::{Value, json};

/// The User schema's URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Group schema's URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// A list answer's schema.
pub const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// A PATCH body's schema.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// A `/.search` body's schema.
pub const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// An error's schema.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const SPC: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The most resources one list answer holds.
pub const MAX_RESULTS: usize = 200;

/// An attribute's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A URI of another resource.
    Reference,
    /// Sub-attributes.
    Complex,
}

/// One attribute's definition.
#[derive(Debug)]
pub struct Attr {
    /// Its name, as spelled on output (input names compare without case).
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Whether it holds a list.
    pub multi: bool,
    /// Whether a resource must have it.
    pub required: bool,
    /// Whether values compare with case.
    pub case_exact: bool,
    /// `readWrite`, `readOnly` or `immutable`.
    pub mutability: &'static str,
    /// `server` or `none`.
    pub uniqueness: &'static str,
    /// What a reference may point at.
    pub references: &'static [&'static str],
    /// A complex attribute's parts.
    pub sub: &'static [Attr],
}

const fn attr(name: &'static str, ty: Ty) -> Attr {
    Attr {
        name,
        ty,
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        uniqueness: "none",
        references: &[],
        sub: &[],
    }
}

const USER_GROUP: [Attr; 3] = [
    Attr {
        case_exact: true,
        mutability: "readOnly",
        ..attr("value", Ty::String)
    },
    Attr {
        case_exact: true,
        mutability: "readOnly",
        references: &["Group"],
        ..attr("$ref", Ty::Reference)
    },
    Attr {
        mutability: "readOnly",
        ..attr("display", Ty::String)
    },
];

const USER_ATTRS: [Attr; 4] = [
    Attr {
        required: true,
        uniqueness: "server",
        ..attr("userName", Ty::String)
    },
    attr("displayName", Ty::String),
    attr("active", Ty::Boolean),
    Attr {
        multi: true,
        mutability: "readOnly",
        sub: &USER_GROUP,
        ..attr("groups", Ty::Complex)
    },
];

const MEMBER: [Attr; 2] = [
    Attr {
        case_exact: true,
        mutability: "immutable",
        ..attr("value", Ty::String)
    },
    Attr {
        case_exact: true,
        mutability: "immutable",
        references: &["User"],
        ..attr("$ref", Ty::Reference)
    },
];

const GROUP_ATTRS: [Attr; 2] = [
    Attr {
        required: true,
        ..attr("displayName", Ty::String)
    },
    Attr {
        multi: true,
        sub: &MEMBER,
        ..attr("members", Ty::Complex)
    },
];

/// The attributes every resource has besides its schema's.
const COMMON: [Attr; 2] = [
    Attr {
        case_exact: true,
        mutability: "readOnly",
        uniqueness: "server",
        ..attr("id", Ty::String)
    },
    Attr {
        case_exact: true,
        ..attr("externalId", Ty::String)
    },
];

/// The schema attributes of `kind`.
pub fn attributes(kind: ScimKind) -> &'static [Attr] {
    match kind {
        ScimKind::User => &USER_ATTRS,
        ScimKind::Group => &GROUP_ATTRS,
    }
}

/// The schema URN of `kind`.
pub fn urn(kind: ScimKind) -> &'static str {
    match kind {
        ScimKind::User => USER,
        ScimKind::Group => GROUP,
    }
}

/// The attribute of `kind` named `name` (any case), common ones included.
pub fn find(kind: ScimKind, name: &str) -> Option<&'static Attr> {
    attributes(kind)
        .iter()
        .chain(COMMON.iter())
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// Whether `name.sub` of `kind` compares with case; `meta`'s parts and
/// unknown names compare with case too (ids, versions, URIs, times).
pub fn case_exact(kind: ScimKind, name: &str, sub: Option<&str>) -> bool {
    let Some(a) = find(kind, name) else {
        return true;
    };
    match sub {
        None if a.ty == Ty::Complex => a
            .sub
            .iter()
            .find(|s| s.name == "value")
            .is_none_or(|s| s.case_exact),
        None => a.case_exact,
        Some(sub) => a
            .sub
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(sub))
            .is_none_or(|s| s.case_exact),
    }
}

fn describe(a: &Attr) -> Value {
    let ty = match a.ty {
        Ty::String => "string",
        Ty::Boolean => "boolean",
        Ty::Reference => "reference",
        Ty::Complex => "complex",
    };
    let mut v = json!({
        "name": a.name,
        "type": ty,
        "multiValued": a.multi,
        "description": description(a.name),
        "required": a.required,
        "caseExact": a.case_exact,
        "mutability": a.mutability,
        "returned": "default",
        "uniqueness": a.uniqueness,
    });
    if !a.references.is_empty() {
        v["referenceTypes"] = json!(a.references);
    }
    if !a.sub.is_empty() {
        v["subAttributes"] = Value::Array(a.sub.iter().map(describe).collect());
    }
    v
}

fn description(name: &str) -> &'static str {
    match name {
        "userName" => "The person's login name; lensguard's user name is it in lower case.",
        "displayName" => "A name to show.",
        "active" => "Whether the person may sign in; false ends their sessions and keys.",
        "groups" => "The groups the person is in (set through Groups).",
        "members" => "The people in the group.",
        "value" => "The id of the resource.",
        "$ref" => "The URI of the resource.",
        _ => "See RFC 7643.",
    }
}

/// A discovery document for the schema `id`, and its `meta`.
fn schema_doc(id: &str, name: &str, attrs: &[Attr], base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": format!("{name} as lensguard keeps it"),
        "attributes": attrs.iter().map(describe).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

const fn read_only(name: &'static str, ty: Ty) -> Attr {
    Attr {
        mutability: "readOnly",
        ..attr(name, ty)
    }
}

const SUPPORTED: [Attr; 1] = [Attr {
    required: true,
    ..read_only("supported", Ty::Boolean)
}];
const SPC_ATTRS: [Attr; 6] = [
    read_only("documentationUri", Ty::Reference),
    Attr {
        required: true,
        sub: &SUPPORTED,
        ..read_only("patch", Ty::Complex)
    },
    Attr {
        required: true,
        sub: &SUPPORTED,
        ..read_only("filter", Ty::Complex)
    },
    Attr {
        required: true,
        sub: &SUPPORTED,
        ..read_only("etag", Ty::Complex)
    },
    Attr {
        required: true,
        sub: &SUPPORTED,
        ..read_only("sort", Ty::Complex)
    },
    Attr {
        required: true,
        multi: true,
        ..read_only("authenticationSchemes", Ty::Complex)
    },
];
const RT_ATTRS: [Attr; 5] = [
    read_only("id", Ty::String),
    Attr {
        required: true,
        ..read_only("name", Ty::String)
    },
    read_only("description", Ty::String),
    Attr {
        required: true,
        ..read_only("endpoint", Ty::Reference)
    },
    Attr {
        required: true,
        case_exact: true,
        ..read_only("schema", Ty::Reference)
    },
];
const SCHEMA_ATTRS: [Attr; 4] = [
    Attr {
        required: true,
        ..read_only("id", Ty::String)
    },
    read_only("name", Ty::String),
    read_only("description", Ty::String),
    Attr {
        required: true,
        multi: true,
        ..read_only("attributes", Ty::Complex)
    },
];

/// Every schema lensguard publishes at `/Schemas`.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema_doc(USER, "User", &USER_ATTRS, base),
        schema_doc(GROUP, "Group", &GROUP_ATTRS, base),
        schema_doc(SPC, "Service Provider Configuration", &SPC_ATTRS, base),
        schema_doc(RESOURCE_TYPE, "ResourceType", &RT_ATTRS, base),
        schema_doc(SCHEMA, "Schema", &SCHEMA_ATTRS, base),
    ]
}

/// The resource types at `/ResourceTypes`.
pub fn resource_types(base: &str) -> Vec<Value> {
    [(ScimKind::User, "/Users"), (ScimKind::Group, "/Groups")]
        .into_iter()
        .map(|(kind, endpoint)| {
            let name = kind.as_str();
            json!({
                "schemas": [RESOURCE_TYPE],
                "id": name,
                "name": name,
                "description": format!("{name}s of the directory"),
                "endpoint": endpoint,
                "schema": urn(kind),
                "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{name}")},
            })
        })
        .collect()
}

/// What this server supports (`/ServiceProviderConfig`).
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "A lensguard API key with the scope scim:provision, as Authorization: Bearer",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}
