//! `lensguard serve` end to end: TLS with its own certificate, security headers on
//! every response, JSON errors, audited start and stop, fail-closed audit,
//! slow-client timeout, configuration errors.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common;

use crate::common::{Server, request};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

#[test]
fn health_probe_answers_ok_with_security_headers_and_reveals_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    let r = request(&server, "GET", "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert_eq!(
        r.header("strict-transport-security").as_deref(),
        Some("max-age=31536000; includeSubDomains")
    );
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(r.header("server").is_none(), "no product banner");
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn errors_are_json_with_a_request_id_and_carry_hsts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), &[]);
    for (method, path, status, code) in [
        ("GET", "/v1/nothing-here", 404, "not_found"),
        ("POST", "/healthz", 405, "method_not_allowed"),
    ] {
        let r = request(&server, method, path);
        assert_eq!(r.status, status, "{method} {path}");
        let body: serde_json::Value = serde_json::from_str(&r.body).expect("JSON error body");
        assert_eq!(body["code"], code);
        assert_eq!(
            body["request_id"].as_str(),
            r.header("x-request-id").as_deref()
        );
        assert!(
            r.header("strict-transport-security").is_some(),
            "HSTS on errors too"
        );
    }
    // The answers hyper writes itself, before any middleware: a URI too long
    // (414) and headers too large (431). Before, these carried no HSTS.
    let long_uri = format!(
        "GET /v1/{} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_headers = format!(
        "GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{}\r\n",
        (0..200)
            .map(|i| format!("x-filler-{i}: {i}\r\n"))
            .collect::<String>()
    );
    for (request, status) in [(long_uri, "414"), (big_headers, "431")] {
        let answer = common::raw_exchange(&server, request.as_bytes());
        let head = answer
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(head.starts_with(&format!("http/1.1 {status} ")), "{head}");
        assert!(
            head.contains("\r\nstrict-transport-security: max-age=31536000; includesubdomains\r\n"),
            "HSTS on the {status} hyper writes"
        );
    }
}

#[test]
fn start_and_stop_are_audited_and_the_certificate_is_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = Server::start(dir.path(), &[]);
    let security = first.wait_for_line("security: ");
    assert!(
        security.contains("suites=AEAD only") && security.contains("hsts=max-age=31536000"),
        "{security}"
    );
    let cert = std::fs::read(dir.path().join("tls/cert.pem")).expect("cert");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .expect("meta")
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("tls/key.pem"), 0o600);
        assert_eq!(
            std::fs::metadata(dir.path())
                .expect("meta")
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
    }
    let (status, stderr) = first.stop();
    assert!(status.success(), "{stderr}");
    let second = Server::start(dir.path(), &[]);
    assert_eq!(
        std::fs::read(dir.path().join("tls/cert.pem")).expect("cert"),
        cert,
        "certificate kept"
    );
    drop(second);

    let log = std::fs::read_to_string(dir.path().join("audit/log.jsonl")).expect("audit log");
    let actions: Vec<String> = log
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(&l[65..]).expect("entry")["action"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        [
            "audit.cadence",
            "service.start",
            "users.bootstrap_token",
            "service.stop",
            "service.start",
            "users.bootstrap_token",
            "service.stop"
        ]
    );
    assert!(log.contains("dangerous=none"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_service_that_cannot_audit_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("audit")).expect("dir");
    // Every write to /dev/full fails with ENOSPC, like a full disk.
    std::os::unix::fs::symlink("/dev/full", dir.path().join("audit/log.jsonl")).expect("symlink");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refusing to start"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "it must never listen"
    );
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_config(
        &dir.path().join("data"),
        "[http]\nheader_read_timeout_secs = 1\n",
    );
    let tcp = std::net::TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    let conn = rustls::ClientConnection::new(
        common::client_config(&server.data_dir),
        rustls_pki_types::ServerName::try_from("localhost").expect("name"),
    )
    .expect("client");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .expect("partial headers");
    tls.sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let n = tls.read(&mut buf).unwrap_or(0);
    let waited = start.elapsed();
    let answer = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(n == 0 || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(waited < Duration::from_secs(5), "cut off after {waited:?}");
}

