//! The policy: which checks run, their thresholds, and what a miss costs.
//!
//! A policy is TOML (schema `version = 1`). Every section is optional: an omitted
//! section or key takes the built-in proof-of-delivery default, so a file only says
//! what it changes. Unknown keys are rejected. Parsing ([`Policy::from_toml`]) runs
//! the serde model first and then the pure [`validate`](validate::validate) pass;
//! both report the file line and column of the offending key.
//!
//! Each check section has an `action`: what status a miss gets (`off`, `warn`,
//! `retry` or `fail`). See `docs/policy.md` for the reference.

mod data;
mod locate;
mod overrides;
mod validate;
mod vision;

use crate::geo::GeoPoint;
use crate::report::{PolicyRef, Status};
use serde::{Deserialize, Serialize};
use std::fmt;

pub use data::{
    CategoryRule, DataCategory, DataRules, EGRESS_FIELDS, EVENT_FIELDS, Egress, OVERRIDE_FIELDS,
    RetentionSettings, StoreWhen,
};
pub use overrides::{NotOverridable, Overrides};
pub use validate::validate;
pub use vision::{
    DetectionSettings, Expect, FacesRule, PixelCategory, RedactStyle, RedactionSettings, TextRule,
    Tiling,
};

/// The policy schema version this build understands.
pub const SCHEMA_VERSION: u32 = 1;

/// What a check's miss turns into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Do not run the check.
    Off,
    /// Record the finding; the verdict is unaffected.
    Warn,
    /// Ask for the photo again.
    Retry,
    /// Reject the photo.
    Fail,
}

impl Action {
    /// The status a miss gets under this action (`None` when the check is off).
    pub fn miss_status(self) -> Option<Status> {
        match self {
            Action::Off => None,
            Action::Warn => Some(Status::Warn),
            Action::Retry => Some(Status::Retry),
            Action::Fail => Some(Status::Fail),
        }
    }
}

/// A complete, validated policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Policy schema version; must be 1.
    pub version: u32,
    /// A name for reports and logs.
    #[serde(default = "default_name")]
    pub name: String,
    /// The policy author's own revision counter, reported with every verdict.
    #[serde(default = "default_revision")]
    pub revision: u32,
    /// Minimum resolution of the full-size image.
    #[serde(default)]
    pub resolution: ResolutionRule,
    /// Sharpness.
    #[serde(default)]
    pub blur: BlurRule,
    /// Under- and over-exposure.
    #[serde(default)]
    pub exposure: ExposureRule,
    /// Contrast.
    #[serde(default)]
    pub contrast: ContrastRule,
    /// Glare.
    #[serde(default)]
    pub glare: GlareRule,
    /// EXIF capture time.
    #[serde(default)]
    pub capture_time: CaptureTimeRule,
    /// EXIF GPS position and geofence.
    #[serde(default)]
    pub gps: GpsRule,
    /// Editing-software hints.
    #[serde(default)]
    pub edits: EditsRule,
    /// Near-duplicate detection (`--dedupe` in the CLI).
    #[serde(default)]
    pub duplicate: DuplicateRule,
    /// Faces (CenterFace).
    #[serde(default)]
    pub faces: FacesRule,
    /// Printed text (PP-OCRv4 detection).
    #[serde(default)]
    pub text: TextRule,
    /// Detection scale, tiling and deadline.
    #[serde(default)]
    pub detection: DetectionSettings,
    /// How faces and text are hidden in derivatives.
    #[serde(default)]
    pub redaction: RedactionSettings,
    /// What is kept of each photo, and for how long.
    #[serde(default)]
    pub data: DataRules,
    /// How the retention sweeper guards against clock jumps.
    #[serde(default)]
    pub retention: RetentionSettings,
    /// What may leave the device (deny by default).
    #[serde(default)]
    pub egress: Egress,
    /// Which reasons a person may override (none by default).
    #[serde(default)]
    pub overrides: Overrides,
}

fn default_name() -> String {
    "custom".to_owned()
}

fn default_revision() -> u32 {
    1
}

/// `[resolution]`: minimum size, orientation-agnostic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResolutionRule {
    /// What a miss costs. Default `fail`.
    pub action: Action,
    /// Minimum length of the shorter side, in pixels. Default 480.
    pub min_short_side: u32,
    /// Minimum length of the longer side, in pixels. Default 640.
    pub min_long_side: u32,
}

