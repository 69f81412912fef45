//! A real RTSP server for the camera tests: `scripts/rtsp-test-server`
//! (GStreamer's RTSP server library) on 127.0.0.1, on a port it picks.
//!
//! [`RtspServer::start`] returns once the server prints that it listens;
//! dropping the handle stops that process (SIGTERM by its PID, and its
//! standard input closes, which stops it too). Without GStreamer's RTSP
//! server it returns `None` after a loud message, or panics under `CI=true`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
#[derive(Debug)]
pub struct RtspServer {
    child: Child,
    /// Its port.
    pub port: u16,
}

/// Why the server cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let ok = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    (!ok).then(|| {
        "GStreamer's RTSP server is missing (Debian packages python3-gi, gir1.2-gst-rtsp-server-1.0)"
            .to_owned()
    })
}

impl RtspServer {
    /// Starts the server with `mounts` (`NAME=SOURCE`, see the script), on
    /// `port` (0: any free one), requiring `auth` (user, password) if given.
    pub fn start(mounts: &[&str], port: u16, auth: Option<(&str, &str)>) -> Option<RtspServer> {
        if let Some(why) = missing() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}; required under CI=true, run scripts/install-test-deps");
            }
            eprintln!("SKIPPED: {why}; run scripts/install-test-deps");
            return None;
        }
        let script = crate::workspace_root().join("scripts/rtsp-test-server");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(&script).args(["--port", &port.to_string()]);
        if let Some((user, password)) = auth {
            cmd.args(["--user", user, "--password", password]);
        }
        let mut child = cmd
            .args(mounts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {script:?}: {e}"));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("the server's standard output is piped"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
        let Some(port) = line
            .strip_prefix("READY port=")
            .and_then(|p| p.trim().parse().ok())
        else {
            crate::process::terminate(&mut child, Duration::from_secs(2));
            panic!("the RTSP test server did not start: {line:?}");
        };
        Some(RtspServer { child, port })
    }

    /// The URL of `mount`.
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{mount}", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        crate::process::terminate(&mut self.child, Duration::from_secs(3));
    }
}
