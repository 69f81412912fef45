//! Identity end to end over TLS: the one-time owner bootstrap, logins with
//! password and TOTP, sessions, users and API keys through the API, the rules
//! against handing out more than one holds, login throttling that locks nobody
//! out, trusted proxies, and the audit log's proofs; `review` holds the
//! attacks the security review found against identity, each reproduced.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

#[path = "../common/mod.rs"]
mod common;
mod review;

use common::identity::{PASSWORD, call, create_user, json, login, login_at, totp_code};
use common::{Server, audit_actions, create_key, get_with};
use serde_json::json as j;

#[test]
fn the_first_owner_comes_from_a_one_time_token_that_is_never_logged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let notice = server.wait_for_line("no owner yet");
    assert!(
        !notice.contains("lgb_"),
        "only the path is printed without a terminal"
    );
    let file = data.join("bootstrap-token");
    let token = std::fs::read_to_string(&file).expect("token file");
    assert!(token.starts_with("lgb_"), "{token}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let body = |t: &str| j!({"token": t, "username": "root", "password": PASSWORD});
    let wrong = call(&server, "POST", "/v1/bootstrap", None, &body("lgb_wrong"));
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let made = call(&server, "POST", "/v1/bootstrap", None, &body(&token));
    assert_eq!(made.status, 201, "{}", made.body);
    let made = json(&made);
    assert_eq!(made["user"]["role"], "owner");
    let secret = made["totp"]["secret"].as_str().expect("secret").to_owned();
    assert!(
        made["totp"]["otpauth_uri"]
            .as_str()
            .expect("uri")
            .starts_with("otpauth://totp/")
    );
    assert!(!file.exists(), "the token file goes once used");
    let again = call(&server, "POST", "/v1/bootstrap", None, &body(&token));
    assert_eq!(again.status, 401, "spent");

    // The owner logs in with password and code; the code works once.
    let code = totp_code(&secret, 0);
    let login_body = j!({"username": "root", "password": PASSWORD, "totp": code});
    let ok = call(&server, "POST", "/v1/sessions", None, &login_body);
    assert_eq!(ok.status, 201, "{}", ok.body);
    let replay = call(&server, "POST", "/v1/sessions", None, &login_body);
    assert_eq!(replay.status, 401, "a TOTP code is single-use");
    let no_code = j!({"username": "root", "password": PASSWORD, "totp": ""});
    assert_eq!(
        call(&server, "POST", "/v1/sessions", None, &no_code).status,
        401
    );
    let session = json(&ok)["token"].as_str().expect("token").to_owned();
    assert_eq!(get_with(&server, "/v1/users", &session).status, 200);

    let (_, stderr) = server.stop();
    let log = std::fs::read_to_string(data.join("audit/log.jsonl")).expect("log");
    for secret_text in [token.as_str(), secret.as_str(), session.as_str(), PASSWORD] {
        assert!(
            !stderr.contains(secret_text),
            "a secret reached the log output"
        );
        assert!(!log.contains(secret_text), "a secret reached the audit log");
    }
    let actions = audit_actions(&data);
    for (action, outcome) in [
        ("users.bootstrap_token", "success"),
        ("users.bootstrap", "failure"),
        ("users.bootstrap", "success"),
        ("auth.login", "success"),
        ("auth.login", "failure"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "{action} {outcome} missing from {actions:?}"
        );
    }

    // Restarted with an owner: no new token.
    let server = Server::start(&data, &[]);
    assert!(!file.exists());
    drop(server);
}

