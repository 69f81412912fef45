//! The OpenAPI paths of the evidence vault: kept images, legal holds,
//! erasure and KEK rotation.

use super::super::evidence::{ErasureReport, ErasureRequest, HoldView, NewHold, ReceiptView};
use super::identity::{answer, body, list_of};
use super::{error_response, map, refusals};
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<ReceiptView>();
    generator.subschema_for::<ErasureRequest>();
    generator.subschema_for::<ErasureReport>();
    generator.subschema_for::<HoldView>();
    generator.subschema_for::<NewHold>();
}

fn id_param(what: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": what, "schema": {"type": "string"}})
}

fn image(operation: &str, summary: &str, extra: Vec<Value>, more: Value) -> Value {
    let mut parameters = vec![id_param("The inspection id.")];
    parameters.extend(extra);
    let mut responses = map(json!({
        "200": {"description": "The image (no metadata for derivatives).", "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}}}},
        "404": error_response("No such inspection (`not_found`), or no such image is kept for it (`no_evidence`: withheld, not kept by the policy, or expired)."),
        "500": error_response("The stored evidence failed its integrity check (`integrity_error`); the failure is audited.")
    }));
    responses.extend(map(more));
    let mut responses = map(refusals(responses));
    responses.insert(
        "503".into(),
        error_response("The audit log, database or vault keys are unavailable; nothing was read."),
    );
    json!({"get": {"operationId": operation, "summary": summary, "parameters": parameters, "responses": responses}})
}

/// This part's paths.
pub fn paths() -> Map<String, Value> {
    let created = json!({"description": "Placed.", "content": {"application/json": {"schema": {
        "type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}});
    let rotated = json!({"description": "New key-encryption keys are in use; re-wrapping runs in the background.", "content": {"application/json": {"schema": {
        "type": "object", "required": ["started"], "properties": {"started": {"type": "array", "items": {"type": "string"}}}}}}});
    map(json!({
        "/v1/inspections/{id}/redacted": image(
            "getRedactedImage",
            "The redacted derivative: faces and printed text hidden, no metadata. Needs inspections:read; audited as evidence.read.",
            vec![], json!({})),
        "/v1/inspections/{id}/thumbnail": image(
            "getThumbnail",
            "A thumbnail of the redacted derivative. Needs inspections:read; audited as evidence.read.",
            vec![], json!({})),
        "/v1/inspections/{id}/original": image(
            "getOriginal",
            "The photo as submitted, when the policy kept it. Needs evidence:read-original and a stated reason; audited as evidence.read_original with the reason.",
            vec![json!({"name": "reason", "in": "query", "required": true, "description": "Why it is read (recorded in the audit log).",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 500}})],
            json!({"400": error_response("No reason given (`reason_required`).")})),
        "/v1/holds": {
            "get": {"operationId": "listHolds", "summary": "Legal holds, newest first. Needs evidence:manage.",
                    "responses": refusals(map(json!({"200": list_of("The holds.", "HoldView")})))},
            "post": {"operationId": "placeHold", "summary": "Place a legal hold: what it covers is not deleted by retention or erasure until lifted. Needs evidence:manage; audited.",
                     "requestBody": body("NewHold"),
                     "responses": refusals(map(json!({
                         "201": created,
                         "400": error_response("Not exactly one of inspection, device, or from with to; or no reason."),
                         "413": error_response("The body is too large.")})))}
        },
        "/v1/holds/{id}": {"delete": {"operationId": "liftHold", "summary": "Lift a legal hold. Needs evidence:manage; audited.",
            "parameters": [id_param("The hold id.")],
            "responses": refusals(map(json!({
                "204": {"description": "Lifted."},
                "404": error_response("No such active hold.")})))}},
        "/v1/erasure": {"post": {"operationId": "eraseDevice", "summary": "Erase everything kept from a device (results and images) except what a legal hold covers, with a deletion receipt each. Needs evidence:manage.",
            "requestBody": body("ErasureRequest"),
            "responses": refusals(map(json!({
                "200": answer("What was deleted, and how much a hold kept.", "ErasureReport"),
                "400": error_response("A malformed body or device id."),
                "413": error_response("The body is too large.")})))}},
        "/v1/vault/rotate": {"post": {"operationId": "rotateKek", "summary": "Start new key-encryption keys for every evidence category; old ones are destroyed once re-wrapping is done. Needs evidence:manage; audited.",
            "responses": refusals(map(json!({"202": rotated})))}}
    }))
}
