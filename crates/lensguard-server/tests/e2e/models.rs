//! Signed model updates on an air-gapped site: `scripts/tuf_repos.py`
//! builds repositories with python-tuf (an independent implementation of
//! TUF), good ones and hostile ones, as removable media would carry them;
//! `lensguard models import` must take in the good ones and refuse each
//! hostile one with its reason audited and nothing changed. The good ones
//! carry a real bundle, so each is activated after its known-answer test.

use crate::common::{audit_entries, create_key, lensguard};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under `dir` with its content, to show nothing changed.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                out.insert(path.strip_prefix(dir).unwrap_or(&path).to_path_buf(), bytes);
            }
        }
    }
    out
}

#[test]
fn an_import_takes_in_good_repositories_and_refuses_every_hostile_one() {
    let Some(python) =
        crate::common::test_python("tuf.api.metadata, securesystemslib.signer", "python-tuf")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Every release is a real bundle, so the good ones pass their
    // known-answer test and are activated.
    let Some(bundle) = crate::common::models::faces_bundle(dir.path(), "source", 0.0) else {
        return;
    };
    let repos = dir.path().join("repos");
    let built = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tuf_repos.py"))
        .arg(&repos)
        .arg("--bundle")
        .arg(&bundle)
        .status()
        .expect("python runs");
    assert!(built.success(), "the repositories were built");
    let data = dir.path().join("data");
    create_key(&data, &["inspections:read"], &[]);
    let data_arg = data.to_str().unwrap();

    let first = repos.join("00-good-v1");
    let untrusted = lensguard(&[
        "models",
        "import",
        first.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert_eq!(untrusted.status.code(), Some(2), "no root of trust yet");
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("models trust"));

    let root = repos.join("root.json");
    let trusted = lensguard(&[
        "models",
        "trust",
        root.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    let fingerprint = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&root).unwrap()))
    };
    assert!(
        String::from_utf8_lossy(&trusted.stdout).contains(&fingerprint),
        "the fingerprint is shown"
    );
    let again = lensguard(&[
        "models",
        "trust",
        root.to_str().unwrap(),
        "--data-dir",
        data_arg,
    ]);
    assert!(!again.status.success(), "a second root needs --replace");

    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repos.join("plan.json")).unwrap()).unwrap();
    let scenarios = plan["scenarios"].as_array().unwrap();
    let models = data.join("models");
    let models_dir = lensguard_testkit::fetched::models_dir();
    let mut refused = 0;
    let mut wrong = Vec::new();
    for s in scenarios {
        let name = s["dir"].as_str().unwrap();
        let accept = s["accept"].as_bool().unwrap();
        let why = s["why"].as_str().unwrap();
        let before = tree(&models);
        let out = lensguard(&[
            "models",
            "import",
            repos.join(name).to_str().unwrap(),
            "--data-dir",
            data_arg,
            "--models",
            models_dir.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        eprintln!(
            "{name}: exit {:?}: {}{}",
            out.status.code(),
            stdout.trim(),
            stderr.trim()
        );
        if accept {
            if !out.status.success() {
                wrong.push(format!("{name} was refused: {stdout}{stderr}"));
            }
            continue;
        }
        refused += 1;
        if out.status.code() != Some(1) {
            wrong.push(format!("{name} was not refused: {stdout}{stderr}"));
        } else if !stdout.to_lowercase().contains(why) {
            wrong.push(format!(
                "{name}: the refusal does not say {why:?}: {stdout}"
            ));
        }
        if tree(&models) != before {
            wrong.push(format!("{name} changed the site's models or metadata"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    for version in ["1", "2", "3"] {
        let file = models.join(format!("bundles/faces/{version}/model.onnx"));
        assert!(file.exists(), "faces {version} was kept");
    }
    let status = lensguard(&["models", "status", "--data-dir", data_arg]);
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("active faces: 3 (on trial"),
        "the last good release is active"
    );
    let entries = audit_entries(&data);
    let failures: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["action"] == "models.import" && e["outcome"] == "failure")
        .collect();
    assert_eq!(
        failures.len(),
        refused,
        "each refusal is audited: {failures:#?}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "models.import"
            && e["outcome"] == "success"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("within the import window"))),
        "the import that relied on the window says so"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "models.trust"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&fingerprint))),
        "the trusted root's fingerprint is audited"
    );
}
