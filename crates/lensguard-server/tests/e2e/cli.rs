//! The `lensguard` binary end to end: verdicts, reason codes, JSON Lines, dedupe,
//! bad input, policies and exit codes.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{lensguard, text};
use std::process::Output;

use lensguard_core::InspectionReport;
use lensguard_core::report::{ReasonCode, Verdict};
use lensguard_testkit::{bad_input_dir, fixtures::SAMPLE_NOW, samples_dir};
use std::collections::BTreeMap;
use std::path::Path;

/// Runs `check --json` and returns each photo's report keyed by file name.
fn check_json(args: &[&str]) -> (Output, BTreeMap<String, InspectionReport>) {
    let mut all = vec!["check", "--json", "--quiet", "--now", SAMPLE_NOW];
    all.extend_from_slice(args);
    let out = lensguard(&all);
    let mut reports = BTreeMap::new();
    for line in text(&out.stdout).lines() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let path = value["path"].as_str().expect("path").to_owned();
        let report: InspectionReport =
            serde_json::from_value(value).expect("line matches the v1 schema");
        assert_eq!(report.schema, "lensguard.inspection.v1");
        let name = Path::new(&path)
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        reports.insert(name, report);
    }
    (out, reports)
}

fn codes(r: &InspectionReport) -> Vec<ReasonCode> {
    r.reasons.iter().map(|r| r.code).collect()
}

fn samples() -> String {
    samples_dir().display().to_string()
}

