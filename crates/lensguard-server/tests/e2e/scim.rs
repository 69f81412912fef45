//! SCIM 2.0 provisioning: `scripts/scim_check.py` runs scim2-tester (PyPI,
//! an independent implementation of the RFC 7643/7644 checks) against
//! `/scim/v2`, then deprovisions a person who signed in through the test
//! OpenID provider (tests/e2e/sso.rs starts it) three ways: out of their
//! group, deactivated, deleted. This test then checks the audit log holds
//! each SCIM write and each user whose access ended.

use crate::common::{Server, audit_entries, create_key};
use crate::sso::{SECRET, free_port, start_provider};
use std::path::Path;
use std::process::Command;

#[test]
fn scim_provisioning_passes_the_tester_and_deprovisions_at_once() {
    let Some(python) =
        crate::common::test_python("scim2_tester, scim2_client.engines.httpx2", "scim2-tester")
    else {
        return;
    };
    // A node provider and a burst of requests: take the heavy tests' turn,
    // so two providers never start at once on two cores.
    let _turn = crate::common::camera_turn();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let Some(provider) = start_provider(dir.path(), &base) else {
        return;
    };
    std::fs::write(dir.path().join("client-secret"), SECRET).unwrap();
    let config = format!(
        r#"[http]
# A directory's sync comes in bursts (scim2-tester's even more so).
rate_limit_per_second = 1000
rate_limit_burst = 1000
[sso]
provisioning = "scim"
[[sso.roles]]
group = "lg-admins"
role = "admin"
[[sso.providers]]
name = "corp"
label = "Sign in with corp"
issuer = "{issuer}"
client_id = "lensguard"
client_secret_file = "{secret}"
ca_file = "{ca}"
redirect_url = "{base}/console/sso/corp/callback"
scopes = ["profile", "email", "groups"]
mfa = "provider"
"#,
        issuer = provider.url,
        secret = dir.path().join("client-secret").display(),
        ca = dir.path().join("provider.pem").display(),
    );
    let data = dir.path().join("data");
    let scim_key = create_key(&data, &["scim:provision"], &[]);
    let plain_key = create_key(&data, &["inspections:read"], &[]);
    let file = dir.path().join("lensguard.toml");
    std::fs::write(&file, config).unwrap();
    let server = Server::start_listening(
        Command::new(env!("CARGO_BIN_EXE_lensguard")),
        &format!("127.0.0.1:{port}"),
        &data,
        &["--config", file.to_str().unwrap()],
    );
    let plan = serde_json::json!({
        "base": base,
        "provider": provider.url,
        "scim_key": scim_key,
        "plain_key": plain_key,
        "people": {"ada": "pw-ada", "erin": "pw-erin"},
    });
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).unwrap();
    let status = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/scim_check.py"))
        .arg(dir.path().join("plan.json"))
        .status()
        .expect("the checks run");
    assert!(status.success(), "SCIM checks failed (see the lines above)");

    let entries = audit_entries(&data);
    let count = |action: &str, outcome: &str| {
        entries
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .count()
    };
    for action in [
        "scim.create",
        "scim.replace",
        "scim.patch",
        "scim.delete",
        "scim.read",
    ] {
        assert!(
            count(action, "success") > 0,
            "no successful {action} audited"
        );
    }
    assert!(
        count("scim.replace", "failure") > 0,
        "the stale If-Match is audited"
    );
    let ended: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["action"] == "users.deprovision")
        .collect();
    // Out of the group, deactivated, deleted: each ended a session, the
    // first a key too.
    let with_session = ended
        .iter()
        .filter(|e| {
            e["reason"]
                .as_str()
                .is_some_and(|r| r.contains("1 session(s) ended"))
        })
        .count();
    assert!(
        with_session >= 3,
        "three deprovisionings ended a session each: {ended:#?}"
    );
    assert!(
        ended.iter().any(|e| e["reason"]
            .as_str()
            .is_some_and(|r| r.contains("1 API key(s) revoked"))),
        "a deprovisioning revoked ada's key: {ended:#?}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "auth.scim:provision"
            && e["outcome"] == "denied"
            && e["actor"].as_str().is_some_and(|a| a.starts_with("user:"))),
        "a session's SCIM request is refused and audited"
    );
    drop(server);
}
