//! How many connections the service holds, from whom, and for how long.
//!
//! Without credentials a client can open connections and leave them idle
//! (or trickle bytes into them) until the process runs out of file
//! descriptors and nobody is answered. [`LimitedAcceptor`] wraps every
//! accepted TCP connection before TLS: beyond `max_connections` in all, or
//! `max_per_client` from one address, a new connection is closed at once;
//! every admitted one is closed after `idle`
//! without a byte from the client while the service waits to read (the TLS
//! handshake, between keep-alive requests, an HTTP/2 connection with nothing
//! to do, a stalled body). Request bodies also keep a minimum rate
//! (`serve/slow_body.rs`), and HTTP/2 connections a bound on concurrent
//! streams (`serve/mod.rs`).
//!
//! Invariant: a connection counts from accept until its stream is dropped,
//! whatever ends it; the counts never go below zero.

use axum_server::accept::Accept;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// The connection bounds and counts.
#[derive(Debug)]
pub struct ConnectionLimits {
    max_connections: usize,
    max_per_client: usize,
    open: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    /// Connections closed at accept because a bound was reached.
    pub refused: AtomicU64,
}

/// One admitted connection; leaves the counts when dropped.
#[derive(Debug)]
pub struct Admitted {
    limits: Arc<ConnectionLimits>,
    client: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.limits.open.fetch_sub(1, Ordering::SeqCst);
        let mut map = self.limits.clients();
        if let Some(n) = map.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.client);
            }
        }
    }
}

impl ConnectionLimits {
    /// At most `max_connections` in all and `max_per_client` from one address.
    pub fn new(max_connections: usize, max_per_client: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_connections,
            max_per_client,
            open: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
        })
    }

    fn clients(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Admits a connection from `client`, or `None` past a bound.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Option<Admitted> {
        let mut map = self.clients();
        let from_client = map.get(&client).copied().unwrap_or(0);
        if self.open.load(Ordering::SeqCst) >= self.max_connections
            || from_client >= self.max_per_client
        {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        self.open.fetch_add(1, Ordering::SeqCst);
        map.insert(client, from_client + 1);
        Some(Admitted {
            limits: Arc::clone(self),
            client,
        })
    }
}

/// Admits connections within [`ConnectionLimits`], then hands them to
/// `inner` (TLS); the stream closes after `idle` without a byte read.
#[derive(Debug, Clone)]
pub struct LimitedAcceptor<A> {
    /// The acceptor that makes the TLS stream.
    pub inner: A,
    /// The bounds.
    pub limits: Arc<ConnectionLimits>,
    /// Longest wait for a byte from the client.
    pub idle: Duration,
}

impl<A, S> Accept<TcpStream, S> for LimitedAcceptor<A>
where
    A: Accept<TcpStream, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Limited<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream
            .peer_addr()
            .ok()
            .and_then(|peer| self.limits.admit(peer.ip()));
        let Some(admitted) = admitted else {
            // Dropping the stream closes it: nothing is read or answered.
            return Box::pin(async { Err(io::Error::other("connection limit reached")) });
        };
        let accepted = self.inner.accept(stream, service);
        let idle = self.idle;
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                Limited {
                    inner: stream,
                    idle,
                    timer: Box::pin(tokio::time::sleep(idle)),
                    _admitted: admitted,
                },
                service,
            ))
        })
    }
}

/// An admitted connection with its idle timer.
#[derive(Debug)]
pub struct Limited<S> {
    inner: S,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
    _admitted: Admitted,
}

impl<S: AsyncRead + Unpin> AsyncRead for Limited<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.timer.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(result)
            }
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent nothing for too long",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Limited<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_in_all_and_per_client_and_counts_return() {
        let limits = ConnectionLimits::new(3, 2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let a1 = limits.admit(a).expect("a1");
        let a2 = limits.admit(a).expect("a2");
        assert!(limits.admit(a).is_none(), "per client");
        let b1 = limits.admit(b).expect("b1");
        assert!(limits.admit(b).is_none(), "in all");
        assert_eq!(limits.refused.load(Ordering::SeqCst), 2);
        drop((a1, a2, b1));
        assert_eq!(limits.open(), 0);
        assert!(limits.clients().is_empty());
    }
}