impl Default for ResolutionRule {
    fn default() -> Self {
        Self {
            action: Action::Fail,
            min_short_side: 480,
            min_long_side: 640,
        }
    }
}

/// `[blur]`: the sharpness score (contrast-normalised variance of the Laplacian on
/// the analysis image; see `docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlurRule {
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Minimum sharpness score. Default 5. Sharp photos score 20 to 100; visibly
    /// blurred ones score under 3.
    pub min_sharpness: f64,
}

impl Default for BlurRule {
    fn default() -> Self {
        Self {
            action: Action::Retry,
            min_sharpness: 5.0,
        }
    }
}

/// `[exposure]`: luma histogram bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExposureRule {
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Minimum mean luma (0 to 255). Default 50.
    pub min_mean_luma: f64,
    /// Maximum mean luma (0 to 255). Default 210.
    pub max_mean_luma: f64,
    /// Maximum fraction of clipped shadows (luma <= 8). Default 0.35.
    pub max_shadows_clipped: f64,
    /// Maximum fraction of clipped highlights (luma >= 247). Default 0.25.
    pub max_highlights_clipped: f64,
}

impl Default for ExposureRule {
    fn default() -> Self {
        Self {
            action: Action::Retry,
            min_mean_luma: 50.0,
            max_mean_luma: 210.0,
            max_shadows_clipped: 0.35,
            max_highlights_clipped: 0.25,
        }
    }
}

/// `[contrast]`: RMS contrast (standard deviation of luma).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContrastRule {
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Minimum standard deviation of luma. Default 20.
    pub min_std_luma: f64,
}

impl Default for ContrastRule {
    fn default() -> Self {
        Self {
            action: Action::Retry,
            min_std_luma: 20.0,
        }
    }
}

/// `[glare]`: saturated specular regions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GlareRule {
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Maximum fraction of the image covered by saturated regions (each region at
    /// least 0.1% of the image). Default 0.03.
    pub max_fraction: f64,
}

impl Default for GlareRule {
    fn default() -> Self {
        Self {
            action: Action::Retry,
            max_fraction: 0.03,
        }
    }
}

/// `[capture_time]`: EXIF capture time present and within a freshness window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureTimeRule {
    /// What a miss costs. Default `warn`: many apps strip EXIF.
    pub action: Action,
    /// Whether a missing capture time is a miss. Default true.
    pub require: bool,
    /// Oldest acceptable photo, in hours before now. Default 72.
    pub max_age_hours: f64,
    /// Allowed clock skew into the future, in minutes. Default 10.
    pub max_future_minutes: f64,
    /// UTC offset assumed when the photo recorded none, as `+HH:MM`. Default `+00:00`.
    pub assume_utc_offset: String,
}

impl Default for CaptureTimeRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            require: true,
            max_age_hours: 72.0,
            max_future_minutes: 10.0,
            assume_utc_offset: "+00:00".to_owned(),
        }
    }
}

impl CaptureTimeRule {
    /// The parsed `assume_utc_offset` (validated, so UTC only if the policy was not).
    pub fn assumed_offset(&self) -> time::UtcOffset {
        parse_offset(&self.assume_utc_offset).unwrap_or(time::UtcOffset::UTC)
    }
}

pub(crate) fn parse_offset(s: &str) -> Option<time::UtcOffset> {
    let fmt = time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    time::UtcOffset::parse(s, &fmt).ok()
}

/// `[gps]`: GPS position present and inside an optional geofence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpsRule {
    /// What a miss costs. Default `warn`.
    pub action: Action,
    /// Whether a missing position is a miss. Default false.
    pub require: bool,
    /// The area photos must come from, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geofence: Option<Geofence>,
}

impl Default for GpsRule {
    fn default() -> Self {
        Self {
            action: Action::Warn,
            require: false,
            geofence: None,
        }
    }
}

/// `[gps.geofence]`: a circle on the Earth's surface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geofence {
    /// Centre latitude in degrees.
    pub lat: f64,
    /// Centre longitude in degrees.
    pub lon: f64,
    /// Radius in metres.
    pub radius_m: f64,
}

impl Geofence {
    /// The centre as a point.
    pub fn centre(&self) -> GeoPoint {
        GeoPoint {
            lat: self.lat,
            lon: self.lon,
        }
    }
}

