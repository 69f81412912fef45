//! The OpenAPI paths of cameras, with their schemas.

use super::super::cameras::{CameraList, CameraView};
use super::identity::answer;
use super::{map, refusals};
use serde_json::{Map, Value, json};

/// Adds this part's schemas to the generator's definitions.
pub fn register(generator: &mut schemars::SchemaGenerator) {
    generator.subschema_for::<CameraView>();
    generator.subschema_for::<CameraList>();
}

/// This part's paths.
pub fn paths() -> Map<String, Value> {
    map(json!({
        "/v1/cameras": {"get": {
            "operationId": "listCameras",
            "summary": "Every configured camera's live status (up, down with why, pictures decoded and sampled). Needs inspections:read.",
            "responses": refusals(map(json!({"200": answer("The cameras, in configuration order.", "CameraList")})))
        }}
    }))
}
