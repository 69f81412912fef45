//! `lensguard redact` end to end with the real models: copies with faces hidden
//! and no metadata, folder layout kept, originals untouched; and no copy at all,
//! exit 1, when a model is missing.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{lensguard, text};
use lensguard_testkit::fetched::{models_dir, photo};
use lensguard_testkit::samples_dir;

#[test]
fn a_folder_is_redacted_into_copies_without_metadata() {
    let Some(astronaut) = photo("astronaut.png") else {
        return;
    };
    if lensguard_testkit::fetched::model("centerface.onnx").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(input.join("sub")).expect("mkdir");
    std::fs::write(input.join("sub/astronaut.png"), &astronaut).expect("write");
    let gps = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    std::fs::write(input.join("sharp.jpg"), &gps).expect("write");
    let out = dir.path().join("out");
    let models = models_dir();
    let run = lensguard(&[
        "redact",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let lines: Vec<serde_json::Value> = text(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2);
    let face = lines
        .iter()
        .find(|l| l["path"].as_str().unwrap().ends_with("astronaut.png"))
        .expect("astronaut line");
    assert_eq!(face["redaction"]["status"], "redacted");
    assert_eq!(face["redaction"]["faces"], 1);
    // Layout kept, PNG gets .jpg appended; the copies carry no EXIF.
    let copy = std::fs::read(out.join("sub/astronaut.png.jpg")).expect("copy");
    assert!(copy.starts_with(&[0xFF, 0xD8]));
    let copy = std::fs::read(out.join("sharp.jpg")).expect("copy");
    assert!(!copy.windows(4).any(|w| w == b"Exif"));
    assert_eq!(
        std::fs::read(input.join("sharp.jpg")).expect("original"),
        gps
    );
    assert!(text(&run.stderr).contains("2 photos: 2 redacted, 0 withheld"));

    // Writing over the input itself is refused before anything is done.
    let same = lensguard(&[
        "redact",
        input.join("sharp.jpg").to_str().unwrap(),
        "--out",
        input.to_str().unwrap(),
    ]);
    assert_eq!(same.status.code(), Some(2));
    assert!(text(&same.stderr).contains("would be overwritten"));
}

#[test]
fn without_the_models_no_copy_is_written_and_the_exit_status_is_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("no-models");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let out = dir.path().join("out");
    let run = lensguard(&[
        "redact",
        samples_dir().join("sharp.jpg").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let stdout = text(&run.stdout);
    assert!(stdout.starts_with("WITHHELD"), "{stdout}");
    assert!(stdout.contains("model_unavailable"), "{stdout}");
    assert!(text(&run.stderr).contains("scripts/fetch-models"));
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "{written:?}");
}
