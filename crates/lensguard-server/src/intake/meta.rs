//! What a source says about a submission besides its bytes: the device,
//! the submitter's own reference, where the photo was taken. Every field is
//! checked by the source that read it (the HTTP upload's multipart parser,
//! a watched folder's configuration); the intake stores and echoes them.

use schemars::JsonSchema;
use serde::Serialize;

/// Where the submitter says the photo was taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct Location {
    /// Latitude, -90 to 90.
    pub latitude: f64,
    /// Longitude, -180 to 180.
    pub longitude: f64,
}

/// Metadata sent with a multipart submission.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct SubmissionMeta {
    /// The submitting device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The submitter's own reference (an order or delivery number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_reference: Option<String>,
    /// Where the submitter says the photo was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl SubmissionMeta {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self == &SubmissionMeta::default()
    }
}
