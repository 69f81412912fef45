//! The browser tests' tools: the test virtual environment's Python with
//! Playwright, axe-core from npm, and Debian's chromium (all installed by
//! `scripts/install-test-deps`). Under `CI=true` a missing one fails the
//! test; otherwise the test says it skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The test virtual environment's Python and axe-core's script, when
/// everything the browser tests need is installed.
pub fn browser_tools() -> Option<(PathBuf, PathBuf)> {
    let cache = std::env::var_os("LENSGUARD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lensguard")
        });
    let python = cache.join("test-venv/bin/python");
    let axe = cache.join("npm-test/node_modules/axe-core/axe.min.js");
    let playwright = Command::new(&python)
        .args(["-c", "import playwright"])
        .output()
        .is_ok_and(|o| o.status.success());
    let ready = playwright && axe.exists() && Path::new("/usr/bin/chromium").exists();
    if !ready {
        let why = "Playwright (test venv), axe-core (npm) and /usr/bin/chromium are needed; \
                   scripts/install-test-deps installs them";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
        eprintln!("\n*** SKIPPING: {why} ***\n");
        return None;
    }
    Some((python, axe))
}

/// Runs `scripts/console_browser.py` on `plan` (written into `dir`) with
/// `python`; fails the test when any check fails, printing them all.
pub fn run_browser_checks(python: &Path, plan: &serde_json::Value, dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, plan.to_string()).expect("plan");
    let out = Command::new(python)
        .arg(root.join("scripts/console_browser.py"))
        .arg(&plan_file)
        .output()
        .expect("the browser checks run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{stdout}");
}
