//! The redacted derivative through the service: made in the inspection
//! pipeline with the real models, sealed in the evidence vault, served
//! without metadata, audited when read; and withheld, with no pixels stored,
//! when a model is missing.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{Server, audit_actions, create_key, get_with, send};
use lensguard_core::Limits;
use lensguard_testkit::fetched::{models_dir, photo};
use lensguard_testkit::samples_dir;
use lensguard_vision::decode::decode_rgb;
use std::path::Path;

/// How a JPEG written by lensguard's encoder begins (SOI, then JFIF APP0).
const JFIF: &[u8] = b"\xFF\xD8\xFF\xE0\x00\x10JFIF";

fn submit(server: &Server, token: &str, content_type: &str, body: Vec<u8>) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    let r = send(
        server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", content_type)],
        body,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    serde_json::from_str(&r.body).expect("json")
}

/// Whether any file under `dir` holds `needle`.
fn any_file_holds(dir: &Path, needle: &[u8]) -> bool {
    walk(dir)
        .iter()
        .any(|f| std::fs::read(f).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)))
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[test]
fn the_service_hides_the_face_and_serves_a_copy_without_metadata() {
    let Some(astronaut) = photo("astronaut.png") else {
        return;
    };
    if lensguard_testkit::fetched::model("centerface.onnx").is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let writer = create_key(&data, &["inspections:write"], &[]);
    let reader = create_key(&data, &["inspections:read"], &[]);
    let models = models_dir();
    let server = Server::start(&data, &["--models", models.to_str().expect("utf8")]);

    let body = submit(&server, &writer, "image/png", astronaut.clone());
    assert_eq!(body["redaction"]["status"], "redacted", "{body}");
    assert_eq!(body["redaction"]["faces"], 1, "{body}");
    let face = &body["detections"]["faces"][0];
    let id = body["id"].as_str().expect("id");
    let got = get_with(&server, &format!("/v1/inspections/{id}/redacted"), &reader);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.header("content-type").as_deref(), Some("image/jpeg"));
    assert!(got.raw.starts_with(JFIF));
    let limits = Limits::default();
    let redacted = decode_rgb(&got.raw, &limits).expect("a JPEG").frame;
    let original = decode_rgb(&astronaut, &limits).expect("png").frame;
    // Inside the face box the copy is far from the original.
    let (x, y) = (
        face["x"].as_u64().unwrap() as usize,
        face["y"].as_u64().unwrap() as usize,
    );
    let (w, h) = (
        face["width"].as_u64().unwrap() as usize,
        face["height"].as_u64().unwrap() as usize,
    );
    let mut diff = 0u64;
    for yy in y..y + h {
        for xx in x..x + w {
            let at = (yy * 512 + xx) * 3;
            for c in 0..3 {
                diff += u64::from(original.pixels()[at + c].abs_diff(redacted.pixels()[at + c]));
            }
        }
    }
    assert!(
        diff as f64 / (w * h * 3) as f64 > 15.0,
        "face barely changed"
    );

    // A photo with GPS in its EXIF: the copy carries no EXIF at all.
    let gps = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    assert!(gps.windows(4).any(|w| w == b"Exif"), "the sample has EXIF");
    let body = submit(&server, &writer, "image/jpeg", gps);
    assert_eq!(
        body["measurements"]["gps"]["lat"].as_f64().map(f64::round),
        Some(52.0),
        "{body}"
    );
    let id = body["id"].as_str().expect("id");
    let got = get_with(&server, &format!("/v1/inspections/{id}/redacted"), &reader);
    assert_eq!(got.status, 200);
    assert!(
        !got.raw.windows(4).any(|w| w == b"Exif"),
        "EXIF left in the copy"
    );
    assert!(
        !got.raw.windows(4).any(|w| w == b"http"),
        "XMP left in the copy"
    );

    // The writer may not read it back; the reader's read is audited.
    let denied = get_with(&server, &format!("/v1/inspections/{id}/redacted"), &writer);
    assert_eq!(denied.status, 403);
    drop(server);
    assert!(audit_actions(&data).contains(&("evidence.read".into(), "success".into())));
    // Stored sealed: a derivative and a thumbnail blob per photo, and no
    // plaintext JPEG anywhere in the data directory.
    let blobs = walk(&data.join("vault"));
    assert_eq!(blobs.len(), 4, "{blobs:?}");
    assert!(
        !any_file_holds(&data, JFIF),
        "a derivative is stored unsealed"
    );
}

#[test]
fn without_a_model_the_verdict_stands_and_no_pixels_are_kept_or_served() {
    let Some(astronaut) = photo("astronaut.png") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let empty = dir.path().join("no-models");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let writer = create_key(&data, &["inspections:write"], &[]);
    let reader = create_key(&data, &["inspections:read"], &[]);
    let server = Server::start(&data, &["--models", empty.to_str().expect("utf8")]);

    let body = submit(&server, &writer, "image/png", astronaut);
    assert_eq!(
        body["verdict"], "fail",
        "low resolution still judged: {body}"
    );
    assert_eq!(body["redaction"]["status"], "withheld", "{body}");
    assert_eq!(body["redaction"]["code"], "model_unavailable", "{body}");
    let id = body["id"].as_str().expect("id");
    let got = get_with(&server, &format!("/v1/inspections/{id}/redacted"), &reader);
    assert_eq!(got.status, 404);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&got.body).expect("json")["code"],
        "no_evidence"
    );
    drop(server);
    assert!(!any_file_holds(&data, JFIF), "pixels were stored");
    assert!(
        !any_file_holds(&data, b"\x89PNG"),
        "the original was stored"
    );
}
