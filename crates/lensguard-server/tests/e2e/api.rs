//! The photo API end to end: submit and read inspections with API keys, scopes,
//! idempotency, limits and error codes, every refusal audited.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{Server, audit_actions, create_key, get_with, send};
use lensguard_testkit::{bad_input_dir, samples_dir};
use std::path::Path;

/// The body of requests that are refused before it is read. The service answers
/// such requests without reading the upload and closes the connection, so a large
/// body could still be in flight when the answer comes.
const SMALL: &[u8] = b"not read";

fn photo(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn a_photo_is_inspected_stored_and_read_back_with_the_cli_schema_plus_an_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let reader = create_key(dir.path(), &["inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);

    let auth = bearer(&writer);
    let r = send(
        &server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", "image/jpeg")],
        photo("blurred.jpg"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(body["schema"], "lensguard.inspection.v1");
    assert_eq!(body["verdict"], "retry");
    assert_eq!(body["reasons"][0]["code"], "blurry");
    let id = body["id"].as_str().expect("id").to_owned();
    // The same schema as `lensguard check --json` (plus id): it parses as a report.
    let _: lensguard_core::InspectionReport =
        serde_json::from_value(body.clone()).expect("v1 report");

    let got = get_with(&server, &format!("/v1/inspections/{id}"), &reader);
    assert_eq!(got.status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got.body).expect("json"),
        body
    );
    let missing = get_with(&server, "/v1/inspections/nope", &reader);
    assert_eq!(missing.status, 404);
    drop(server);
    assert!(audit_actions(dir.path()).contains(&("inspections.submit".into(), "success".into())));
}

#[test]
fn missing_or_wrong_credentials_get_401_and_a_missing_scope_403_all_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    let jpeg = [("content-type", "image/jpeg")];
    let none = send(&server, "POST", "/v1/inspections", &jpeg, SMALL.to_vec());
    assert_eq!(none.status, 401, "{}", none.body);
    let wrong = send(
        &server,
        "POST",
        "/v1/inspections",
        &[("authorization", "Bearer lg_000000000000_nope"), jpeg[0]],
        SMALL.to_vec(),
    );
    assert_eq!(wrong.status, 401);
    let denied = get_with(&server, "/v1/inspections/x", &writer);
    assert_eq!(denied.status, 403);
    let body: serde_json::Value = serde_json::from_str(&denied.body).expect("json");
    assert_eq!(body["code"], "forbidden");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("inspections:read")
    );
    drop(server);
    let actions = audit_actions(dir.path());
    let count = |a: &str, o: &str| actions.iter().filter(|(x, y)| x == a && y == o).count();
    assert_eq!(count("auth.inspections:write", "failure"), 2, "{actions:?}");
    assert_eq!(count("auth.inspections:read", "denied"), 1, "{actions:?}");
    assert!(
        !std::fs::read_to_string(dir.path().join("audit/log.jsonl"))
            .expect("log")
            .contains(&writer),
        "no secret in the audit log"
    );
}

#[test]
fn an_idempotency_key_returns_the_original_without_a_second_inspection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    let auth = bearer(&writer);
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "image/jpeg"),
        ("idempotency-key", "delivery-4711"),
    ];
    let first = send(
        &server,
        "POST",
        "/v1/inspections",
        &headers,
        photo("sharp.jpg"),
    );
    let second = send(
        &server,
        "POST",
        "/v1/inspections",
        &headers,
        photo("sharp.jpg"),
    );
    assert_eq!((first.status, second.status), (201, 200));
    assert_eq!(first.body, second.body);
    assert_eq!(
        second.header("idempotent-replayed").as_deref(),
        Some("true")
    );
    // A retake under the same key (an app using its order number) is another
    // request: refused, never answered with the first photo's verdict.
    let retake = send(
        &server,
        "POST",
        "/v1/inspections",
        &headers,
        photo("dark.jpg"),
    );
    assert_eq!(retake.status, 422, "{}", retake.body);
    let body: serde_json::Value = serde_json::from_str(&retake.body).expect("json");
    assert_eq!(body["code"], "idempotency_key_reused");
    assert!(retake.header("idempotent-replayed").is_none());
    assert_ne!(retake.body, first.body);
    drop(server);
    let submits: Vec<String> = audit_actions(dir.path())
        .into_iter()
        .filter(|(a, _)| a == "inspections.submit")
        .map(|(_, outcome)| outcome)
        .collect();
    assert_eq!(submits, ["success", "failure"]);
}

