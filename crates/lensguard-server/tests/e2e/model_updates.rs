//! Model updates from publishing to the detector, on one machine:
//! `lensguard models keys|publish|rollback|refresh-timestamp` make a TUF
//! repository that python-tuf's client (an independent implementation)
//! must verify; a site trusts its root, imports, runs the known-answer test
//! in a child process and activates the release in a slot. A release that
//! fails its known-answer test is never activated; SIGKILL at every step of
//! a switch leaves a complete release (old or new) active; a release that
//! kills the service while on trial is switched back after two starts; one
//! that survives its trial is confirmed.

use crate::common::models::{active_release, faces_bundle, run};
use crate::common::{Server, audit_entries, create_key, text};
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lensguard"))
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?} failed");
    text(&out.stdout)
}

struct Site {
    data: PathBuf,
    models: PathBuf,
}

impl Site {
    fn import(&self, repo: &Path) -> std::process::Output {
        run(&[
            "models",
            "import",
            repo.to_str().unwrap(),
            "--data-dir",
            self.data.to_str().unwrap(),
            "--models",
            self.models.to_str().unwrap(),
        ])
    }

    fn status(&self) -> String {
        ok(&[
            "models",
            "status",
            "--data-dir",
            self.data.to_str().unwrap(),
        ])
    }

    fn active(&self) -> String {
        active_release(&self.data)
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn published_releases_are_verified_tested_activated_and_switched_back() {
    let Some(python) = crate::common::test_python("tuf.ngclient", "python-tuf") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(v1) = faces_bundle(dir.path(), "1", 0.0) else {
        return;
    };
    let repo = dir.path().join("repo");
    let keys = dir.path().join("keys");
    let root_keys = dir.path().join("root-keys");
    let r = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        v.extend([
            "--repo".to_owned(),
            repo.to_str().unwrap().to_owned(),
            "--keys".to_owned(),
            keys.to_str().unwrap().to_owned(),
        ]);
        v
    };
    let call = |args: Vec<String>| -> String {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&refs)
    };

    // Publishing: keys, the first root, a release.
    let init = call(r(&[
        "models",
        "keys",
        "init",
        "--root-keys",
        root_keys.to_str().unwrap(),
    ]));
    assert!(init.contains("fingerprint sha256:"), "{init}");
    assert_eq!(std::fs::read_dir(&root_keys).unwrap().count(), 3);
    let published = call(r(&["models", "publish", v1.to_str().unwrap()]));
    assert!(published.contains("published faces 1"), "{published}");
    let again = run(&r(&["models", "publish", v1.to_str().unwrap()])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(!again.status.success(), "a release is published once");

    // python-tuf's client verifies what lensguard published.
    let root = repo.join("metadata/1.root.json");
    let client = |name: &str| -> serde_json::Value {
        let out = Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tuf_client_check.py"))
            .arg(&repo)
            .arg(&root)
            .arg(name)
            .output()
            .unwrap();
        assert!(out.status.success(), "python-tuf: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let seen = client("faces");
    assert_eq!(seen["manifest"]["version"], "1");
    assert_eq!(
        seen["sha256"]["model.onnx"], seen["manifest"]["files"]["model.onnx"]["sha256"],
        "python-tuf downloaded the signed model"
    );

    // A site: trust, import, the known-answer test, activation.
    let site = Site {
        data: dir.path().join("site"),
        models: lensguard_testkit::fetched::models_dir(),
    };
    create_key(&site.data, &["inspections:read"], &[]);
    ok(&[
        "models",
        "trust",
        root.to_str().unwrap(),
        "--data-dir",
        site.data.to_str().unwrap(),
    ]);
    let first = site.import(&repo);
    assert!(first.status.success());
    assert!(text(&first.stdout).contains("faces 1: activated"));
    assert_eq!(site.active(), "1");
    assert!(
        site.status()
            .contains("active faces: 1 (on trial: 0 of 2 starts)")
    );

    // A release whose known-answer test fails is never activated.
    let wrong = faces_bundle(dir.path(), "2", 120.0).expect("fetched above");
    call(r(&["models", "publish", wrong.to_str().unwrap()]));
    let refused = site.import(&repo);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stdout).contains("faces 2: not activated: the known-answer test failed"),
        "{}",
        text(&refused.stdout)
    );
    assert_eq!(site.active(), "1", "the failing release is not active");

    // SIGKILL at every step of a switch: a complete release stays active,
    // and the next import finishes the switch.
    let v3 = faces_bundle(dir.path(), "3", 0.0).expect("fetched above");
    call(r(&["models", "publish", v3.to_str().unwrap()]));
    for point in [
        "models.staging",
        "models.staged",
        "models.trial",
        "models.switched",
    ] {
        let scratch = dir.path().join(format!("crash-{point}"));
        copy_tree(&site.data, &scratch);
        let crashed = bin()
            .args(["models", "import"])
            .arg(&repo)
            .arg("--data-dir")
            .arg(&scratch)
            .arg("--models")
            .arg(&site.models)
            .env("LENSGUARD_CRASH_AT", format!("{point}:1"))
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            crashed.status.signal(),
            Some(9),
            "{point}: {}",
            text(&crashed.stderr)
        );
        let after = active_release(&scratch);
        assert!(after == "1" || after == "3", "{point}: {after} is active");
        let scratch_site = Site {
            data: scratch,
            models: site.models.clone(),
        };
        let redone = scratch_site.import(&repo);
        assert!(redone.status.success(), "{point}: the import is redone");
        assert_eq!(scratch_site.active(), "3", "{point}");
    }

