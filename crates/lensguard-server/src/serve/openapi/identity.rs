//! The OpenAPI paths of identity (bootstrap, sessions, users, keys), the policy
//! and the audit log's proofs, with their schemas.

use super::super::audit_api::{AuditHead, ConsistencyProof, InclusionProof};
use super::super::identity::keys::{CreateKey, IssuedKeyView, KeyView, RotateKey};
use super::super::identity::sessions::{Bootstrap, Enrolled, Login, OpenSessions, SessionView};
use super::super::identity::users::{ChangeUser, CreateUser, UserView};
use super::{error_response, map, refusals};
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<Login>();
    generator.subschema_for::<SessionView>();
    generator.subschema_for::<OpenSessions>();
    generator.subschema_for::<Bootstrap>();
    generator.subschema_for::<Enrolled>();
    generator.subschema_for::<UserView>();
    generator.subschema_for::<CreateUser>();
    generator.subschema_for::<ChangeUser>();
    generator.subschema_for::<KeyView>();
    generator.subschema_for::<IssuedKeyView>();
    generator.subschema_for::<CreateKey>();
    generator.subschema_for::<RotateKey>();
    generator.subschema_for::<AuditHead>();
    generator.subschema_for::<InclusionProof>();
    generator.subschema_for::<ConsistencyProof>();
    generator.subschema_for::<super::super::policy_api::PolicyChanged>();
}

pub(super) fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

pub(super) fn answer(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

pub(super) fn list_of(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": format!("#/components/schemas/{schema}")}}}}})
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}])
}

fn no_content(description: &str) -> Value {
    json!({"description": description})
}

/// Responses of the two public routes that create credentials.
fn public(created: Value) -> Value {
    json!({
        "201": created,
        "400": error_response("Malformed JSON, or a name or password that does not meet the rules."),
        "401": error_response("Invalid credentials (or bootstrap token)."),
        "408": error_response(super::BODY_TOO_SLOW),
        "413": error_response("The body is larger than 64 KiB."),
        "429": error_response("Too many attempts from this address for this name; see Retry-After."),
        "503": error_response("The audit log or database cannot take the request; nothing was changed.")
    })
}

fn query(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description,
           "schema": {"type": "integer", "minimum": 0, "maximum": 9_007_199_254_740_991_u64}})
}

/// `GET /v1/audit/entries`.
fn audit_entries() -> Value {
    json!({"get": {
        "operationId": "auditEntries",
        "summary": "The audit log's entries, newest first, filtered; the search is itself audited. Needs audit:read.",
        "parameters": [
            text_query("actor", "Only this actor, exactly (`user:ID`, `key:ID`, `system`)."),
            text_query("action", "Only this action; `evidence.*` for every action starting `evidence.`, `*.read_original` for every action ending so."),
            text_query("target", "Only entries whose target contains this text."),
            {"name": "from", "in": "query", "required": false, "description": "At or after this time (RFC 3339).", "schema": {"type": "string", "format": "date-time"}},
            {"name": "to", "in": "query", "required": false, "description": "Before this time (RFC 3339).", "schema": {"type": "string", "format": "date-time"}},
            {"name": "limit", "in": "query", "required": false, "description": "Page size.", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            text_query("cursor", "`next_cursor` of the previous page.")
        ],
        "responses": refusals(map(json!({
            "200": {"description": "A page of entries, as the log holds them.", "content": {"application/json": {"schema": {
                "type": "object", "required": ["items", "next_cursor"], "properties": {
                    "items": {"type": "array", "items": {"type": "object", "required": ["seq", "time", "actor", "action", "outcome"],
                        "properties": {"seq": {"type": "integer", "minimum": 0}, "time": {"type": "string"}, "actor": {"type": "string"},
                                       "action": {"type": "string"}, "outcome": {"enum": ["success", "failure", "denied"]}}}},
                    "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for older entries; null when none match."}}}}}},
            "400": error_response("An unknown or malformed query parameter, or a cursor this service did not issue.")
        })))
    }})
}

fn text_query(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description,
           "schema": {"type": "string"}})
}

