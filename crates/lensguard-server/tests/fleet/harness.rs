//! Hubs and edges as real processes: `lensguard hub init/serve/enroll`,
//! `lensguard edge enroll`, `lensguard serve`; the hub's database read
//! directly for counting.

use super::common::{Server, lensguard, text};
use lensguard_store::hub::HubDb;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The policy edges run in these tests: its egress manifest lets the id,
/// verdict and submission metadata out, nothing else.
pub const POLICY: &str = "version = 1\nname = \"fleet-test\"\nrevision = 3\n\n[egress]\nfields = [\"id\", \"verdict\", \"submission\"]\n";

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A hub's data directory and database.
pub struct HubDir {
    pub dir: PathBuf,
    pub database: String,
}

impl HubDir {
    /// `lensguard hub init` in `dir` for 127.0.0.1, on `database` (None: SQLite).
    pub fn init(dir: &Path, database: Option<String>) -> HubDir {
        Self::init_named(dir, database, "127.0.0.1")
    }

    /// `lensguard hub init` in `dir` for address `name` (and localhost).
    pub fn init_named(dir: &Path, database: Option<String>, name: &str) -> HubDir {
        let database =
            database.unwrap_or_else(|| format!("sqlite://{}", dir.join("hub.db").display()));
        let out = lensguard(&[
            "hub",
            "init",
            "--data-dir",
            dir.to_str().unwrap(),
            "--database",
            &database,
            "--name",
            name,
            "--name",
            "localhost",
        ]);
        assert!(out.status.success(), "hub init: {}", text(&out.stderr));
        HubDir {
            dir: dir.to_owned(),
            database,
        }
    }

    fn args<'a>(&'a self, cmd: &'a str) -> Vec<&'a str> {
        vec![
            "hub",
            cmd,
            "--data-dir",
            self.dir.to_str().unwrap(),
            "--database",
            &self.database,
        ]
    }

    /// A one-time enrolment token.
    pub fn token(&self, name: &str) -> String {
        let mut args = self.args("enroll");
        args.extend(["--name", name]);
        let out = lensguard(&args);
        assert!(out.status.success(), "hub enroll: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }

    /// An operator token.
    pub fn operator_token(&self) -> String {
        let mut args = self.args("token");
        args.extend(["--name", "tests"]);
        let out = lensguard(&args);
        assert!(out.status.success(), "hub token: {}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    }

    /// `lensguard hub revoke`.
    pub fn revoke(&self, edge: &str) {
        let mut args = self.args("revoke");
        args.push(edge);
        let out = lensguard(&args);
        assert!(out.status.success(), "hub revoke: {}", text(&out.stderr));
    }

    /// Starts `lensguard hub serve` on `port`.
    pub fn serve(&self, port: u16) -> HubProcess {
        self.serve_via(
            Command::new(env!("CARGO_BIN_EXE_lensguard")),
            &format!("127.0.0.1:{port}"),
        )
    }

    /// Starts `lensguard hub serve` on `port` with `extra` arguments.
    pub fn serve_with(&self, port: u16, extra: &[&str]) -> HubProcess {
        self.serve_args(
            Command::new(env!("CARGO_BIN_EXE_lensguard")),
            &format!("127.0.0.1:{port}"),
            extra,
        )
    }

    /// Starts `lensguard hub serve` on `listen` through `command` (a wrapper
    /// such as `ip netns exec NS lensguard`).
    pub fn serve_via(&self, command: Command, listen: &str) -> HubProcess {
        self.serve_args(command, listen, &[])
    }

    fn serve_args(&self, mut command: Command, listen: &str, extra: &[&str]) -> HubProcess {
        let mut args = self.args("serve");
        args.extend(["--listen", listen]);
        args.extend_from_slice(extra);
        let mut child = command
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hub");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        if !first.starts_with("lensguard hub listening on") {
            let _ = child.kill();
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).ok();
            panic!("the hub did not start: {first}\n{err}");
        }
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        HubProcess { child: Some(child) }
    }

    /// The hub database, opened by the test.
    pub async fn db(&self) -> HubDb {
        HubDb::open(&self.database).await.expect("hub db")
    }

    /// The URL edges use.
    pub fn url(port: u16) -> String {
        format!("https://127.0.0.1:{port}")
    }
}

/// A running hub, stopped (SIGTERM, by its PID) when dropped.
pub struct HubProcess {
    child: Option<Child>,
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            lensguard_testkit::process::terminate(&mut c, Duration::from_secs(15));
        }
    }
}

