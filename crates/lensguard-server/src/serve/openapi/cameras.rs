//! The OpenAPI paths of cameras and their events, with their schemas.

use super::super::cameras::{CameraList, CameraView, RecordingView};
use super::super::footage::{GapView, SegmentList, SegmentView};
use super::identity::answer;
use super::{error_response, map, refusals};
use crate::intake::CameraEvent;
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<CameraView>();
    generator.subschema_for::<CameraList>();
    generator.subschema_for::<CameraEvent>();
    generator.subschema_for::<RecordingView>();
    generator.subschema_for::<SegmentView>();
    generator.subschema_for::<GapView>();
    generator.subschema_for::<SegmentList>();
}

/// This part's paths.
pub fn paths() -> Map<String, Value> {
    let labels: Vec<&str> = lensguard_vision::models::EventLabel::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    map(json!({
        "/v1/cameras": {"get": {
            "operationId": "listCameras",
            "summary": "Every configured camera's live status (up, down with why, pictures decoded and sampled). Needs inspections:read.",
            "responses": refusals(map(json!({"200": answer("The cameras, in configuration order.", "CameraList")})))
        }},
        "/v1/events": {"get": {
            "operationId": "listEvents",
            "summary": "Cameras' events, newest first by start: what was seen (the label), when, how sure, in which zones, and where (boxes in fractions of the frame; never pixels). A caller whose scope names devices sees only those cameras. Needs inspections:read.",
            "parameters": [
                {"name": "camera", "in": "query", "schema": {"type": "string"}, "description": "Only this camera's events."},
                {"name": "label", "in": "query", "schema": {"type": "string", "enum": labels}},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Only events ending at or after this time."},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Only events starting before this time."},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "The previous page's next_cursor."}
            ],
            "responses": refusals(map(json!({
                "200": {"description": "A page of events.", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["items", "next_cursor"],
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/CameraEvent"}},
                        "next_cursor": {"type": ["string", "null"]}
                    }
                }}}},
                "400": error_response("A query parameter is unknown or malformed.")
            })))
        }},
        "/v1/events/{id}/snapshot": {"get": {
            "operationId": "getEventSnapshot",
            "summary": "An event's snapshot: the picture where its object scored best, with the camera's privacy masks filled and faces and printed text hidden as the policy says (never an unredacted picture). Not kept for structure_only cameras. Needs inspections:read; audited as events.snapshot.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": refusals(map(json!({
                "200": {"description": "The redacted snapshot.", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}},
                "404": error_response("No such event (or not one of the caller's cameras), or no snapshot kept for it (`no_snapshot`)."),
                "500": error_response("The sealed snapshot failed its integrity check (`integrity_error`; audited)."),
                "503": error_response("The vault's keys are unreachable (`vault_unavailable`).")
            })))
        }},
        "/v1/cameras/{name}/segments": {"get": {
            "operationId": "listSegments",
            "summary": "Where a camera's sealed footage lies in time (category, start, end, size, codec), oldest first, and the gaps in its recording with why. Metadata only; reading a segment needs evidence:read-original. A caller whose scope names devices sees only those cameras. Needs inspections:read; audited as footage.list.",
            "parameters": [
                {"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The camera's name."},
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Only footage ending after this time."},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Only footage starting before this time."},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "The previous page's next_cursor."}
            ],
            "responses": refusals(map(json!({
                "200": answer("A page of segments, and the gaps in the range.", "SegmentList"),
                "400": error_response("A query parameter is unknown or malformed."),
                "404": error_response("No such camera (or not one of the caller's cameras).")
            })))
        }},
        "/v1/cameras/{name}/live": {"get": {
            "operationId": "watchCameraLive",
            "summary": "A camera's live view, redacted: its sampled pictures (detect_fps a second) as MJPEG (multipart/x-mixed-replace, one JPEG per part), each searched for faces before it is sent, faces of the last pictures held over, the privacy masks burned in. Ends after 10 minutes (reconnect) or when a detection fails. At most 4 views at once. Needs inspections:read; audited as cameras.live.",
            "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The camera's name."}],
            "responses": refusals(map(json!({
                "200": {"description": "The live view.", "content": {"multipart/x-mixed-replace": {"schema": {"type": "string", "format": "binary"}}}},
                "404": error_response("No such camera (or not one of the caller's cameras)."),
                "503": error_response("The face detector is not loaded (`redaction_unavailable`), or 4 views are open (`too_many_viewers`).")
            })))
        }},
        "/v1/segments/{id}/original": {"get": {
            "operationId": "getSegmentOriginal",
            "summary": "One segment of a camera's footage as the camera sent it: a standalone fragmented MP4 (faces and plates visible). Needs evidence:read-original and a stated reason; audited as footage.read_original with the camera, the time range and the reason's pseudonym, before the bytes are read.",
            "parameters": [
                {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                {"name": "reason", "in": "query", "required": true, "description": "Why it is watched (recorded in the audit log).",
                 "schema": {"type": "string", "minLength": 1, "maxLength": 500}}
            ],
            "responses": refusals(map(json!({
                "200": {"description": "The segment.", "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
                "400": error_response("No reason given (`reason_required`)."),
                "404": error_response("No such segment (never recorded, deleted, or not one of the caller's cameras)."),
                "500": error_response("The sealed segment failed its integrity check (`integrity_error`; audited)."),
                "503": error_response("The vault's keys are unreachable (`vault_unavailable`).")
            })))
        }},
        "/v1/segments/{id}/redacted": {"get": {
            "operationId": "getSegmentRedacted",
            "summary": "One segment of a camera's footage with faces hidden in every picture (looked for every other picture, followed between looks, held over misses, covered ahead of their first detection) and the camera's privacy masks burned in, re-encoded as H.264 in a standalone fragmented MP4 without audio. Needs inspections:read; audited as footage.read_redacted. Fail closed: nothing without the face detector.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": refusals(map(json!({
                "200": {"description": "The redacted segment.", "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}}},
                "404": error_response("No such segment (never recorded, deleted, or not one of the caller's cameras)."),
                "409": error_response("The camera is no longer configured, so its privacy masks are unknown (`camera_not_configured`)."),
                "422": error_response("The footage cannot be redacted, e.g. H.265 (`cannot_redact`)."),
                "500": error_response("The sealed segment failed its integrity check (`integrity_error`; audited)."),
                "503": error_response("The face detector is not loaded (`redaction_unavailable`), or the vault's keys are unreachable.")
            })))
        }},
        "/v1/events/{id}": {"get": {
            "operationId": "getEvent",
            "summary": "One camera event. Needs inspections:read.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": refusals(map(json!({
                "200": answer("The event.", "CameraEvent"),
                "404": error_response("No such event (or not one of the caller's cameras).")
            })))
        }}
    }))
}