    // A release that kills the service on trial is switched back after two
    // starts, and never activated again here.
    assert!(site.import(&repo).status.success());
    assert_eq!(site.active(), "3");
    for start in 1..=2 {
        let crashed = bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&site.data)
            .env("LENSGUARD_MODELS", &site.models)
            .env("LENSGUARD_CRASH_AT", "models.trial_load:1")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            crashed.status.signal(),
            Some(9),
            "start {start}: {}",
            text(&crashed.stderr)
        );
        assert!(
            site.status()
                .contains(&format!("active faces: 3 (on trial: {start} of 2 starts)"))
        );
    }
    let mut third = bin();
    third
        .env("LENSGUARD_MODELS", &site.models)
        .env("LENSGUARD_CRASH_AT", "models.trial_load:1");
    let server = Server::start_via(third, &site.data, &[]);
    server.stop();
    assert_eq!(site.active(), "1", "switched back to the previous release");
    let entries = audit_entries(&site.data);
    assert!(
        entries.iter().any(|e| e["action"] == "models.rollback"
            && e["target"] == "faces 3"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("switched back to faces 1"))),
        "the switch back is audited"
    );
    let retried = site.import(&repo);
    assert_eq!(retried.status.code(), Some(1));
    assert!(text(&retried.stdout).contains("switched back on this edge before"));

    // Key rotation, then a release the service runs through its trial.
    let rotated = call(r(&[
        "models",
        "keys",
        "rotate",
        "targets",
        "--root-keys",
        root_keys.to_str().unwrap(),
    ]));
    assert!(rotated.contains("root version 2"), "{rotated}");
    let v4 = faces_bundle(dir.path(), "4", 0.0).expect("fetched above");
    call(r(&["models", "publish", v4.to_str().unwrap()]));
    assert_eq!(
        client("faces")["root"],
        2,
        "python-tuf follows the root chain"
    );
    assert!(site.import(&repo).status.success());
    assert_eq!(site.active(), "4");
    let mut confirming = bin();
    confirming
        .env("LENSGUARD_MODELS", &site.models)
        .env("LENSGUARD_MODEL_TRIAL_SECONDS", "1");
    let server = Server::start_via(confirming, &site.data, &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !audit_entries(&site.data)
        .iter()
        .any(|e| e["action"] == "models.confirm" && e["target"] == "faces 4")
    {
        assert!(std::time::Instant::now() < deadline, "faces 4 is confirmed");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.stop();
    assert!(site.status().contains("active faces: 4\n"));

    // A rollback is a new targets version pointing at the old release; a
    // refreshed timestamp changes nothing on the site.
    let back = call(r(&["models", "rollback", "faces", "--to", "1"]));
    assert!(back.contains("faces points at 1 again"), "{back}");
    assert_eq!(client("faces")["manifest"]["version"], "1");
    assert!(site.import(&repo).status.success());
    assert_eq!(site.active(), "1");
    let refreshed = call(r(&["models", "refresh-timestamp"]));
    assert!(refreshed.contains("timestamp v"), "{refreshed}");
    let same = site.import(&repo);
    assert!(same.status.success());
    assert!(text(&same.stdout).contains("faces 1: active already"));
}
