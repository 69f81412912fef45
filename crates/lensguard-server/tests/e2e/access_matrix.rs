//! The access matrix, generated: every route x every caller — no credentials, an
//! API key holding each single scope, and a TOTP-verified session of each role —
//! asserting exactly the documented rule (`docs/access.md`): the route's scope
//! passes the check, no credentials gives 401, anything else 403, and every
//! refusal is audited. A route added to the service without a row here fails
//! `every_route_is_listed`.
//!
//! Callers that pass the scope check may still be refused by the rule against
//! handing out more than one holds (`beyond_caller_access`); where that applies
//! is computed from the same rule and asserted too.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::identity::{PASSWORD, create_user, login};
use crate::common::{Reply, Server, audit_actions, create_key, send};
use lensguard_core::access::{Role, Scope};
use std::collections::{BTreeSet, HashMap};

/// What a route needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: public; answers this status to the request the test sends.
    Public(u16),
    /// Any valid credential.
    Authenticated,
    /// This scope.
    Scope(Scope),
}

/// Method, path, and what it needs. Order matters only at the end: rotating a
/// victim key comes before revoking it, and logging out comes last.
struct Route {
    method: &'static str,
    path: &'static str,
    need: Need,
}

const fn r(method: &'static str, path: &'static str, need: Need) -> Route {
    Route { method, path, need }
}

const ROUTES: &[Route] = &[
    r("GET", "/healthz", Need::Public(200)),
    r("GET", "/v1/openapi.json", Need::Authenticated),
    r(
        "POST",
        "/v1/inspections",
        Need::Scope(Scope::InspectionsWrite),
    ),
    r(
        "GET",
        "/v1/inspections",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/inspections/{id}",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/inspections/{id}/redacted",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/inspections/{id}/thumbnail",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/inspections/{id}/original",
        Need::Scope(Scope::EvidenceReadOriginal),
    ),
    r("GET", "/v1/holds", Need::Scope(Scope::EvidenceManage)),
    r("POST", "/v1/holds", Need::Scope(Scope::EvidenceManage)),
    r(
        "DELETE",
        "/v1/holds/{id}",
        Need::Scope(Scope::EvidenceManage),
    ),
    r("POST", "/v1/erasure", Need::Scope(Scope::EvidenceManage)),
    r(
        "POST",
        "/v1/vault/rotate",
        Need::Scope(Scope::EvidenceManage),
    ),
    r("GET", "/v1/cases", Need::Scope(Scope::CasesRead)),
    r("POST", "/v1/cases", Need::Scope(Scope::CasesManage)),
    r("GET", "/v1/cases/{id}", Need::Scope(Scope::CasesRead)),
    r(
        "POST",
        "/v1/cases/{id}/items",
        Need::Scope(Scope::CasesManage),
    ),
    r(
        "POST",
        "/v1/cases/{id}/close",
        Need::Scope(Scope::CasesManage),
    ),
    r(
        "POST",
        "/v1/cases/{id}/export",
        Need::Scope(Scope::CasesManage),
    ),
    r("POST", "/v1/bootstrap", Need::Public(401)),
    r("POST", "/v1/sessions", Need::Public(401)),
    r("GET", "/v1/sessions", Need::Authenticated),
    r("GET", "/v1/users", Need::Scope(Scope::UsersManage)),
    r("POST", "/v1/users", Need::Scope(Scope::UsersManage)),
    r("PATCH", "/v1/users/{id}", Need::Scope(Scope::UsersManage)),
    r("DELETE", "/v1/users/{id}", Need::Scope(Scope::UsersManage)),
    r("GET", "/v1/keys", Need::Scope(Scope::KeysManage)),
    r("POST", "/v1/keys", Need::Scope(Scope::KeysManage)),
    r(
        "POST",
        "/v1/keys/{id}/rotate",
        Need::Scope(Scope::KeysManage),
    ),
    r("DELETE", "/v1/keys/{id}", Need::Scope(Scope::KeysManage)),
    r("GET", "/v1/cameras", Need::Scope(Scope::InspectionsRead)),
    r("GET", "/v1/events", Need::Scope(Scope::InspectionsRead)),
    r(
        "GET",
        "/v1/events/{id}",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/events/{id}/snapshot",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/cameras/{name}/segments",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/cameras/{name}/live",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "GET",
        "/v1/segments/{id}/original",
        Need::Scope(Scope::EvidenceReadOriginal),
    ),
    r(
        "GET",
        "/v1/segments/{id}/redacted",
        Need::Scope(Scope::InspectionsRead),
    ),
    r("GET", "/v1/policy", Need::Scope(Scope::PolicyManage)),
    r("PUT", "/v1/policy", Need::Scope(Scope::PolicyManage)),
    r("GET", "/v1/audit/checkpoint", Need::Scope(Scope::AuditRead)),
    r("GET", "/v1/audit/entries", Need::Scope(Scope::AuditRead)),
    r(
        "GET",
        "/v1/inspections/{id}/overrides",
        Need::Scope(Scope::InspectionsRead),
    ),
    r(
        "POST",
        "/v1/inspections/{id}/overrides",
        Need::Scope(Scope::InspectionsOverride),
    ),
    r("GET", "/v1/overrides", Need::Scope(Scope::InspectionsRead)),
    r(
        "POST",
        "/v1/users/{id}/totp",
        Need::Scope(Scope::UsersManage),
    ),
    r(
        "GET",
        "/v1/audit/proofs/inclusion",
        Need::Scope(Scope::AuditRead),
    ),
    r(
        "GET",
        "/v1/audit/proofs/consistency",
        Need::Scope(Scope::AuditRead),
    ),
    r("GET", "/metrics", Need::Scope(Scope::MetricsRead)),
    // Last: it ends the sessions the rows above use.
    r("DELETE", "/v1/sessions/current", Need::Authenticated),
];

