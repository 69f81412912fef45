//! The OpenAPI paths of overrides.

use super::super::overrides::{NewOverrideBody, OverrideView};
use super::identity::{answer, body};
use super::{error_response, map, refusals};
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<NewOverrideBody>();
    generator.subschema_for::<OverrideView>();
}

/// This part's paths.
pub fn paths() -> Map<String, Value> {
    let page = json!({"description": "Overrides.", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/OverrideView"}},
            "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page; null on the last."}}}}}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}});
    let query = |name: &str, description: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema});
    map(json!({
        "/v1/inspections/{id}/overrides": {
            "get": {"operationId": "inspectionOverrides",
                    "parameters": [id],
                    "summary": "The overrides of one inspection, oldest first. Needs inspections:read; audited.",
                    "responses": refusals(map(json!({"200": page, "404": error_response("No such inspection.")})))},
            "post": {"operationId": "overrideVerdict",
                     "parameters": [id],
                     "summary": "Override a retry or fail verdict with a stated reason, where the policy's [overrides] allows it for every reason that set the verdict. The stored result does not change; the override is a record of its own. Needs inspections:override; audited.",
                     "requestBody": body("NewOverrideBody"),
                     "responses": refusals(map(json!({
                         "201": answer("The override.", "OverrideView"),
                         "400": error_response("Malformed body, or no usable reason (`reason_required`)."),
                         "404": error_response("No such inspection."),
                         "409": error_response("The policy does not allow this override (`not_overridable`), with why.")
                     })))}
        },
        "/v1/overrides": {"get": {
            "operationId": "listOverrides",
            "summary": "Overrides, newest first, for review. Needs inspections:read; audited.",
            "parameters": [
                query("from", "At or after this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                query("to", "Before this time (RFC 3339).", json!({"type": "string", "format": "date-time"})),
                query("actor", "Only by this actor (`user:ID`, `key:ID`).", json!({"type": "string"})),
                query("device", "Only of this device's inspections.", json!({"type": "string"})),
                query("verdict", "Only overrides resulting in this verdict.", json!({"enum": ["pass", "retry"]})),
                query("limit", "Page size.", json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50})),
                query("cursor", "`next_cursor` of the previous page.", json!({"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}))
            ],
            "responses": refusals(map(json!({"200": page, "400": error_response("An unknown or malformed query parameter.")})))
        }}
    }))
}