/// `[edits]`: the EXIF `Software` tag naming an image editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EditsRule {
    /// What a miss costs. Default `fail`.
    pub action: Action,
    /// Case-insensitive substrings that mark an editor.
    pub software: Vec<String>,
}

impl Default for EditsRule {
    fn default() -> Self {
        Self {
            action: Action::Fail,
            software: [
                "photoshop",
                "lightroom",
                "gimp",
                "snapseed",
                "picsart",
                "pixelmator",
                "affinity photo",
                "paint.net",
                "facetune",
                "canva",
            ]
            .map(str::to_owned)
            .to_vec(),
        }
    }
}

/// `[duplicate]`: near-duplicates by perceptual-hash distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DuplicateRule {
    /// What a duplicate costs. Default `fail` (re-submitting an old photo).
    pub action: Action,
    /// Largest Hamming distance (0 to 64) that counts as a duplicate. Default 10.
    pub max_distance: u32,
}

impl Default for DuplicateRule {
    fn default() -> Self {
        Self {
            action: Action::Fail,
            max_distance: 10,
        }
    }
}

impl Default for Policy {
    /// The built-in proof-of-delivery policy.
    fn default() -> Self {
        Policy {
            version: SCHEMA_VERSION,
            name: "proof-of-delivery".to_owned(),
            revision: 1,
            resolution: ResolutionRule::default(),
            blur: BlurRule::default(),
            exposure: ExposureRule::default(),
            contrast: ContrastRule::default(),
            glare: GlareRule::default(),
            capture_time: CaptureTimeRule::default(),
            gps: GpsRule::default(),
            edits: EditsRule::default(),
            duplicate: DuplicateRule::default(),
            faces: FacesRule::default(),
            text: TextRule::default(),
            detection: DetectionSettings::default(),
            redaction: RedactionSettings::default(),
            data: DataRules::default(),
            retention: RetentionSettings::default(),
            egress: Egress::default(),
            overrides: Overrides::default(),
        }
    }
}

/// The names of the built-in policies ([`Policy::builtin`]).
pub const BUILTIN: [&str; 2] = ["proof-of-delivery", "inspection-line"];

impl Policy {
    /// A built-in policy by name: `proof-of-delivery` (the default) or
    /// `inspection-line`, which keeps the originals of failed inspections
    /// (30 days, for the line's quality engineers) and nothing else of them.
    pub fn builtin(name: &str) -> Option<Policy> {
        match name {
            "proof-of-delivery" => Some(Policy::default()),
            "inspection-line" => {
                let mut p = Policy {
                    name: "inspection-line".to_owned(),
                    ..Policy::default()
                };
                p.data.original = CategoryRule {
                    store: StoreWhen::OnFail,
                    keep_days: 30,
                };
                Some(p)
            }
            _ => None,
        }
    }
}

/// One rule a policy breaks, located in the source when parsed from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyIssue {
    /// Dotted path of the key, e.g. `exposure.min_mean_luma`.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line and column of the key, when known.
    pub location: Option<(usize, usize)>,
}

impl fmt::Display for PolicyIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some((line, column)) = self.location {
            write!(f, "{line}:{column}: ")?;
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Policy {
    /// Parses and validates a policy from TOML text.
    ///
    /// Errors name the line and column: syntax, unknown keys and wrong types come
    /// from the parser as [`crate::Error::PolicySyntax`]; rule violations come from
    /// [`validate`] as [`crate::Error::PolicyInvalid`] with every issue listed.
    pub fn from_toml(source: &str) -> Result<Policy, crate::Error> {
        let policy: Policy = toml::from_str(source).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| locate::line_column(source, s.start))
                .unwrap_or((1, 1));
            crate::Error::PolicySyntax {
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        let mut issues = validate(&policy);
        if issues.is_empty() {
            return Ok(policy);
        }
        for issue in &mut issues {
            issue.location = locate::key_location(source, &issue.field);
        }
        Err(crate::Error::PolicyInvalid(issues))
    }

    /// The policy as TOML, every key spelled out (what `lensguard policy show` prints).
    pub fn to_toml(&self) -> String {
        // Serialising plain structs of numbers, strings and tables cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The name and revision that reports carry.
    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            name: self.name.clone(),
            revision: self.revision,
        }
    }
}

#[cfg(test)]
mod tests;