#[test]
fn every_route_is_listed() {
    let source = include_str!("../../src/serve/http.rs");
    // Each `.route(...)` call (up to its closing parenthesis), with its path and
    // the number of methods it registers.
    let routed: Vec<(String, usize)> = source
        .split(".route(")
        .skip(1)
        .map(|rest| {
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap_or("").to_owned();
            let methods = ["get(", "post(", "put(", "delete(", "patch("]
                .iter()
                .map(|m| call.matches(m).count())
                .sum();
            (path, methods)
        })
        .collect();
    let registered: usize = routed.iter().map(|(_, m)| m).sum();
    assert_eq!(
        registered,
        ROUTES.len(),
        "a route was added or removed: update ROUTES and docs/access.md"
    );
    for r in ROUTES {
        assert!(
            routed.iter().any(|(p, _)| p == r.path),
            "{} is not routed",
            r.path
        );
    }
}

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Caller {
    Key(Scope),
    Session(Role),
}

impl Caller {
    fn scopes(self) -> BTreeSet<Scope> {
        match self {
            Caller::Key(s) => [s].into(),
            Caller::Session(r) => r.scopes().iter().copied().collect(),
        }
    }

    fn scope_args(self) -> Vec<&'static str> {
        self.scopes().iter().map(|s| s.as_str()).collect()
    }

    fn name(self) -> String {
        match self {
            Caller::Key(s) => format!("key-{}", s.as_str().replace(':', "-")),
            Caller::Session(r) => format!("role-{r}"),
        }
    }
}

/// What a caller that passes the scope check is answered.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Status(u16),
    /// 403 `beyond_caller_access`: the caller cannot hand out what it lacks.
    BeyondAccess,
}