#[test]
fn wrong_type_bad_photo_and_oversized_body_get_415_422_and_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    let auth = bearer(&writer);
    let post = |ct: &str, body: Vec<u8>| {
        send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", ct)],
            body,
        )
    };

    let r = post("text/plain", b"hello".to_vec());
    assert_eq!(r.status, 415);
    let truncated = std::fs::read(bad_input_dir().join("truncated.jpg")).expect("fixture");
    let r = post("image/jpeg", truncated);
    assert_eq!(r.status, 422, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(
        (body["code"].as_str(), body["reason"].as_str()),
        (Some("unprocessable_image"), Some("truncated"))
    );
    let bomb = std::fs::read(bad_input_dir().join("bomb-65535x65535.png")).expect("fixture");
    assert_eq!(post("image/png", bomb).status, 422);
    // A blank 10000x10000 PNG is within the pixel limit but over the memory
    // budget: refused from its header (before, about 600 MB per request).
    let r = post(
        "image/png",
        lensguard_testkit::fixtures::png_blank(10_000, 10_000),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(body["reason"], "decode_budget_exceeded", "{body}");
    let r = post("image/jpeg", vec![0u8; 50 * 1024 * 1024 + 1]);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.header("strict-transport-security").is_some());
    drop(server);
    // The refusals of an authenticated caller's body are in the audit log.
    let refused: Vec<String> = common::audit_entries(dir.path())
        .iter()
        .filter(|e| e["action"] == "request.refused")
        .map(|e| format!("{} {}", e["target"], e["reason"]))
        .collect();
    assert_eq!(
        refused,
        [
            "\"POST /v1/inspections\" \"answered 415 Unsupported Media Type\"",
            "\"POST /v1/inspections\" \"answered 413 Payload Too Large\""
        ]
    );
}

