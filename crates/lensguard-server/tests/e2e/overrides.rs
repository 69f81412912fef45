//! Overrides over the API: allowed only where the policy names every reason
//! that set the verdict, with a stated reason, by a caller holding
//! `inspections:override`; audited either way (the reason as a pseudonym);
//! the stored result never changes; listed and filterable for review.

use crate::common::identity::{call, json};
use crate::common::{Server, audit_entries, create_key, get_with, send};
use lensguard_testkit::samples_dir;

const POLICY: &str = "version = 1\nname = \"review\"\n\n[overrides]\nreasons = [\"blurry\", \"capture_time_stale\"]\n";

fn submit(server: &Server, key: &str, sample: &str) -> serde_json::Value {
    let photo = std::fs::read(samples_dir().join(sample)).expect("sample");
    let auth = format!("Bearer {key}");
    let r = send(
        server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", "image/jpeg")],
        photo,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    serde_json::from_str(&r.body).expect("json")
}

#[test]
fn an_override_is_a_record_of_its_own_where_the_policy_allows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("policy.toml"), POLICY).expect("policy");
    let writer = create_key(dir.path(), &["inspections:write"], &[]);
    let reviewer = create_key(dir.path(), &["inspections:override"], &[]);
    let reader = create_key(dir.path(), &["inspections:read"], &[]);
    let server = Server::start(dir.path(), &[]);
    let blurry = submit(&server, &writer, "blurred.jpg");
    assert_eq!(blurry["verdict"], "retry", "{blurry}");
    let id = blurry["id"].as_str().expect("id");
    let dark = submit(&server, &writer, "dark.jpg");
    assert_ne!(dark["verdict"], "pass", "{dark}");
    let sharp = submit(&server, &writer, "sharp.jpg");
    assert_eq!(sharp["verdict"], "pass", "{sharp}");
    let over = |key: &str, id: &str, body: serde_json::Value| {
        call(
            &server,
            "POST",
            &format!("/v1/inspections/{id}/overrides"),
            Some(key),
            &body,
        )
    };
    let reason = "label legible on the parcel, driver 4471";

    // Refused: no scope, no reason, a reason the policy does not name, a pass,
    // a verdict that is no improvement.
    let r = over(
        &reader,
        id,
        serde_json::json!({"verdict": "pass", "reason": reason}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = over(
        &reviewer,
        id,
        serde_json::json!({"verdict": "pass", "reason": "  "}),
    );
    assert_eq!(
        (r.status, json(&r)["code"].clone()),
        (400, "reason_required".into())
    );
    let dark_id = dark["id"].as_str().expect("id");
    let r = over(
        &reviewer,
        dark_id,
        serde_json::json!({"verdict": "pass", "reason": reason}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        json(&r)["message"]
            .as_str()
            .unwrap()
            .contains("underexposed"),
        "{}",
        r.body
    );
    let sharp_id = sharp["id"].as_str().expect("id");
    let r = over(
        &reviewer,
        sharp_id,
        serde_json::json!({"verdict": "pass", "reason": reason}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let r = over(
        &reviewer,
        id,
        serde_json::json!({"verdict": "retry", "reason": reason}),
    );
    assert_eq!(r.status, 409, "{}", r.body);
    let r = over(
        &reviewer,
        "no-such-id",
        serde_json::json!({"verdict": "pass", "reason": reason}),
    );
    assert_eq!(r.status, 404, "{}", r.body);

    let r = over(
        &reviewer,
        id,
        serde_json::json!({"verdict": "pass", "reason": reason}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let made = json(&r);
    assert_eq!(made["from_verdict"], "retry");
    assert_eq!(made["verdict"], "pass");
    assert_eq!(made["reason"], reason);
    assert_eq!(made["reason_codes"], serde_json::json!(["blurry"]));
    assert!(made["actor"].as_str().unwrap().starts_with("key:"));

    // The stored result is unchanged; the override is listed beside it.
    let r = get_with(&server, &format!("/v1/inspections/{id}"), &reader);
    assert_eq!(json(&r)["verdict"], "retry");
    let r = get_with(&server, &format!("/v1/inspections/{id}/overrides"), &reader);
    assert_eq!(json(&r)["items"][0]["id"], made["id"]);
    let r = get_with(&server, "/v1/overrides?verdict=pass", &reader);
    assert_eq!(json(&r)["items"].as_array().unwrap().len(), 1);
    let r = get_with(&server, "/v1/overrides?verdict=fail", &reader);
    assert_eq!(r.status, 400, "{}", r.body);
    let r = get_with(&server, "/v1/inspections?overridden=true", &reader);
    let listed = json(&r);
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id]);
    let r = get_with(&server, "/v1/inspections?overridden=false", &reader);
    assert_eq!(json(&r)["items"].as_array().unwrap().len(), 2);

    // Audited: the success and each refusal by a known caller, the reason
    // only as a pseudonym.
    drop(server);
    let entries = audit_entries(dir.path());
    let overrides: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["action"] == "inspections.override")
        .collect();
    let outcomes: Vec<&str> = overrides
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["denied", "denied", "denied", "success"],
        "{overrides:?}"
    );
    let log = std::fs::read_to_string(dir.path().join("audit/log.jsonl")).unwrap_or_default();
    assert!(
        !log.contains("driver 4471"),
        "the stated reason is not in the log in clear"
    );
}