/// The documented answer to an allowed caller (see the module docs of
/// `serve/identity`): user routes act on viewers, so a caller without the
/// viewer's scopes is refused; key routes act on keys holding the caller's own
/// scopes, so they never are.
fn answer(route: &Route, caller: Caller) -> Answer {
    let viewer: BTreeSet<Scope> = Role::Viewer.scopes().iter().copied().collect();
    let users_write = route.path.starts_with("/v1/users") && route.method != "GET";
    if users_write && !viewer.is_subset(&caller.scopes()) {
        return Answer::BeyondAccess;
    }
    Answer::Status(match (route.method, route.path) {
        ("POST", "/v1/inspections" | "/v1/users" | "/v1/keys" | "/v1/holds" | "/v1/cases") => 201,
        // The matrix names a case that does not exist.
        (
            "GET" | "POST",
            "/v1/cases/{id}" | "/v1/cases/{id}/items" | "/v1/cases/{id}/close" | "/v1/cases/{id}/export",
        ) => 404,
        ("POST", "/v1/vault/rotate") => 202,
        // The matrix overrides an inspection that does not exist... with no body.
        ("POST", "/v1/inspections/{id}/overrides") => 400,
        // ...and resets the second factor of a user who does not exist.
        ("POST", "/v1/users/{id}/totp") => 404,
        (
            "GET",
            "/v1/inspections/{id}"
            | "/v1/inspections/{id}/redacted"
            | "/v1/inspections/{id}/thumbnail"
            | "/v1/inspections/{id}/original"
            | "/v1/inspections/{id}/overrides"
            // No camera is configured: an allowed caller finds no event,
            // no camera and no segment.
            | "/v1/events/{id}"
            | "/v1/events/{id}/snapshot"
            | "/v1/cameras/{name}/segments"
            | "/v1/cameras/{name}/live"
            | "/v1/segments/{id}/original"
            | "/v1/segments/{id}/redacted",
        ) => 404,
        // The matrix lifts a hold that does not exist.
        ("DELETE", "/v1/holds/{id}") => 404,
        ("DELETE" | "GET", _) if matches!(caller, Caller::Key(_)) && route.path.contains("sessions") => 409,
        ("DELETE", _) => 204,
        _ => 200,
    })
}