#[test]
fn invalid_configuration_is_refused_with_every_problem_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "listen = \"everywhere\"\n[http]\nhsts_max_age_secs = 60\n",
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("listen:")
            && stderr.contains("hsts_max_age_secs: must be at least 31536000"),
        "{stderr}"
    );

    std::fs::write(&config, "[tls]\ncertificate = \"x.pem\"\n").expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.toml:2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn dangerous_options_are_announced_and_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        Server::start_with_config(&dir.path().join("data"), "dangerous_disable_hsts = true\n");
    let r = request(&server, "GET", "/healthz");
    assert!(r.header("strict-transport-security").is_none());
    let (_, stderr) = server.stop();
    assert!(
        stderr.contains("WARNING: dangerous option in force: dangerous_disable_hsts"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(dir.path().join("data/audit/log.jsonl")).expect("log");
    assert!(log.contains("dangerous=dangerous_disable_hsts"));
}

/// Everything under `dir`, relative, sorted.
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        out.push(p.strip_prefix(dir).unwrap_or(&p).display().to_string());
        if p.is_dir() {
            out.extend(
                tree(&p)
                    .into_iter()
                    .map(|c| format!("{}/{c}", e.file_name().to_string_lossy())),
            );
        }
    }
    out.sort();
    out
}

#[test]
fn a_bad_policy_or_a_busy_port_is_refused_before_anything_is_created() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("dir");
    std::fs::write(data.join("policy.toml"), "version = 1\nname = \n").expect("policy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("policy.toml"), "{stderr}");
    assert_eq!(tree(&data), ["policy.toml"], "nothing may be created");

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let fresh = dir.path().join("fresh");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&fresh)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(
        !fresh.exists(),
        "a busy port must not leave a data directory behind"
    );
}

#[test]
fn plain_http_to_the_https_port_gets_a_short_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", server.port())).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    tcp.write_all(b"GET /v1/inspections HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    tcp.read_to_string(&mut answer)
        .expect("an answer, then close");
    assert!(
        answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("This port speaks HTTPS only: use https:// in the URL.\n"),
        "{answer}"
    );
    // It names nothing about the service and echoes nothing sent.
    assert!(
        !answer.contains("lensguard") && !answer.contains("/v1/") && !answer.contains("localhost")
    );
    // TLS still works on the same port.
    assert_eq!(request(&server, "GET", "/healthz").status, 200);
}

#[test]
fn keys_and_users_are_listed_while_the_service_runs_with_the_rotation_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    common::create_key(&data, &["inspections:write"], &[]);
    let listed = common::lensguard(&["keys", "list", "--data-dir", data.to_str().expect("utf8")]);
    let id = common::text(&listed.stdout)
        .split_whitespace()
        .next()
        .expect("key id")
        .to_owned();
    let rotated = common::lensguard(&[
        "keys",
        "rotate",
        &id,
        "--overlap-hours",
        "24",
        "--data-dir",
        data.to_str().expect("utf8"),
    ]);
    assert!(
        rotated.status.success(),
        "{}",
        common::text(&rotated.stderr)
    );
    let server = Server::start(&data, &[]);
    let out = common::lensguard(&["keys", "list", "--data-dir", data.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let line = common::text(&out.stdout);
    assert!(
        line.contains(&id) && line.contains("expires=never"),
        "{line}"
    );
    let until = line
        .split("previous-secret-until=")
        .nth(1)
        .expect("the overlap end is shown")
        .trim();
    let until = time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    let minutes = (until - time::OffsetDateTime::now_utc()).whole_minutes();
    assert!((23 * 60..=24 * 60).contains(&minutes), "{line}");
    let out = common::lensguard(&["users", "list", "--data-dir", data.to_str().expect("utf8")]);
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    assert!(common::text(&out.stderr).contains("no users in"));
    drop(server);
}

/// Every file the service keeps is its owner's only (0600, folders 0700):
/// the database and its WAL, the audit log, the policy, the keys. A data
/// directory from an earlier version (a 0644 policy, a 0755 folder) is
/// tightened at start. Before, `lensguard.db`, the audit log and
/// `policy.toml` were 0644 and the folders 0755.
#[cfg(unix)]
#[test]
fn every_file_in_the_data_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().expect("tempdir");
    let dir = root.path().join("data");
    std::fs::create_dir_all(dir.join("legacy")).expect("mkdir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(dir.join("legacy"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    std::fs::write(
        dir.join("policy.toml"),
        "version = 1\nname = \"dock\"\nrevision = 1\n",
    )
    .expect("policy");
    std::fs::set_permissions(
        dir.join("policy.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let server = Server::start(&dir, &[]);
    assert_eq!(request(&server, "GET", "/healthz").status, 200);
    let mut seen = Vec::new();
    let mut folders = vec![dir.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::symlink_metadata(&path).expect("meta");
            let mode = meta.permissions().mode() & 0o777;
            let want = if meta.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode, want, "{} is {mode:o}", path.display());
            if meta.is_dir() {
                folders.push(path.clone());
            }
            seen.push(path);
        }
    }
    for name in ["lensguard.db", "audit/log.jsonl", "policy.toml", "legacy"] {
        assert!(seen.contains(&dir.join(name)), "{name} checked");
    }
    drop(server);
}

