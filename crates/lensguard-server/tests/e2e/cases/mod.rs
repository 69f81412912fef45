//! Evidence cases end to end: a photo and a camera's footage (GStreamer's
//! RTSP server on 127.0.0.1) go into a case, are exported as a bundle with
//! the real binary, and the bundle verifies with `lensguard case verify`,
//! `sha256sum -c` and c2pa-python (the C2PA reference SDK, an independent
//! reader). Then each kind of tampering is caught: a flipped byte in any
//! file, a removed audit entry (with the sums rewritten to match), a
//! swapped checkpoint, and a C2PA manifest moved onto another picture. A
//! closed case's evidence can be deleted; its next export says so, with
//! the receipts.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

mod bundle_tools;
mod live;

use crate::common::{Server, create_key, get_with, lensguard, send, text, tool_available};
use bundle_tools::{
    c2pa_python, copy_dir, customer_signer, export_args, flip, split_app11, sums_rewritten, verify,
};
use lensguard_testkit::rtsp_server::RtspServer;
use live::live_view_is_redacted;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn submit(server: &Server, token: &str, photo: &[u8], device: &str) -> String {
    crate::common::submit_photo(server, token, photo, device)["id"]
        .as_str()
        .expect("an id")
        .to_owned()
}

/// `args` as the `&str`s `lensguard` takes.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn run_ok(args: &[&str]) -> String {
    let out = lensguard(args);
    assert!(
        out.status.success(),
        "lensguard {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn a_case_bundle_verifies_offline_and_every_kind_of_tampering_is_caught() {
    let Some(photo) = lensguard_testkit::fetched::photo("grace_hopper.jpg") else {
        return;
    };
    if !tool_available("sha256sum", "coreutils") {
        return;
    }
    let portrait = lensguard_testkit::fetched::cache_dir().join("testdata/grace_hopper.jpg");
    let walk = format!("walk=crossing:{}", portrait.display());
    let _turn = crate::common::camera_turn();
    let Some(rtsp) = RtspServer::start(&[walk.as_str()], 0, None) else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let d = data.to_str().unwrap();
    let token = create_key(
        &data,
        &[
            "inspections:write",
            "inspections:read",
            "evidence:read-original",
        ],
        &[],
    );
    let manager = create_key(&data, &["cases:manage", "cases:read"], &[]);
    let mask = "[[cameras.masks]]\npoints = [[0.0, 0.0], [0.25, 0.0], [0.25, 0.25], [0.0, 0.25]]\n";
    let config = format!(
        "[[cameras]]\nname = \"door-1\"\ndetect_url = {walk:?}\nrecord_url = {walk:?}\nmode = \"events\"\n{mask}\
         [cameras.recording]\nsegment_seconds = 2\npre_roll_seconds = 2\npost_roll_seconds = 2\n",
        walk = rtsp.url("walk"),
    );
    let config_file = tmp.path().join("lensguard.toml");
    std::fs::write(&config_file, &config).unwrap();
    let cfg = config_file.to_str().unwrap();
    let server = Server::start_with_config(&data, &config);
    let kept = submit(&server, &token, &photo, "van-17");
    let erased_later = submit(&server, &token, &photo, "van-9");
    let start = Instant::now();
    let segments = loop {
        let r = get_with(&server, "/v1/cameras/door-1/segments", &token);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        let list = v["segments"].as_array().cloned().unwrap_or_default();
        if !list.is_empty() {
            break list;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no event footage: {}",
            r.body
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let segment = segments[0]["id"].as_str().unwrap().to_owned();
    // An access to the evidence, which the bundle must prove.
    let read = get_with(
        &server,
        &format!("/v1/segments/{segment}/original?reason=claim%2042"),
        &token,
    );
    assert_eq!(read.status, 200, "{}", read.body);
    let (from, to) = (
        segments[0]["start"].as_str().unwrap().to_owned(),
        segments[0]["end"].as_str().unwrap().to_owned(),
    );
    live_view_is_redacted(&server, &token, tmp.path());

    // Over the API: a case with the photo, exported as a tar of the bundle.
    let auth = format!("Bearer {manager}");
    let json = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let opened = send(
        &server,
        "POST",
        "/v1/cases",
        &json,
        br#"{"name": "api case", "reason": "claim 43"}"#.to_vec(),
    );
    assert_eq!(opened.status, 201, "{}", opened.body);
    let api_case = serde_json::from_str::<serde_json::Value>(&opened.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body =
        serde_json::json!({"inspections": [kept], "camera": "door-1", "from": from, "to": to});
    let added = send(
        &server,
        "POST",
        &format!("/v1/cases/{api_case}/items"),
        &json,
        body.to_string().into_bytes(),
    );
    assert_eq!(added.status, 200, "{}", added.body);
    let shown = get_with(&server, &format!("/v1/cases/{api_case}"), &manager);
    assert!(shown.body.contains(&kept), "{}", shown.body);
    let tar = send(
        &server,
        "POST",
        &format!("/v1/cases/{api_case}/export"),
        &json,
        Vec::new(),
    );
    assert_eq!(tar.status, 200, "{}", tar.body);
    assert_eq!(
        tar.header("content-type").as_deref(),
        Some("application/x-tar")
    );
    let unpacked = tmp.path().join("from-api");
    tar::Archive::new(&tar.raw[..])
        .unpack(&unpacked)
        .expect("a tar archive");
    let api_bundle = unpacked.join(format!("case-{api_case}"));
    assert!(api_bundle.join("MANIFEST.sha256").exists());
    assert!(
        !data.join("case-exports").read_dir().unwrap().any(|_| true),
        "nothing is left behind"
    );
    // Closing lifts the hold; a closed case takes nothing more.
    let closed = send(
        &server,
        "POST",
        &format!("/v1/cases/{api_case}/close"),
        &json,
        Vec::new(),
    );
    assert_eq!(closed.status, 204, "{}", closed.body);
    let refused = send(
        &server,
        "POST",
        &format!("/v1/cases/{api_case}/items"),
        &json,
        body.to_string().into_bytes(),
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    server.stop();

    // A case with the photos and the camera's footage of that time.
    let case = run_ok(&[
        "case",
        "open",
        "--data-dir",
        d,
        "--name",
        "door incident",
        "--reason",
        "claim 42",
    ])
    .trim()
    .to_owned();
    let added = run_ok(&[
        "case",
        "add",
        &case,
        "--data-dir",
        d,
        "--inspection",
        &kept,
        "--inspection",
        &erased_later,
    ]);
    assert!(added.starts_with("added 2 of 2"), "{added}");
    let added = run_ok(&[
        "case",
        "add",
        &case,
        "--data-dir",
        d,
        "--camera",
        "door-1",
        "--from",
        &from,
        "--to",
        &to,
    ]);
    assert!(!added.starts_with("added 0"), "{added}");
    let nothing = lensguard(&[
        "case",
        "add",
        &case,
        "--data-dir",
        d,
        "--camera",
        "door-1",
        "--from",
        "2001-01-01T00:00:00Z",
        "--to",
        "2001-01-02T00:00:00Z",
    ]);
    assert_eq!(nothing.status.code(), Some(1), "{}", text(&nothing.stdout));

    let bundle = tmp.path().join("bundle");
    let b = bundle.to_str().unwrap();
    let exported = run_ok(&strs(&export_args(&case, d, cfg, &bundle, None)));
    let key = exported
        .lines()
        .find_map(|l| l.strip_prefix("audit public key "))
        .expect("the export names the audit key")
        .to_owned();
    let anchor = data.join("evidence-signing/ca.pem");
    let (ok, report) = verify(&bundle, &key, &anchor);
    assert!(ok, "{report}");
    assert!(!report.contains("not checked"), "{report}");
    let (ok, report) = verify(&api_bundle, &key, &anchor);
    assert!(ok, "the API's bundle: {report}");

    // What is in it: the photo and the clip, redacted and signed; the
    // access and the additions, proven.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let media: Vec<PathBuf> = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["files"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["c2pa"] == true)
        .map(|f| bundle.join(f["path"].as_str().unwrap()))
        .collect();
    let clip = media
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "mp4"))
        .expect("a clip")
        .clone();
    assert!(
        media
            .iter()
            .any(|p| p.to_string_lossy().contains("inspection-")),
        "{media:?}"
    );
    let entries = std::fs::read_to_string(bundle.join("audit/entries.jsonl")).unwrap();
    assert!(entries.contains("footage.read_original"), "{entries}");
    assert!(entries.contains("case.add"), "{entries}");
    if let Some(probed) = lensguard_testkit::ffprobe::probe(&clip) {
        let probed = probed.expect("the clip decodes");
        assert_eq!(probed.codec, "h264");
        assert_eq!(Some(probed.frames), segments[0]["pictures"].as_u64());
    }
    let pictures = crate::pictures::decoded(&std::fs::read(&clip).unwrap());
    assert_eq!(
        Some(pictures.len() as u64),
        segments[0]["pictures"].as_u64()
    );
    for (t, frame) in pictures.iter().enumerate() {
        let corner = crate::pictures::masked_corner(frame);
        assert!(
            corner < 24,
            "picture {t}: the masked corner shows ({corner})"
        );
    }
    let sums = Command::new("sha256sum")
        .args(["-c", "--quiet", "MANIFEST.sha256"])
        .current_dir(&bundle)
        .output()
        .expect("sha256sum runs");
    assert!(sums.status.success(), "{}", text(&sums.stdout));
    let independent = c2pa_python(&anchor, &media);
    if let Some(lines) = &independent {
        assert_eq!(lines.len(), media.len(), "{lines:?}");
        assert!(
            lines.iter().all(|l| l.split(' ').nth(1) == Some("Trusted")),
            "{lines:?}"
        );
    }

    // Tampering, each on a fresh copy.
    let case_of = |name: &str, tamper: &dyn Fn(&Path)| -> String {
        let copy = tmp.path().join(name);
        copy_dir(&bundle, &copy);
        tamper(&copy);
        let (ok, report) = verify(&copy, &key, &anchor);
        assert!(!ok, "{name} was not caught:\n{report}");
        report
    };
    let rel = |p: &Path| p.strip_prefix(&bundle).unwrap().to_owned();
    let clip_rel = rel(&clip);
    let report = case_of("flipped-clip", &|b| flip(&b.join(&clip_rel), 200));
    assert!(
        report.contains(&format!(
            "{}: its SHA-256 is not the one listed",
            clip_rel.display()
        )),
        "{report}"
    );
    assert!(report.contains("FAIL C2PA manifests"), "{report}");
    if independent.is_some() {
        let copy = tmp.path().join("flipped-clip").join(&clip_rel);
        let lines = c2pa_python(&anchor, &[copy]).unwrap();
        assert!(
            !lines[0].contains(" Trusted"),
            "c2pa-python missed the flipped byte: {lines:?}"
        );
    }
    for file in [
        "manifest.json",
        "audit/entries.jsonl",
        "audit/proofs.jsonl",
        "audit/export.json",
        "README.md",
    ] {
        let report = case_of(&format!("flipped-{}", file.replace('/', "-")), &|b| {
            flip(&b.join(file), 40)
        });
        assert!(report.contains("FAIL"), "{file}: {report}");
    }
    let report = case_of("entry-removed", &|b| {
        let path = b.join("audit/entries.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains("footage.read_original"))
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        sums_rewritten(b);
    });
    assert!(
        report.contains("MANIFEST.sha256 is not the file the installation exported"),
        "{report}"
    );
    assert!(report.contains("the manifest says"), "{report}");
    let report = case_of("checkpoint-swapped", &|b| {
        let older = std::fs::read_to_string(data.join("audit/checkpoints.jsonl")).unwrap();
        let first: serde_json::Value = serde_json::from_str(older.lines().next().unwrap()).unwrap();
        std::fs::write(b.join("audit/checkpoint.json"), first.to_string()).unwrap();
    });
    assert!(report.contains("is not in the signed log"), "{report}");
    let photo_rel = rel(media
        .iter()
        .find(|p| p.to_string_lossy().contains("inspection-"))
        .unwrap());
    let other_rel = rel(media
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "jpg") && !p.to_string_lossy().contains(&kept))
        .expect("a second picture"));
    let report = case_of("manifest-moved", &|b| {
        let (manifest_of_photo, _) = split_app11(&std::fs::read(b.join(&photo_rel)).unwrap());
        let (_, other_pixels) = split_app11(&std::fs::read(b.join(&other_rel)).unwrap());
        let mut moved = other_pixels[..2].to_vec();
        moved.extend_from_slice(&manifest_of_photo);
        moved.extend_from_slice(&other_pixels[2..]);
        std::fs::write(b.join(&other_rel), moved).unwrap();
        sums_rewritten(b);
    });
    assert!(
        report.contains(&format!("{}: C2PA manifest invalid", other_rel.display())),
        "{report}"
    );
    if independent.is_some() {
        let moved = tmp.path().join("manifest-moved").join(&other_rel);
        let lines = c2pa_python(&anchor, &[moved]).unwrap();
        assert!(
            !lines[0].contains(" Trusted"),
            "c2pa-python missed the moved manifest: {lines:?}"
        );
    }

    // Signed with a customer's certificate instead: it verifies against the
    // customer's CA, and without an anchor nothing can trust its signer.
    let customer = tmp.path().join("customer");
    std::fs::create_dir_all(&customer).unwrap();
    let theirs = tmp.path().join("customer-bundle");
    // A certificate outside the C2PA profile (no organisation) is refused,
    // and nothing is written.
    let (_, chain_pem, key_pem) = customer_signer(None);
    std::fs::write(customer.join("chain.pem"), chain_pem).unwrap();
    std::fs::write(customer.join("key.pem"), key_pem).unwrap();
    let refused = lensguard(&strs(&export_args(&case, d, cfg, &theirs, Some(&customer))));
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("must meet the C2PA profile"),
        "{}",
        text(&refused.stderr)
    );
    assert!(!theirs.exists());
    let (ca_pem, chain_pem, key_pem) = customer_signer(Some("Customer Ltd"));
    std::fs::write(customer.join("ca.pem"), ca_pem).unwrap();
    std::fs::write(customer.join("chain.pem"), chain_pem).unwrap();
    std::fs::write(customer.join("key.pem"), key_pem).unwrap();
    run_ok(&strs(&export_args(&case, d, cfg, &theirs, Some(&customer))));
    let (ok, report) = verify(&theirs, &key, &customer.join("ca.pem"));
    assert!(ok, "the customer's bundle: {report}");
    let (ok, report) = verify(&theirs, &key, &anchor);
    assert!(
        !ok && report.contains("FAIL C2PA manifests"),
        "another CA: {report}"
    );
    let out = lensguard(&[
        "case",
        "verify",
        theirs.to_str().unwrap(),
        "--audit-key",
        &key,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("no C2PA signer can be trusted"),
        "{}",
        text(&out.stdout)
    );

    // Without the installation's keys, the report says what it did not check.
    let out = lensguard(&["case", "verify", b]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout)
            .contains("not checked: the checkpoint was checked with the bundle's own copy")
    );

    // Closed, the case holds nothing: erasing a device deletes its photo,
    // and the next export says so with the receipts.
    run_ok(&["case", "close", &case, "--data-dir", d]);
    run_ok(&["erase", "--data-dir", d, "--device", "van-9"]);
    let again = tmp.path().join("again");
    run_ok(&strs(&export_args(&case, d, cfg, &again, None)));
    let (ok, report) = verify(&again, &key, &anchor);
    assert!(ok, "{report}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(again.join("manifest.json")).unwrap()).unwrap();
    let item = manifest["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == erased_later.as_str())
        .unwrap();
    assert_eq!(item["status"], "deleted", "{item}");
    let receipts = std::fs::read_to_string(again.join("receipts/deletions.jsonl")).unwrap();
    assert!(receipts.contains(&erased_later), "{receipts}");
    let out = lensguard(&[
        "case",
        "export",
        &case,
        "--data-dir",
        d,
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "an existing folder is not overwritten"
    );
}
