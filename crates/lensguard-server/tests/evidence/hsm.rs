//! The service with its vault keys in a PKCS#11 token (SoftHSMv2): evidence
//! is sealed under keys that live in the token; with the token unreachable
//! (wrong PIN, missing token) the service refuses to start rather than fall
//! back to software keys.

use crate::common::{BOUNDARY, Server, create_key, form, get_with, send};
use lensguard_testkit::{samples_dir, softhsm};
use std::process::{Command, Stdio};

fn config(label: &str, pin_file: &std::path::Path) -> String {
    format!(
        "[vault]\npkcs11_module = \"{}\"\npkcs11_token_label = \"{label}\"\npkcs11_pin_file = \"{}\"\n",
        softhsm::MODULE,
        pin_file.display()
    )
}

/// The binary, with SoftHSM's configuration in its environment.
fn binary(conf: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lensguard"));
    c.env("SOFTHSM2_CONF", conf);
    c
}

/// A folder with a fresh SoftHSM token and its configuration file; `None`
/// (the test skips) without SoftHSMv2, which fails the run under `CI=true`.
fn token_or_skip() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    if let Some(why) = softhsm::missing() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "SoftHSMv2 is required under CI=true: {why}"
        );
        eprintln!("SKIPPED: {why}; run scripts/install-test-deps");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = softhsm::make_token(&dir.path().join("hsm"));
    Some((dir, conf))
}

#[test]
fn evidence_is_sealed_under_token_keys_and_an_unreachable_token_stops_the_service() {
    let Some((dir, conf)) = token_or_skip() else {
        return;
    };
    let data = dir.path().join("data");
    let writer = create_key(&data, &["inspections:write", "inspections:read"], &[]);
    let pin = dir.path().join("pin");
    std::fs::write(&pin, softhsm::PIN).expect("pin");
    let good = dir.path().join("good.toml");
    std::fs::write(&good, config(softhsm::LABEL, &pin)).expect("config");

    let server = Server::start_via(
        binary(&conf),
        &data,
        &["--config", good.to_str().expect("utf8")],
    );
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let auth = format!("Bearer {writer}");
    let kind = format!("multipart/form-data; boundary={BOUNDARY}");
    let r = send(
        &server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", &kind)],
        form(&[("photo", Some("image/jpeg"), &photo)]),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let id = body["id"].as_str().expect("id");
    let derived = body["redaction"]["status"] == "redacted";
    assert!(
        derived || std::env::var("CI").as_deref() != Ok("true"),
        "no redacted image under CI=true: {body}"
    );
    if derived {
        let got = get_with(&server, &format!("/v1/inspections/{id}/redacted"), &writer);
        assert_eq!(got.status, 200, "{}", got.body);
    }
    drop(server);
    assert!(
        !data.join("vault-master.key").exists(),
        "no software key is made when a token is configured"
    );

    for (label, pin_text, why) in [
        (softhsm::LABEL, "0000", "PIN is wrong"),
        ("not-plugged-in", softhsm::PIN, "no token labelled"),
    ] {
        std::fs::write(&pin, pin_text).expect("pin");
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, config(label, &pin)).expect("config");
        let out = binary(&conf)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .args(["--config", bad.to_str().expect("utf8")])
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {label}/{pin_text}");
        assert!(
            stderr.contains("refusing new evidence") && stderr.contains(why),
            "{stderr}"
        );
        assert!(
            !data.join("vault-master.key").exists(),
            "no software fallback"
        );
    }
}

/// `[audit] signing_key = "pkcs11"`: the service signs checkpoints with a key
/// pair in the token, leaves no `signing.key` in the data directory, and the
/// local commands sign with the same key (found through
/// `audit/signing.token`); `audit verify` checks it from `signing.pub`.
#[test]
fn the_audit_signing_key_can_live_in_the_token() {
    let Some((dir, conf)) = token_or_skip() else {
        return;
    };
    let data = dir.path().join("data");
    let pin = dir.path().join("pin");
    std::fs::write(&pin, softhsm::PIN).expect("pin");
    let file = dir.path().join("audit-in-token.toml");
    std::fs::write(
        &file,
        format!(
            "{}[audit]\nsigning_key = \"pkcs11\"\n",
            config(softhsm::LABEL, &pin)
        ),
    )
    .expect("config");
    let server = Server::start_via(
        binary(&conf),
        &data,
        &["--config", file.to_str().expect("utf8")],
    );
    drop(server);
    let audit = data.join("audit");
    assert!(!audit.join("signing.key").exists(), "no key file");
    assert!(audit.join("signing.pub").exists() && audit.join("signing.token").exists());

    let made = binary(&conf)
        .args([
            "keys",
            "create",
            "--name",
            "ci",
            "--scope",
            "inspections:read",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .expect("run");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        !audit.join("signing.key").exists(),
        "the local command used the token"
    );
    let verified = binary(&conf)
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{stdout}");
    assert!(stdout.starts_with("consistent: "), "{stdout}");
}
