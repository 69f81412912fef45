//! Identity attacks from the security review, each reproduced: a restricted
//! key minting a wider one, keys outliving their disabled owner, sessions
//! outliving a password change or a downgrade, and control characters
//! steering an operator's terminal.

use crate::common::identity::{
    PASSWORD, call, create_user, create_user_with, json, lensguard_with_input, login, login_at,
};
use crate::common::{self, Server, create_key, get_with};
use serde_json::json as j;

/// A key limited to a network and a lifetime cannot mint a key without those
/// limits: the security review's escalation (a one-day 127.0.0.1/32
/// `keys:manage` key made an unrestricted, never-expiring one). Here the
/// creator lives two days: a one-day key is within, a three-day one is not.
#[test]
fn a_restricted_key_mints_no_key_beyond_its_networks_or_lifetime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let limited = create_key(
        dir.path(),
        &["keys:manage", "inspections:read"],
        &["--allow-cidr", "127.0.0.1/32", "--expires-in-days", "2"],
    );
    let server = Server::start(dir.path(), &[]);
    let refused = [
        j!({"name": "anywhere", "scopes": ["keys:manage"], "expires_in_days": 1}),
        j!({"name": "wider", "scopes": ["keys:manage"], "allowed_cidrs": ["127.0.0.0/8"], "expires_in_days": 1}),
        j!({"name": "forever", "scopes": ["keys:manage"], "allowed_cidrs": ["127.0.0.1/32"]}),
        j!({"name": "longer", "scopes": ["keys:manage"], "allowed_cidrs": ["127.0.0.1/32"], "expires_in_days": 3}),
    ];
    for body in &refused {
        let r = call(&server, "POST", "/v1/keys", Some(&limited), body);
        assert_eq!(r.status, 403, "{body}: {}", r.body);
        assert_eq!(json(&r)["code"], "beyond_caller_access", "{body}");
    }
    let within = j!({"name": "within", "scopes": ["inspections:read"], "allowed_cidrs": ["127.0.0.1/32"], "expires_in_days": 1});
    let r = call(&server, "POST", "/v1/keys", Some(&limited), &within);
    assert_eq!(r.status, 201, "{}", r.body);
    drop(server);
    let denied = common::audit_entries(dir.path())
        .iter()
        .filter(|e| e["action"] == "keys.create" && e["outcome"] == "denied")
        .count();
    assert_eq!(denied, refused.len(), "every refusal is audited");
}

/// A password change or a role downgrade ends the user's open sessions (the
/// review found a session still answering after `users set-password` and a
/// restart).
#[test]
fn a_password_change_or_a_role_downgrade_ends_open_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = create_user(dir.path(), "ana", "admin");
    let server = Server::start(dir.path(), &[]);
    let before = login_at(&server, "ana", &secret, 0);
    let before = json(&before)["token"].as_str().expect("token").to_owned();
    assert_eq!(get_with(&server, "/v1/users", &before).status, 200);
    drop(server);
    // The same text again is still a password change.
    lensguard_with_input(
        dir.path(),
        &["users", "set-password", "ana", "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    let server = Server::start(dir.path(), &[]);
    assert_eq!(get_with(&server, "/v1/users", &before).status, 401);
    let session = login_at(&server, "ana", &secret, 1);
    assert_eq!(session.status, 201, "{}", session.body);
    let session = json(&session)["token"].as_str().expect("token").to_owned();
    assert_eq!(get_with(&server, "/v1/inspections", &session).status, 200);
    drop(server);
    lensguard_with_input(dir.path(), &["users", "set-role", "ana", "viewer"], "");
    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        get_with(&server, "/v1/inspections", &session).status,
        401,
        "a session opened as admin does not go on as viewer"
    );
}

