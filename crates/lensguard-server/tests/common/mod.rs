//! Shared harness: run `lensguard serve` on a free loopback port and talk to it
//! over real TLS, trusting the certificate the service generated.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)] // each test file uses a part

pub mod browser;
pub mod identity;
pub mod models;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tests that run a camera take turns: a camera test depends on decoding
/// and detection keeping up with the stream, and on two cores two of them at
/// once starve each other (segments land in the wrong category, a restarted
/// stream comes back too late). Other heavy tests (a browser with its own
/// servers) take the same turn, so they do not starve a camera either. Hold
/// the guard for the whole test.
pub fn camera_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The test virtual environment's Python (`scripts/install-test-deps`
/// fills it), when it can run `import {imports}`; `what` names the missing
/// tool. Missing under `CI=true` fails the test; elsewhere it is skipped,
/// loudly.
#[allow(dead_code)] // only the end-to-end tests run Python tools
pub fn test_python(imports: &str, what: &str) -> Option<PathBuf> {
    let python = std::env::var_os("LENSGUARD_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/lensguard")
        })
        .join("test-venv/bin/python");
    let ready = Command::new(&python)
        .args(["-c", &format!("import {imports}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let why = format!("{what} (test venv) is missing; scripts/install-test-deps installs it");
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{why}");
        eprintln!("\n*** SKIPPING: {why} ***\n");
        return None;
    }
    Some(python)
}

/// Runs the `lensguard` binary to completion.
pub fn lensguard(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Whether `tool` runs (`tool --version`). Missing under `CI=true` fails
/// the test (a missing prerequisite must not pass as a skip); elsewhere the
/// caller skips, and this says so.
pub fn tool_available(tool: &str, installed_by: &str) -> bool {
    if Command::new(tool).arg("--version").output().is_ok() {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{tool} is required under CI ({installed_by} installs it)"
    );
    eprintln!("\n*** SKIPPING: {tool} is not installed ***\n");
    false
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `lensguard serve`, stopped (SIGTERM, by its PID) when dropped.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub data_dir: PathBuf,
    pub stdout_rest: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the service with `--listen 127.0.0.1:0 --data-dir DIR` plus `extra`.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_via(
            Command::new(env!("CARGO_BIN_EXE_lensguard")),
            data_dir,
            extra,
        )
    }

    /// Starts the service with a configuration file holding `config` (TOML),
    /// written beside the data directory.
    pub fn start_with_config(data_dir: &Path, config: &str) -> Server {
        let file = data_dir.with_extension("toml");
        std::fs::write(&file, config).expect("write the configuration");
        Self::start(data_dir, &["--config", file.to_str().expect("utf8 path")])
    }

    /// Like [`Server::start`], through a prepared command (a wrapper that then
    /// runs the binary with the arguments appended).
    pub fn start_via(command: Command, data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_listening(command, "127.0.0.1:0", data_dir, extra)
    }

    /// Runs `lensguard serve` on `data_dir` with `config` (TOML, as
    /// [`Server::start_with_config`]) expecting it to refuse to start;
    /// returns its standard error. A service that starts instead is stopped
    /// and the test fails.
    pub fn refused(data_dir: &Path, config: &str) -> String {
        let file = data_dir.with_extension("toml");
        std::fs::write(&file, config).expect("write the configuration");
        let mut child = Command::new(env!("CARGO_BIN_EXE_lensguard"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .arg("--config")
            .arg(&file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lensguard serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .ok();
        if first.starts_with("lensguard listening on") {
            let (_, err) = terminate(&mut child);
            panic!("the service started although it must refuse: {err}");
        }
        let status = child.wait().expect("wait");
        assert!(!status.success(), "a refusal exits non-zero");
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).ok();
        err
    }

    /// Like [`Server::start_via`], listening on `listen`.
    pub fn start_listening(
        mut command: Command,
        listen: &str,
        data_dir: &Path,
        extra: &[&str],
    ) -> Server {
        let mut child = command
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lensguard serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let Some(addr) = first.strip_prefix("lensguard listening on https://") else {
            let status = child.wait().expect("wait");
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err).ok();
            panic!("the service did not start ({status}): {first}\n{err}");
        };
        let addr = addr.to_owned();
        // Keep reading standard output so the service never writes into a closed
        // or full pipe; lines after the first are kept for `stdout_lines`.
        let rest = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&rest);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().expect("lines").push(line);
            }
        });
        Server {
            child: Some(child),
            addr,
            data_dir: data_dir.to_path_buf(),
            stdout_rest: rest,
        }
    }

    /// Waits up to 10 s for a standard output line starting with `prefix`.
    pub fn wait_for_line(&self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(l) = self
                .stdout_rest
                .lock()
                .expect("lines")
                .iter()
                .find(|l| l.starts_with(prefix))
            {
                return l.clone();
            }
            assert!(Instant::now() < deadline, "no line starting {prefix:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The port the service bound.
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// Waits up to `within` for the service to end by itself (a crash point
    /// reached); the test fails if it is still running.
    pub fn wait_for_exit(mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let (_, err) = terminate(&mut child);
                panic!("the service did not end by itself: {err}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGKILL (a crash: nothing runs at exit) and waits for the end.
    pub fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    /// Sends SIGTERM and waits up to 20 s; returns the exit status and stderr.
    pub fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        terminate(&mut child)
    }
}

fn terminate(child: &mut Child) -> (ExitStatus, String) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        std::io::Read::read_to_string(&mut e, &mut err).ok();
    }
    (status, err)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
    }
}

