//! The OpenAPI 3.1 description of the service, generated from the code.
//!
//! Schemas come from the Rust types (`schemars`, JSON Schema 2020-12, which is
//! OpenAPI 3.1's dialect); paths are written out below, and a test holds them to the router's routes. The document is served at
//! `GET /v1/openapi.json` (any valid API key) and committed as `docs/openapi.json`;
//! a test fails when the committed copy drifts. Regenerate with
//! `LENSGUARD_BLESS=1 cargo test -p lensguard-server openapi`.

mod cameras;
mod cases;
mod evidence;
mod identity;
mod overrides;

use crate::common::error_body::ErrorBody;
use lensguard_core::InspectionReport;
use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

pub(super) fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

/// What a `408` says, on every route that takes a body.
pub(super) const BODY_TOO_SLOW: &str = "The request body arrived more slowly than `[http] body_min_bytes_per_second` after the header read timeout (`body_too_slow`); the connection is closed.";

pub(super) fn refusals(mut responses: serde_json::Map<String, Value>) -> Value {
    responses
        .entry("408")
        .or_insert_with(|| error_response(BODY_TOO_SLOW));
    responses.insert(
        "401".into(),
        error_response("Missing, invalid, revoked or expired credentials."),
    );
    responses.insert(
        "403".into(),
        error_response("The credentials lack the scope (`forbidden`), the key is used from outside its networks, or the request would hand out more than the caller holds (`beyond_caller_access`)."),
    );
    responses.insert(
        "429".into(),
        error_response("Too many requests for these credentials, or too many refused requests from this client address (counted in one audit entry instead of one each); see Retry-After."),
    );
    responses.entry("503").or_insert_with(|| {
        error_response("The audit log or database cannot take the request; nothing was changed.")
    });
    Value::Object(responses)
}

