//! Multipart submissions: the photo with device id, external reference and
//! location; the metadata is checked, echoed, stored and filterable.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{BOUNDARY, Server, create_key, form, get_with, send};
use lensguard_testkit::samples_dir;

fn post(server: &Server, token: &str, body: Vec<u8>) -> common::Reply {
    let auth = format!("Bearer {token}");
    let kind = format!("multipart/form-data; boundary={BOUNDARY}");
    send(
        server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", &kind)],
        body,
    )
}

#[test]
fn metadata_travels_with_the_photo_and_filters_the_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(dir.path(), &["inspections:write", "inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let r = post(
        &server,
        &token,
        form(&[
            ("device_id", None, b"cam-7"),
            ("photo", Some("image/jpeg"), &photo),
            ("external_reference", None, "order 4711 — Zürich".as_bytes()),
            ("location", None, b"52.52,13.405"),
        ]),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["submission"]["device_id"], "cam-7");
    assert_eq!(v["submission"]["external_reference"], "order 4711 — Zürich");
    assert_eq!(v["submission"]["location"]["latitude"], 52.52);
    let other = post(
        &server,
        &token,
        form(&[
            ("photo", Some("image/jpeg"), &photo),
            ("device_id", None, b"cam-8"),
        ]),
    );
    assert_eq!(other.status, 201, "{}", other.body);

    let list = get_with(&server, "/v1/inspections?device=cam-7", &token);
    let page: serde_json::Value = serde_json::from_str(&list.body).expect("json");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], v["id"]);
    let stored = get_with(
        &server,
        &format!("/v1/inspections/{}", v["id"].as_str().unwrap()),
        &token,
    );
    assert!(stored.body.contains("order 4711"), "{}", stored.body);
}

#[test]
fn malformed_submissions_are_refused_with_the_right_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = create_key(dir.path(), &["inspections:write"], &[]);
    let server = Server::start(dir.path(), &[]);
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let jpeg = Some("image/jpeg");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("no photo", form(&[("device_id", None, b"cam-7")]), 400),
        (
            "unknown field",
            form(&[("photo", jpeg, &photo), ("owner", None, b"x")]),
            400,
        ),
        (
            "twice",
            form(&[("photo", jpeg, &photo), ("photo", jpeg, &photo)]),
            400,
        ),
        (
            "bad device",
            form(&[("photo", jpeg, &photo), ("device_id", None, b"cam 7")]),
            400,
        ),
        (
            "bad location",
            form(&[("photo", jpeg, &photo), ("location", None, b"91,0")]),
            400,
        ),
        (
            "long field",
            form(&[
                ("photo", jpeg, &photo),
                ("external_reference", None, &[b'a'; 2000]),
            ]),
            400,
        ),
        (
            "text photo",
            form(&[("photo", Some("text/plain"), b"hello")]),
            415,
        ),
        ("garbage", b"--nope\r\n\r\n".to_vec(), 400),
        (
            "not an image",
            form(&[("photo", jpeg, b"plain text, not a JPEG")]),
            422,
        ),
    ];
    for (name, body, status) in cases {
        let r = post(&server, &token, body);
        assert_eq!(r.status, status, "{name}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error");
        assert!(
            v["code"].is_string() && v["request_id"].is_string(),
            "{name}"
        );
    }
}

#[test]
fn an_oversized_photo_part_gets_413() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let token = create_key(&data, &["inspections:write"], &[]);
    let server = Server::start(&data, &[]);
    // Just past the limit, so the whole body is sent before the answer.
    let big = vec![0xFF_u8; 50 * 1024 * 1024 + 1];
    let r = post(
        &server,
        &token,
        form(&[("photo", Some("image/jpeg"), &big)]),
    );
    assert_eq!(r.status, 413, "{}", r.body);
}
