//! API robustness: schemathesis generates requests from the committed OpenAPI
//! document and checks the running service's answers: no 5xx, no status code the
//! document does not list, no response that breaks its schema (headers and content
//! types included). Then again with no key and with a wrong key: every documented
//! operation must answer 401 (methods the document does not list get 405).
//!
//! schemathesis (pinned in `scripts/test-requirements.txt`) is installed by
//! `scripts/install-test-deps` into `~/.cache/lensguard/test-venv`. Under `CI=true`
//! a missing schemathesis fails the test; elsewhere it is skipped loudly.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{Server, create_key};
use std::path::{Path, PathBuf};
use std::process::Command;

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance";

fn schemathesis() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let bin = home.join(".cache/lensguard/test-venv/bin/schemathesis");
    if bin.exists() {
        return Some(bin);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "schemathesis is not installed; scripts/install-test-deps installs it"
    );
    eprintln!("\n*** SKIPPING schemathesis: run scripts/install-test-deps ***\n");
    None
}

/// Runs schemathesis against `server` with optional extra header; returns its
/// exit status, its output and the recorded interactions (HAR).
/// Operations that can end the caller's own credentials: with the list of keys
/// in hand, the stateful phase could revoke or rotate the very key it tests with,
/// and every later request would get 401. They run on their own, where no other
/// operation can hand them a real key id.
const SELF_ENDING: &[&str] = &["revokeKey", "rotateKey"];

/// Which operations a run covers.
#[derive(Clone, Copy)]
enum Scope {
    All,
    AllButSelfEnding,
    OnlySelfEnding,
}

fn run(
    bin: &Path,
    server: &Server,
    header: Option<&str>,
    examples: &str,
    har: &Path,
    scope: Scope,
) -> (bool, String, serde_json::Value) {
    let spec = lensguard_testkit::workspace_root().join("docs/openapi.json");
    let mut cmd = Command::new(bin);
    // Its cache goes into the working directory: keep it out of the source tree.
    cmd.current_dir(har.parent().unwrap_or(Path::new(".")));
    cmd.arg("run")
        .arg(&spec)
        .args(["--url", &format!("https://localhost:{}", server.port())])
        .arg("--tls-verify")
        .arg(server.data_dir.join("tls/cert.pem"))
        .args([
            "-n",
            examples,
            "--seed",
            "20261123",
            "--checks",
            CHECKS,
            "--no-color",
        ])
        .args(["--report", "har", "--report-har-path"])
        .arg(har)
        .env("SCHEMATHESIS_TELEMETRY", "false");
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    for id in SELF_ENDING {
        match scope {
            Scope::All => {}
            Scope::AllButSelfEnding => {
                cmd.args(["--exclude-operation-id", id]);
            }
            Scope::OnlySelfEnding => {
                cmd.args(["--include-operation-id", id]);
            }
        }
    }
    let out = cmd.output().expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let har = std::fs::read_to_string(har)
        .map(|t| serde_json::from_str(&t).expect("HAR"))
        .unwrap_or_default();
    (out.status.success(), text, har)
}

/// `(method, path, status)` of every recorded request.
fn interactions(har: &serde_json::Value) -> Vec<(String, String, u64)> {
    har["log"]["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let url = e["request"]["url"].as_str().unwrap_or("");
                    let path = url
                        .split("://")
                        .nth(1)
                        .and_then(|r| r.find('/').map(|i| &r[i..]))
                        .unwrap_or("");
                    let path = path.split('?').next().unwrap_or("").to_owned();
                    (
                        e["request"]["method"].as_str().unwrap_or("").to_owned(),
                        path,
                        e["response"]["status"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the OpenAPI document lists this method for this concrete path.
/// Whether `method path` is a documented operation, read from the committed
/// OpenAPI document (path templates match one segment each).
fn documented(method: &str, path: &str) -> bool {
    let spec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lensguard_testkit::workspace_root().join("docs/openapi.json"))
            .expect("openapi.json"),
    )
    .expect("JSON");
    let segments: Vec<&str> = path.split('/').collect();
    spec["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .any(|(template, ops)| {
            let t: Vec<&str> = template.split('/').collect();
            t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(a, b)| a == b || (a.starts_with('{') && !b.is_empty()))
                && ops.get(method.to_ascii_lowercase()).is_some()
        })
}