#[test]
fn every_route_times_every_scope_and_role_gets_exactly_the_documented_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let callers: Vec<Caller> = Scope::ALL
        .iter()
        .map(|s| Caller::Key(*s))
        .chain(Role::ALL.iter().map(|r| Caller::Session(*r)))
        .collect();
    // Credentials, and per caller a victim key (its own scopes) and a victim
    // viewer, all made on the data directory before the service starts.
    let mut keys = HashMap::new();
    let mut secrets = HashMap::new();
    let mut victim_keys = HashMap::new();
    for c in &callers {
        match c {
            Caller::Key(s) => {
                keys.insert(*c, create_key(&data, &[s.as_str()], &[]));
            }
            Caller::Session(r) => {
                secrets.insert(*c, create_user(&data, &c.name(), r.as_str()));
            }
        }
        let token = create_key(&data, &c.scope_args(), &[]);
        victim_keys.insert(*c, token[3..15].to_owned());
    }
    // The matrix refuses on purpose, many times a second from one address:
    // every refusal must be audited one by one, so the bound on refusals
    // per address is lifted for it.
    let server = Server::start_with_config(
        &data,
        "[auth]\nlogin_attempts_per_minute = 1000\n[http]\nrefusals_per_second = 100000\nrefusals_burst = 100000\n",
    );
    let list = |token: &str| {
        let auth = format!("Bearer {token}");
        let reply = send(
            &server,
            "GET",
            "/v1/users",
            &[("authorization", &auth)],
            vec![],
        );
        serde_json::from_str::<serde_json::Value>(&reply.body).expect("users")
    };
    for c in &callers {
        if let Caller::Session(_) = c {
            let token = login(&server, &c.name(), &secrets[c]);
            keys.insert(*c, token);
        }
    }
    // Victim viewers are made through the API by the owner.
    let owner = keys[&Caller::Session(Role::Owner)].clone();
    let mut victim_users = HashMap::new();
    for c in &callers {
        let name = format!("victim-{}", c.name());
        let body = serde_json::json!({"username": name, "role": "viewer", "password": PASSWORD});
        let auth = format!("Bearer {owner}");
        let made = send(
            &server,
            "POST",
            "/v1/users",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.to_string().into_bytes(),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        let v: serde_json::Value = serde_json::from_str(&made.body).expect("json");
        victim_users.insert(*c, v["user"]["id"].as_str().expect("id").to_owned());
    }
    assert!(list(&owner).as_array().expect("users").len() >= 10);

    let photo = std::fs::read(lensguard_testkit::samples_dir().join("sharp.jpg")).expect("sample");
    let mut expected_refusals = 0;
    let mut expected_escalations = 0;
    let mut counter = 0;
    for route in ROUTES {
        let mut call = |caller: Option<Caller>, allowed: bool| -> Reply {
            counter += 1;
            let id = match (route.path, caller) {
                (p, Some(c)) if p.starts_with("/v1/users/") => victim_users[&c].clone(),
                (p, Some(c)) if p.starts_with("/v1/keys/") => victim_keys[&c].clone(),
                _ => "00000000-0000-0000-0000-000000000000".to_owned(),
            };
            let mut path = route.path.replace("{id}", &id).replace("{name}", "dock-1");
            if path.ends_with("/inclusion") {
                path.push_str("?index=0");
            } else if path.ends_with("/consistency") {
                path.push_str("?from=1");
            } else if path.ends_with("/original") {
                path.push_str("?reason=access%20matrix");
            }
            let scopes: Vec<&str> = caller.map_or(vec!["inspections:read"], Caller::scope_args);
            let body = match (route.method, route.path) {
                // Refused requests are answered before their body is read; a
                // large body could still be in flight when the connection closes.
                ("POST", "/v1/inspections") if allowed => photo.clone(),
                ("POST", "/v1/bootstrap") => serde_json::json!({"token": "lgb_nope", "username": "nobody", "password": PASSWORD}).to_string().into_bytes(),
                ("POST", "/v1/sessions") => serde_json::json!({"username": format!("nobody{counter}"), "password": PASSWORD, "totp": "123456"}).to_string().into_bytes(),
                ("POST", "/v1/users") => serde_json::json!({"username": format!("made{counter}"), "role": "viewer", "password": PASSWORD}).to_string().into_bytes(),
                ("PATCH", _) => br#"{"role": "viewer"}"#.to_vec(),
                ("POST", "/v1/keys") => serde_json::json!({"name": "made", "scopes": scopes}).to_string().into_bytes(),
                // Each accepted change must raise the revision; the counter only grows.
                ("PUT", "/v1/policy") => lensguard_core::Policy::default()
                    .to_toml()
                    .replace("revision = 1", &format!("revision = {}", counter + 1))
                    .into_bytes(),
                ("POST", "/v1/inspections") => b"not read".to_vec(),
                ("POST", "/v1/holds") => br#"{"device": "cam-matrix", "reason": "access matrix"}"#.to_vec(),
                ("POST", "/v1/erasure") => br#"{"device": "cam-nobody"}"#.to_vec(),
                ("POST", "/v1/cases") => br#"{"name": "matrix", "reason": "access matrix"}"#.to_vec(),
                ("POST", "/v1/cases/{id}/items") => br#"{"inspections": ["nope"]}"#.to_vec(),
                _ => Vec::new(),
            };
            let content_type = match route.path {
                "/v1/inspections" => "image/jpeg",
                "/v1/policy" => "application/toml",
                _ => "application/json",
            };
            let mut headers = vec![("content-type", content_type)];
            let auth = caller.map(|c| format!("Bearer {}", keys[&c]));
            if let Some(a) = &auth {
                headers.push(("authorization", a));
            }
            send(&server, route.method, &path, &headers, body)
        };
        let what = |c: Option<Caller>| format!("{} {} as {c:?}", route.method, route.path);
        let anonymous = call(None, matches!(route.need, Need::Public(_)));
        match route.need {
            Need::Public(status) => assert_eq!(anonymous.status, status, "{}", what(None)),
            Need::Authenticated | Need::Scope(_) => {
                assert_eq!(anonymous.status, 401, "{}", what(None));
                expected_refusals += 1;
            }
        }
        for caller in &callers {
            let allowed = match route.need {
                Need::Public(_) | Need::Authenticated => true,
                Need::Scope(needed) => caller.scopes().contains(&needed),
            };
            let reply = call(Some(*caller), allowed);
            let code = serde_json::from_str::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            let got = if reply.status == 403 && code == "beyond_caller_access" {
                Answer::BeyondAccess
            } else {
                Answer::Status(reply.status)
            };
            let expected = match route.need {
                Need::Public(status) => Answer::Status(status),
                _ if !allowed => {
                    expected_refusals += 1;
                    Answer::Status(403)
                }
                _ => answer(route, *caller),
            };
            if expected == Answer::BeyondAccess {
                expected_escalations += 1;
            }
            assert_eq!(got, expected, "{}: {}", what(Some(*caller)), reply.body);
            if !allowed {
                assert_eq!(code, "forbidden", "{}", what(Some(*caller)));
            }
        }
    }
    drop(server);
    let actions = audit_actions(&data);
    let gate_refusals = actions
        .iter()
        .filter(|(action, outcome)| {
            action.starts_with("auth.")
                && action != "auth.login"
                && (outcome == "failure" || outcome == "denied")
        })
        .count();
    assert_eq!(
        gate_refusals, expected_refusals,
        "every refusal is audited, once"
    );
    let escalations = actions
        .iter()
        .filter(|(action, outcome)| {
            (action.starts_with("users.") || action.starts_with("keys.")) && outcome == "denied"
        })
        .count();
    assert_eq!(
        escalations, expected_escalations,
        "every escalation refusal is audited"
    );
    assert!(expected_refusals > 100 && expected_escalations > 0);
}

