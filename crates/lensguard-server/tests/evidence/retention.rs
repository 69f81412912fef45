//! The data policy on the running service: under the default policy a
//! submitted photo's original is gone after the verdict, the redacted images
//! and the result expire on schedule (a simulated clock through
//! `lensguard retention sweep --now`), every deletion has a receipt that
//! `lensguard audit verify` accepts, and the clock guard pauses a jump. Under
//! `inspection-line` a failed photo's original is kept, read only with a
//! reason, and a legal hold stops its erasure until lifted.

use crate::common::{
    Server, audit_entries, create_key, files_holding, get_with, lensguard, send, text,
};
use lensguard_testkit::samples_dir;
use std::path::Path;

fn submit(server: &Server, token: &str, photo: &[u8], device: &str) -> serde_json::Value {
    crate::common::submit_photo(server, token, photo, device)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// `lensguard retention sweep --now T`: (exit code, stdout).
fn sweep(data: &Path, now: time::OffsetDateTime, extra: &[&str]) -> (i32, String) {
    let mut args = vec![
        "retention",
        "sweep",
        "--data-dir",
        data.to_str().expect("utf8"),
    ];
    let now = rfc3339(now);
    args.extend(["--now", &now]);
    args.extend_from_slice(extra);
    let out = lensguard(&args);
    (
        out.status.code().unwrap_or(-1),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// Puts the built-in `inspection-line` policy in force for the service on `data`.
fn use_inspection_line(data: &Path) {
    let policy = lensguard_core::Policy::builtin("inspection-line").expect("profile");
    std::fs::write(data.join("policy.toml"), policy.to_toml()).expect("policy");
}

fn receipts(data: &Path) -> Vec<serde_json::Value> {
    audit_entries(data)
        .into_iter()
        .filter(|e| e["receipt"].is_object())
        .collect()
}

fn verify(data: &Path) {
    let out = lensguard(&[
        "audit",
        "verify",
        "--data-dir",
        data.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn the_default_policy_holds_on_the_running_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let writer = create_key(&data, &["inspections:write"], &[]);
    let reader = create_key(&data, &["inspections:read"], &[]);
    let server = Server::start(&data, &[]);
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let submitted_at = time::OffsetDateTime::now_utc();
    let body = submit(&server, &writer, &photo, "van-17");
    let id = body["id"].as_str().expect("id").to_owned();
    let derived = body["redaction"]["status"] == "redacted";
    // Without the models only the result is kept; CI has them, so there the
    // images' expiry is always checked too.
    assert!(
        derived || std::env::var("CI").as_deref() != Ok("true"),
        "no redacted image under CI=true: {body}"
    );
    assert_eq!(
        get_with(&server, &format!("/v1/inspections/{id}"), &reader).status,
        200
    );
    drop(server);

    // The original is gone: no blob of it, and no run of its bytes anywhere.
    let probe = &photo[photo.len() / 2..photo.len() / 2 + 64];
    assert_eq!(
        files_holding(&data, probe),
        Vec::<std::path::PathBuf>::new()
    );
    let blobs = files_holding(&data.join("vault"), b"LGV1");
    assert_eq!(blobs.len(), if derived { 2 } else { 0 }, "{blobs:?}");

    // Simulated clock, one sweep every two days (as the service would).
    let day = time::Duration::days(1);
    let mut deleted_at = Vec::new();
    for days in (2..=32).step_by(2) {
        let (code, out) = sweep(
            &data,
            submitted_at + day * days + time::Duration::hours(1),
            &[],
        );
        assert_eq!(code, 0, "{out}");
        let n: usize = out
            .lines()
            .last()
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("count");
        if n > 0 {
            deleted_at.push((days, n));
        }
    }
    let expected = if derived {
        vec![(8, 2), (30, 1)]
    } else {
        vec![(30, 1)]
    };
    assert_eq!(
        deleted_at, expected,
        "(day, deletions): images after 7 days, the result after 30"
    );

    let receipts = receipts(&data);
    let mut categories: Vec<&str> = receipts
        .iter()
        .map(|r| r["receipt"]["category"].as_str().expect("category"))
        .collect();
    categories.sort_unstable();
    let want: Vec<&str> = if derived {
        vec!["redacted", "result", "thumbnail"]
    } else {
        vec!["result"]
    };
    assert_eq!(categories, want);
    for r in &receipts {
        assert_eq!(r["action"], "retention.delete");
        assert_eq!(r["receipt"]["inspection"], id.as_str());
        assert_eq!(r["receipt"]["policy"], "proof-of-delivery@1");
        assert_eq!(
            r["receipt"]["content_sha256"].as_str().map(str::len),
            Some(64)
        );
    }
    assert!(files_holding(&data.join("vault"), b"LGV1").is_empty());
    verify(&data);

    // A clock suddenly 8 days ahead pauses deletion until accepted.
    let leap = submitted_at + day * 40;
    let (code, out) = sweep(&data, leap, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("PAUSED"), "{out}");
    let (code, out) = sweep(&data, leap, &["--accept-clock-jump"]);
    assert_eq!(code, 0, "{out}");
    let actions: Vec<String> = audit_entries(&data)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(actions.contains(&"retention.clock_jump".to_owned()));
    assert!(actions.contains(&"retention.clock_accepted".to_owned()));

    let server = Server::start(&data, &[]);
    assert_eq!(
        get_with(&server, &format!("/v1/inspections/{id}"), &reader).status,
        404
    );
    drop(server);
    verify(&data);
}

#[test]
fn inspection_line_keeps_failed_originals_behind_a_reason_and_holds_stop_erasure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let writer = create_key(&data, &["inspections:write"], &[]);
    let viewer = create_key(&data, &["inspections:read"], &[]);
    let investigator = create_key(&data, &["evidence:read-original"], &[]);
    let officer = create_key(&data, &["evidence:manage", "inspections:read"], &[]);
    use_inspection_line(&data);
    let server = Server::start(&data, &[]);
    let failing = std::fs::read(samples_dir().join("low-resolution.jpg")).expect("sample");
    let passing = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let failed = submit(&server, &writer, &failing, "line-3");
    assert_eq!(failed["verdict"], "fail", "{failed}");
    let passed = submit(&server, &writer, &passing, "line-3");
    let (failed, passed) = (
        failed["id"].as_str().expect("id").to_owned(),
        passed["id"].as_str().expect("id").to_owned(),
    );
    let original = |id: &str, query: &str, token: &str| {
        get_with(
            &server,
            &format!("/v1/inspections/{id}/original{query}"),
            token,
        )
    };
    // Kept for the failure only, and only read with a reason.
    assert_eq!(original(&failed, "", &investigator).status, 400);
    let got = original(&failed, "?reason=QA%20ticket%204711", &investigator);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.raw, failing, "the original, byte for byte");
    assert_eq!(
        original(&passed, "?reason=curious", &investigator).status,
        404
    );
    assert_eq!(original(&failed, "?reason=curious", &viewer).status, 403);
    assert!(
        files_holding(&data, &failing[200..264]).is_empty(),
        "sealed at rest"
    );

    // A hold on the device beats an erasure request until it is lifted.
    let auth = format!("Bearer {officer}");
    let json = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let hold = send(
        &server,
        "POST",
        "/v1/holds",
        &json,
        br#"{"device": "line-3", "reason": "supplier dispute"}"#.to_vec(),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold_id = serde_json::from_str::<serde_json::Value>(&hold.body).expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let erase = || {
        let r = send(
            &server,
            "POST",
            "/v1/erasure",
            &json,
            br#"{"device": "line-3"}"#.to_vec(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        serde_json::from_str::<serde_json::Value>(&r.body).expect("json")
    };
    let held = erase();
    assert_eq!(held["deleted"].as_array().map(Vec::len), Some(0), "{held}");
    assert!(held["held"].as_u64().expect("held") >= 3, "{held}");
    let lift = send(
        &server,
        "DELETE",
        &format!("/v1/holds/{hold_id}"),
        &json,
        vec![],
    );
    assert_eq!(lift.status, 204);
    let erased = erase();
    let deleted = erased["deleted"].as_array().expect("deleted");
    assert!(
        deleted.iter().any(|r| r["category"] == "original"),
        "{erased}"
    );
    assert!(
        deleted
            .iter()
            .any(|r| r["object"] == format!("inspection:{failed}"))
    );
    assert_eq!(
        get_with(&server, &format!("/v1/inspections/{failed}"), &officer).status,
        404
    );
    assert_eq!(
        original(&failed, "?reason=again", &investigator).status,
        404
    );
    drop(server);

    let entries = audit_entries(&data);
    let read = entries
        .iter()
        .find(|e| e["action"] == "evidence.read_original")
        .expect("the read is audited");
    // The stated reason is free text: the log keeps its keyed pseudonym.
    let pseudonym = lensguard(&[
        "audit",
        "pseudonym",
        "QA ticket 4711",
        "--data-dir",
        data.to_str().expect("utf8"),
    ]);
    assert_eq!(
        read["reason"].as_str(),
        Some(format!("reason {}", text(&pseudonym.stdout).trim()).as_str())
    );
    for action in [
        "hold.place",
        "hold.lift",
        "erasure.request",
        "erasure.delete",
    ] {
        assert!(
            entries.iter().any(|e| e["action"] == action),
            "{action} audited"
        );
    }
    assert!(
        files_holding(&data.join("vault"), b"LGV1").is_empty(),
        "everything from line-3 is gone"
    );
    verify(&data);
}

/// The same operations from the command line on a stopped service's data
/// directory: reading an original needs a reason, KEK rotation re-wraps and
/// retires, holds beat erasure until lifted.
#[test]
fn the_vault_commands_work_on_a_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let d = data.to_str().expect("utf8").to_owned();
    let writer = create_key(&data, &["inspections:write"], &[]);
    use_inspection_line(&data);
    let server = Server::start(&data, &[]);
    let failing = std::fs::read(samples_dir().join("low-resolution.jpg")).expect("sample");
    let id = submit(&server, &writer, &failing, "line-9")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    drop(server);
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", &d]);
        let out = lensguard(&all);
        (
            out.status.success(),
            format!("{}{}", text(&out.stdout), text(&out.stderr)),
        )
    };
    let out_file = dir.path().join("original.jpg");
    let o = out_file.to_str().expect("utf8");
    let (ok, said) = run(&["evidence", "get", &id, "--kind", "original", "--out", o]);
    assert!(!ok && said.contains("--reason"), "{said}");
    let get = |file: &str| {
        run(&[
            "evidence",
            "get",
            &id,
            "--kind",
            "original",
            "--reason",
            "audit sample",
            "--out",
            file,
        ])
    };
    let (ok, said) = get(o);
    assert!(ok, "{said}");
    assert_eq!(std::fs::read(&out_file).expect("written"), failing);

    let (ok, said) = run(&["keys", "rotate-kek"]);
    assert!(
        ok && said.contains("started KEK original v2") && said.contains("original v1"),
        "{said}"
    );
    let again = dir.path().join("again.jpg");
    let (ok, said) = get(again.to_str().expect("utf8"));
    assert!(ok, "readable after rotation: {said}");
    let (ok, said) = run(&["keys", "rotate-kek", "--resume"]);
    assert!(ok && said.contains("0 data keys re-wrapped"), "{said}");

    let (ok, said) = run(&[
        "retention",
        "hold",
        "--inspection",
        &id,
        "--reason",
        "complaint 12",
    ]);
    assert!(ok, "{said}");
    let hold = said.split_whitespace().nth(1).expect("hold id").to_owned();
    let (ok, said) = run(&["retention", "holds"]);
    assert!(
        ok && said.contains(&hold) && said.contains("active"),
        "{said}"
    );
    let (ok, said) = run(&["erase", "--device", "line-9"]);
    assert!(
        ok && said.contains("0 deleted") && said.contains("kept under legal hold"),
        "{said}"
    );
    let (ok, said) = run(&["retention", "lift", &hold]);
    assert!(ok, "{said}");
    let (ok, said) = run(&["erase", "--device", "line-9"]);
    assert!(
        ok && said.contains(&format!("deleted inspection:{id}")),
        "{said}"
    );
    let (ok, said) = get(dir.path().join("gone.jpg").to_str().expect("utf8"));
    assert!(!ok && said.contains("no original image is kept"), "{said}");
    let reads = audit_entries(&data)
        .into_iter()
        .filter(|e| e["action"] == "evidence.read_original")
        .count();
    assert_eq!(reads, 2, "each read is audited");
    verify(&data);
}

/// A device's erasure leaves its id nowhere in the data directory: the
/// audit log names devices, user names and reasons only by their keyed
/// pseudonyms (which `lensguard audit pseudonym` computes for a search), and
/// the rows that held it are gone from the database, its free pages and WAL.
#[test]
fn after_erasure_the_device_id_appears_nowhere_in_the_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let d = data.to_str().expect("utf8").to_owned();
    let device = "van-12-erasure-canary";
    let writer = create_key(&data, &["inspections:write"], &[]);
    let server = Server::start(&data, &[]);
    let photo = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    submit(&server, &writer, &photo, device);
    submit(&server, &writer, &photo, device);
    drop(server);
    assert!(
        !files_holding(&data, device.as_bytes()).is_empty(),
        "the canary is stored before the erasure"
    );
    let hold = lensguard(&[
        "retention",
        "hold",
        "--device",
        device,
        "--reason",
        "claim 881 for van-12",
        "--data-dir",
        &d,
    ]);
    assert!(hold.status.success(), "{}", text(&hold.stderr));
    let hold_id = text(&hold.stdout)
        .split_whitespace()
        .nth(1)
        .expect("hold id")
        .to_owned();
    let lift = lensguard(&["retention", "lift", &hold_id, "--data-dir", &d]);
    assert!(lift.status.success(), "{}", text(&lift.stderr));
    let out = lensguard(&["erase", "--device", device, "--data-dir", &d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("deleted"),
        "{}",
        text(&out.stdout)
    );

    let log = std::fs::read_to_string(data.join("audit/log.jsonl")).expect("log");
    assert!(
        !log.contains(device) && !log.contains("claim 881"),
        "clear text in the audit log"
    );
    let pseudonym = lensguard(&["audit", "pseudonym", device, "--data-dir", &d]);
    let pseudonym = text(&pseudonym.stdout).trim().to_owned();
    assert!(pseudonym.starts_with("hmac:"), "{pseudonym}");
    let naming: Vec<String> = audit_entries(&data)
        .iter()
        .filter(|e| e.to_string().contains(&pseudonym))
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        naming,
        [
            "inspections.submit",
            "inspections.submit",
            "hold.place",
            "erasure.request"
        ],
        "an auditor finds the device's entries by its pseudonym"
    );
    // Not in the database (rows, free pages, WAL), not in a blob, not in a
    // lifted hold's record (which keeps pseudonyms once its device is erased).
    let holders = files_holding(&data, device.as_bytes());
    assert!(holders.is_empty(), "{device} is still in {holders:?}");
    let holders = files_holding(&data, b"claim 881");
    assert!(
        holders.is_empty(),
        "the hold's reason is still in {holders:?}"
    );
    let holds = lensguard(&["retention", "holds", "--data-dir", &d]);
    assert!(
        text(&holds.stdout).contains(&format!("device:{pseudonym}")),
        "{}",
        text(&holds.stdout)
    );
    verify(&data);

    // A second erasure finds nothing, says so and fails.
    let out = lensguard(&["erase", "--device", device, "--data-dir", &d]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("nothing is kept from this device"));
}