#[test]
fn nobody_hands_out_more_than_they_hold_and_the_last_owner_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owner_secret = create_user(dir.path(), "olga", "owner");
    let admin_secret = create_user(dir.path(), "adam", "admin");
    let dev_secret = create_user(dir.path(), "dina", "developer");
    let server = Server::start(dir.path(), &[]);
    let owner = login(&server, "olga", &owner_secret);
    let admin = login(&server, "adam", &admin_secret);
    let dev = login(&server, "dina", &dev_secret);
    let new_user =
        |name: &str, role: &str| j!({"username": name, "role": role, "password": PASSWORD});

    let made = call(
        &server,
        "POST",
        "/v1/users",
        Some(&admin),
        &new_user("vera", "viewer"),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let vera = json(&made)["user"]["id"].as_str().expect("id").to_owned();
    let refused = call(
        &server,
        "POST",
        "/v1/users",
        Some(&admin),
        &new_user("otto", "owner"),
    );
    assert_eq!(
        refused.status, 403,
        "only owners make owners: {}",
        refused.body
    );
    let dup = call(
        &server,
        "POST",
        "/v1/users",
        Some(&admin),
        &new_user("vera", "viewer"),
    );
    assert_eq!(dup.status, 409);
    let weak = j!({"username": "wes", "role": "viewer", "password": "short"});
    assert_eq!(
        call(&server, "POST", "/v1/users", Some(&admin), &weak).status,
        400
    );

    let users = json(&get_with(&server, "/v1/users", &owner));
    let olga = users
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["username"] == "olga")
        .expect("olga")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let demote = j!({"role": "admin"});
    let path = format!("/v1/users/{olga}");
    assert_eq!(
        call(&server, "PATCH", &path, Some(&admin), &demote).status,
        403
    );
    assert_eq!(
        call(&server, "PATCH", &path, Some(&owner), &demote).status,
        409,
        "the last owner stays"
    );
    assert_eq!(
        call(&server, "DELETE", &path, Some(&owner), &j!(null)).status,
        409
    );

    // A role change applies to the user's open session at once.
    let vera_path = format!("/v1/users/{vera}");
    let changed = call(
        &server,
        "PATCH",
        &vera_path,
        Some(&owner),
        &j!({"role": "operator"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);

    // Keys: a developer (keys:manage) cannot mint audit:read or touch such a key.
    let key_body = |scopes: &[&str]| j!({"name": "cam", "scopes": scopes});
    let escalate = call(
        &server,
        "POST",
        "/v1/keys",
        Some(&dev),
        &key_body(&["audit:read"]),
    );
    assert_eq!(escalate.status, 403, "{}", escalate.body);
    let audit_key = call(
        &server,
        "POST",
        "/v1/keys",
        Some(&owner),
        &key_body(&["audit:read"]),
    );
    assert_eq!(audit_key.status, 201, "{}", audit_key.body);
    let audit_key_id = json(&audit_key)["key"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let rotate_other = format!("/v1/keys/{audit_key_id}/rotate");
    assert_eq!(
        call(&server, "POST", &rotate_other, Some(&dev), &j!(null)).status,
        403
    );
    let revoke_other = format!("/v1/keys/{audit_key_id}");
    assert_eq!(
        call(&server, "DELETE", &revoke_other, Some(&dev), &j!(null)).status,
        403
    );

    // Disabling ends the user's sessions at once.
    let disabled = call(
        &server,
        "DELETE",
        &format!("/v1/users/{}", user_id(&server, &owner, "dina")),
        Some(&admin),
        &j!(null),
    );
    assert_eq!(disabled.status, 204, "{}", disabled.body);
    assert_eq!(get_with(&server, "/v1/keys", &dev).status, 401);
    drop(server);
    let actions = audit_actions(dir.path());
    for (action, outcome) in [
        ("users.create", "success"),
        ("users.create", "denied"),
        ("users.role", "denied"),
        ("users.role", "failure"),
        ("users.role", "success"),
        ("users.disable", "success"),
        ("keys.create", "denied"),
        ("keys.rotate", "denied"),
        ("keys.revoke", "denied"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "{action} {outcome} missing"
        );
    }
}

fn user_id(server: &Server, token: &str, name: &str) -> String {
    json(&get_with(server, "/v1/users", token))
        .as_array()
        .expect("list")
        .iter()
        .find(|u| u["username"] == name)
        .expect("user")["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[test]
fn keys_rotate_with_an_overlap_and_revoke_at_once_through_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let manager = create_key(dir.path(), &["keys:manage", "inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let body = j!({"name": "line 3", "scopes": ["inspections:read"], "expires_in_days": 30});
    let made = call(&server, "POST", "/v1/keys", Some(&manager), &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let made = json(&made);
    let (id, old) = (
        made["key"]["id"].as_str().unwrap().to_owned(),
        made["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(get_with(&server, "/v1/inspections", &old).status, 200);

    let rotated = call(
        &server,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&manager),
        &j!(null),
    );
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let rotated = json(&rotated);
    let new = rotated["token"].as_str().unwrap().to_owned();
    assert!(
        rotated["key"]["previous_valid_until"].is_string(),
        "default overlap 24 h"
    );
    assert_eq!(get_with(&server, "/v1/inspections", &new).status, 200);
    assert_eq!(
        get_with(&server, "/v1/inspections", &old).status,
        200,
        "overlap"
    );

    let no_overlap = j!({"overlap_hours": 0});
    let again = call(
        &server,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&manager),
        &no_overlap,
    );
    assert_eq!(again.status, 200);
    let newest = json(&again)["token"].as_str().unwrap().to_owned();
    assert_eq!(
        get_with(&server, "/v1/inspections", &new).status,
        401,
        "no overlap"
    );
    assert_eq!(get_with(&server, "/v1/inspections", &newest).status, 200);

    let listed = json(&get_with(&server, "/v1/keys", &manager));
    assert!(
        !listed.to_string().contains(&newest),
        "lists never show secrets"
    );
    let revoked = call(
        &server,
        "DELETE",
        &format!("/v1/keys/{id}"),
        Some(&manager),
        &j!(null),
    );
    assert_eq!(revoked.status, 204);
    assert_eq!(get_with(&server, "/v1/inspections", &newest).status, 401);
    let gone = call(
        &server,
        "POST",
        &format!("/v1/keys/{id}/rotate"),
        Some(&manager),
        &j!(null),
    );
    assert_eq!(gone.status, 404);
}

#[test]
fn sessions_end_on_logout_and_keys_cannot_log_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = create_user(dir.path(), "ivy", "viewer");
    let key = create_key(dir.path(), &["inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let session = login(&server, "ivy", &secret);
    assert_eq!(get_with(&server, "/v1/inspections", &session).status, 200);
    let out = call(
        &server,
        "DELETE",
        "/v1/sessions/current",
        Some(&session),
        &j!(null),
    );
    assert_eq!(out.status, 204);
    assert_eq!(get_with(&server, "/v1/inspections", &session).status, 401);
    let key_out = call(
        &server,
        "DELETE",
        "/v1/sessions/current",
        Some(&key),
        &j!(null),
    );
    assert_eq!(key_out.status, 409);
}

#[test]
fn login_throttling_slows_a_guesser_without_locking_out_the_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = create_user(dir.path(), "alice", "operator");
    let data = dir.path().to_path_buf();
    let server = Server::start_with_config(
        &data,
        "[http]\ntrusted_proxies = [\"127.0.0.1\"]\n[auth]\nlogin_attempts_per_minute = 3\n",
    );
    let guess = j!({"username": "alice", "password": "not her password", "totp": "000000"});
    let from = |ip: &str| {
        let body = guess.to_string().into_bytes();
        common::send(
            &server,
            "POST",
            "/v1/sessions",
            &[
                ("content-type", "application/json"),
                ("x-forwarded-for", ip),
            ],
            body,
        )
    };
    for _ in 0..3 {
        assert_eq!(from("198.51.100.7").status, 401);
    }
    let limited = from("198.51.100.7");
    assert_eq!(limited.status, 429);
    let wait: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");

    // Alice, from her own address, is not locked out.
    let body =
        j!({"username": "alice", "password": PASSWORD, "totp": totp_code(&secret, 0)}).to_string();
    let hers = common::send(
        &server,
        "POST",
        "/v1/sessions",
        &[
            ("content-type", "application/json"),
            ("x-forwarded-for", "203.0.113.9"),
        ],
        body.into_bytes(),
    );
    assert_eq!(hers.status, 201, "{}", hers.body);
    drop(server);
    let log = std::fs::read_to_string(data.join("audit/log.jsonl")).expect("log");
    assert!(
        log.contains("\"source_ip\":\"198.51.100.7\""),
        "the forwarded client is recorded"
    );
    assert!(log.contains("\"source_ip\":\"203.0.113.9\""));
}

#[test]
fn forwarded_addresses_count_only_from_trusted_proxies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = create_key(
        dir.path(),
        &["inspections:read"],
        &["--allow-cidr", "203.0.113.0/24"],
    );
    let forwarded = |server: &Server, xff: &str| {
        let auth = format!("Bearer {key}");
        common::send(
            server,
            "GET",
            "/v1/inspections",
            &[("authorization", &auth), ("x-forwarded-for", xff)],
            Vec::new(),
        )
        .status
    };
    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        forwarded(&server, "203.0.113.9"),
        403,
        "untrusted peer: header ignored"
    );
    drop(server);
    let server =
        Server::start_with_config(dir.path(), "[http]\ntrusted_proxies = [\"127.0.0.0/8\"]\n");
    assert_eq!(forwarded(&server, "203.0.113.9"), 200);
    // Only the nearest untrusted hop counts; what a client writes to its left does not.
    assert_eq!(forwarded(&server, "203.0.113.9, 198.51.100.1"), 403);
    assert_eq!(
        forwarded(&server, "not an address"),
        403,
        "malformed: the peer counts"
    );
}

#[test]
fn audit_proofs_over_the_api_verify() {
    use common::{hex_hash as hash, hex_path as path};
    use lensguard_store::audit::merkle::{verify_consistency, verify_inclusion};
    let dir = tempfile::tempdir().expect("tempdir");
    let reader = create_key(dir.path(), &["audit:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    for _ in 0..5 {
        get_with(&server, "/v1/inspections", &reader); // refused, and audited
    }
    let head = json(&get_with(&server, "/v1/audit/checkpoint", &reader));
    let size = head["size"].as_u64().expect("size");
    assert!(size >= 6, "{head}");
    for index in [0, 3, size - 1] {
        let p = json(&get_with(
            &server,
            &format!("/v1/audit/proofs/inclusion?index={index}&size={size}"),
            &reader,
        ));
        verify_inclusion(
            &hash(&p["leaf_hash"]),
            index,
            size,
            &path(&p["path"]),
            &hash(&p["root"]),
        )
        .expect("inclusion proof verifies");
        let mut wrong = path(&p["path"]);
        if let Some(first) = wrong.first_mut() {
            first[0] ^= 1;
            assert!(
                verify_inclusion(
                    &hash(&p["leaf_hash"]),
                    index,
                    size,
                    &wrong,
                    &hash(&p["root"])
                )
                .is_err()
            );
        }
    }
    let c = json(&get_with(
        &server,
        &format!("/v1/audit/proofs/consistency?from=2&to={size}"),
        &reader,
    ));
    verify_consistency(
        2,
        size,
        &hash(&c["from_root"]),
        &hash(&c["to_root"]),
        &path(&c["path"]),
    )
    .expect("consistency proof verifies");
    assert_eq!(hash(&c["to_root"]), hash(&head["root"]));
    let bad = get_with(&server, "/v1/audit/proofs/inclusion?index=99999", &reader);
    assert_eq!(bad.status, 400);
    assert_eq!(
        get_with(&server, "/v1/audit/proofs/consistency?from=0", &reader).status,
        400
    );
}

#[test]
fn a_login_with_the_next_steps_code_works_and_one_from_two_steps_ago_does_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = create_user(dir.path(), "drift", "viewer");
    let server = Server::start(dir.path(), &[]);
    assert_eq!(login_at(&server, "drift", &secret, -2).status, 401);
    assert_eq!(
        login_at(&server, "drift", &secret, 1).status,
        201,
        "one step of drift"
    );
}
