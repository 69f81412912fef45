//! The console in a real browser: Debian's chromium driven by Playwright
//! (`scripts/console_browser.py`), against a running service with a user of
//! every role and inspections to look at. What each role sees and is
//! refused, CSP, accessibility (axe-core), the review flow, forged forms and
//! idle sessions are checked by the script; this test makes the world it
//! checks and fails when any check does.
//!
//! The pages and the scope each needs are written here from docs/access.md,
//! independently of the console's code, so a page shown to the wrong role
//! fails the test.
//!
//! `LENSGUARD_SCREENSHOTS=DIR` also writes screenshots of the main pages
//! (the ones in docs/console/ are made this way).

use crate::common::browser::{browser_tools, run_browser_checks};
use crate::common::identity::{PASSWORD, create_user};
use crate::common::{Server, create_key, get_with, submit_photo};
use lensguard_core::access::Role;
use lensguard_testkit::rtsp_server::RtspServer;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Waits until the camera has an event whose footage is stored (a sealed
/// segment overlapping it); returns the event's id.
fn wait_for_footage(server: &Server, token: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    let json = |path: &str| {
        let r = get_with(server, path, token);
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap_or_default()
    };
    loop {
        let events = json("/v1/events?camera=gate-2");
        for e in events["items"].as_array().into_iter().flatten() {
            let (Some(id), Some(start), Some(end)) =
                (e["id"].as_str(), e["start"].as_str(), e["end"].as_str())
            else {
                continue;
            };
            let path = format!(
                "/v1/cameras/gate-2/segments?from={}&to={}",
                url_encode(start),
                url_encode(end)
            );
            if json(&path)["segments"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                return id.to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the camera made no event with stored footage in 90 s: {events}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `s` percent-encoded for a query value (RFC 3339 times hold `+` and `:`).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every console page of this build and the scope it needs (`None`: any
/// signed-in user).
const PAGES: &[(&str, Option<&str>)] = &[
    ("/console/", Some("inspections:read")),
    ("/console/inspections", Some("inspections:read")),
    ("/console/overrides", Some("inspections:read")),
    ("/console/cameras", Some("inspections:read")),
    ("/console/events", Some("inspections:read")),
    ("/console/audit", Some("audit:read")),
    ("/console/retention", Some("evidence:manage")),
    ("/console/policy", Some("policy:manage")),
    ("/console/users", Some("users:manage")),
    ("/console/keys", Some("keys:manage")),
    ("/console/account", None),
];

/// The navigation's sections and their scopes: today every page is a
/// section (the check that the navigation lists exactly these stays its own;
/// the camera sections are listed because this service has a camera).
const SECTIONS: &[(&str, Option<&str>)] = PAGES;

fn user(data: &Path, name: &str, role: Role) -> serde_json::Value {
    let secret = create_user(data, name, &role.to_string());
    serde_json::json!({
        "name": name,
        "role": role.to_string(),
        "secret": secret,
        "scopes": role.scopes().iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })
}

#[test]
fn the_console_in_a_real_browser() {
    let Some((python, axe)) = browser_tools() else {
        return;
    };
    // A camera on which a person crosses every 12 s, recorded continuously.
    let Some(photo) = lensguard_testkit::fetched::photo("grace_hopper.jpg") else {
        return;
    };
    drop(photo);
    let portrait = lensguard_testkit::fetched::cache_dir().join("testdata/grace_hopper.jpg");
    // The analysed and the recorded stream are two mounts, as a camera's
    // sub and main streams are (see recordings.rs).
    let walk = format!("walk=crossing:{}", portrait.display());
    let walk_main = format!("walk-main=crossing:{}", portrait.display());
    let _turn = crate::common::camera_turn();
    let Some(rtsp) = RtspServer::start(&[walk.as_str(), walk_main.as_str()], 0, None) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    // Blurry photos fail, and originals are kept, so a reviewer has a failed
    // inspection whose original can be asked for.
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(
        data.join("policy.toml"),
        "version = 1\nname = \"console-test\"\n[blur]\naction = \"fail\"\n\
         [data.original]\nstore = \"always\"\nkeep_days = 30\n\
         [overrides]\nreasons = [\"blurry\"]\n",
    )
    .expect("policy");
    let mut users: Vec<serde_json::Value> = Role::ALL
        .iter()
        .map(|r| user(&data, &format!("{r}-user"), *r))
        .collect();
    let flow_user = user(&data, "reviewer", Role::Admin);
    let forgery_user = user(&data, "victim", Role::Viewer);
    let idle_user = user(&data, "idler", Role::Operator);
    users.sort_by_key(|u| u["name"].as_str().map(str::to_owned));
    let key = create_key(&data, &["inspections:write"], &[]);
    let reader = create_key(&data, &["inspections:read"], &[]);
    let server = Server::start_with_config(
        &data,
        &format!(
            "data_dir = {data:?}\n[auth]\nconsole_idle_minutes = 1\n\
             [[cameras]]\nname = \"gate-2\"\ndetect_url = {url:?}\nrecord_url = {main:?}\n\
             mode = \"continuous\"\n[cameras.recording]\nsegment_seconds = 2\n",
            data = data.to_str().expect("utf8"),
            url = rtsp.url("walk"),
            main = rtsp.url("walk-main"),
        ),
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sample = |name: &str| std::fs::read(root.join("samples").join(name)).expect("sample");
    let failed = submit_photo(&server, &key, &sample("blurred.jpg"), "van-7");
    assert_eq!(failed["verdict"], "fail", "{failed}");
    for (name, device) in [
        ("foggy.jpg", "van-7"),
        ("glare.jpg", "van-9"),
        ("rotated.jpg", "van-9"),
    ] {
        submit_photo(&server, &key, &sample(name), device);
    }
    let recorded_event = wait_for_footage(&server, &reader);
    let shots = std::env::var("LENSGUARD_SCREENSHOTS").ok();
    let plan = serde_json::json!({
        "base": format!("https://{}", server.addr),
        "password": PASSWORD,
        "users": users,
        "flow_user": flow_user,
        "forgery_user": forgery_user,
        "idle_user": idle_user,
        "idle_seconds": 60,
        "failed_inspection": failed["id"],
        "camera": "gate-2",
        "recorded_event": recorded_event,
        "pages": PAGES.iter().map(|(path, scope)| serde_json::json!({"path": path, "scope": scope})).collect::<Vec<_>>(),
        "sections": SECTIONS.iter().map(|(href, scope)| serde_json::json!({"href": href, "scope": scope})).collect::<Vec<_>>(),
        "axe": axe,
        "chromium": "/usr/bin/chromium",
        "screenshots": shots,
        "sample_photo": root.join("samples/blurred.jpg"),
        "tls_cert": data.join("tls/cert.pem"),
        "tls_key": data.join("tls/key.pem"),
    });
    run_browser_checks(&python, &plan, dir.path());
}

/// The vendored scripts are byte for byte the packages on npm
/// (`scripts/check-vendored-js`: `npm pack`, then SHA-384 of each file).
#[test]
fn the_vendored_scripts_are_the_published_packages() {
    let has_npm = Command::new("npm").arg("--version").output().is_ok();
    if !has_npm {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "npm is required under CI (scripts/install-test-deps installs it)"
        );
        eprintln!("\n*** SKIPPING: npm is not installed ***\n");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/check-vendored-js"))
        .output()
        .expect("the check runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
