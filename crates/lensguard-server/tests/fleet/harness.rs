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
            "127.0.0.1",
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
        let listen = format!("127.0.0.1:{port}");
        let mut args = self.args("serve");
        args.extend(["--listen", &listen]);
        let mut child = Command::new(env!("CARGO_BIN_EXE_lensguard"))
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
        HubProcess {
            child: Some(child),
            port,
        }
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
    pub port: u16,
}

impl HubProcess {
    /// The hub's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Enrols the edge in `data_dir`; returns its id, or the refusal.
pub fn enrol(data_dir: &Path, url: &str, token: &str) -> Result<String, String> {
    std::fs::create_dir_all(data_dir).unwrap();
    let out = lensguard(&[
        "edge",
        "enroll",
        "--hub",
        url,
        "--token",
        token,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
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
