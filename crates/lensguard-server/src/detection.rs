//! The detectors for `check`, `redact` and `serve`: loaded once from a models
//! directory (what `scripts/fetch-models` fills), each file verified against
//! its pinned SHA-256. A file that is missing, unreadable or not the pinned one
//! leaves that detector unloaded with the reason, and everything that needs it
//! fails closed.
//!
//! The runtime: ONNX Runtime when `libonnxruntime.so` is in the models
//! directory and is the pinned build ([`ORT_SHA256`]); otherwise (missing,
//! altered, or refused by the loader) tract, with the reason said once. The
//! library is loaded here, by the binary; `lensguard-vision` only receives
//! the environment. `LENSGUARD_RUNTIME=tract` chooses tract on purpose.
//! On ONNX Runtime, CenterFace is loaded from the prepared file
//! (`centerface-dynamic.onnx`: its shipped file declares a fixed 10x3x32x32
//! input that ONNX Runtime enforces); without it, CenterFace runs on tract.
//! The text recogniser (`ch_PP-OCRv4_rec_infer.onnx`) only verifies detected
//! lines: without it every detected line is hidden (more is hidden, never
//! less), and the start-up line says so.

use crate::inputs::{ReadError, read_limited};
use lensguard_vision::Error;
use lensguard_vision::derive::Detectors;
use lensguard_vision::models::runtime::Backend;
use lensguard_vision::models::{
    CENTERFACE, CENTERFACE_DYNAMIC, FaceDetector, ModelCard, NANODET, ObjectDetector,
    PP_OCR_V4_DET, PP_OCR_V4_REC, SignedPin, TextDetector,
};
use std::path::{Path, PathBuf};

/// File names in the models directory.
pub const FACE_FILE: &str = "centerface.onnx";
/// CenterFace prepared for ONNX Runtime (`scripts/prepare_centerface.py`).
pub const FACE_FILE_PREPARED: &str = "centerface-dynamic.onnx";
/// File names in the models directory.
pub const TEXT_FILE: &str = "ch_PP-OCRv4_det_infer.onnx";
/// The text recogniser that verifies detected lines.
pub const TEXT_VERIFIER_FILE: &str = "ch_PP-OCRv4_rec_infer.onnx";
/// The people and vehicle detector cameras use (`scripts/fetch-models --tier cameras`).
pub const OBJECT_FILE: &str = "nanodet.onnx";
/// The ONNX Runtime library in the models directory.
pub const ORT_FILE: &str = "libonnxruntime.so";
/// SHA-256 of `libonnxruntime.so.1.31.1` from the onnxruntime 1.31.1 wheel
/// (CPython 3.11, manylinux_2_28 x86_64), the build `ort` 2.0.0-rc.15 speaks to.
pub const ORT_SHA256: &str = "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3";
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

/// The runtime for the models in `dir`: ONNX Runtime when its pinned
/// library is there and loads, else tract and why not.
pub fn backend(dir: &Path) -> (Backend, Option<String>) {
    if std::env::var("LENSGUARD_RUNTIME").is_ok_and(|v| v == "tract") {
        return (Backend::Tract, None);
    }
    let path = dir.join(ORT_FILE);
    let bytes = match read_limited(&path, MAX_MODEL_BYTES) {
        Ok(b) => b,
        Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                Backend::Tract,
                Some(format!(
                    "{} is missing (scripts/fetch-models fetches it); the models run on tract",
                    path.display()
                )),
            );
        }
        Err(e) => {
            let why = match e {
                ReadError::Io(e) => e.to_string(),
                ReadError::TooLarge(e) => e.to_string(),
            };
            return (
                Backend::Tract,
                Some(format!(
                    "cannot read {} ({why}); the models run on tract",
                    path.display()
                )),
            );
        }
    };
    let digest = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &bytes,
    ));
    if digest != ORT_SHA256 {
        return (
            Backend::Tract,
            Some(format!(
                "{} is not the pinned ONNX Runtime build (SHA-256 {digest}); the models run on tract",
                path.display()
            )),
        );
    }
    drop(bytes);
    match ort::init_from(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| b.with_name("lensguard").build().map_err(|e| e.to_string()))
    {
        Ok(env) => (Backend::OnnxRuntime(env), None),
        Err(e) => (
            Backend::Tract,
            Some(format!(
                "{} did not load ({e}); the models run on tract",
                path.display()
            )),
        ),
    }
}

