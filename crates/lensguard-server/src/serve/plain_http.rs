//! Plain HTTP sent to the HTTPS port: a short plain-text answer instead of
//! silence.
//!
//! Runs on each accepted connection before the TLS handshake. A TLS client's
//! first byte is a handshake record (22); anything else gets `400` with a
//! one-line hint and the connection is closed. The answer names no host, port,
//! version or product detail and echoes nothing the client sent, so it leaks
//! nothing a port scan would not already see. The request head is read (at most
//! [`MAX_HEAD`] bytes, within the wait) before answering, so the client's
//! kernel sees no reset that would swallow the answer.

use axum_server::accept::Accept;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 22;
/// The most of a plain request head read before answering.
const MAX_HEAD: usize = 8 * 1024;

/// The answer to plain HTTP.
pub const HINT: &str = "This port speaks HTTPS only: use https:// in the URL.\n";

/// The acceptor: passes TLS on, answers plain HTTP with [`HINT`].
#[derive(Debug, Clone, Copy)]
pub struct PlainHttpHint {
    /// How long to wait for the client's first bytes.
    pub wait: Duration,
}

impl<S: Send + 'static> Accept<TcpStream, S> for PlainHttpHint {
    type Stream = TcpStream;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(TcpStream, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let wait = self.wait;
        Box::pin(async move {
            let mut first = [0u8; 1];
            let n = tokio::time::timeout(wait, stream.peek(&mut first))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no client hello"))??;
            if n == 0 || first[0] == TLS_HANDSHAKE {
                return Ok((stream, service));
            }
            // Best effort: the connection is closed whatever happens here.
            let _ = tokio::time::timeout(wait, answer(stream)).await;
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "plain HTTP on the HTTPS port",
            ))
        })
    }
}

async fn answer(mut stream: TcpStream) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while head.len() < MAX_HEAD && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let reply = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{HINT}",
        HINT.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await?;
    // Read until the client closes, so the close is orderly.
    while stream.read(&mut buf).await? > 0 {}
    Ok(())
}