pub(super) fn map(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// The document.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = settings.into_generator();
    let report = generator.subschema_for::<InspectionReport>();
    generator.subschema_for::<ErrorBody>();
    identity::register(&mut generator);
    evidence::register(&mut generator);
    cases::register(&mut generator);
    overrides::register(&mut generator);
    cameras::register(&mut generator);
    generator.subschema_for::<super::submission::SubmissionMeta>();
    let mut schemas = generator.take_definitions(true);
    schemas.insert(
        "Inspection".into(),
        json!({"description": "An inspection report (the schema `lensguard check --json` prints) with its id.",
               "allOf": [report.to_value(), {"type": "object", "required": ["id"], "properties": {
                   "id": {"type": "string", "format": "uuid"},
                   "submission": {"$ref": "#/components/schemas/SubmissionMeta", "description": "The metadata of a multipart submission, when any was sent."}}}]}),
    );
    schemas.insert(
        "InspectionPage".into(),
        json!({"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Inspection"}},
            "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last."}}}),
    );
    schemas.insert(
        "UnprocessableImage".into(),
        json!({"type": "object", "required": ["code", "reason", "message", "request_id"], "properties": {
            "code": {"const": "unprocessable_image"},
            "reason": {"type": "string", "description": "The reason code (`truncated`, `corrupt`, `too_many_pixels`, `decode_budget_exceeded`, ...)."},
            "message": {"type": "string"}, "request_id": {"type": "string"}}}),
    );
    let inspection = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Inspection"}}}});
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "lensguard",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Privacy-first visual AI gateway: submit a photo, get a verdict (pass, retry, fail) with reasons.",
            "license": {"name": "Apache-2.0 OR MIT", "identifier": "Apache-2.0 OR MIT"}
        },
        "servers": [{"url": "https://localhost:8443"}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "An API key, `lg_<id>_<secret>`, or a user's session token, `lgs_<id>_<secret>` (from `POST /v1/sessions`)."}},
            "schemas": schemas
        },
        "paths": {
            "/healthz": {"get": {
                "operationId": "health", "summary": "Health probe; reveals nothing.", "security": [],
                "responses": {"200": {"description": "Up.", "content": {"text/plain": {"schema": {"const": "ok"}}}}}
            }},
            "/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document.",
                "responses": refusals(map(json!({"200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}}})))
            }},
            "/v1/inspections": {
                "post": {
                    "operationId": "submitInspection",
                    "summary": "Inspect a photo (the raw image as the body, or multipart with metadata). Needs inspections:write.",
                    "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false,
                                    "description": "A repeat with the same key and the same request (photo and metadata) returns the original result; the same key with a different request is refused (422 idempotency_key_reused).",
                                    "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}}],
                    "requestBody": {"required": true, "content": {
                        "image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}},
                        "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
                        "image/webp": {"schema": {"type": "string", "contentMediaType": "image/webp"}},
                        "multipart/form-data": {"schema": {"type": "object", "required": ["photo"], "properties": {
                            "photo": {"type": "string", "contentMediaType": "image/jpeg", "description": "The photo; its part's Content-Type is image/jpeg, image/png or image/webp."},
                            "device_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
                            "external_reference": {"type": "string", "minLength": 1, "maxLength": 256},
                            "location": {"type": "string", "description": "`latitude,longitude` in decimal degrees.", "examples": ["52.52,13.405"]}}}}}},
                    "responses": refusals(map(json!({
                        "201": {"description": "Inspected and recorded.", "content": inspection["content"]},
                        "200": {"description": "A repeated Idempotency-Key with the same request: the original result.", "content": inspection["content"]},
                        "400": error_response("A malformed Idempotency-Key, body or multipart field."),
                        "413": error_response("The photo is larger than the limit."),
                        "503": error_response("Nothing was changed: the audit log or database cannot take the request (`audit_unavailable`, `unavailable`), the outbox to the hub is full (`outbox_full`), or every inspection turn is taken and the queue is full (`busy`); see Retry-After."),
                        "415": error_response("Not image/jpeg, image/png, image/webp or multipart/form-data with such a photo."),
                        "422": {"description": "The photo cannot be decoded (`unprocessable_image`, with its reason), or the Idempotency-Key was used for a different request (`idempotency_key_reused`).", "content": {"application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/UnprocessableImage"},
                            {"allOf": [{"$ref": "#/components/schemas/ErrorBody"}, {"properties": {"code": {"const": "idempotency_key_reused"}}}]}
                        ]}}}}
                    })))
                },
                "get": {
                    "operationId": "listInspections",
                    "summary": "Inspections, newest first. Needs inspections:read.",
                    "parameters": [
                        query("from", "At or after this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                        query("to", "Before this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                        query("verdict", "Only this verdict.", json!({"enum": ["pass", "retry", "fail"]})),
                        query("reason", "Only results with a reason of this code (`blurry`, `face_present`, ...).", json!({"type": "string", "pattern": "^[a-z0-9_]{1,64}$"})),
                        query("source", "Only what came in through this source: `api` (a key or a user), or a watched folder's name.", json!({"type": "string"})),
                        query("overridden", "Only results that were (`true`) or were not (`false`) overridden.", json!({"type": "boolean"})),
                        query("actor", "Only this submitter, `key:ID` or `user:ID`.", json!({"type": "string"})),
                        query("device", "Only this device (`device_id` of a multipart submission).", json!({"type": "string"})),
                        query("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50})),
                        query("cursor", "`next_cursor` of the previous page.", json!({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}))
                    ],
                    "responses": refusals(map(json!({
                        "200": {"description": "A page.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InspectionPage"}}}},
                        "400": error_response("An unknown or malformed query parameter.")
                    })))
                }
            },
            "/v1/inspections/{id}": {"get": {
                "operationId": "getInspection",
                "summary": "One inspection. Needs inspections:read.",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": refusals(map(json!({
                    "200": {"description": "The inspection.", "content": inspection["content"]},
                    "404": error_response("No such inspection.")
                })))
            }}
        }
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.extend(identity::paths());
        paths.extend(evidence::paths());
        paths.extend(cases::paths());
        paths.extend(overrides::paths());
        paths.extend(cameras::paths());
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route: method, path, and what it needs (documented in `docs/access.md`).
    const ROUTES: &[(&str, &str, &str)] = &[
        ("get", "/healthz", "public"),
        ("get", "/v1/openapi.json", "authenticated"),
        ("post", "/v1/inspections", "inspections:write"),
        ("get", "/v1/inspections", "inspections:read"),
        ("get", "/v1/inspections/{id}", "inspections:read"),
        ("get", "/v1/inspections/{id}/redacted", "inspections:read"),
        ("get", "/v1/inspections/{id}/thumbnail", "inspections:read"),
        (
            "get",
            "/v1/inspections/{id}/original",
            "evidence:read-original",
        ),
        ("get", "/v1/holds", "evidence:manage"),
        ("post", "/v1/holds", "evidence:manage"),
        ("delete", "/v1/holds/{id}", "evidence:manage"),
        ("post", "/v1/erasure", "evidence:manage"),
        ("post", "/v1/vault/rotate", "evidence:manage"),
        ("get", "/v1/cases", "cases:read"),
        ("post", "/v1/cases", "cases:manage"),
        ("get", "/v1/cases/{id}", "cases:read"),
        ("post", "/v1/cases/{id}/items", "cases:manage"),
        ("post", "/v1/cases/{id}/close", "cases:manage"),
        ("post", "/v1/cases/{id}/export", "cases:manage"),
        ("post", "/v1/bootstrap", "public"),
        ("post", "/v1/sessions", "public"),
        ("get", "/v1/sessions", "authenticated"),
        ("delete", "/v1/sessions/current", "authenticated"),
        ("get", "/v1/users", "users:manage"),
        ("post", "/v1/users", "users:manage"),
        ("patch", "/v1/users/{id}", "users:manage"),
        ("delete", "/v1/users/{id}", "users:manage"),
        ("get", "/v1/keys", "keys:manage"),
        ("post", "/v1/keys", "keys:manage"),
        ("post", "/v1/keys/{id}/rotate", "keys:manage"),
        ("delete", "/v1/keys/{id}", "keys:manage"),
        ("get", "/v1/policy", "policy:manage"),
        ("put", "/v1/policy", "policy:manage"),
        ("get", "/v1/audit/checkpoint", "audit:read"),
        ("get", "/v1/audit/entries", "audit:read"),
        ("post", "/v1/users/{id}/totp", "users:manage"),
        ("get", "/v1/inspections/{id}/overrides", "inspections:read"),
        (
            "post",
            "/v1/inspections/{id}/overrides",
            "inspections:override",
        ),
        ("get", "/v1/overrides", "inspections:read"),
        ("get", "/v1/audit/proofs/inclusion", "audit:read"),
        ("get", "/v1/audit/proofs/consistency", "audit:read"),
        ("get", "/v1/cameras", "inspections:read"),
        ("get", "/v1/events", "inspections:read"),
        ("get", "/v1/events/{id}", "inspections:read"),
        ("get", "/v1/events/{id}/snapshot", "inspections:read"),
        ("get", "/v1/cameras/{name}/segments", "inspections:read"),
        ("get", "/v1/cameras/{name}/live", "inspections:read"),
        (
            "get",
            "/v1/segments/{id}/original",
            "evidence:read-original",
        ),
        ("get", "/v1/segments/{id}/redacted", "inspections:read"),
        ("get", "/metrics", "metrics:read"),
    ];

    #[test]
    fn committed_openapi_document_matches_the_code() {
        let path = lensguard_testkit::workspace_root().join("docs/openapi.json");
        let mut text = serde_json::to_string_pretty(&document()).expect("json");
        text.push('\n');
        if std::env::var_os("LENSGUARD_BLESS").is_some() {
            std::fs::write(&path, &text).expect("write");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "docs/openapi.json is out of date: LENSGUARD_BLESS=1 cargo test -p lensguard-server openapi"
        );
    }

    /// docs/access.md shows the login body with every field the service
    /// takes, by name.
    #[test]
    fn the_login_body_fields_are_documented() {
        let doc = document();
        let fields = doc["components"]["schemas"]["Login"]["properties"]
            .as_object()
            .expect("Login properties");
        let path = lensguard_testkit::workspace_root().join("docs/access.md");
        let access = std::fs::read_to_string(path).expect("docs/access.md");
        assert_eq!(fields.len(), 3);
        for name in fields.keys() {
            assert!(
                access.contains(&format!("`{name}`")) && access.contains(&format!("\"{name}\":")),
                "docs/access.md does not show the login field {name}"
            );
        }
    }

    #[test]
    fn every_schema_reference_resolves() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut count = 0;
        for part in text.split("\"$ref\":\"").skip(1) {
            let target = part.split('"').next().unwrap_or("");
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{target}"));
            assert!(schemas.contains_key(name), "{target} does not resolve");
            count += 1;
        }
        assert!(count > 10);
    }

    #[test]
    fn every_route_is_described_and_every_description_is_routed() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        let described: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(described, ROUTES.len());
        for (method, path, _) in ROUTES {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not described"
            );
        }
        let source = include_str!("../http.rs");
        for (_, path, _) in ROUTES {
            assert!(
                source.contains(&format!("\"{path}\"")),
                "{path} is described but not routed"
            );
        }
    }
}