/// Whether the request carried credentials. Reports mask the header's value, so
/// this is its presence; the runs that use it send only the one key.
fn carries(entry: &serde_json::Value) -> bool {
    entry["request"]["headers"].as_array().is_some_and(|h| {
        h.iter().any(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("authorization"))
        })
    })
}

/// How many requests carried credentials.
fn authorized(har: &serde_json::Value) -> usize {
    har["log"]["entries"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| carries(e)).count())
}

/// `(method, path)` of requests that carried credentials and got 401.
fn refused_with(har: &serde_json::Value) -> Vec<(String, String)> {
    let entries = har["log"]["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let calls = interactions(har);
    entries
        .iter()
        .zip(calls)
        .filter(|(e, (_, _, status))| *status == 401 && carries(e))
        .map(|(_, (m, p, _))| (m, p))
        .collect()
}

/// The two public operations that create credentials.
fn creates_credentials(method: &str, path: &str) -> bool {
    method.eq_ignore_ascii_case("POST") && (path == "/v1/sessions" || path == "/v1/bootstrap")
}

#[test]
fn generated_requests_get_documented_answers_and_without_a_valid_key_only_401() {
    let Some(bin) = schemathesis() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(
        &dir.path().join("data"),
        &[
            "inspections:write",
            "inspections:read",
            "audit:read",
            "keys:manage",
            "users:manage",
            "policy:manage",
        ],
        &[],
    );
    // Schemathesis sends hundreds of refused requests from one address on
    // purpose; the bound on audited refusals per address is lifted for it.
    let server = Server::start_with_config(
        &dir.path().join("data"),
        "[http]\nrefusals_per_second = 100000\nrefusals_burst = 100000\n",
    );

    let (ok, text, har) = run(
        &bin,
        &server,
        Some(&format!("Authorization: Bearer {token}")),
        "50",
        &dir.path().join("valid.har"),
        Scope::AllButSelfEnding,
    );
    assert!(ok, "schemathesis found problems with a valid key:\n{text}");
    let calls = interactions(&har);
    // schemathesis also probes each operation without credentials (401 is right
    // there); with the key, nothing but a login may answer 401.
    let with_key = authorized(&har);
    assert!(
        with_key > 100,
        "too few requests carried the key: {with_key}"
    );
    let refused: Vec<_> = refused_with(&har)
        .into_iter()
        .filter(|(m, p)| !creates_credentials(m, p))
        .collect();
    assert!(
        refused.is_empty(),
        "the valid key stopped working: {refused:?}"
    );
    assert!(
        calls.len() > 100,
        "too few requests were made: {}",
        calls.len()
    );
    assert!(
        calls
            .iter()
            .any(|(m, p, s)| m == "POST" && p == "/v1/inspections" && *s == 422),
        "submissions reached the engine"
    );
    let (ok, text, _) = run(
        &bin,
        &server,
        Some(&format!("Authorization: Bearer {token}")),
        "50",
        &dir.path().join("self-ending.har"),
        Scope::OnlySelfEnding,
    );
    assert!(
        ok,
        "schemathesis found problems with rotate and revoke:\n{text}"
    );

    for (name, header) in [
        ("no key", None),
        (
            "wrong key",
            Some("Authorization: Bearer lg_000000000000_wrongsecret"),
        ),
    ] {
        let (ok, text, har) = run(
            &bin,
            &server,
            header,
            "20",
            &dir.path().join(format!("{name}.har")),
            Scope::All,
        );
        assert!(ok, "schemathesis found problems with {name}:\n{text}");
        let calls = interactions(&har);
        assert!(!calls.is_empty(), "{name}: no requests recorded");
        for (method, path, status) in calls {
            if creates_credentials(&method, &path) {
                // Public; generated names, passwords and tokens are never valid.
                assert!(
                    [400, 401, 413, 429].contains(&status),
                    "{name}: {method} {path} answered {status}"
                );
                continue;
            }
            let expected = if !documented(&method, &path) {
                405
            } else if path == "/healthz" {
                200
            } else {
                401
            };
            assert_eq!(status, expected, "{name}: {method} {path}");
        }
    }
}
