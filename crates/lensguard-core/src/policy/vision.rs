//! The policy sections for the vision models: the `faces` and `text` checks,
//! how detection runs (`[detection]`) and how found regions are hidden
//! (`[redaction]`).
//!
//! Defaults are safe: both checks are `ignore` (they do not change a verdict
//! unless a policy says so), while redaction always covers both faces and text,
//! so a derivative needs both models and is withheld when either is missing.

use super::Action;
use serde::{Deserialize, Serialize};

/// What a policy expects of a kind of region in the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// The check does not affect the verdict.
    Ignore,
    /// At least one must be found (for example a shipping label in the shot).
    Require,
    /// None may be found (for example no bystander's face in focus).
    Forbid,
}

/// `[faces]`: faces found by CenterFace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacesRule {
    /// Require, forbid or ignore faces. Default `ignore`.
    pub expect: Expect,
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Detector score (0 to 1) from which a face counts. Default 0.5.
    pub threshold: f32,
    /// A face counts for the check only when its height is at least this
    /// fraction of the photo's (0 counts every face; 0.1 means "in focus").
    /// Every face found is redacted regardless. Default 0.
    pub min_height_fraction: f64,
}

impl Default for FacesRule {
    fn default() -> Self {
        FacesRule {
            expect: Expect::Ignore,
            action: Action::Retry,
            threshold: 0.5,
            min_height_fraction: 0.0,
        }
    }
}

/// `[text]`: printed text found by PP-OCRv4's detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextRule {
    /// Require, forbid or ignore text. Default `ignore`.
    pub expect: Expect,
    /// What a miss costs. Default `retry`.
    pub action: Action,
    /// Mean map probability (0 to 1) from which a region counts. Default 0.5.
    pub threshold: f32,
    /// Long side, in pixels, the photo is scaled to for text detection. Print
    /// needs more pixels than faces: at 640 a 1024x768 photo's label letters
    /// fall under the detector's reach and text-like patterns merge into
    /// false lines. 32 to 4096. Default 960.
    pub scale: u32,
}

impl Default for TextRule {
    fn default() -> Self {
        TextRule {
            expect: Expect::Ignore,
            action: Action::Retry,
            threshold: 0.5,
            scale: 960,
        }
    }
}

/// Whether large photos are also searched tile by tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tiling {
    /// One pass over the whole photo at the detection scale.
    Off,
    /// Also search overlapping tiles for faces, each at the detection scale,
    /// when the photo's long side is more than three times the scale, so
    /// small faces far from the camera keep enough pixels.
    Auto,
}

/// `[detection]`: how the detectors run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionSettings {
    /// Long side, in pixels, the photo is scaled to for face detection
    /// (deface's `--scale`; text has its own, `text.scale`). 32 to 4096.
    /// Default 640.
    pub scale: u32,
    /// Tiling for small faces in large photos. Default `off`: one pass finds
    /// faces down to about 1/30 of the photo's long side; `auto` finds about
    /// three times smaller ones for about ten times the detection work on a
    /// 12 MP photo.
    pub tiling: Tiling,
    /// Most tiles along one side when tiling. 2 to 4. Default 3.
    pub max_tiles_per_side: u32,
    /// Time allowed for detection on one photo, in milliseconds; past it no
    /// derivative is made. Default 10000.
    pub deadline_ms: u64,
}

impl Default for DetectionSettings {
    fn default() -> Self {
        DetectionSettings {
            scale: 640,
            tiling: Tiling::Off,
            max_tiles_per_side: 3,
            deadline_ms: 10_000,
        }
    }
}

/// How a region is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactStyle {
    /// Block means smoothed by a box blur.
    Blur,
    /// Block means (a mosaic).
    Pixelate,
    /// Solid black.
    Fill,
}

/// A kind of personal data a detector finds in photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelCategory {
    /// Faces (CenterFace).
    Faces,
    /// Printed text (PP-OCRv4 detection).
    Text,
}

/// `[redaction]`: how each data category is hidden in derivatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionSettings {
    /// Which categories are hidden; each one's model must load for a
    /// derivative to be made. At least one. Default both.
    pub categories: Vec<PixelCategory>,
    /// Style for faces. Default `blur`.
    pub faces: RedactStyle,
    /// Style for printed text (names and addresses on labels). Default `fill`.
    pub text: RedactStyle,
    /// Each box grows by this fraction of its size on every side before it is
    /// hidden (a text line: of its height, on every side, so a long line is
    /// not widened by a fifth of its length). 0 to 1. Default 0.2.
    pub margin: f32,
    /// JPEG quality of derivatives, 50 to 95. Default 85.
    pub jpeg_quality: u8,
}

impl Default for RedactionSettings {
    fn default() -> Self {
        RedactionSettings {
            categories: vec![PixelCategory::Faces, PixelCategory::Text],
            faces: RedactStyle::Blur,
            text: RedactStyle::Fill,
            margin: 0.2,
            jpeg_quality: 85,
        }
    }
}

impl RedactionSettings {
    /// Whether `category` is hidden.
    pub fn hides(&self, category: PixelCategory) -> bool {
        self.categories.contains(&category)
    }
}