/// A TLS client configuration that trusts only the service's own certificate.
pub fn client_config(data_dir: &Path) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(data_dir.join("tls/cert.pem")).expect("cert") {
        roots.add(cert.expect("pem")).expect("add root");
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// A response: status, headers, body as text.
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: String,
    /// The body as sent (for images).
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// `method path` over HTTPS to `localhost:port`, verifying the certificate.
pub fn request(server: &Server, method: &str, path: &str) -> Reply {
    send(server, method, path, &[], Vec::new())
}

/// A TLS connection to the service (on the current runtime), verifying its
/// own certificate.
pub async fn tls_connect(
    server: &Server,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .expect("connect");
    tokio_rustls::TlsConnector::from(client_config(&server.data_dir))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake with the service's own certificate")
}

/// `method path` with extra headers and a body.
pub fn send(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tls = tls_connect(server).await;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .expect("http handshake");
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let res = sender
            .send_request(req)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no response ({e:?})"));
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            raw: body.to_vec(),
        }
    })
}

/// Writes `bytes` to the service over TLS as they are (a request the client
/// libraries would refuse to build) and returns what it answers, until it
/// closes the connection or 10 s pass.
pub fn raw_exchange(server: &Server, bytes: &[u8]) -> String {
    raw_exchange_from(server, [127, 0, 0, 1], bytes)
}

/// [`raw_exchange`] from the loopback address `source` (127.0.0.0/8).
pub fn raw_exchange_from(server: &Server, source: [u8; 4], bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from((source, 0)))
            .expect("bind the source address");
        let tcp = socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], server.port())))
            .await
            .expect("connect");
        let mut tls = tokio_rustls::TlsConnector::from(client_config(&server.data_dir))
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("TLS handshake");
        // The service may answer and close before it has read everything.
        let _ = tls.write_all(bytes).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// `GET path` with `Authorization: Bearer token`.
pub fn get_with(server: &Server, path: &str, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    send(server, "GET", path, &[("authorization", &auth)], Vec::new())
}

/// Runs `lensguard keys create` on a data directory and returns the token.
pub fn create_key(data_dir: &Path, scopes: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["keys", "create", "--name", "test client"];
    for s in scopes {
        args.extend(["--scope", s]);
    }
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(&args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("keys create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("token (shown once, store it safely): "))
        .expect("token")
        .to_owned()
}

/// The audit log's actions with their outcomes, in order.
pub fn audit_actions(data_dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(data_dir.join("audit/log.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l[65..]).expect("entry");
            (
                v["action"].as_str().unwrap_or("").to_owned(),
                v["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A 32-byte hash from its hex JSON string.
pub fn hex_hash(v: &serde_json::Value) -> [u8; 32] {
    hex::decode(v.as_str().expect("hex"))
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

/// A proof's hashes from a JSON array of hex strings.
pub fn hex_path(v: &serde_json::Value) -> Vec<[u8; 32]> {
    v.as_array().expect("path").iter().map(hex_hash).collect()
}

/// The boundary [`form`] uses.
pub const BOUNDARY: &str = "lensguard-test-boundary";

/// A `multipart/form-data` body: `(name, content type or None, bytes)` parts.
/// Submits `photo` from `device` as multipart (expects `201`); the report.
#[allow(dead_code)] // not every test binary submits photos
pub fn submit_photo(server: &Server, token: &str, photo: &[u8], device: &str) -> serde_json::Value {
    let auth = format!("Bearer {token}");
    let kind = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = form(&[
        ("photo", Some("image/jpeg"), photo),
        ("device_id", None, device.as_bytes()),
    ]);
    let r = send(
        server,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", &kind)],
        body,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    serde_json::from_str(&r.body).expect("json")
}

pub fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, kind, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match kind {
            Some(k) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"p\"\r\nContent-Type: {k}\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Every file under `dir` whose bytes contain `needle`.
pub fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            hits.extend(files_holding(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) {
            hits.push(p);
        }
    }
    hits
}

/// The audit log's entries as JSON, in order.
pub fn audit_entries(data_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(data_dir.join("audit/log.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(&l[65..]).expect("entry"))
        .collect()
}
