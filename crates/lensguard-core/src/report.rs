//! The inspection report: schema `lensguard.inspection.v1`.
//!
//! This is the one shape in which lensguard describes a photo, shared by
//! `lensguard check --json` (one object per line, with a `path` beside it) and the
//! HTTP API. The JSON Schema is generated from these types into
//! `docs/schema/inspection.v1.schema.json`, and a test fails when that file drifts.
//!
//! Compatibility rules for `v1`: fields and enum values may be added; none is
//! renamed, removed or changes meaning. Reason codes are stable machine strings;
//! messages are for people and may change.
//!
//! Privacy: the report holds measurements and metadata, never pixels.

use crate::geo::GeoPoint;
use crate::phash::PerceptualHash;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The schema identifier every report carries.
pub const SCHEMA_ID: &str = "lensguard.inspection.v1";

/// The outcome for a photo.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed (warnings allowed).
    Pass,
    /// The photo should be taken again (for example blurred or too dark).
    Retry,
    /// The photo is rejected (for example a re-used or edited photo).
    Fail,
    /// The input could not be inspected (unreadable, corrupt, over a limit).
    Error,
}

impl Verdict {
    /// The lowercase name used in JSON and on the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Retry => "retry",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one check.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not evaluated: switched off in the policy, or not required and absent.
    Skipped,
    /// Within the policy.
    Pass,
    /// Outside the policy, but the policy only warns.
    Warn,
    /// Outside the policy; the photo should be retaken.
    Retry,
    /// Outside the policy; the photo is rejected.
    Fail,
}

/// Which check produced a result.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// Reading and decoding the file (only ever in `error` verdicts).
    Decode,
    /// Minimum resolution of the full-size image.
    Resolution,
    /// Sharpness (variance of the Laplacian on the analysis image).
    Blur,
    /// Under- and over-exposure from the luma histogram.
    Exposure,
    /// Low contrast (standard deviation of luma).
    Contrast,
    /// Saturated specular regions.
    Glare,
    /// EXIF capture time present and fresh.
    CaptureTime,
    /// EXIF GPS position present and inside the geofence.
    Gps,
    /// EXIF software tags that hint at editing.
    Edits,
    /// Near-duplicate of an earlier photo (perceptual hash).
    Duplicate,
    /// Faces found by the face detector, against the policy's expectation.
    Faces,
    /// Printed text found by the text detector, against the policy's expectation.
    Text,
}