/// Keys belong to the user who made them (and keys made by those keys, to
/// the same user): disabling the user stops them all at once. Keys made on
/// the data directory belong to no user and go on.
#[test]
fn disabling_a_user_stops_the_keys_they_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = create_user(dir.path(), "ana", "admin");
    let local = create_key(dir.path(), &["inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let session = login(&server, "ana", &secret);
    let body = j!({"name": "ana's", "scopes": ["users:manage", "keys:manage", "inspections:read"]});
    let made = call(&server, "POST", "/v1/keys", Some(&session), &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let made = json(&made);
    let owner = made["key"]["owner"].as_str().expect("owner").to_owned();
    let key = made["token"].as_str().expect("token").to_owned();
    let body = j!({"name": "from a key", "scopes": ["inspections:read"]});
    let child = call(&server, "POST", "/v1/keys", Some(&key), &body);
    assert_eq!(child.status, 201, "{}", child.body);
    let child = json(&child);
    assert_eq!(child["key"]["owner"].as_str(), Some(owner.as_str()));
    let child = child["token"].as_str().expect("token").to_owned();
    assert_eq!(get_with(&server, "/v1/users", &key).status, 200);
    drop(server);
    let out = common::lensguard(&[
        "users",
        "disable",
        "ana",
        "--data-dir",
        dir.path().to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let server = Server::start(dir.path(), &[]);
    for token in [&key, &child] {
        let r = get_with(&server, "/v1/inspections", token);
        assert_eq!(r.status, 401, "{}", r.body);
        assert!(r.body.contains("owner is disabled"), "{}", r.body);
    }
    assert_eq!(get_with(&server, "/v1/inspections", &local).status, 200);
    let listed = common::lensguard(&[
        "keys",
        "list",
        "--data-dir",
        dir.path().to_str().expect("utf8"),
    ]);
    assert!(common::text(&listed.stdout).contains(&format!("owner=user:{owner}")));
}

/// Names and reasons with control characters are refused at the API and the
/// command line, and stored text is printed escaped: the review's key name
/// that cleared the screen and printed a fake "all keys revoked".
#[test]
fn control_characters_are_refused_and_never_reach_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8").to_owned();
    let attack = "cam\u{1b}[2J\u{1b}[Hall keys revoked\nkey 2";
    let manager = create_key(
        dir.path(),
        &["keys:manage", "evidence:manage", "evidence:read-original"],
        &[],
    );
    // The command line refuses it before anything is written.
    let out = common::lensguard(&[
        "keys",
        "create",
        "--name",
        attack,
        "--scope",
        "inspections:read",
        "--data-dir",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out.stdout));
    assert!(common::text(&out.stderr).contains("control characters"));
    let out = common::lensguard(&[
        "retention",
        "hold",
        "--device",
        "van-1",
        "--reason",
        attack,
        "--data-dir",
        &d,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let server = Server::start(dir.path(), &[]);
    let body = j!({"name": attack, "scopes": ["keys:manage"]});
    assert_eq!(
        call(&server, "POST", "/v1/keys", Some(&manager), &body).status,
        400
    );
    let body = j!({"device": "van-1", "reason": attack});
    assert_eq!(
        call(&server, "POST", "/v1/holds", Some(&manager), &body).status,
        400
    );
    let r = get_with(
        &server,
        "/v1/inspections/x/original?reason=a%1B%5B2Jb",
        &manager,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    drop(server);
    // A name stored before the check (written straight into the database)
    // is listed escaped: no escape byte reaches the terminal.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let url = format!("sqlite://{}/lensguard.db", d);
        let pool = sqlx::SqlitePool::connect(&url).await.expect("db");
        sqlx::query("UPDATE api_keys SET name = ?")
            .bind(attack)
            .execute(&pool)
            .await
            .expect("update");
        pool.close().await;
    });
    let out = common::lensguard(&["keys", "list", "--data-dir", &d]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(!out.stdout.contains(&0x1b) && out.stdout.iter().filter(|&&b| b == b'\n').count() == 1);
    assert!(common::text(&out.stdout).contains("cam\\u{1b}[2J"));
}

/// The review's flood: unauthenticated requests from one address. Within the
/// bound (here 2 a second, bursts of 5) each refusal is audited at once; past
/// it the answer is `429` with `Retry-After` and the rest become one
/// `auth.refusals_suppressed` entry with their count, written at the latest
/// at shutdown. Before, each of 22,386 requests in 10 s became an entry.
#[test]
fn an_unauthenticated_flood_becomes_one_counted_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start_with_config(
        &data,
        "[http]\nrefusals_per_second = 2\nrefusals_burst = 5\n",
    );
    let mut statuses = Vec::new();
    for _ in 0..60 {
        let r = common::request(&server, "GET", "/v1/keys");
        if r.status == 429 {
            assert!(r.header("retry-after").is_some());
        }
        statuses.push(r.status);
    }
    let refused = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(
        statuses[0], 401,
        "the first refusal is answered and audited"
    );
    assert_eq!(refused + limited, 60, "{statuses:?}");
    assert!(limited >= 40, "{statuses:?}");
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    let entries = common::audit_entries(&data);
    let one_by_one = entries
        .iter()
        .filter(|e| e["action"] == "auth.keys:manage")
        .count();
    assert_eq!(one_by_one, refused, "each answered refusal has its entry");
    let counted: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["action"] == "auth.refusals_suppressed")
        .collect();
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert_eq!(counted[0]["source_ip"], "127.0.0.1");
    let reason = counted[0]["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(&format!("{limited} more refusals from this address")),
        "{reason}"
    );
}

/// Device scoping: a key limited to `van-*` lists only those devices'
/// inspections and gets 404 for another device's inspection and its images;
/// it cannot hand out a key for every device or beyond `van-*`; a user
/// limited the same way sees the same. Before, any `inspections:read`
/// credential read every device's inspections, location and order
/// reference included.
#[test]
fn a_device_scoped_credential_reads_only_its_devices() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path();
    let writer = create_key(data, &["inspections:write"], &[]);
    let vans = create_key(
        data,
        &["inspections:read", "keys:manage"],
        &["--device", "van-*"],
    );
    let secret = create_user_with(data, "dispatcher", "viewer", &["--device", "van-*"]);
    let server = Server::start(data, &[]);
    let photo = std::fs::read(lensguard_testkit::samples_dir().join("sharp.jpg")).expect("sample");
    let submit = |device: &str| {
        let kind = format!("multipart/form-data; boundary={}", common::BOUNDARY);
        let auth = format!("Bearer {writer}");
        let r = common::send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", &kind)],
            common::form(&[
                ("photo", Some("image/jpeg"), &photo),
                ("device_id", None, device.as_bytes()),
            ]),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        json(&r)["id"].as_str().expect("id").to_owned()
    };
    let van = submit("van-12");
    let truck = submit("truck-3");
    let session = login(&server, "dispatcher", &secret);
    for token in [&vans, &session] {
        let listed = json(&get_with(&server, "/v1/inspections", token));
        let ids: Vec<&str> = listed["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(ids, [van.as_str()], "only van-* inspections are listed");
        assert_eq!(
            get_with(&server, &format!("/v1/inspections/{van}"), token).status,
            200
        );
        for path in [
            format!("/v1/inspections/{truck}"),
            format!("/v1/inspections/{truck}/redacted"),
            format!("/v1/inspections/{truck}/thumbnail"),
        ] {
            let r = get_with(&server, &path, token);
            assert_eq!(r.status, 404, "{path}: {}", r.body);
            assert_eq!(json(&r)["code"], "not_found", "{path}");
        }
    }
    // No escalation: a van-* key makes keys within van-* only.
    for (devices, status) in [
        (serde_json::Value::Null, 403),
        (j!(["truck-*"]), 403),
        (j!(["*"]), 403),
        (j!(["van-1*"]), 201),
    ] {
        let mut body = j!({"name": "sub", "scopes": ["inspections:read"]});
        if !devices.is_null() {
            body["devices"] = devices.clone();
        }
        let r = call(&server, "POST", "/v1/keys", Some(&vans), &body);
        assert_eq!(r.status, status, "{devices}: {}", r.body);
    }
}
