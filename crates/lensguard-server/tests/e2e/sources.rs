//! Watched folders: every file dropped is inspected exactly once, through a
//! SIGKILL of the service and a restart, and nothing is left behind.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{Server, audit_entries, create_key, get_with};
use lensguard_testkit::{bad_input_dir, samples_dir};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Writes `bytes` as `dir/name` the way an uploader should: under a
/// temporary dot-name, then renamed into place.
fn drop_file(dir: &Path, name: &str, bytes: &[u8]) {
    let part = dir.join(format!(".{name}.part"));
    std::fs::write(&part, bytes).expect("write");
    std::fs::rename(&part, dir.join(name)).expect("rename");
}

fn config(drop: &Path, extra: &str) -> String {
    format!(
        "[http]\ninspection_workers = 1\n\n[[sources.folder]]\nname = \"line-3\"\npath = {:?}\nsettle_ms = 200\n{extra}",
        drop.to_str().expect("utf8")
    )
}

/// The inspections the line-3 source stored, by verdict.
fn verdicts(server: &Server, reader: &str) -> (usize, BTreeMap<String, usize>) {
    let r = get_with(server, "/v1/inspections?device=line-3&limit=200", reader);
    assert_eq!(r.status, 200, "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
    let items = body["items"].as_array().expect("items");
    let mut ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), items.len(), "an inspection id twice: {}", r.body);
    let mut by = BTreeMap::new();
    for i in items {
        *by.entry(i["verdict"].as_str().unwrap_or("?").to_owned())
            .or_insert(0) += 1;
    }
    (items.len(), by)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_batch_survives_a_sigkill_with_one_inspection_per_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let drop = tmp.path().join("drop");
    std::fs::create_dir(&drop).expect("drop folder");
    let reader = create_key(&data, &["inspections:read"], &[]);
    let sample = |n: &str| std::fs::read(samples_dir().join(n)).expect("sample");
    let bad = |n: &str| std::fs::read(bad_input_dir().join(n)).expect("bad input");
    let kinds: [(&str, Vec<u8>, &str); 5] = [
        ("good", sample("sharp.jpg"), "pass"),
        ("blurred", sample("blurred.jpg"), "retry"),
        ("truncated", bad("truncated-header.jpg"), "error"),
        ("not-an-image", bad("not-an-image.jpg"), "error"),
        ("bomb", bad("bomb-65535x65535.png"), "error"),
    ];
    let copies = 6;
    let mut expected = BTreeMap::new();
    for i in 0..copies {
        for (name, bytes, verdict) in &kinds {
            drop_file(&drop, &format!("{name}-{i}.img"), bytes);
            *expected.entry((*verdict).to_owned()).or_insert(0) += 1;
        }
    }
    let total = copies * kinds.len();

    // Killed three times while the batch is under way, with files still
    // waiting: the crash lands wherever the source happens to be.
    let mut left = Vec::new();
    for at in [3, 9, 16] {
        let server = Server::start_with_config(&data, &config(&drop, ""));
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let (done, _) = verdicts(&server, &reader);
            if done >= at {
                break;
            }
            assert!(Instant::now() < deadline, "no inspection from the folder");
            std::thread::sleep(Duration::from_millis(10));
        }
        server.kill();
        left.push(files_in(&drop).len());
    }
    assert!(
        left.iter().all(|&n| n > 0),
        "the batch finished before a kill; nothing was tested: {left:?}"
    );

    let server = Server::start_with_config(&data, &config(&drop, ""));
    let deadline = Instant::now() + Duration::from_secs(240);
    while !files_in(&drop).is_empty() {
        assert!(
            Instant::now() < deadline,
            "files left: {:?}",
            files_in(&drop)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (stored, by) = verdicts(&server, &reader);
    assert_eq!(stored, total, "one inspection per file: {by:?}");
    assert_eq!(by, expected);
    server.stop();
    // Every submission is audited under the source's name.
    let submits = audit_entries(&data)
        .into_iter()
        .filter(|e| e["action"] == "inspections.submit" && e["actor"] == "source:line-3")
        .count();
    assert!(
        submits >= total,
        "{submits} submissions audited for {total} files"
    );
    eprintln!("killed with {left:?} of {total} files waiting; {submits} audited submissions");
}

/// A crash at each step of taking a file (claim recorded, audited, sealed,
/// stored, marked inspected, removed) loses no file and inspects none twice.
#[test]
fn a_crash_at_every_step_neither_loses_nor_repeats_a_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let drop = tmp.path().join("drop");
    std::fs::create_dir(&drop).expect("drop folder");
    let reader = create_key(&data, &["inspections:read"], &[]);
    let sharp = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    let truncated = std::fs::read(bad_input_dir().join("truncated.jpg")).expect("bad input");
    let file = data.with_extension("toml");
    std::fs::write(&file, config(&drop, "")).expect("configuration");
    let points = [
        "folder.claimed",
        "intake.audited",
        "intake.sealed",
        "folder.stored",
        "folder.inspected",
        "folder.removed",
    ];
    for (round, point) in points.iter().enumerate() {
        drop_file(&drop, &format!("{round}-a.jpg"), &sharp);
        drop_file(&drop, &format!("{round}-b.jpg"), &truncated);
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"));
        command.env("LENSGUARD_CRASH_AT", format!("{point}:1"));
        let crashing =
            Server::start_via(command, &data, &["--config", file.to_str().expect("utf8")]);
        let status = crashing.wait_for_exit(Duration::from_secs(60));
        assert!(
            !status.success(),
            "{point}: the crash point was not reached"
        );
        let server = Server::start_via(
            std::process::Command::new(env!("CARGO_BIN_EXE_lensguard")),
            &data,
            &["--config", file.to_str().expect("utf8")],
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while !files_in(&drop).is_empty() {
            assert!(
                Instant::now() < deadline,
                "{point}: files left: {:?}",
                files_in(&drop)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (stored, by) = verdicts(&server, &reader);
        assert_eq!(stored, 2 * (round + 1), "after a crash at {point}: {by:?}");
        server.stop();
    }
}

#[test]
fn links_and_special_files_are_refused_and_left_alone_and_move_keeps_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let drop = tmp.path().join("drop");
    let done = tmp.path().join("done");
    let outside = tmp.path().join("outside.jpg");
    for d in [&drop, &done] {
        std::fs::create_dir(d).expect("folder");
    }
    let reader = create_key(&data, &["inspections:read"], &[]);
    let sharp = std::fs::read(samples_dir().join("sharp.jpg")).expect("sample");
    std::fs::write(&outside, &sharp).expect("outside");
    std::os::unix::fs::symlink(&outside, drop.join("link.jpg")).expect("symlink");
    std::fs::hard_link(&outside, drop.join("hard.jpg")).expect("hard link");
    drop_file(&drop, "photo.jpg", &sharp);

    let extra = format!(
        "after = \"move\"\nmove_to = {:?}\n",
        done.to_str().expect("utf8")
    );
    let server = Server::start_with_config(&data, &config(&drop, &extra));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done.join("photo.jpg").exists() {
        assert!(Instant::now() < deadline, "photo.jpg was not moved");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Give the refused entries another round to be (wrongly) taken.
    std::thread::sleep(Duration::from_millis(600));
    let (stored, _) = verdicts(&server, &reader);
    assert_eq!(stored, 1, "only the regular file is inspected");
    assert_eq!(files_in(&drop), ["hard.jpg", "link.jpg"]);
    assert_eq!(std::fs::read(&outside).expect("outside"), sharp);
    assert_eq!(std::fs::read(done.join("photo.jpg")).expect("moved"), sharp);
    server.stop();
    let refused: Vec<String> = audit_entries(&data)
        .into_iter()
        .filter(|e| e["action"] == "sources.refused")
        .map(|e| e["reason"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(
        refused.iter().any(|r| r.contains("symbolic link")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|r| r.contains("more than one link")),
        "{refused:?}"
    );
}