/// Enrols the edge in `data_dir`; returns its id, or the refusal.
pub fn enrol(data_dir: &Path, url: &str, token: &str) -> Result<String, String> {
    enrol_via(
        Command::new(env!("CARGO_BIN_EXE_lensguard")),
        data_dir,
        url,
        token,
    )
}

/// [`enrol`] through a wrapper command (`ip netns exec NS lensguard`).
pub fn enrol_via(
    mut command: Command,
    data_dir: &Path,
    url: &str,
    token: &str,
) -> Result<String, String> {
    std::fs::create_dir_all(data_dir).unwrap();
    let out = command
        .args([
            "edge",
            "enroll",
            "--hub",
            url,
            "--token",
            token,
            "--data-dir",
        ])
        .arg(data_dir)
        .output()
        .expect("lensguard runs");
    if !out.status.success() {
        return Err(text(&out.stderr));
    }
    let stdout = text(&out.stdout);
    let id = stdout
        .split("as edge ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("edge id")
        .to_owned();
    Ok(id)
}

/// Prepares an edge data directory: the test policy, an API key.
pub fn prepare_edge(data_dir: &Path) -> String {
    std::fs::create_dir_all(data_dir).unwrap();
    std::fs::write(data_dir.join("policy.toml"), POLICY).unwrap();
    super::common::create_key(data_dir, &["inspections:write", "metrics:read"], &[])
}

/// Starts the edge service (no models: faster, and derivatives do not matter
/// here) with `config` TOML.
pub fn start_edge(data_dir: &Path, config: &str) -> Server {
    let config = format!("models_dir = \"/nonexistent-lensguard-models\"\n{config}");
    Server::start_with_config(data_dir, &config)
}

/// A small photo.
pub fn photo() -> Vec<u8> {
    std::fs::read(lensguard_testkit::samples_dir().join("sharp.jpg")).expect("sample photo")
}

/// Submits one photo; returns the status and the inspection id (on 201).
pub fn submit(edge: &Server, token: &str, device: &str) -> (u16, Option<String>) {
    let body = super::common::form(&[
        ("photo", Some("image/jpeg"), &photo()),
        ("device_id", None, device.as_bytes()),
    ]);
    let auth = format!("Bearer {token}");
    let kind = format!("multipart/form-data; boundary={}", super::common::BOUNDARY);
    let r = super::common::send(
        edge,
        "POST",
        "/v1/inspections",
        &[("authorization", &auth), ("content-type", &kind)],
        body,
    );
    let id = (r.status == 201)
        .then(|| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .flatten()
        .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
    (r.status, id)
}

/// Waits up to `secs` for `cond`.
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs `f` on a fresh runtime.
pub fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The edge's outbox depth (service stopped or running: WAL readers are fine).
pub fn outbox_depth(data_dir: &Path) -> u64 {
    block(async {
        let db = lensguard_store::db::Db::open(&data_dir.join("lensguard.db"))
            .await
            .unwrap();
        db.outbox_stats().await.unwrap().depth
    })
}

/// Records and distinct inspections the hub holds from `edge`.
pub fn hub_counts(hub: &HubDir, edge: &str) -> (u64, u64) {
    block(async {
        let db = hub.db().await;
        let c = db.record_counts(edge).await.unwrap();
        db.close().await;
        (c.records, c.inspections)
    })
}

/// Submits one photo without panicking on a dead service: `Err` when there
/// was no answer (refused, reset, killed mid-request).
pub fn try_submit(
    host: &str,
    port: u16,
    data_dir: &Path,
    token: &str,
) -> Result<(u16, Option<String>), String> {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    let body = super::common::form(&[
        ("photo", Some("image/jpeg"), &photo()),
        ("device_id", None, b"van-k"),
    ]);
    let kind = format!("multipart/form-data; boundary={}", super::common::BOUNDARY);
    let config = super::common::client_config(data_dir);
    block(async move {
        let exchange = async {
            let tcp = tokio::net::TcpStream::connect((host, port))
                .await
                .map_err(|e| e.to_string())?;
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| e.to_string())?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                    .await
                    .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let req = hyper::Request::post("/v1/inspections")
                .header("host", "localhost")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", kind)
                .body(Full::new(Bytes::from(body)))
                .unwrap();
            let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
            let status = res.status().as_u16();
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let id = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_owned));
            Ok((status, id))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .map_err(|_| "timed out".to_owned())?
    })
}