/// Rows of the Markdown table under `## heading` in `docs/access.md`: cells
/// without backticks.
fn doc_table(heading: &str) -> Vec<Vec<String>> {
    let doc = include_str!("../../../../docs/access.md");
    let section = doc
        .split(&format!("## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no section {heading}"));
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().replace('`', ""))
                .collect()
        })
        .collect()
}

#[test]
fn the_documented_roles_and_routes_are_the_code_and_the_test() {
    let roles = doc_table("Roles");
    assert_eq!(roles.len(), Role::ALL.len());
    for row in &roles {
        let role: Role = row[0].parse().expect("a role name");
        let documented: BTreeSet<Scope> = row[1]
            .split(", ")
            .map(|s| s.parse().expect("a scope name"))
            .collect();
        let code: BTreeSet<Scope> = role.scopes().iter().copied().collect();
        assert_eq!(
            documented, code,
            "docs/access.md and Role::scopes disagree on {role}"
        );
    }
    let routes = doc_table("Routes");
    assert_eq!(
        routes.len(),
        ROUTES.len(),
        "docs/access.md lists every route"
    );
    for route in ROUTES {
        let key = format!("{} {}", route.method, route.path);
        let row = routes
            .iter()
            .find(|r| r[0] == key)
            .unwrap_or_else(|| panic!("{key} is not in docs/access.md"));
        let needs = &row[1];
        let agrees = match route.need {
            Need::Public(_) => needs.starts_with("nothing"),
            Need::Authenticated => needs.starts_with("any valid credentials"),
            Need::Scope(s) => needs == s.as_str(),
        };
        assert!(agrees, "{key}: documented as {needs:?}");
    }
}
