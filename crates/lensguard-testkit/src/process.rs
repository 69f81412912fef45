//! Stopping a child process a test started: SIGTERM by its PID, up to
//! `grace` for it to exit, then SIGKILL; always reaped.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Stops `child` (SIGTERM, then SIGKILL after `grace`) and reaps it.
pub fn terminate(child: &mut Child, grace: Duration) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + grace;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}
