//! The OpenAPI paths of evidence cases.

use super::super::cases::{CaseItemView, CaseView, NewCase, NewItems};
use super::identity::{answer, body};
use super::{error_response, map, refusals};
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<CaseView>();
    generator.subschema_for::<CaseItemView>();
    generator.subschema_for::<NewCase>();
    generator.subschema_for::<NewItems>();
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": "The case id.", "schema": {"type": "string"}})
}

/// This part's paths.
pub fn paths() -> Map<String, Value> {
    let scoped = error_response(
        "The caller's access is limited to some devices (`device_scoped`): cases span devices.",
    );
    let missing = error_response(
        "No such case, or an item that does not exist (`not_found`); nothing was added.",
    );
    let closed = error_response("The case is closed (`case_closed`).");
    map(json!({
        "/v1/cases": {
            "get": {"operationId": "listCases", "summary": "Evidence cases, newest first. Needs cases:read.",
                    "responses": refusals(map(json!({
                        "200": {"description": "The cases.", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/CaseView"}}}}}}},
                        "403": scoped})))},
            "post": {"operationId": "openCase", "summary": "Open a case; its legal hold covers whatever is added until it is closed. Needs cases:manage; audited.",
                     "requestBody": body("NewCase"),
                     "responses": refusals(map(json!({
                         "201": {"description": "Opened.", "content": {"application/json": {"schema": {
                             "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}},
                         "400": error_response("No name or reason, or one too long."),
                         "403": scoped,
                         "413": error_response("The body is too large.")})))}
        },
        "/v1/cases/{id}": {"get": {"operationId": "getCase", "summary": "A case with its items. Needs cases:read.",
            "parameters": [id_param()],
            "responses": refusals(map(json!({
                "200": answer("The case.", "CaseView"),
                "403": scoped,
                "404": error_response("No such case.")})))}},
        "/v1/cases/{id}/items": {"post": {"operationId": "addToCase", "summary": "Add evidence by id, or a device's inspections or a camera's events and footage over a time range; each addition is audited and held. Needs cases:manage.",
            "parameters": [id_param()],
            "requestBody": body("NewItems"),
            "responses": refusals(map(json!({
                "200": {"description": "Added (`already`: items that were in the case before).", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["added", "already"], "properties": {"added": {"type": "integer"}, "already": {"type": "integer"}}}}}},
                "400": error_response("A malformed id, range or selection."),
                "403": scoped,
                "404": missing,
                "409": closed,
                "413": error_response("The body is too large."),
                "422": error_response("Nothing to add (`nothing_to_add`).")})))}},
        "/v1/cases/{id}/close": {"post": {"operationId": "closeCase", "summary": "Close a case: its hold is lifted. Needs cases:manage; audited.",
            "parameters": [id_param()],
            "responses": refusals(map(json!({
                "204": {"description": "Closed."},
                "403": scoped,
                "404": error_response("No such case."),
                "409": closed})))}},
        "/v1/cases/{id}/export": {"post": {"operationId": "exportCase", "summary": "The case's bundle as a tar archive of one folder: redacted media with C2PA manifests, audit entries with inclusion proofs, deletion receipts, MANIFEST.sha256 and a README (check it with `lensguard case verify`). Needs cases:manage; audited as case.export.",
            "parameters": [id_param()],
            "responses": refusals(map(json!({
                "200": {"description": "The bundle.", "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}}},
                "403": scoped,
                "404": error_response("No such case."),
                "422": error_response("The case cannot be exported (`cannot_export`: it holds nothing, or footage cannot be redacted because the face detector is not loaded); nothing was sent."),
                "503": error_response("The audit log cannot record, or the signing certificate is unavailable; nothing was sent.")})))}}
    }))
}
