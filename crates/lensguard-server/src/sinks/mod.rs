//! Sinks: where records leave this machine (the hub, a SIEM), all under one
//! contract. A sink is built from validated configuration, delivers from a
//! durable cursor of its own (the outbox, the audit log's offset), and is
//! drained at shutdown: asked to stop between batches and given the grace
//! period to finish the batch in hand, instead of being aborted mid-way.
//!
//! The runner owns what every sink would otherwise repeat: backoff with
//! jitter after a failure, one log line per failure streak (and one when it
//! ends), waiting when there is nothing to send until woken or the idle
//! interval passes.
//!
//! Adding a sink: its module here implementing [`Sink`], its configuration
//! section in `lensguard-core/src/config/`, one `spawn` line where the
//! service starts (`serve/mod.rs`), its tests, its docs (ARCHITECTURE.md
//! lists the steps).

use crate::common::backoff::Backoff;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

/// A destination records leave for.
pub trait Sink: Send + 'static {
    /// Its name in log lines (`hub`, `SIEM export to host:port`).
    fn name(&self) -> String;

    /// Delivers the next batch after its durable cursor and advances the
    /// cursor only past what the destination confirmed: `Ok(n)` items sent
    /// (0 when nothing was waiting), or why not (the cursor stays).
    fn deliver(&mut self) -> impl Future<Output = Result<usize, String>> + Send;

    /// Called after a failed batch (a sink may forget cached state).
    fn failed(&mut self, _why: &str) {}

    /// Called after a batch that went through.
    fn delivered(&mut self) {}

    /// Wakes the sink when something new is waiting.
    fn wake(&self) -> Option<Arc<Notify>> {
        None
    }

    /// How long to wait when nothing was waiting.
    fn idle(&self) -> Duration;

    /// The backoff after failures.
    fn backoff(&self) -> Backoff;
}

/// The running sinks, and how to stop them.
#[derive(Default)]
pub struct Sinks {
    stop: Option<watch::Sender<bool>>,
    tasks: Vec<(String, JoinHandle<()>)>,
}

impl Sinks {
    /// Starts `sink`.
    pub fn spawn(&mut self, sink: impl Sink) {
        let stop = self
            .stop
            .get_or_insert_with(|| watch::channel(false).0)
            .subscribe();
        let name = sink.name();
        self.tasks.push((name, tokio::spawn(run(sink, stop))));
    }

    /// Asks every sink to stop after its batch in hand and waits up to
    /// `grace` for all of them; a sink still busy then is aborted (its
    /// cursor did not move past what was not confirmed, so nothing is lost).
    pub async fn drain(self, grace: Duration) {
        if let Some(stop) = &self.stop {
            let _ = stop.send(true);
        }
        let deadline = tokio::time::Instant::now() + grace;
        for (name, task) in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                eprintln!("lensguard: {name} did not finish its batch within the grace period");
                abort.abort();
            }
        }
    }
}

/// Delivers until `stop` turns true.
async fn run(mut sink: impl Sink, mut stop: watch::Receiver<bool>) {
    let mut backoff = sink.backoff();
    let wake = sink.wake();
    let mut failing: Option<String> = None;
    while !*stop.borrow() {
        let wait = match sink.deliver().await {
            Ok(sent) => {
                sink.delivered();
                if failing.take().is_some() {
                    eprintln!("lensguard: {} is delivering again", sink.name());
                }
                backoff.reset();
                if sent > 0 {
                    continue;
                }
                sink.idle()
            }
            Err(why) => {
                sink.failed(&why);
                if failing.as_deref() != Some(why.as_str()) {
                    eprintln!(
                        "lensguard: {} failed: {why}; nothing is lost, retrying with backoff",
                        sink.name()
                    );
                    failing = Some(why);
                }
                backoff.next_delay()
            }
        };
        let woken = async {
            match &wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = woken => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Fails twice, then sends three batches, then has nothing.
    struct Flaky {
        calls: Arc<AtomicUsize>,
        in_batch: Arc<AtomicUsize>,
    }

    impl Sink for Flaky {
        fn name(&self) -> String {
            "flaky".to_owned()
        }
        async fn deliver(&mut self) -> Result<usize, String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            self.in_batch.store(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            self.in_batch.store(0, Ordering::SeqCst);
            match n {
                0 | 1 => Err("down".to_owned()),
                2..=4 => Ok(1),
                _ => Ok(0),
            }
        }
        fn idle(&self) -> Duration {
            Duration::from_secs(60)
        }
        fn backoff(&self) -> Backoff {
            Backoff::new(Duration::from_millis(5), Duration::from_millis(10))
        }
    }

    #[tokio::test]
    async fn retries_then_drains_without_cutting_a_batch() {
        let calls = Arc::new(AtomicUsize::new(0));
        let in_batch = Arc::new(AtomicUsize::new(0));
        let mut sinks = Sinks::default();
        sinks.spawn(Flaky {
            calls: Arc::clone(&calls),
            in_batch: Arc::clone(&in_batch),
        });
        while calls.load(Ordering::SeqCst) < 6 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Idle now (waiting a minute): a stop ends it at once.
        let t = std::time::Instant::now();
        sinks.drain(Duration::from_secs(5)).await;
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(in_batch.load(Ordering::SeqCst), 0, "a batch was cut");
    }
}