/// A blocking TCP connection to the service from the loopback address `source`.
fn tcp_from(server: &Server, source: [u8; 4]) -> std::net::TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tcp = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from((source, 0)))
            .expect("bind");
        socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], server.port())))
            .await
            .expect("connect")
    });
    let tcp = tcp.into_std().expect("std");
    tcp.set_nonblocking(false).expect("blocking");
    tcp.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    tcp
}

/// A TLS connection to the service from the loopback address `source`.
fn tls_from(
    server: &Server,
    source: [u8; 4],
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    let conn = rustls::ClientConnection::new(
        common::client_config(&server.data_dir),
        rustls_pki_types::ServerName::try_from("localhost").expect("name"),
    )
    .expect("client");
    rustls::StreamOwned::new(conn, tcp_from(server, source))
}

/// A login body sent a byte every half second is answered `408
/// body_too_slow` once it falls behind the minimum rate, and the connection
/// closed. Before, a body at one byte per 10 s held its connection for as
/// long as the client liked.
#[test]
fn a_body_that_trickles_in_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_config(
        &dir.path().join("data"),
        "[http]\nheader_read_timeout_secs = 1\nbody_min_bytes_per_second = 100\n",
    );
    let mut tls = tls_from(&server, [127, 0, 0, 1]);
    tls.write_all(
        b"POST /v1/sessions HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    )
    .expect("head");
    let start = Instant::now();
    // One byte every half second, reading whatever the service answers in
    // between (a short read timeout).
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut answer = Vec::new();
    while start.elapsed() < Duration::from_secs(12) {
        let mut buf = [0u8; 1024];
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        if answer.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        if tls.write_all(b" ").is_err() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(
        text.starts_with("http/1.1 408"),
        "{text:?} after {:?}",
        start.elapsed()
    );
    assert!(text.contains("connection: close"), "{text}");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "cut off after {:?}",
        start.elapsed()
    );
}

/// Idle connections are closed after `idle_timeout_secs`, and past the
/// per-client bound a client's new connections are closed at once while
/// another address is still served. Before, 1000 idle connections from one
/// client exhausted the file descriptors and `/healthz` stopped answering.
#[test]
fn idle_and_excess_connections_are_closed_and_others_still_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start_with_config(
        &dir.path().join("data"),
        "[http]\nidle_timeout_secs = 2\nmax_connections_per_client = 4\n",
    );
    // An idle TLS connection (a finished request, kept alive) is closed.
    let mut idle = tls_from(&server, [127, 0, 0, 1]);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let mut buf = [0u8; 4096];
    assert!(idle.read(&mut buf).expect("answer") > 0);
    let start = Instant::now();
    while idle.read(&mut buf).unwrap_or(0) > 0 {}
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "closed after {waited:?}"
    );

    // Four held connections from 127.0.0.1 (plain TCP, nothing sent).
    let held: Vec<std::net::TcpStream> =
        (0..4).map(|_| tcp_from(&server, [127, 0, 0, 1])).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut fifth = tcp_from(&server, [127, 0, 0, 1]);
    let start = Instant::now();
    let n = fifth.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "a fifth connection from one client is closed");
    assert!(start.elapsed() < Duration::from_secs(1), "at once");
    // Another client is served.
    let answer = common::raw_exchange_from(
        &server,
        [127, 0, 0, 2],
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nconnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
}

/// One HTTP/2 connection may have at most 64 streams open: the service
/// says so in its SETTINGS, and a client that opens 200 at once on one
/// connection is served within that bound.
#[test]
fn an_http2_connection_is_bounded_in_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(&dir.path().join("data"), &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tls = common::tls_connect(&server).await;
        let (client, connection) = h2::client::handshake(tls).await.expect("h2 handshake");
        tokio::spawn(connection);
        let mut client = client.ready().await.expect("ready");
        let request = || {
            axum::http::Request::get("https://localhost/healthz")
                .body(())
                .expect("request")
        };
        let (first, _) = client.send_request(request(), true).expect("send");
        assert_eq!(first.await.expect("answer").status(), 200);
        assert_eq!(client.current_max_send_streams(), 64);
        let mut answers = Vec::new();
        for _ in 0..200 {
            client = client.ready().await.expect("ready");
            let (answer, _) = client.send_request(request(), true).expect("send");
            answers.push(answer);
        }
        for a in answers {
            assert_eq!(a.await.expect("answer").status(), 200);
        }
    });
}
