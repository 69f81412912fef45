//! How many photos the service decodes at once, and how many may wait.
//! Every source takes its turn here (the intake asks for it).
//!
//! Decoding and redaction are CPU- and memory-bound: at most `workers`
//! inspections run at a time (default: the machine's cores), up to `queue`
//! more wait for a turn, and a submission beyond that is refused at once
//! with `503 busy` and `Retry-After` (audited) instead of piling up memory.
//! With [`lensguard_core::Limits::max_decode_bytes`] per photo, the memory
//! decoding can take is bounded by `workers` times that budget.
//!
//! Invariant: a turn is held (the permit moved into the blocking task)
//! until the decode ends; a submission that stops waiting (its client went
//! away) leaves the queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The queue's bounds and state.
#[derive(Debug)]
pub struct DecodeQueue {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    workers: usize,
    queue: usize,
}

/// Refused: every turn is taken and the queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// Inspections running.
    pub running: usize,
    /// Inspections waiting.
    pub waiting: usize,
}

/// Leaves the queue when dropped (served or abandoned).
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl DecodeQueue {
    /// At most `workers` (at least 1) at once, `queue` waiting.
    pub fn new(workers: usize, queue: usize) -> DecodeQueue {
        let workers = workers.max(1);
        DecodeQueue {
            turns: Arc::new(Semaphore::new(workers)),
            waiting: AtomicUsize::new(0),
            workers,
            queue,
        }
    }

    /// A turn to decode: at once when one is free, after waiting in the
    /// queue when there is room, else [`Busy`].
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, Busy> {
        if let Ok(permit) = Arc::clone(&self.turns).try_acquire_owned() {
            return Ok(permit);
        }
        let before = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _in_queue = InQueue(&self.waiting);
        if before >= self.queue {
            return Err(Busy {
                running: self.workers,
                waiting: before,
            });
        }
        Arc::clone(&self.turns)
            .acquire_owned()
            .await
            // The semaphore is never closed.
            .map_err(|_| Busy {
                running: self.workers,
                waiting: before,
            })
    }

    /// A turn for a source that nobody is waiting on (a watched folder):
    /// it waits outside the queue's bound, one submission at a time per
    /// source, so it holds no more memory than one photo.
    pub async fn turn_when_free(&self) -> Result<OwnedSemaphorePermit, Busy> {
        Arc::clone(&self.turns)
            .acquire_owned()
            .await
            // The semaphore is never closed.
            .map_err(|_| Busy {
                running: self.workers,
                waiting: 0,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_then_the_queue_then_busy() {
        let q = Arc::new(DecodeQueue::new(1, 1));
        let first = q.turn().await.expect("free turn");
        let waiter = {
            let q = Arc::clone(&q);
            tokio::spawn(async move { q.turn().await.map(drop) })
        };
        while q.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            q.turn().await.map(drop),
            Err(Busy {
                running: 1,
                waiting: 1
            })
        );
        drop(first);
        assert_eq!(waiter.await.expect("task"), Ok(()));
        assert_eq!(q.waiting.load(Ordering::SeqCst), 0);
        // An abandoned wait leaves the queue.
        let held = q.turn().await.expect("turn");
        let abandoned = tokio::time::timeout(std::time::Duration::from_millis(20), q.turn()).await;
        assert!(abandoned.is_err());
        assert_eq!(q.waiting.load(Ordering::SeqCst), 0);
        drop(held);
    }
}