/// Loads both detectors from `dir`, on ONNX Runtime where it can; the
/// second value says why a model runs on tract instead, if one does.
pub fn load_with_runtime(dir: &Path) -> (Detectors, Option<String>) {
    let (detectors, why, _) = load_all(dir, false);
    (detectors, why)
}

/// The people and vehicle detector (NanoDet), or why it is not loaded.
pub type Objects = Result<std::sync::Arc<ObjectDetector>, String>;

/// Like [`load_with_runtime`], and with `objects` also the people and
/// vehicle detector cameras use (on the same runtime).
pub fn load_all(dir: &Path, objects: bool) -> (Detectors, Option<String>, Objects) {
    let loaded = load_all_with(dir, objects, &[]);
    (loaded.detectors, loaded.on_tract, loaded.objects)
}

/// What [`load_all_with`] loaded.
pub struct Loaded {
    /// The photo detectors.
    pub detectors: Detectors,
    /// Why the models run on tract, if they do.
    pub on_tract: Option<String>,
    /// The people and vehicle detector.
    pub objects: Objects,
    /// Detectors whose updated model would not load, and why; the
    /// built-in model was loaded instead.
    pub refused: Vec<(String, String)>,
}

/// A detector's model from a signed update (see `model_updates`), as the
/// detectors load it: the file, and the SHA-256 its signed metadata names.
#[derive(Debug, Clone)]
pub struct UpdatedModel {
    /// The detector it replaces: `faces` or `objects`.
    pub detector: String,
    /// The model file.
    pub path: PathBuf,
    /// Its pin.
    pub pin: SignedPin,
    /// Whether its release is on trial (a crash point marks its load).
    pub on_trial: bool,
}

/// Loads a detector from an updated release, pinned by its signed
/// metadata.
fn load_update<T>(
    model: &UpdatedModel,
    load: impl Fn(&[u8], &SignedPin) -> Result<T, Error>,
) -> Result<T, String> {
    if model.on_trial {
        crate::common::crash_point::hit("models.trial_load");
    }
    let bytes = read_limited(&model.path, MAX_MODEL_BYTES)
        .map_err(|e| format!("{}: {e}", model.path.display()))?;
    load(&bytes, &model.pin).map_err(|e| e.to_string())
}

/// Loads an updated model on `runtime` like a built-in one, and on tract
/// when ONNX Runtime refuses it (the service and the known-answer test
/// load it the same way).
pub fn on_any<T>(
    runtime: &Backend,
    bytes: &[u8],
    pin: &SignedPin,
    load: impl Fn(&[u8], &Backend, &SignedPin) -> Result<T, Error>,
) -> Result<T, Error> {
    load(bytes, runtime, pin).or_else(|e| match runtime {
        Backend::OnnxRuntime(_) => load(bytes, &Backend::Tract, pin),
        Backend::Tract => Err(e),
    })
}