/// Every inspection id the hub holds from `edge`, with how many rows each has.
pub fn hub_inspections(hub: &HubDir, edge: &str) -> std::collections::BTreeMap<String, u32> {
    block(async {
        let db = hub.db().await;
        let filter = lensguard_store::hub::RecordFilter {
            edge: Some(edge.to_owned()),
            ..Default::default()
        };
        let mut out = std::collections::BTreeMap::new();
        let mut after = None;
        loop {
            let page = db
                .records(
                    &lensguard_store::hub::RecordFilter {
                        after: after.clone(),
                        ..filter.clone()
                    },
                    1000,
                )
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.created_at, last.edge_id.clone(), last.seq));
            for r in &page {
                let v: serde_json::Value = serde_json::from_str(&r.payload).unwrap();
                let id = v["data"]["id"].as_str().unwrap_or_default().to_owned();
                *out.entry(id).or_insert(0) += 1;
            }
        }
        db.close().await;
        out
    })
}

/// A TCP proxy in front of the hub that can refuse connections, or let a
/// batch through to the hub and then drop the hub's answer (the
/// acknowledgement) for the next `drop_answers` connections that carry one.
pub struct Proxy {
    pub port: u16,
    /// Refuse (accept and close) every connection while set.
    pub closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Connections whose answer to a batch is still to be dropped.
    pub drop_answers: std::sync::Arc<std::sync::atomic::AtomicU32>,
    /// Answers dropped so far.
    pub dropped: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

/// Bytes from the edge after which the connection has carried a batch (the
/// handshake with a client certificate and a state query stay well below).
const BATCH_BYTES: usize = 8 * 1024;

impl Proxy {
    /// Starts a proxy to `127.0.0.1:target`.
    pub fn start(target: u16) -> Proxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let closed = Arc::new(AtomicBool::new(false));
        let drop_answers = Arc::new(AtomicU32::new(0));
        let dropped = Arc::new(AtomicU32::new(0));
        let (c, d, x) = (
            Arc::clone(&closed),
            Arc::clone(&drop_answers),
            Arc::clone(&dropped),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(hub) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let sent = Arc::new(AtomicUsize::new(0));
                let (d, x) = (Arc::clone(&d), Arc::clone(&x));
                let (mut c_read, mut c_write) = (client.try_clone().unwrap(), client);
                let (mut h_read, mut h_write) = (hub.try_clone().unwrap(), hub);
                let up = Arc::clone(&sent);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = std::io::Read::read(&mut c_read, &mut buf) {
                        if n == 0 || std::io::Write::write_all(&mut h_write, &buf[..n]).is_err() {
                            break;
                        }
                        up.fetch_add(n, Ordering::SeqCst);
                    }
                    let _ = h_write.shutdown(std::net::Shutdown::Both);
                });
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = std::io::Read::read(&mut h_read, &mut buf) {
                        if n == 0 {
                            break;
                        }
                        let carried_batch = sent.load(Ordering::SeqCst) >= BATCH_BYTES;
                        if carried_batch
                            && d.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
                                v.checked_sub(1)
                            })
                            .is_ok()
                        {
                            // The hub committed and answered; the edge never hears it.
                            x.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if std::io::Write::write_all(&mut c_write, &buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = c_write.shutdown(std::net::Shutdown::Both);
                    let _ = h_read.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Proxy {
            port,
            closed,
            drop_answers,
            dropped,
        }
    }
}

/// A small deterministic generator for fault timing (seed printed by tests).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        lo + (self.0 >> 33) % (hi - lo)
    }
}

/// A SQLite hub serving on loopback and one edge enrolled with it (policy and
/// API key prepared, service not started).
pub struct Fleet {
    /// Holds every file; removed last.
    pub dir: tempfile::TempDir,
    pub hub: HubDir,
    pub port: u16,
    /// The running hub (`None` once stopped).
    pub hub_process: Option<HubProcess>,
    pub edge_dir: PathBuf,
    /// The edge's API key (`inspections:write`, `metrics:read`).
    pub key: String,
    pub edge_id: String,
}

impl Fleet {
    /// A hub and an edge called `name`, enrolled.
    pub fn enrolled(name: &str) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let hub = HubDir::init(&dir.path().join("hub"), None);
        let port = free_port();
        let hub_process = Some(hub.serve(port));
        let edge_dir = dir.path().join("edge");
        let key = prepare_edge(&edge_dir);
        let edge_id = enrol(&edge_dir, &HubDir::url(port), &hub.token(name)).unwrap();
        Fleet {
            dir,
            hub,
            port,
            hub_process,
            edge_dir,
            key,
            edge_id,
        }
    }
}
