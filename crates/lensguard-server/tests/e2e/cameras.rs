//! A camera end to end: the service reads a real RTSP server (GStreamer's,
//! on 127.0.0.1), a person crossing the scene becomes one event, served by
//! the API, audited under the camera's name, kept across a restart; in
//! structure-only mode no picture reaches the data directory.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{Server, audit_entries, create_key, get_with};
use lensguard_testkit::rtsp_server::RtspServer;
use std::path::Path;
use std::time::{Duration, Instant};

/// The events the service serves, as JSON.
fn events(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let r = get_with(server, "/v1/events?camera=door-1&limit=200", token);
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    body["items"].as_array().expect("items").clone()
}

/// Every file under `dir`.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("list").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Where `bytes` hold picture data: a JPEG or PNG signature, or a run of
/// 600 equal bytes between 100 and 140 (a row of the scene's grey
/// background, 120, in luma or RGB, as decoded pictures hold it).
fn picture_bytes(bytes: &[u8]) -> Option<&'static str> {
    if bytes.windows(3).any(|w| w == [0xFF, 0xD8, 0xFF]) {
        return Some("a JPEG signature");
    }
    if bytes.windows(8).any(|w| w == b"\x89PNG\r\n\x1a\n") {
        return Some("a PNG signature");
    }
    let mut run = 0usize;
    for pair in bytes.windows(2) {
        run = if pair[0] == pair[1] && (100..=140).contains(&pair[0]) {
            run + 1
        } else {
            0
        };
        if run >= 600 {
            return Some("a row of grey pixels");
        }
    }
    None
}