impl CheckId {
    /// The snake_case name used in JSON, policies and reason output.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Decode => "decode",
            CheckId::Resolution => "resolution",
            CheckId::Blur => "blur",
            CheckId::Exposure => "exposure",
            CheckId::Contrast => "contrast",
            CheckId::Glare => "glare",
            CheckId::CaptureTime => "capture_time",
            CheckId::Gps => "gps",
            CheckId::Edits => "edits",
            CheckId::Duplicate => "duplicate",
            CheckId::Faces => "faces",
            CheckId::Text => "text",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stable machine reason codes. Never renamed within `v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// The file has no bytes.
    EmptyFile,
    /// The file is larger than `Limits::max_file_bytes`.
    FileTooLarge,
    /// The bytes are not JPEG, PNG or WebP.
    UnsupportedFormat,
    /// The image data ends early.
    Truncated,
    /// The image data is damaged.
    Corrupt,
    /// The declared width or height is zero or above the limits.
    DimensionsTooLarge,
    /// The declared pixel count is above `Limits::max_pixels` (decompression bomb).
    TooManyPixels,
    /// Decoding the declared size would take more memory than
    /// `Limits::max_decode_bytes` allows.
    DecodeBudgetExceeded,
    /// The EXIF block is larger than `Limits::max_exif_bytes`.
    ExifTooLarge,
    /// The file could not be read.
    Unreadable,
    /// A model the check needs is missing, not the pinned file, or failed; the
    /// check fails closed.
    ModelUnavailable,
    /// The image is smaller than the policy's minimum resolution.
    LowResolution,
    /// The image is blurred (sharpness below the policy's minimum).
    Blurry,
    /// The image is too dark.
    Underexposed,
    /// The image is too bright.
    Overexposed,
    /// The image has too little contrast.
    LowContrast,
    /// Saturated specular regions cover too much of the image.
    Glare,
    /// No EXIF capture time.
    CaptureTimeMissing,
    /// The capture time is older than the policy's freshness window.
    CaptureTimeStale,
    /// The capture time lies in the future beyond the allowed clock skew.
    CaptureTimeInFuture,
    /// No EXIF GPS position.
    GpsMissing,
    /// The GPS position is outside the policy's geofence.
    OutsideGeofence,
    /// An EXIF software tag names an image editor.
    EditedSoftware,
    /// The photo is a near-duplicate of an earlier one.
    Duplicate,
    /// A face was found where the policy forbids one.
    FacePresent,
    /// No face was found where the policy requires one.
    FaceMissing,
    /// Printed text was found where the policy forbids it.
    TextPresent,
    /// No printed text was found where the policy requires it.
    TextMissing,
    /// Detection did not finish within the policy's deadline.
    DeadlineExceeded,
    /// The redacted derivative could not be made.
    RedactionFailed,
}

impl ReasonCode {
    /// The stable snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::EmptyFile => "empty_file",
            ReasonCode::FileTooLarge => "file_too_large",
            ReasonCode::UnsupportedFormat => "unsupported_format",
            ReasonCode::Truncated => "truncated",
            ReasonCode::Corrupt => "corrupt",
            ReasonCode::DimensionsTooLarge => "dimensions_too_large",
            ReasonCode::TooManyPixels => "too_many_pixels",
            ReasonCode::DecodeBudgetExceeded => "decode_budget_exceeded",
            ReasonCode::ExifTooLarge => "exif_too_large",
            ReasonCode::Unreadable => "unreadable",
            ReasonCode::ModelUnavailable => "model_unavailable",
            ReasonCode::LowResolution => "low_resolution",
            ReasonCode::Blurry => "blurry",
            ReasonCode::Underexposed => "underexposed",
            ReasonCode::Overexposed => "overexposed",
            ReasonCode::LowContrast => "low_contrast",
            ReasonCode::Glare => "glare",
            ReasonCode::CaptureTimeMissing => "capture_time_missing",
            ReasonCode::CaptureTimeStale => "capture_time_stale",
            ReasonCode::CaptureTimeInFuture => "capture_time_in_future",
            ReasonCode::GpsMissing => "gps_missing",
            ReasonCode::OutsideGeofence => "outside_geofence",
            ReasonCode::EditedSoftware => "edited_software",
            ReasonCode::Duplicate => "duplicate",
            ReasonCode::FacePresent => "face_present",
            ReasonCode::FaceMissing => "face_missing",
            ReasonCode::TextPresent => "text_present",
            ReasonCode::TextMissing => "text_missing",
            ReasonCode::DeadlineExceeded => "deadline_exceeded",
            ReasonCode::RedactionFailed => "redaction_failed",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Reason {
    /// The check that raised it.
    pub check: CheckId,
    /// Stable machine code.
    pub code: ReasonCode,
    /// The status the policy gave it (`warn`, `retry` or `fail`; `fail` for errors).
    pub status: Status,
    /// Human-readable explanation with the measured value and the threshold.
    pub message: String,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// Which check.
    pub check: CheckId,
    /// Its status under the policy.
    pub status: Status,
    /// The reason code when the status is `warn`, `retry` or `fail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ReasonCode>,
}

/// Image container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (baseline or progressive).
    Jpeg,
    /// PNG.
    Png,
    /// WebP (lossy or lossless).
    Webp,
}

impl ImageFormat {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }
}

/// Luma histogram figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Exposure {
    /// Mean luma, 0 to 255.
    pub mean_luma: f64,
    /// Fraction of pixels with luma at or below 8 (clipped shadows), 0 to 1.
    pub shadows_clipped: f64,
    /// Fraction of pixels with luma at or above 247 (clipped highlights), 0 to 1.
    pub highlights_clipped: f64,
}

/// Saturated specular regions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Glare {
    /// Fraction of the image covered by saturated regions large enough to count, 0 to 1.
    pub fraction: f64,
    /// Number of such regions.
    pub regions: u32,
}

/// A capture time from EXIF `DateTimeOriginal`, with its offset when the photo
/// recorded one (`OffsetTimeOriginal`). Serialised as ISO 8601, with the offset
/// when known (`2026-11-22T14:03:00+01:00`) and without it otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(with = "String")]
pub struct CaptureTime {
    /// The wall-clock time the camera recorded.
    pub local: time::PrimitiveDateTime,
    /// The camera's UTC offset, when recorded.
    pub offset: Option<time::UtcOffset>,
}