/// [`load_all`], with the active releases of updated detectors in place
/// of the built-in files.
pub fn load_all_with(dir: &Path, objects: bool, updates: &[UpdatedModel]) -> Loaded {
    let update = |name: &str| updates.iter().find(|u| u.detector == name);
    let (runtime, why) = backend(dir);
    let mut refused = Vec::new();
    let builtin_objects = || {
        read(dir, OBJECT_FILE, &NANODET)
            .and_then(|b| ObjectDetector::load_on(&b, &runtime))
            .map(std::sync::Arc::new)
            .map_err(|e| {
                format!("{e}; cameras detect motion only and make no events (scripts/fetch-models --tier cameras)")
            })
    };
    let loaded_objects = if !objects {
        Err("no camera is configured".to_owned())
    } else if let Some(m) = update("objects") {
        match load_update(m, |b, p| {
            on_any(&runtime, b, p, |b, r, p| {
                ObjectDetector::load_signed(b, r, p).map(std::sync::Arc::new)
            })
        }) {
            Ok(d) => Ok(d),
            Err(e) => {
                refused.push((m.detector.clone(), e));
                builtin_objects()
            }
        }
    } else {
        builtin_objects()
    };
    let builtin_faces = || match &runtime {
        Backend::OnnxRuntime(_) => read(dir, FACE_FILE_PREPARED, &CENTERFACE_DYNAMIC)
            .and_then(|b| FaceDetector::load_on(&b, &runtime))
            .or_else(|e| {
                eprintln!("lensguard: note: {e}; CenterFace runs on tract");
                read(dir, FACE_FILE, &CENTERFACE).and_then(|b| FaceDetector::load(&b))
            }),
        Backend::Tract => read(dir, FACE_FILE, &CENTERFACE).and_then(|b| FaceDetector::load(&b)),
    };
    let faces = match update("faces") {
        Some(m) => match load_update(m, |b, p| on_any(&runtime, b, p, FaceDetector::load_signed)) {
            Ok(d) => Ok(d),
            Err(e) => {
                refused.push((m.detector.clone(), e));
                builtin_faces()
            }
        },
        None => builtin_faces(),
    };
    let detectors = Detectors {
        faces,
        text: read(dir, TEXT_FILE, &PP_OCR_V4_DET).and_then(|b| {
            TextDetector::load_on(&b, &runtime).or_else(|e| match runtime {
                // The pinned file, refused by ONNX Runtime: the same file
                // on tract, said once, as for CenterFace.
                Backend::OnnxRuntime(_) => {
                    eprintln!("lensguard: note: {e}; text detection runs on tract");
                    TextDetector::load(&b)
                }
                Backend::Tract => Err(e),
            })
        }),
    };
    let mut detectors = detectors;
    if let Ok(text) = &mut detectors.text {
        let verified = read(dir, TEXT_VERIFIER_FILE, &PP_OCR_V4_REC).and_then(|b| {
            text.verify_with(&b, &runtime).or_else(|e| match runtime {
                Backend::OnnxRuntime(_) => text.verify_with(&b, &Backend::Tract),
                Backend::Tract => Err(e),
            })
        });
        if let Err(e) = verified {
            eprintln!(
                "lensguard: note: {e}; detected text lines are not verified, so every one is hidden"
            );
        }
    }
    Loaded {
        detectors,
        on_tract: why,
        objects: loaded_objects,
        refused,
    }
}

/// Which runtime each loaded detector uses, for the start-up line.
pub fn runtimes(d: &Detectors) -> String {
    let of = |r: Option<&'static str>| r.unwrap_or("not loaded");
    let verified = match &d.text {
        Ok(t) if t.verifies() => ", lines verified",
        Ok(_) => ", lines not verified",
        Err(_) => "",
    };
    format!(
        "faces on {}, text on {}{verified}; JPEG codec {}",
        of(d.faces.as_ref().ok().map(FaceDetector::runtime)),
        of(d.text.as_ref().ok().map(TextDetector::runtime)),
        if lensguard_vision::jpeg_simd() {
            "with SIMD"
        } else {
            "without SIMD (nasm was missing at build time)"
        }
    )
}

/// Loads the detectors from `dir` (or the default folder) for a CLI command,
/// warning on stderr about each one that did not load.
pub fn load_for_cli(dir: Option<&Path>) -> Detectors {
    let dir = dir.map_or_else(default_models_dir, Path::to_path_buf);
    let (d, on_tract) = load_with_runtime(&dir);
    if let Some(why) = on_tract {
        eprintln!("lensguard: note: {why}");
    }
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

#[cfg(test)]
mod runtime_tests {
    use super::*;

    #[test]
    fn a_missing_or_altered_library_falls_back_to_tract_and_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (runtime, why) = backend(dir.path());
        assert!(matches!(runtime, Backend::Tract));
        assert!(
            why.as_deref().is_some_and(|w| w.contains("is missing")),
            "{why:?}"
        );
        std::fs::write(dir.path().join(ORT_FILE), b"\x7fELF not the library").expect("write");
        let (runtime, why) = backend(dir.path());
        assert!(matches!(runtime, Backend::Tract));
        assert!(
            why.as_deref().is_some_and(|w| w.contains("not the pinned")),
            "{why:?}"
        );
    }

    #[test]
    fn without_the_recogniser_text_still_loads_and_every_line_is_hidden() {
        let Some(det) = lensguard_testkit::fetched::model(TEXT_FILE) else {
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(TEXT_FILE), &det).expect("write");
        let (d, _) = load_with_runtime(dir.path());
        let text = d
            .text
            .as_ref()
            .expect("text detection loads without the recogniser");
        assert!(!text.verifies());
        assert!(
            runtimes(&d).contains("lines not verified"),
            "{}",
            runtimes(&d)
        );
        // A recogniser that is not the pinned file is refused the same way.
        std::fs::write(dir.path().join(TEXT_VERIFIER_FILE), &det[..1000]).expect("write");
        let (d, _) = load_with_runtime(dir.path());
        assert!(!d.text.as_ref().expect("loads").verifies());
    }
}