/// `curl` over `--http2` or `--http1.1`: (status, protocol, body).
fn curl(
    server: &Server,
    protocol: &str,
    headers: &[&str],
    body_file: &Path,
) -> (u16, String, String) {
    let out_file = body_file.with_extension("answer");
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", protocol, "--cacert"])
        .arg(server.data_dir.join("tls/cert.pem"))
        .args(["-o"])
        .arg(&out_file)
        .args(["-w", "%{http_code} %{http_version}", "-X", "POST"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd
        .arg("--data-binary")
        .arg(format!("@{}", body_file.display()))
        .arg(format!(
            "https://localhost:{}/v1/inspections",
            server.port()
        ))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {protocol} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, version) = written.split_once(' ').expect("status and version");
    let body = std::fs::read_to_string(&out_file).unwrap_or_default();
    (status.parse().expect("status"), version.to_owned(), body)
}

#[test]
fn refusals_reach_http2_and_http1_clients_intact() {
    if !common::tool_available("curl", "scripts/install-test-deps") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    let auth = format!("Authorization: Bearer {writer}");
    let large = dir.path().join("large.jpg");
    std::fs::write(&large, vec![0u8; 55 * 1024 * 1024]).expect("large body");
    let small = dir.path().join("small.txt");
    std::fs::write(&small, vec![b'x'; 4096]).expect("small body");
    for (protocol, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        // (times, content type, body, status, code)
        let cases = [
            (5, "image/jpeg", &large, 413, "payload_too_large"),
            (30, "text/plain", &small, 415, "unsupported_media_type"),
        ];
        for (times, kind, file, want, code) in cases {
            let content_type = format!("Content-Type: {kind}");
            for _ in 0..times {
                let (status, got, body) = curl(&server, protocol, &[&auth, &content_type], file);
                assert_eq!((status, got.as_str()), (want, version), "{body}");
                let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
                assert_eq!(json["code"], code);
            }
        }
        // Refused before any body is read: no credentials.
        let (status, _, body) = curl(&server, protocol, &["Content-Type: image/jpeg"], &large);
        assert_eq!(status, 401, "{body}");
    }
}

#[test]
fn revoked_rotated_and_network_restricted_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kept = create_key(dir.path(), &["inspections:write"], &[]);
    let elsewhere = create_key(
        dir.path(),
        &["inspections:write"],
        &["--allow-cidr", "10.0.0.0/8"],
    );
    let id = kept.split('_').nth(1).expect("id").to_owned();
    let lg = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .expect("run")
    };
    let rotated = lg(&["keys", "rotate", &id, "--overlap-hours", "1"]);
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new_token = String::from_utf8_lossy(&rotated.stdout)
        .lines()
        .find_map(|l| {
            l.strip_prefix("token (shown once, store it safely): ")
                .map(str::to_owned)
        })
        .expect("token");

    let server = Server::start(dir.path(), &[]);
    let post = |token: &str, body: Vec<u8>| {
        let auth = bearer(token);
        send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", "image/jpeg")],
            body,
        )
        .status
    };
    assert_eq!(
        post(&kept, photo("sharp.jpg")),
        201,
        "the old secret works within the overlap"
    );
    assert_eq!(post(&new_token, photo("sharp.jpg")), 201);
    assert_eq!(
        post(&elsewhere, SMALL.to_vec()),
        403,
        "127.0.0.1 is outside 10.0.0.0/8"
    );
    // Key management needs the data directory to itself.
    let busy = lg(&["keys", "revoke", &id]);
    assert_eq!(busy.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&busy.stderr).contains("the service is running"));
    drop(server);

    assert!(lg(&["keys", "revoke", &id]).status.success());
    let server = Server::start(dir.path(), &[]);
    let post = |token: &str| {
        let auth = bearer(token);
        send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", "image/jpeg")],
            SMALL.to_vec(),
        )
        .status
    };
    assert_eq!(
        (post(&kept), post(&new_token)),
        (401, 401),
        "revocation ends both secrets at once"
    );
    drop(server);
    let listed = String::from_utf8_lossy(&lg(&["keys", "list"]).stdout).into_owned();
    assert!(listed.contains(&format!("{id}  revoked")), "{listed}");
    assert!(!listed.contains(&new_token), "list never shows secrets");

    // Revoking again, or an unknown key, changes nothing and is recorded as a
    // failed attempt, never as a success.
    for bad in [id.as_str(), "000000000000"] {
        let out = lg(&["keys", "revoke", bad]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no active key"));
    }
    let revokes: Vec<String> = audit_actions(dir.path())
        .into_iter()
        .filter(|(a, _)| a == "keys.revoke")
        .map(|(_, o)| o)
        .collect();
    assert_eq!(revokes, ["success", "failure", "failure"]);
}