/// The paths.
pub fn paths() -> Map<String, Value> {
    let bad_body = error_response("Malformed JSON or invalid values.");
    let too_large = error_response("The body is larger than 64 KiB.");
    let mut paths = map(json!({
        "/v1/bootstrap": {"post": {
            "operationId": "bootstrapOwner",
            "summary": "Create the first owner with the one-time token `lensguard serve` issued. Public.",
            "security": [],
            "requestBody": body("Bootstrap"),
            "responses": public(answer("The owner, and their TOTP secret (shown once).", "Enrolled"))
        }},
        "/v1/sessions": {
            "post": {
                "operationId": "login",
                "summary": "Log in with name, password and TOTP code; returns a session token. Public.",
                "security": [],
                "requestBody": body("Login"),
                "responses": public(answer("The session (its token is shown once).", "SessionView"))
            },
            "get": {
                "operationId": "listSessions",
                "summary": "The calling user's open sessions, each with the identity provider and subject it was opened through. Any session; an API key gets 409.",
                "responses": refusals(map(json!({
                    "200": answer("Open sessions, newest first.", "OpenSessions"),
                    "409": error_response("The credentials are an API key, not a session.")
                })))
            }
        },
        "/v1/sessions/current": {"delete": {
            "operationId": "logout",
            "summary": "End the calling session. Any credentials; an API key gets 409.",
            "responses": refusals(map(json!({
                "204": no_content("Ended."),
                "409": error_response("The credentials are an API key, not a session.")
            })))
        }},
        "/v1/users": {
            "get": {
                "operationId": "listUsers",
                "summary": "Every user. Needs users:manage.",
                "responses": refusals(map(json!({"200": list_of("Users, by name.", "UserView")})))
            },
            "post": {
                "operationId": "createUser",
                "summary": "Create a user with a role the caller holds (owner only by owners). Needs users:manage.",
                "requestBody": body("CreateUser"),
                "responses": refusals(map(json!({
                    "201": answer("The user, and their TOTP secret (shown once).", "Enrolled"),
                    "400": bad_body, "409": error_response("The name is taken."), "413": too_large
                })))
            }
        },
        "/v1/users/{id}": {
            "patch": {
                "operationId": "changeUser",
                "summary": "Change a user's role. Needs users:manage.",
                "parameters": id_param(),
                "requestBody": body("ChangeUser"),
                "responses": refusals(map(json!({
                    "200": answer("The user.", "UserView"),
                    "400": bad_body, "404": error_response("No such active user."),
                    "409": error_response("The last owner must stay an owner."), "413": too_large
                })))
            },
            "delete": {
                "operationId": "disableUser",
                "summary": "Disable a user and end their sessions. Needs users:manage.",
                "parameters": id_param(),
                "responses": refusals(map(json!({
                    "204": no_content("Disabled."),
                    "404": error_response("No such active user."),
                    "409": error_response("The last owner cannot be disabled.")
                })))
            }
        },
        "/v1/keys": {
            "get": {
                "operationId": "listKeys",
                "summary": "Every API key (never a secret). Needs keys:manage.",
                "responses": refusals(map(json!({"200": list_of("Keys, newest first.", "KeyView")})))
            },
            "post": {
                "operationId": "createKey",
                "summary": "Create an API key with scopes the caller holds. Needs keys:manage.",
                "requestBody": body("CreateKey"),
                "responses": refusals(map(json!({
                    "201": answer("The key and its token (shown once).", "IssuedKeyView"),
                    "400": bad_body, "413": too_large
                })))
            }
        },
        "/v1/keys/{id}": {"delete": {
            "operationId": "revokeKey",
            "summary": "Revoke a key (current and previous secrets) at once. Needs keys:manage.",
            "parameters": id_param(),
            "responses": refusals(map(json!({
                "204": no_content("Revoked."),
                "404": error_response("No such active key.")
            })))
        }},
        "/v1/keys/{id}/rotate": {"post": {
            "operationId": "rotateKey",
            "summary": "A new secret; the old one works until the overlap ends. Needs keys:manage.",
            "parameters": id_param(),
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RotateKey"}}}},
            "responses": refusals(map(json!({
                "200": answer("The key and its new token (shown once).", "IssuedKeyView"),
                "400": bad_body, "404": error_response("No such active key."), "413": too_large
            })))
        }},
        "/v1/policy": {
            "get": {
                "operationId": "getPolicy",
                "summary": "The policy in force, as TOML. Needs policy:manage.",
                "responses": refusals(map(json!({"200": {"description": "The policy (see docs/policy.md).", "content": {"application/toml": {"schema": {"type": "string"}}}}})))
            },
            "put": {
                "operationId": "putPolicy",
                "summary": "Replace the policy (TOML; its revision must go up). Needs policy:manage.",
                "requestBody": {"required": true, "content": {"text/plain": {"schema": {"type": "string", "description": "The policy as TOML (docs/policy.md)."}}}},
                "responses": refusals(map(json!({
                    "200": answer("In force for the next submission.", "PolicyChanged"),
                    "400": error_response("Not a valid policy; the message names line, column and key."),
                    "409": error_response("The revision is not above the policy in force."),
                    "413": error_response("The policy is larger than 256 KiB.")
                })))
            }
        },
        "/v1/audit/checkpoint": {"get": {
            "operationId": "auditHead",
            "summary": "The audit log's size, root, public key and newest signed checkpoint. Needs audit:read.",
            "responses": refusals(map(json!({"200": answer("The log's head.", "AuditHead")})))
        }},
        "/v1/audit/proofs/inclusion": {"get": {
            "operationId": "auditInclusionProof",
            "summary": "RFC 9162 inclusion proof of one entry. Needs audit:read.",
            "parameters": [query("index", true, "Entry index (its `seq`)."), query("size", false, "Tree size; default the log's.")],
            "responses": refusals(map(json!({
                "200": answer("The proof.", "InclusionProof"),
                "400": error_response("Index or size out of range, or malformed.")
            })))
        }},
        "/v1/audit/proofs/consistency": {"get": {
            "operationId": "auditConsistencyProof",
            "summary": "RFC 9162 consistency proof between two tree sizes. Needs audit:read.",
            "parameters": [query("from", true, "Older size (at least 1)."), query("to", false, "Newer size; default the log's.")],
            "responses": refusals(map(json!({
                "200": answer("The proof.", "ConsistencyProof"),
                "400": error_response("Sizes out of range, or malformed.")
            })))
        }},
        "/metrics": {"get": {
            "operationId": "metrics",
            "summary": "Outbox and delivery metrics (queue depth, bytes, age of the oldest record, delivered, failures, refusals), Prometheus/OpenMetrics text. Needs metrics:read.",
            "responses": refusals(map(json!({
                "200": {
                    "description": "The metrics.",
                    "content": {"application/openmetrics-text": {"schema": {"type": "string"}}}
                }
            })))
        }}
    }));
    paths.insert("/v1/audit/entries".into(), audit_entries());
    paths.insert(
        "/v1/users/{id}/totp".into(),
        json!({"post": {
            "operationId": "resetTotp",
            "summary": "A new TOTP secret for the user, shown once (as base32 and an otpauth:// URI); the old one stops working and the user's sessions end. Needs users:manage, and the user's role's scopes (no escalation); audited.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": refusals(map(json!({
                "200": answer("The user and their new second factor.", "Enrolled"),
                "404": error_response("No such active user.")
            })))
        }}),
    );
    paths
}
