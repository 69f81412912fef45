//! A real rsyslog receiver for the SIEM export tests: RFC 5425 syslog over
//! TLS (the GnuTLS driver, Debian package `rsyslog-gnutls`) on 127.0.0.1,
//! requiring a client certificate from the given CA, writing every message
//! exactly as received (`%rawmsg%`) one per line to `received.log`.
//!
//! [`Rsyslog::start`] runs `rsyslogd -n` with its own configuration, work
//! folder and PID file in the given directory; dropping the handle stops
//! that process (SIGTERM by its PID). Without rsyslog it returns `None`
//! after a loud message, or panics under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running receiver.
#[derive(Debug)]
pub struct Rsyslog {
    child: Option<Child>,
    dir: PathBuf,
    /// Its port.
    pub port: u16,
}

/// Why rsyslog cannot run here, if it cannot.
pub fn missing() -> Option<String> {
    let ok = Command::new("rsyslogd")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    let gtls = [
        "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so",
        "/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    if !ok {
        Some("rsyslogd is missing (Debian package rsyslog)".to_owned())
    } else if !gtls {
        Some("rsyslog's TLS driver is missing (Debian package rsyslog-gnutls)".to_owned())
    } else {
        None
    }
}

impl Rsyslog {
    /// Starts a receiver in `dir` on `port` with server certificate
    /// `cert`/`key`, accepting clients whose certificate chains to `ca`.
    pub fn start(dir: &Path, port: u16, ca: &Path, cert: &Path, key: &Path) -> Option<Rsyslog> {
        if let Some(why) = missing() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}; required under CI=true, run scripts/install-test-deps");
            }
            eprintln!("SKIPPED: {why}; run scripts/install-test-deps");
            return None;
        }
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("cannot create {work:?}: {e}"));
        let conf = dir.join("rsyslog.conf");
        std::fs::write(
            &conf,
            format!(
                r#"global(workDirectory="{work}" maxMessageSize="64k"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="{ca}"
       DefaultNetstreamDriverCertFile="{cert}"
       DefaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="x509/certvalid")
template(name="raw" type="string" string="%rawmsg%\n")
input(type="imtcp" port="{port}" address="127.0.0.1")
action(type="omfile" file="{out}" template="raw" flushOnTXEnd="on" asyncWriting="off")
"#,
                work = work.display(),
                ca = ca.display(),
                cert = cert.display(),
                key = key.display(),
                out = dir.join("received.log").display(),
            ),
        )
        .unwrap_or_else(|e| panic!("cannot write {conf:?}: {e}"));
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(dir.join("rsyslog.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start rsyslogd: {e}"));
        let r = Rsyslog {
            child: Some(child),
            dir: dir.to_owned(),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "rsyslogd did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(r)
    }

    /// Every line received so far.
    pub fn received(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("received.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Stops the receiver (SIGTERM, then waits).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            crate::process::terminate(&mut c, Duration::from_secs(15));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}