#[test]
fn inspections_are_listed_newest_first_with_filters_and_cursor_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(dir.path(), &["inspections:write", "inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let auth = bearer(&token);
    let mut ids = Vec::new();
    for name in [
        "sharp.jpg",
        "blurred.jpg",
        "dark.jpg",
        "progressive.jpg",
        "edited.jpg",
    ] {
        let r = send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", "image/jpeg")],
            photo(name),
        );
        assert_eq!(r.status, 201);
        ids.push(
            serde_json::from_str::<serde_json::Value>(&r.body).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let get = |q: &str| {
        let r = get_with(&server, &format!("/v1/inspections{q}"), &token);
        (
            r.status,
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap_or_default(),
        )
    };
    let (status, all) = get("");
    assert_eq!(status, 200);
    assert_eq!(all["items"].as_array().expect("items").len(), 5);
    assert!(all["next_cursor"].is_null());

    let (_, retries) = get("?verdict=retry");
    let verdicts: Vec<&str> = retries["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["verdict"].as_str().expect("v"))
        .collect();
    assert_eq!(verdicts, ["retry", "retry"]);

    // Two pages of two, then the last one: every id exactly once.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (status, page) = get(&query);
        assert_eq!(status, 200);
        seen.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    for bad in [
        "?limit=0",
        "?limit=201",
        "?verdict=maybe",
        "?from=yesterday",
        "?cursor=%%%",
        "?colour=red",
    ] {
        let (status, body) = get(bad);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_request")),
            "{bad}"
        );
    }
    let (_, none) = get("?from=2099-01-01T00:00:00Z");
    assert_eq!(none["items"].as_array().expect("items").len(), 0);
}

#[test]
fn the_served_openapi_document_is_the_committed_one_and_needs_a_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let any = create_key(dir.path(), &["audit:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    assert_eq!(
        common::request(&server, "GET", "/v1/openapi.json").status,
        401
    );
    let r = get_with(&server, "/v1/openapi.json", &any);
    assert_eq!(r.status, 200);
    let served: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(lensguard_testkit::workspace_root().join("docs/openapi.json"))
            .expect("docs/openapi.json"),
    )
    .expect("json");
    assert_eq!(served, committed);
    assert_eq!(served["openapi"], "3.1.0");
}

#[test]
fn each_key_is_rate_limited_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let busy = create_key(&dir.path().join("data"), &["inspections:read"], &[]);
    let calm = create_key(&dir.path().join("data"), &["inspections:read"], &[]);
    let server = Server::start_with_config(
        &dir.path().join("data"),
        "[http]\nrate_limit_per_second = 1\nrate_limit_burst = 2\n",
    );
    let get = |token: &str| get_with(&server, "/v1/inspections", token);
    let statuses: Vec<u16> = (0..4).map(|_| get(&busy).status).collect();
    assert_eq!(&statuses[..2], [200, 200]);
    let limited = get(&busy);
    assert_eq!(limited.status, 429, "{statuses:?}");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&limited.body).expect("json")["code"],
        "rate_limited"
    );
    assert_eq!(get(&calm).status, 200, "another key has its own budget");
}

/// Decoding turns are bounded: with one worker and no queue, a submission
/// that arrives while a large photo decodes is refused with `503 busy` and
/// Retry-After (audited), and the large one completes. Before, every
/// request decoded at once (four blank 10000x10000 PNGs peaked at 2.4 GB).
#[test]
fn a_full_decode_queue_answers_busy_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start_with_config(
        dir.path(),
        "[http]\ninspection_workers = 1\ninspection_queue = 0\n",
    );
    let auth = bearer(&writer);
    let scene = lensguard_testkit::scene::doorstep(8000, 6000, 3);
    let large = lensguard_testkit::encode::jpeg(
        &scene,
        &lensguard_testkit::encode::JpegOptions {
            quality: 85,
            progressive: false,
            exif: None,
        },
    );
    let small = photo("sharp.jpg");
    let post = |body: Vec<u8>| {
        send(
            &server,
            "POST",
            "/v1/inspections",
            &[("authorization", &auth), ("content-type", "image/jpeg")],
            body,
        )
    };
    // Small submissions run while the large one is sent and decoded; the
    // large one is retried on 503, as a client honouring Retry-After would.
    let done = std::sync::atomic::AtomicBool::new(false);
    let busy = std::sync::Mutex::new(None);
    let large_status = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let r = post(small.clone());
                if r.status == 503 {
                    busy.lock().expect("lock").get_or_insert(r);
                }
                // Leave the worker free between posts so the large one
                // gets its turn.
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        });
        let mut status = 503;
        for _ in 0..200 {
            let r = post(large.clone());
            status = r.status;
            if status == 503 {
                busy.lock().expect("lock").get_or_insert(r);
                std::thread::sleep(std::time::Duration::from_millis(20));
            } else {
                break;
            }
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        status
    });
    assert_eq!(large_status, 201);
    let busy = busy.into_inner().expect("lock");
    let busy = busy.expect("a submission during the large decode was refused busy");
    assert_eq!(busy.header("retry-after").as_deref(), Some("1"));
    let body: serde_json::Value = serde_json::from_str(&busy.body).expect("json");
    assert_eq!(body["code"], "busy");
    drop(server);
    assert!(
        common::audit_entries(dir.path())
            .iter()
            .any(|e| e["action"] == "inspections.submit"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("busy: 1 inspections running"))),
        "the refusal is audited"
    );
}