impl fmt::Display for CaptureTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.local;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second()
        )?;
        if let Some(o) = self.offset {
            let (h, m, _) = o.as_hms();
            let sign = if o.is_negative() { '-' } else { '+' };
            write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())?;
        }
        Ok(())
    }
}

impl Serialize for CaptureTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaptureTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CaptureTime::parse_iso(&s).ok_or_else(|| serde::de::Error::custom("invalid capture time"))
    }
}

impl CaptureTime {
    /// Parses the ISO 8601 form this type prints.
    pub fn parse_iso(s: &str) -> Option<Self> {
        use time::format_description::well_known::Rfc3339;
        if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
            return Some(CaptureTime {
                local: time::PrimitiveDateTime::new(t.date(), t.time()),
                offset: Some(t.offset()),
            });
        }
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        time::PrimitiveDateTime::parse(s, &fmt)
            .ok()
            .map(|local| CaptureTime {
                local,
                offset: None,
            })
    }

    /// The instant, using `assumed` when the photo recorded no offset.
    pub fn instant(&self, assumed: time::UtcOffset) -> time::OffsetDateTime {
        self.local.assume_offset(self.offset.unwrap_or(assumed))
    }
}

/// Everything measured about a decodable photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Measurements {
    /// Container format.
    pub format: ImageFormat,
    /// Full-size width after EXIF orientation, in pixels.
    pub width: u32,
    /// Full-size height after EXIF orientation, in pixels.
    pub height: u32,
    /// Width of the analysis image the pixel checks ran on.
    pub analysis_width: u32,
    /// Height of the analysis image the pixel checks ran on.
    pub analysis_height: u32,
    /// The analysis image is 1/`decode_scale` of the full size before any
    /// resampling: a JPEG decoded at that DCT scale (1, 2, 4 or 8), or at a
    /// finer one for the detectors and averaged down to it; 1 for PNG/WebP.
    pub decode_scale: u8,
    /// EXIF orientation tag (1 to 8) that was applied; 1 when absent.
    pub orientation: u16,
    /// Sharpness score: the Laplacian's variance on the analysis image divided by
    /// the luma variance (plus 25), times 100. Higher is sharper; independent of
    /// resolution and exposure. Sharp photos score 20 to 100, blurred ones under 3.
    pub sharpness: f64,
    /// The raw variance of the Laplacian on the analysis image (the classic figure,
    /// which also grows with contrast).
    pub laplacian_variance: f64,
    /// Luma histogram figures.
    pub exposure: Exposure,
    /// RMS contrast: standard deviation of luma, 0 to 127.5.
    pub contrast: f64,
    /// Saturated specular regions.
    pub glare: Glare,
    /// 64-bit perceptual hash (16 hex digits).
    pub phash: PerceptualHash,
    /// EXIF capture time, when present.
    pub capture_time: Option<CaptureTime>,
    /// EXIF GPS position, when present.
    pub gps: Option<GeoPoint>,
    /// EXIF `Software` tag, when present.
    pub software: Option<String>,
    /// EXIF camera make and model, when present.
    pub camera: Option<String>,
}

/// A near-duplicate found among earlier photos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DuplicateOf {
    /// The earlier photo (a path in the CLI, an inspection id in the API).
    pub id: String,
    /// Hamming distance between the two perceptual hashes.
    pub distance: u32,
}

/// Which policy judged the photo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PolicyRef {
    /// The policy's name.
    pub name: String,
    /// The policy's own revision number.
    pub revision: u32,
}

/// The full inspection result for one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InspectionReport {
    /// Always `lensguard.inspection.v1`.
    pub schema: String,
    /// The verdict: any `fail` gives fail, else any `retry` gives retry, else pass;
    /// `error` when the input could not be inspected.
    pub verdict: Verdict,
    /// Every finding that is not a pass, in check order.
    pub reasons: Vec<Reason>,
    /// Every check that ran, with its status.
    pub checks: Vec<CheckResult>,
    /// What was measured; absent for `error` verdicts.
    pub measurements: Option<Measurements>,
    /// The earlier photo this one nearly duplicates, when duplicate detection ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<DuplicateOf>,
    /// The policy that judged the photo.
    pub policy: PolicyRef,
    /// Faces and text found, when the detectors ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detections: Option<Detections>,
    /// Whether a redacted derivative was made, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redaction: Option<RedactionOutcome>,
}

