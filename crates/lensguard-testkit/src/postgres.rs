//! A throwaway PostgreSQL server for the hub's storage tests.
//!
//! [`Postgres::start`] runs Debian's `initdb` into a fresh temporary
//! directory and starts `postgres` on 127.0.0.1 at a free port (and a Unix
//! socket in the same directory) with trust authentication for the one
//! database user `lensguard`; dropping the handle stops that server (by the
//! PID it wrote) and removes the directory. PostgreSQL refuses to run as
//! root, so as root the server runs as the `postgres` system user that the
//! Debian package creates.
//!
//! The server comes from the Debian package `postgresql` (installed by
//! `scripts/install-test-deps`). Without it [`Postgres::start`] returns
//! `None` after a loud message, or panics under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running test server.
#[derive(Debug)]
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    pid: u32,
}

/// Where Debian's server binaries are (the newest installed major version).
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn command(program: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

impl Postgres {
    /// Starts a server, or explains why not (`None`; a panic under `CI=true`).
    pub fn start() -> Option<Postgres> {
        let Some(bin) = bin_dir() else {
            let why = "PostgreSQL is missing (Debian package postgresql)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why} and is required under CI=true; run scripts/install-test-deps");
            }
            eprintln!("SKIPPED: {why}; run scripts/install-test-deps");
            return None;
        };
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("lensguard-pg-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot make a temporary directory: {e}"));
        let data = dir.path().join("data");
        if root {
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "cannot give {:?} to the postgres user", dir.path());
        }
        let out = command(&bin.join("initdb"), root)
            .args([
                "-A",
                "trust",
                "-U",
                "lensguard",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("cannot run initdb: {e}"));
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = dir.path().join("server.log");
        let out = command(&bin.join("pg_ctl"), root)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=on -c max_connections=200",
                dir.path().display()
            ))
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_ctl: {e}"));
        assert!(
            out.status.success(),
            "the PostgreSQL server did not start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let pid = read_pid(&data.join("postmaster.pid"));
        let server = Postgres { dir, port, pid };
        server.create_database("lensguard");
        Some(server)
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://lensguard@127.0.0.1:{}/{name}", self.port)
    }

    /// The directory holding the server's Unix socket (for processes in
    /// another network namespace).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let bin = bin_dir().unwrap_or_default();
        let out = Command::new(bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "lensguard",
                name,
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run createdb: {e}"));
        assert!(
            out.status.success(),
            "createdb {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(name)
    }
}

fn read_pid(path: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "no PID in {path:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown of the server this handle started.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
