//! A throwaway SoftHSMv2 token for the PKCS#11 tests.
//!
//! SoftHSM reads its configuration (where tokens live) only from the
//! `SOFTHSM2_CONF` environment variable, which a test cannot set for itself
//! without `unsafe`. So a PKCS#11 test calls [`child_or_spawn`] first: in the
//! test process it makes a fresh token directory, initialises a token with
//! `softhsm2-util`, runs the same test again in a child process with the
//! variable set, and requires that child to pass; in the child it returns the
//! token's details and the test body runs.
//!
//! SoftHSMv2 comes from the Debian package `softhsm2` (installed by
//! `scripts/install-test-deps`). Without it a test is skipped with a loud
//! message, or fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian installs the SoftHSMv2 PKCS#11 module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The test token's label.
pub const LABEL: &str = "lensguard-test";
/// The test token's user PIN.
pub const PIN: &str = "1234-user";
const SO_PIN: &str = "5678-so";
const CHILD: &str = "LENSGUARD_SOFTHSM_CHILD";

/// A test token, as the child process sees it.
#[derive(Debug, Clone)]
pub struct Token {
    /// The directory holding the token and its configuration.
    pub dir: PathBuf,
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token label.
    pub label: String,
    /// The user PIN.
    pub pin: String,
}

/// Why SoftHSMv2 cannot be used here, if it cannot.
pub fn missing() -> Option<String> {
    if !Path::new(MODULE).exists() {
        return Some(format!("{MODULE} is missing (Debian package softhsm2)"));
    }
    match Command::new("softhsm2-util").arg("--version").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("softhsm2-util is missing (Debian package softhsm2)".to_owned()),
    }
}

/// Makes a token directory with a configuration file and one initialised
/// token; returns the configuration file.
pub fn make_token(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap_or_else(|e| panic!("cannot create {tokens:?}: {e}"));
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap_or_else(|e| panic!("cannot write {conf:?}: {e}"));
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            LABEL,
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap_or_else(|e| panic!("cannot run softhsm2-util: {e}"));
    assert!(
        out.status.success(),
        "softhsm2-util --init-token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    conf
}

/// In the child: the token. In the parent: `None`, after running test
/// `name` (its full libtest name) in a child process with a fresh token and
/// requiring it to pass.
pub fn child_or_spawn(name: &str) -> Option<Token> {
    if let Some(dir) = std::env::var_os(CHILD) {
        return Some(Token {
            dir: PathBuf::from(dir),
            module: PathBuf::from(MODULE),
            label: LABEL.to_owned(),
            pin: PIN.to_owned(),
        });
    }
    if let Some(why) = missing() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("SoftHSMv2 is required under CI=true: {why}; run scripts/install-test-deps");
        }
        eprintln!("SKIPPED {name}: {why}; run scripts/install-test-deps");
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "lensguard-softhsm-{}-{}",
        std::process::id(),
        name.replace("::", "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let conf = make_token(&dir);
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let out = Command::new(exe)
        .args(["--exact", name, "--nocapture", "--test-threads", "1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, &dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the child test: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} failed with SoftHSMv2:\n{stdout}\n{stderr}"
    );
    None
}
