//! A model bundle: what one model update ships, and its manifest
//! (`bundle.json`), the same in a publisher's bundle directory, inside the
//! TUF repository and in an edge's slot.
//!
//! In the repository a bundle is the targets `<name>/<version>/<file>` for
//! each of its files (the manifest among them, as `bundle.json`), and
//! `bundles/<name>.json`, a copy of the manifest of the release that is
//! current for `<name>`: publishing or rolling back rewrites that one target.
//!
//! Invariants: a manifest is accepted only when its names are plain (no
//! path can leave its directory), every file it refers to is listed with
//! its length and SHA-256, its format is one this build runs, and its name
//! is the detector that format replaces, so a bundle can never load as the
//! wrong detector.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The manifest's file name in a bundle directory and a slot.
pub const MANIFEST: &str = "bundle.json";

/// Largest manifest read (it lists a handful of files and boxes).
pub const MAX_MANIFEST_BYTES: u64 = 64 << 10;

/// The kind of network a bundle carries, and so the detector it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// CenterFace's outputs: replaces the face detector (`faces`).
    Centerface,
    /// NanoDet's outputs: replaces the people and vehicle detector (`objects`).
    Nanodet,
}

impl Format {
    /// The detector (and bundle name) this format replaces.
    pub fn detector(self) -> &'static str {
        match self {
            Format::Centerface => "faces",
            Format::Nanodet => "objects",
        }
    }
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// SHA-256, hex.
    pub sha256: String,
    /// Length in bytes.
    pub length: u64,
}

/// A box the known-answer test expects, in the input's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

/// The known-answer test: a small input and what the model must find in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownAnswer {
    /// The input image, one of the bundle's files.
    pub input: String,
    /// The long side the input is scaled to for detection (faces).
    #[serde(default = "default_scale")]
    pub scale: u32,
    /// The score threshold.
    pub threshold: f32,
    /// The boxes expected, in any order.
    pub expected: Vec<ExpectedBox>,
    /// The tolerance: each expected box must overlap one found box by at
    /// least this intersection over union, and as many boxes must be found.
    pub min_iou: f32,
}

fn default_scale() -> u32 {
    640
}

/// What the bundle needs of the edge that runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// The oldest lensguard release that runs it (`MAJOR.MINOR.PATCH`).
    pub lensguard: String,
}

/// A bundle's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The detector it replaces: `faces` or `objects`.
    pub name: String,
    /// Its release; plain (letters, digits, `.`, `_`, `-`).
    pub version: String,
    /// The kind of network.
    pub format: Format,
    /// The model file.
    pub model: String,
    /// The model card (Markdown): source, licence, known limits.
    pub card: String,
    /// What it needs to run.
    pub requires: Requires,
    /// The known-answer test.
    pub known_answer: KnownAnswer,
    /// Every file but the manifest, with length and SHA-256.
    pub files: BTreeMap<String, FileDigest>,
}

/// A name that stays inside its directory.
pub fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `MAJOR.MINOR.PATCH` as numbers.
fn release(s: &str) -> Option<(u64, u64, u64)> {
    let mut parts = s.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(Some(a)), Some(Some(b)), Some(Some(c)), None) => Some((a, b, c)),
        _ => None,
    }
}

impl Manifest {
    /// Parses and checks a manifest; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        m.check()?;
        Ok(m)
    }

    /// The checks of [`Manifest::parse`].
    pub fn check(&self) -> Result<(), String> {
        if self.name != self.format.detector() {
            return Err(format!(
                "a {:?} model replaces the {} detector, so the bundle must be named {:?}",
                self.format,
                self.format.detector(),
                self.format.detector()
            ));
        }
        if !plain(&self.version) {
            return Err(format!("version {:?} is not plain", self.version));
        }
        for file in self.files.keys() {
            if !plain(file) || file == MANIFEST {
                return Err(format!("file name {file:?} is not allowed"));
            }
        }
        for (what, file) in [
            ("model", &self.model),
            ("card", &self.card),
            ("known-answer input", &self.known_answer.input),
        ] {
            if !self.files.contains_key(file) {
                return Err(format!("the {what} {file:?} is not among its files"));
            }
        }
        let ka = &self.known_answer;
        if !(0.0..=1.0).contains(&ka.threshold) || !(0.0..=1.0).contains(&ka.min_iou) {
            return Err("the known-answer threshold and min_iou are between 0 and 1".into());
        }
        if !(32..=4096).contains(&ka.scale) {
            return Err("the known-answer scale is between 32 and 4096".into());
        }
        let needed = release(&self.requires.lensguard).ok_or_else(|| {
            format!(
                "requires.lensguard {:?} is not MAJOR.MINOR.PATCH",
                self.requires.lensguard
            )
        })?;
        let ours = release(env!("CARGO_PKG_VERSION")).unwrap_or((0, 0, 0));
        if needed > ours {
            return Err(format!(
                "it needs lensguard {} or later; this is {}",
                self.requires.lensguard,
                env!("CARGO_PKG_VERSION")
            ));
        }
        Ok(())
    }

    /// The repository path of `file` of this release.
    pub fn target(&self, file: &str) -> String {
        format!("{}/{}/{file}", self.name, self.version)
    }

    /// `name version`, for messages and the audit log.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// Reads a publisher's bundle directory: its `bundle.json` as written by
