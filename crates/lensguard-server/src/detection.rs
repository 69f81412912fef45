//! The detectors for `check`, `redact` and `serve`: loaded once from a models
//! directory (what `scripts/fetch-models` fills), each file verified against
//! its pinned SHA-256. A file that is missing, unreadable or not the pinned one
//! leaves that detector unloaded with the reason, and everything that needs it
//! fails closed.

use crate::inputs::{ReadError, read_limited};
use lensguard_vision::Error;
use lensguard_vision::derive::Detectors;
use lensguard_vision::models::{CENTERFACE, FaceDetector, ModelCard, PP_OCR_V4_DET, TextDetector};
use std::path::{Path, PathBuf};

/// File names in the models directory.
pub const FACE_FILE: &str = "centerface.onnx";
/// File names in the models directory.
pub const TEXT_FILE: &str = "ch_PP-OCRv4_det_infer.onnx";
/// No model file lensguard uses is near this size.
const MAX_MODEL_BYTES: u64 = 256 << 20;

/// `$LENSGUARD_MODELS`, else `~/.cache/lensguard/models` (where
/// `scripts/fetch-models` puts them), else `./models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LENSGUARD_MODELS").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("HOME").map_or_else(
        || PathBuf::from("models"),
        |h| PathBuf::from(h).join(".cache/lensguard/models"),
    )
}

fn read(dir: &Path, file: &str, card: &ModelCard) -> Result<Vec<u8>, Error> {
    let path = dir.join(file);
    read_limited(&path, MAX_MODEL_BYTES).map_err(|e| Error::ModelMissing {
        model: card.name,
        reason: match e {
            ReadError::Io(e) => format!(
                "cannot read {} ({e}); scripts/fetch-models fetches it",
                path.display()
            ),
            ReadError::TooLarge(e) => format!("{}: {e}", path.display()),
        },
    })
}

/// Loads both detectors from `dir`.
pub fn load(dir: &Path) -> Detectors {
    Detectors {
        faces: read(dir, FACE_FILE, &CENTERFACE).and_then(|b| FaceDetector::load(&b)),
        text: read(dir, TEXT_FILE, &PP_OCR_V4_DET).and_then(|b| TextDetector::load(&b)),
    }
}

/// Loads the detectors from `dir` (or the default folder) for a CLI command,
/// warning on stderr about each one that did not load.
pub fn load_for_cli(dir: Option<&Path>) -> Detectors {
    let dir = dir.map_or_else(default_models_dir, Path::to_path_buf);
    let d = load(&dir);
    for problem in problems(&d) {
        eprintln!("lensguard: warning: {problem}");
    }
    d
}

/// One line per detector that did not load, for a warning at start.
pub fn problems(d: &Detectors) -> Vec<String> {
    [d.faces.as_ref().err(), d.text.as_ref().err()]
        .into_iter()
        .flatten()
        .map(ToString::to_string)
        .collect()
}
