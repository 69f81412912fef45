//! Named points where a debug build can be made to die by SIGKILL, so tests
//! prove that a crash at each step of a durable sequence loses nothing and
//! repeats nothing. Release builds compile [`hit`] to nothing.
//!
//! `LENSGUARD_CRASH_AT=NAME:N` kills the process the N-th time the point
//! `NAME` is passed (debug builds only; the variable is ignored otherwise).

/// Marks the point `name`; see the module docs.
#[inline]
pub fn hit(name: &str) {
    #[cfg(debug_assertions)]
    {
        use std::sync::OnceLock;
        use std::sync::atomic::{AtomicU64, Ordering};
        static SPEC: OnceLock<Option<(String, u64)>> = OnceLock::new();
        static PASSED: AtomicU64 = AtomicU64::new(0);
        let spec = SPEC.get_or_init(|| {
            let v = std::env::var("LENSGUARD_CRASH_AT").ok()?;
            let (point, n) = v.rsplit_once(':')?;
            Some((point.to_owned(), n.parse().ok()?))
        });
        if let Some((point, n)) = spec
            && point == name
            && PASSED.fetch_add(1, Ordering::SeqCst) + 1 == *n
        {
            eprintln!("lensguard: crash point {name} reached; killing the process");
            let _ = rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::KILL,
            );
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