/// hand (everything but `files`), completed with the length and SHA-256 of
/// the model, the card and the known-answer input. Returns the manifest and
/// its bytes as they will be signed.
pub fn from_source(dir: &std::path::Path) -> Result<(Manifest, Vec<u8>), super::UpdateError> {
    use super::UpdateError;
    let path = dir.join(MANIFEST);
    let text = std::fs::read(&path).map_err(|e| UpdateError::Io(path.display().to_string(), e))?;
    let mut value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| UpdateError::Bundle(path.display().to_string(), e.to_string()))?;
    let names: Vec<String> = ["/model", "/card", "/known_answer/input"]
        .iter()
        .filter_map(|p| value.pointer(p).and_then(|v| v.as_str()).map(str::to_owned))
        .collect();
    let mut files = serde_json::Map::new();
    for name in names {
        if !plain(&name) {
            return Err(UpdateError::Bundle(
                path.display().to_string(),
                format!("file name {name:?} is not allowed"),
            ));
        }
        let file = dir.join(&name);
        let bytes =
            std::fs::read(&file).map_err(|e| UpdateError::Io(file.display().to_string(), e))?;
        files.insert(
            name,
            serde_json::json!({"sha256": super::trust::fingerprint(&bytes), "length": bytes.len()}),
        );
    }
    match value.as_object_mut() {
        Some(obj) => {
            obj.insert("files".to_owned(), serde_json::Value::Object(files));
        }
        None => {
            return Err(UpdateError::Bundle(
                path.display().to_string(),
                "not a JSON object".to_owned(),
            ));
        }
    }
    let bytes = serde_json::to_vec_pretty(&value).unwrap_or_default();
    let manifest =
        Manifest::parse(&bytes).map_err(|e| UpdateError::Bundle(path.display().to_string(), e))?;
    Ok((manifest, bytes))
}

/// The repository path of the pointer to `name`'s current release.
pub fn pointer(name: &str) -> String {
    format!("bundles/{name}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> serde_json::Value {
        serde_json::json!({
            "name": "faces", "version": "2026.12.1", "format": "centerface",
            "model": "m.onnx", "card": "card.md",
            "requires": {"lensguard": "0.1.0"},
            "known_answer": {"input": "ka.png", "threshold": 0.5, "min_iou": 0.5,
                             "expected": [{"x": 1.0, "y": 2.0, "width": 3.0, "height": 4.0}]},
            "files": {
                "m.onnx": {"sha256": "00", "length": 1},
                "card.md": {"sha256": "00", "length": 1},
                "ka.png": {"sha256": "00", "length": 1}
            }
        })
    }

    fn parse(v: &serde_json::Value) -> Result<Manifest, String> {
        Manifest::parse(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn a_complete_manifest_parses() {
        let m = parse(&manifest()).unwrap();
        assert_eq!(m.target("m.onnx"), "faces/2026.12.1/m.onnx");
        assert_eq!(m.known_answer.scale, 640);
    }

    #[test]
    fn a_bundle_cannot_name_itself_another_detector() {
        let mut v = manifest();
        v["name"] = "objects".into();
        assert!(parse(&v).unwrap_err().contains("must be named"));
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["../x", ".hidden", "a/b", ""] {
            let mut v = manifest();
            v["version"] = bad.into();
            assert!(parse(&v).is_err(), "version {bad:?}");
            let mut v = manifest();
            v["files"][bad] = serde_json::json!({"sha256": "00", "length": 1});
            assert!(parse(&v).is_err(), "file {bad:?}");
        }
    }

    #[test]
    fn every_named_file_must_be_listed() {
        let mut v = manifest();
        v["files"].as_object_mut().unwrap().remove("ka.png");
        assert!(parse(&v).unwrap_err().contains("known-answer input"));
    }

    #[test]
    fn a_bundle_for_a_newer_lensguard_is_refused() {
        let mut v = manifest();
        v["requires"]["lensguard"] = "99.0.0".into();
        assert!(parse(&v).unwrap_err().contains("or later"));
        v["requires"]["lensguard"] = "1".into();
        assert!(parse(&v).unwrap_err().contains("MAJOR.MINOR.PATCH"));
    }

    #[test]
    fn unknown_fields_and_formats_are_refused() {
        let mut v = manifest();
        v["extra"] = 1.into();
        assert!(parse(&v).is_err());
        let mut v = manifest();
        v["format"] = "yolo".into();
        assert!(parse(&v).is_err());
    }
}
