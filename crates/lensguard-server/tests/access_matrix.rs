//! The access matrix, generated: every route x every scope (and no credentials),
//! asserting exactly the documented rule: the route's scope succeeds, no
//! credentials gives 401, any other scope 403, and every refusal is audited.
//! A route added to the service without a row here fails `every_route_is_listed`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

mod common;

use common::{Server, audit_actions, create_key, send};
use lensguard_core::access::Scope;

/// What a route needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: public.
    Public,
    /// Any valid credential.
    Authenticated,
    /// This scope.
    Scope(Scope),
}

/// Method, path, and what it needs.
struct Route {
    method: &'static str,
    path: &'static str,
    need: Need,
}

const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        path: "/healthz",
        need: Need::Public,
    },
    Route {
        method: "GET",
        path: "/v1/openapi.json",
        need: Need::Authenticated,
    },
    Route {
        method: "POST",
        path: "/v1/inspections",
        need: Need::Scope(Scope::InspectionsWrite),
    },
    Route {
        method: "GET",
        path: "/v1/inspections",
        need: Need::Scope(Scope::InspectionsRead),
    },
    Route {
        method: "GET",
        path: "/v1/inspections/{id}",
        need: Need::Scope(Scope::InspectionsRead),
    },
];

#[test]
fn every_route_is_listed() {
    let source = include_str!("../src/serve/http.rs");
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

#[test]
fn every_route_times_every_scope_gets_exactly_the_documented_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens: Vec<(Scope, String)> = Scope::ALL
        .iter()
        .map(|s| (*s, create_key(dir.path(), &[s.as_str()], &[])))
        .collect();
    let server = Server::start(dir.path(), &[]);
    let photo = std::fs::read(lensguard_testkit::samples_dir().join("sharp.jpg")).expect("sample");
    let mut expected_refusals = 0;
    for route in ROUTES {
        let path = route
            .path
            .replace("{id}", "00000000-0000-0000-0000-000000000000");
        // Only requests that will be accepted carry the photo: refused ones are
        // answered before their body is read, and a large body could still be in
        // flight when the connection closes.
        let call = |auth: Option<&str>, accepted: bool| {
            let mut headers = vec![("content-type", "image/jpeg")];
            if let Some(a) = auth {
                headers.push(("authorization", a));
            }
            let body = if accepted && route.method == "POST" {
                photo.clone()
            } else {
                b"not read".to_vec()
            };
            send(&server, route.method, &path, &headers, body).status
        };
        let anonymous = call(None, route.need == Need::Public);
        match route.need {
            Need::Public => assert_eq!(anonymous, 200, "{} {}", route.method, route.path),
            Need::Authenticated | Need::Scope(_) => {
                assert_eq!(
                    anonymous, 401,
                    "{} {} without credentials",
                    route.method, route.path
                );
                expected_refusals += 1;
            }
        }
        for (scope, token) in &tokens {
            let allowed = match route.need {
                Need::Public | Need::Authenticated => true,
                Need::Scope(needed) => needed == *scope,
            };
            let status = call(Some(&format!("Bearer {token}")), allowed);
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{} {} with {scope}: {status}",
                    route.method,
                    route.path
                );
            } else {
                assert_eq!(status, 403, "{} {} with {scope}", route.method, route.path);
                expected_refusals += 1;
            }
        }
    }
    drop(server);
    let refusals = audit_actions(dir.path())
        .iter()
        .filter(|(action, outcome)| {
            action.starts_with("auth.") && (outcome == "failure" || outcome == "denied")
        })
        .count();
    assert_eq!(
        refusals, expected_refusals,
        "every refusal is audited, once"
    );
}