#[test]
fn a_person_crossing_is_an_event_in_the_api_and_no_picture_is_kept_in_structure_only_mode() {
    let Some(photo) = lensguard_testkit::fetched::photo("grace_hopper.jpg") else {
        return;
    };
    drop(photo);
    let portrait = lensguard_testkit::fetched::cache_dir().join("testdata/grace_hopper.jpg");
    let source = format!("walk=crossing:{}", portrait.display());
    let _turn = crate::common::camera_turn();
    let Some(rtsp) = RtspServer::start(&[source.as_str()], 0, None) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let reader = create_key(&data, &["inspections:read"], &[]);
    let elsewhere = create_key(&data, &["inspections:read"], &["--device", "dock-*"]);
    let config = format!(
        "[[cameras]]\nname = \"door-1\"\ndetect_url = {:?}\nmode = \"structure_only\"\ndetect_fps = 5\n\n[[cameras.zones]]\nname = \"left-half\"\npoints = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]\n",
        rtsp.url("walk")
    );
    let server = Server::start_with_config(&data, &config);
    // The person crosses 2-7 s into the stream, every 12 s.
    let deadline = Instant::now() + Duration::from_secs(45);
    let found = loop {
        let found = events(&server, &reader);
        if found.iter().any(|e| e["label"] == "person") {
            break found;
        }
        assert!(Instant::now() < deadline, "no person event from the camera");
        std::thread::sleep(Duration::from_millis(250));
    };
    // The person, and their face (CenterFace looks inside each person).
    assert!(
        found.iter().any(|e| e["label"] == "face"),
        "a face event too: {found:?}"
    );
    let e = found
        .iter()
        .find(|e| e["label"] == "person")
        .expect("the person event");
    assert_eq!(
        (e["camera"].as_str(), e["label"].as_str()),
        (Some("door-1"), Some("person")),
        "{e}"
    );
    assert!(e["best_score"].as_f64().unwrap() > 0.4, "{e}");
    assert_eq!(
        e["zones"],
        serde_json::json!(["left-half"]),
        "it walked through the left half: {e}"
    );
    let start = time::OffsetDateTime::parse(
        e["start"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let end = time::OffsetDateTime::parse(
        e["end"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let seconds = (end - start).as_seconds_f64();
    assert!(
        (3.0..=5.0).contains(&seconds),
        "about 4 s in view: {seconds} s"
    );
    let id = e["id"].as_str().unwrap().to_owned();
    let one = get_with(&server, &format!("/v1/events/{id}"), &reader);
    assert_eq!(one.status, 200, "{}", one.body);
    let cameras = get_with(&server, "/v1/cameras", &reader);
    let cameras: serde_json::Value = serde_json::from_str(&cameras.body).expect("json");
    assert!(
        cameras["cameras"][0]["events"].as_u64() >= Some(1),
        "the camera counts the event: {cameras}"
    );
    // A caller whose scope names other devices does not see the camera.
    let theirs = get_with(&server, "/v1/cameras", &elsewhere);
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(
        !theirs.body.contains("door-1"),
        "another device scope sees no door-1: {}",
        theirs.body
    );
    // An unknown id is 404; structure-only keeps no snapshot.
    assert_eq!(get_with(&server, "/v1/events/nope", &reader).status, 404);
    let snap = get_with(&server, &format!("/v1/events/{id}/snapshot"), &reader);
    assert_eq!(snap.status, 404, "{}", snap.body);
    assert!(snap.body.contains("no_snapshot"), "{}", snap.body);
    server.stop();

    // Audited under the camera's name, and kept across a restart.
    let audited = audit_entries(&data)
        .into_iter()
        .filter(|a| a["action"] == "cameras.event" && a["actor"] == "source:door-1")
        .count();
    assert!(audited >= 1, "the event is audited");
    let server = Server::start_with_config(&data, "");
    let again = events(&server, &reader);
    assert!(
        again.iter().any(|e| e["id"] == id.as_str()),
        "the event survives a restart"
    );
    server.stop();

    // Structure-only: events and metadata, no picture anywhere.
    for file in files(&data) {
        let bytes = std::fs::read(&file).expect("read");
        if let Some(what) = picture_bytes(&bytes) {
            panic!("{} holds {what}", file.display());
        }
    }
}

#[test]
fn the_picture_scan_finds_a_picture_where_there_is_one() {
    // The scan above would pass on an empty folder: it must see a decoded
    // row of the grey scene, and image files.
    let mut row = vec![0u8; 100];
    row.extend(std::iter::repeat_n(120u8, 640));
    assert_eq!(picture_bytes(&row), Some("a row of grey pixels"));
    assert_eq!(
        picture_bytes(&[1, 2, 0xFF, 0xD8, 0xFF, 0xE0]),
        Some("a JPEG signature")
    );
    assert_eq!(
        picture_bytes(b"xx\x89PNG\r\n\x1a\nyy"),
        Some("a PNG signature")
    );
    assert_eq!(picture_bytes(&[0u8; 4096]), None);
}

#[test]
fn lensguard_cameras_says_which_camera_answers_and_why_another_does_not() {
    let _turn = crate::common::camera_turn();
    let Some(rtsp) = RtspServer::start(&["ball=ball"], 0, None) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // A port nothing listens on: bound, then released.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let config = tmp.path().join("service.toml");
    std::fs::write(
        &config,
        format!(
            "[[cameras]]\nname = \"dock-1\"\ndetect_url = {:?}\n\n[[cameras]]\nname = \"gone\"\ndetect_url = \"rtsp://127.0.0.1:{free}/x\"\n",
            rtsp.url("ball")
        ),
    )
    .expect("config");
    let run = |config: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
            .args(["cameras", "--seconds", "3", "--config"])
            .arg(config)
            .output()
            .expect("run lensguard cameras")
    };
    let out = run(&config);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one camera is down: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("dock-1: up; 640x360;"), "{text}");
    assert!(
        lines[1].starts_with("gone: down;") && lines[1].contains("unreachable"),
        "{text}"
    );
    let empty = tmp.path().join("empty.toml");
    std::fs::write(&empty, "").expect("config");
    let out = run(&empty);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("configures no camera"));
}