/// A region a detector found, in full-size upright image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Region {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// Detector confidence, 0 to 1.
    pub score: f32,
}

/// What the detectors found; a detector the policy did not need is absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Detections {
    /// Faces, best score first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faces: Option<Vec<Region>>,
    /// Printed-text regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<Vec<Region>>,
    /// Long side, in pixels, the photo was scaled to for face detection.
    pub scale: u32,
    /// Long side, in pixels, the photo was scaled to for text detection
    /// (absent when text detection did not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_scale: Option<u32>,
    /// Tiles searched besides the whole photo (0 without tiling).
    pub tiles: u32,
    /// The models that answered, and the runtime each ran on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelRun>,
}

/// One model that answered for a report, as the report records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModelRun {
    /// The model card's name (`centerface`, `centerface-dynamic`,
    /// `ch_PP-OCRv4_det_infer`); the card pins its package version and
    /// SHA-256.
    pub model: String,
    /// `onnxruntime` or `tract`.
    pub runtime: String,
}

/// Whether a derivative was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedactionStatus {
    /// Faces and text were hidden and a derivative made.
    Redacted,
    /// No derivative was made, and no pixels may leave (the reason says why).
    Withheld,
}

/// The redaction step's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RedactionOutcome {
    /// Made or withheld.
    pub status: RedactionStatus,
    /// Why it was withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ReasonCode>,
    /// Human-readable detail for a withheld derivative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Faces hidden.
    pub faces: u32,
    /// Text regions hidden.
    pub text: u32,
    /// How the derivative was made (absent when withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<RedactionMethod>,
}

/// How a derivative's regions were hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedactionMethod {
    /// In the JPEG's DCT coefficients: every 8x8 block outside the hidden
    /// regions is the original's, bit-exact.
    Coefficients,
    /// Decoded, hidden in pixels, and encoded again at
    /// `redaction.jpeg_quality`.
    Pixels,
}

impl RedactionOutcome {
    /// A derivative was made with these regions hidden, by `method`.
    pub fn redacted(faces: usize, text: usize, method: RedactionMethod) -> Self {
        RedactionOutcome {
            status: RedactionStatus::Redacted,
            code: None,
            message: None,
            faces: faces as u32,
            text: text as u32,
            method: Some(method),
        }
    }

    /// No derivative, for this reason.
    pub fn withheld(code: ReasonCode, message: impl Into<String>) -> Self {
        RedactionOutcome {
            status: RedactionStatus::Withheld,
            code: Some(code),
            message: Some(message.into()),
            faces: 0,
            text: 0,
            method: None,
        }
    }
}

impl InspectionReport {
    /// A report for input that could not be inspected.
    pub fn error(code: ReasonCode, message: impl Into<String>, policy: PolicyRef) -> Self {
        let reason = Reason {
            check: CheckId::Decode,
            code,
            status: Status::Fail,
            message: message.into(),
        };
        InspectionReport {
            schema: SCHEMA_ID.to_owned(),
            verdict: Verdict::Error,
            checks: vec![CheckResult {
                check: CheckId::Decode,
                status: Status::Fail,
                code: Some(code),
            }],
            reasons: vec![reason],
            measurements: None,
            duplicate_of: None,
            policy,
            detections: None,
            redaction: None,
        }
    }

    /// Whether a reason with this code is present.
    pub fn has_reason(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_time_round_trips_with_and_without_offset() {
        for s in [
            "2026-11-22T14:03:00+01:00",
            "2026-11-22T14:03:00",
            "2020-01-02T03:04:05-05:30",
        ] {
            let t = CaptureTime::parse_iso(s).expect(s);
            assert_eq!(t.to_string(), s);
        }
        assert!(CaptureTime::parse_iso("yesterday").is_none());
    }

    #[test]
    fn reason_codes_serialise_as_their_stable_names() {
        for code in [
            ReasonCode::Blurry,
            ReasonCode::TooManyPixels,
            ReasonCode::CaptureTimeInFuture,
        ] {
            let json = serde_json::to_string(&code).expect("serialise");
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }
}