#[test]
fn sample_folder_gets_the_right_verdicts_and_reasons() {
    let (out, reports) = check_json(&["--dedupe", &samples()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    use ReasonCode as C;
    use Verdict as V;
    let expected: &[(&str, V, &[C])] = &[
        ("blurred.jpg", V::Retry, &[C::Blurry]),
        ("dark.jpg", V::Retry, &[C::Underexposed, C::LowContrast]),
        ("edited.jpg", V::Fail, &[C::EditedSoftware]),
        ("foggy.jpg", V::Retry, &[C::LowContrast]),
        ("glare.jpg", V::Retry, &[C::Glare]),
        ("low-resolution.jpg", V::Fail, &[C::LowResolution]),
        (
            "overexposed.jpg",
            V::Retry,
            &[C::Overexposed, C::LowContrast, C::Glare],
        ),
        ("progressive.jpg", V::Pass, &[]),
        ("rotated.jpg", V::Pass, &[]),
        ("sharp.jpg", V::Pass, &[]),
        ("sharp.png", V::Pass, &[C::CaptureTimeMissing]),
        ("sharp.webp", V::Pass, &[C::CaptureTimeMissing]),
        ("sharp_resubmitted.jpg", V::Fail, &[C::Duplicate]),
    ];
    assert_eq!(reports.len(), expected.len(), "{:?}", reports.keys());
    for (name, verdict, reasons) in expected {
        let r = &reports[*name];
        assert_eq!(
            (r.verdict, codes(r).as_slice()),
            (*verdict, *reasons),
            "{name}"
        );
    }
    let dup = reports["sharp_resubmitted.jpg"]
        .duplicate_of
        .as_ref()
        .expect("duplicate_of");
    assert!(dup.id.ends_with("sharp.jpg"), "{}", dup.id);
}

#[test]
fn without_dedupe_a_resubmitted_photo_passes() {
    let path = samples_dir().join("sharp_resubmitted.jpg");
    let (out, reports) = check_json(&[
        &samples_dir().join("sharp.jpg").display().to_string(),
        &path.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        reports
            .values()
            .all(|r| r.verdict == Verdict::Pass && r.duplicate_of.is_none())
    );
}

#[test]
fn dedupe_distance_zero_still_catches_an_identical_hash_and_order_decides() {
    let sharp = samples_dir().join("sharp.jpg").display().to_string();
    let again = samples_dir()
        .join("sharp_resubmitted.jpg")
        .display()
        .to_string();
    // Listed the other way round, the resubmitted photo is the earlier one.
    let (_, reports) = check_json(&["--dedupe", "--dedupe-distance", "0", &again, &sharp]);
    assert_eq!(reports["sharp_resubmitted.jpg"].verdict, Verdict::Pass);
    assert_eq!(codes(&reports["sharp.jpg"]), [ReasonCode::Duplicate]);
}

#[test]
fn every_bad_input_gets_an_error_verdict_and_the_batch_goes_on() {
    let bad = bad_input_dir().display().to_string();
    let sharp = samples_dir().join("sharp.jpg").display().to_string();
    let (out, reports) = check_json(&[&bad, &sharp]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(reports.len(), 15);
    for (name, r) in &reports {
        if name == "sharp.jpg" {
            assert_eq!(r.verdict, Verdict::Pass);
            continue;
        }
        assert_eq!(r.verdict, Verdict::Error, "{name}");
        assert!(r.measurements.is_none(), "{name}");
        assert_eq!(r.reasons.len(), 1, "{name}");
    }
    assert_eq!(
        codes(&reports["bomb-65535x65535.png"]),
        [ReasonCode::DimensionsTooLarge]
    );
    assert_eq!(codes(&reports["truncated.jpg"]), [ReasonCode::Truncated]);
    assert_eq!(codes(&reports["zero-bytes.jpg"]), [ReasonCode::EmptyFile]);
    assert_eq!(
        codes(&reports["not-an-image.jpg"]),
        [ReasonCode::UnsupportedFormat]
    );
}

#[test]
fn file_size_limit_is_applied_before_reading() {
    let sharp = samples_dir().join("sharp.jpg").display().to_string();
    let (out, reports) = check_json(&["--max-file-bytes", "1000", &sharp]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(codes(&reports["sharp.jpg"]), [ReasonCode::FileTooLarge]);
}

#[test]
fn human_output_names_verdict_reason_and_measurements() {
    let blurred = samples_dir().join("blurred.jpg").display().to_string();
    let out = lensguard(&["check", "--now", SAMPLE_NOW, &blurred]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("RETRY "), "{stdout}");
    assert!(
        stdout.contains("blur/blurry (retry): sharpness"),
        "{stdout}"
    );
    assert!(stdout.contains("1024x768 jpeg"), "{stdout}");
    assert!(
        stdout.contains("captured 2026-11-20T09:30:00+00:00"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 photo: 0 pass, 1 retry, 0 fail, 0 error"),
        "{stdout}"
    );
    // stderr is not a terminal here: no progress bar.
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn a_passing_batch_exits_zero() {
    let sharp = samples_dir().join("sharp.jpg").display().to_string();
    let out = lensguard(&["check", "--quiet", "--now", SAMPLE_NOW, &sharp]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        !text(&out.stdout).contains("photo:"),
        "--quiet hides the summary"
    );
}

#[test]
fn stale_capture_time_is_a_warning_by_default_and_a_retry_under_a_strict_policy() {
    let sharp = samples_dir().join("sharp.jpg").display().to_string();
    let out = lensguard(&["check", "--json", "--now", "2026-12-24T00:00:00Z", &sharp]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("capture_time_stale"));

    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("strict.toml");
    std::fs::write(
        &policy,
        "version = 1\nname = \"strict\"\n[capture_time]\naction = \"retry\"\nmax_age_hours = 48\n",
    )
    .expect("write");
    let (out, reports) = check_json(&["--policy", &policy.display().to_string(), &sharp]);
    assert_eq!(out.status.code(), Some(0), "fresh at SAMPLE_NOW");
    assert_eq!(reports["sharp.jpg"].policy.name, "strict");
    let out = lensguard(&[
        "check",
        "--json",
        "--now",
        "2026-11-25T00:00:00Z",
        "--policy",
        &policy.display().to_string(),
        &sharp,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_and_setup_errors_exit_two() {
    let out = lensguard(&["check", "/nonexistent/photo.jpg"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read /nonexistent/photo.jpg"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(lensguard(&["check"]).status.code(), Some(2));
    assert_eq!(
        lensguard(&["check", "--frobnicate", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(
        lensguard(&["check", "--now", "yesterday", &samples()])
            .status
            .code(),
        Some(2)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("bad.toml");
    std::fs::write(&policy, "version = 1\n[exposure]\nmin_mean_luma = 300.0\n").expect("write");
    let out = lensguard(&[
        "check",
        "--policy",
        &policy.display().to_string(),
        &samples(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.toml:3:1: exposure.min_mean_luma: must be between 0 and 255"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_folder_without_photos_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "not a photo").expect("write");
    let out = lensguard(&["check", &dir.path().display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no photos found"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(unix)]
#[test]
fn symlinked_photos_are_inspected_and_a_symlink_loop_is_reported_not_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink(
        samples_dir().join("sharp.jpg"),
        dir.path().join("linked.jpg"),
    )
    .expect("link");
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).expect("loop");
    let (out, reports) = check_json(&[&dir.path().display().to_string()]);
    assert_eq!(reports["linked.jpg"].verdict, Verdict::Pass);
    assert_eq!(codes(&reports["loop"]), [ReasonCode::Unreadable]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn policy_check_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "version = 1\nname = \"line-3\"\n[blur]\nmin_sharpness = 8.0\n",
    )
    .expect("write");
    let out = lensguard(&["policy", "check", &good.display().to_string()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("ok (policy \"line-3\", revision 1)"));

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "version = 1\n\n[glare]\nmax_fractoin = 0.1\n").expect("write");
    let out = lensguard(&["policy", "check", &typo.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("typo.toml:4:1:") && stderr.contains("max_fractoin"),
        "{stderr}"
    );
}

#[test]
fn policy_show_prints_a_policy_that_checks_clean() {
    let out = lensguard(&["policy", "show"]);
    assert_eq!(out.status.code(), Some(0));
    let shown = text(&out.stdout);
    assert!(shown.contains("name = \"proof-of-delivery\""), "{shown}");
    assert!(
        shown.contains("[blur]") && shown.contains("[duplicate]"),
        "{shown}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("shown.toml");
    std::fs::write(&file, &shown).expect("write");
    assert_eq!(
        lensguard(&["policy", "check", &file.display().to_string()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn help_teaches_the_commands() {
    let out = lensguard(&["--help"]);
    let help = text(&out.stdout);
    for word in ["check", "policy", "bench", "Examples:"] {
        assert!(help.contains(word), "{help}");
    }
    let check = text(&lensguard(&["check", "--help"]).stdout);
    for word in ["--json", "--dedupe", "--policy", "Exit status"] {
        assert!(check.contains(word), "{check}");
    }
}

#[test]
fn docs_show_the_default_policy_exactly() {
    let doc = std::fs::read_to_string(lensguard_testkit::workspace_root().join("docs/policy.md"))
        .expect("docs/policy.md");
    let marker = "<!-- default-policy:start -->\n```toml\n";
    let start = doc.find(marker).expect("start marker") + marker.len();
    let end = doc
        .find("```\n<!-- default-policy:end -->")
        .expect("end marker");
    let shown = text(&lensguard(&["policy", "show"]).stdout);
    assert_eq!(
        &doc[start..end],
        shown,
        "docs/policy.md is out of date: paste `lensguard policy show` into it"
    );
}

/// Every command that works on an existing data directory, with `DIR` for it.
const ON_A_DATA_DIRECTORY: &[&[&str]] = &[
    &["erase", "--device", "van-12", "--data-dir", "DIR"],
    &["retention", "sweep", "--data-dir", "DIR"],
    &["retention", "holds", "--data-dir", "DIR"],
    &[
        "retention",
        "hold",
        "--device",
        "van-12",
        "--reason",
        "claim",
        "--data-dir",
        "DIR",
    ],
    &["retention", "lift", "some-hold", "--data-dir", "DIR"],
    &["keys", "list", "--data-dir", "DIR"],
    &["keys", "rotate", "some-key", "--data-dir", "DIR"],
    &["keys", "revoke", "some-key", "--data-dir", "DIR"],
    &["keys", "rotate-kek", "--data-dir", "DIR"],
    &["users", "list", "--data-dir", "DIR"],
    &["users", "set-role", "ana", "viewer", "--data-dir", "DIR"],
    &["users", "disable", "ana", "--data-dir", "DIR"],
    &[
        "evidence",
        "get",
        "some-id",
        "--kind",
        "redacted",
        "--out",
        "x.jpg",
        "--data-dir",
        "DIR",
    ],
    &["edge", "status", "--data-dir", "DIR"],
    &["egress", "report", "--data-dir", "DIR"],
    &["audit", "pseudonym", "van-12", "--data-dir", "DIR"],
    &["hub", "edges", "--data-dir", "DIR"],
    &["hub", "enroll", "--name", "dock", "--data-dir", "DIR"],
    &["hub", "revoke", "some-edge", "--data-dir", "DIR"],
    &["hub", "token", "--name", "ops", "--data-dir", "DIR"],
    &["hub", "serve", "--data-dir", "DIR"],
];

#[test]
fn maintenance_commands_refuse_what_is_not_a_data_directory_and_create_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = tmp.path().join("mistyped");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    for command in ON_A_DATA_DIRECTORY {
        for dir in [&missing, &empty] {
            let shown = dir.to_str().expect("utf8");
            let args: Vec<&str> = command
                .iter()
                .map(|a| if *a == "DIR" { shown } else { a })
                .collect();
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
                .args(&args)
                .current_dir(tmp.path())
                .env_remove("LENSGUARD_DATA_DIR")
                .output()
                .expect("run");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(shown),
                "{args:?} must name {shown}: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
            assert!(
                text(&out.stdout).is_empty(),
                "{args:?} printed {}",
                text(&out.stdout)
            );
            assert!(!missing.exists(), "{args:?} created {}", missing.display());
            let made: Vec<_> = std::fs::read_dir(&empty).expect("dir").flatten().collect();
            assert!(
                made.is_empty(),
                "{args:?} wrote {made:?} into an empty folder"
            );
        }
    }
    // Nothing was created in the working directory either.
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

#[test]
fn policy_explain_and_inventory_use_the_policy_the_service_uses() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("lensguard-data");
    std::fs::create_dir(&data).expect("dir");
    std::fs::write(
        data.join("policy.toml"),
        "version = 1\nname = \"dock\"\nrevision = 1\n[egress]\nfields = [\"id\", \"verdict\", \"submission\"]\n",
    )
    .expect("policy");
    let photo = samples_dir().join("sharp.jpg");
    let photo = photo.to_str().expect("utf8");
    // From the folder holding lensguard-data, as the README's fleet edge.
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
            .args(args)
            .current_dir(tmp.path())
            .env_remove("LENSGUARD_DATA_DIR")
            .output()
            .expect("run")
    };
    let out = run(&["policy", "explain", photo]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(policy dock@1)"), "{stdout}");
    assert!(
        stdout.contains("policy file: lensguard-data/policy.toml (the service's policy)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("report fields: {") && stdout.contains("\"verdict\""),
        "{stdout}"
    );
    let out = run(&["policy", "inventory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("policy: lensguard-data/policy.toml"));
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(inventory["policy"], "dock@1");
    assert_eq!(
        inventory["egress_fields"],
        serde_json::json!(["id", "verdict", "submission"])
    );
    // --policy still wins, and says so; a mistyped --data-dir is refused.
    let out = run(&["policy", "explain", photo, "--profile", "inspection-line"]);
    assert!(text(&out.stdout).contains("policy file: built-in profile inspection-line"));
    let out = run(&["policy", "inventory", "--data-dir", "lensguard-dat"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("lensguard-dat does not exist"));
    // Without a data directory: the built-in default, named as such.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["policy", "explain", photo])
        .current_dir(elsewhere.path())
        .env_remove("LENSGUARD_DATA_DIR")
        .output()
        .expect("run");
    assert!(
        text(&out.stdout).contains("policy file: built-in default proof-of-delivery"),
        "{}",
        text(&out.stdout)
    );
}
