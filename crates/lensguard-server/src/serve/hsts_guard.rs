//! HSTS on the answers hyper writes itself.
//!
//! hyper answers a request it cannot parse before any middleware runs: `400`
//! (a malformed request line or header), `414` (a URI too long) and `431`
//! (headers too large), each a bare status line with `content-length` and
//! `date`. [`HstsStream`] wraps every accepted TLS connection and adds the
//! `Strict-Transport-Security` header to such an HTTP/1.1 answer as it is
//! written; every other response already carries it (`serve/http.rs`).
//!
//! # Invariants
//!
//! - Only a write that starts with an HTTP/1.1 status line of 400, 414 or
//!   431 and whose head names no `strict-transport-security` is changed,
//!   and only by inserting one header line after the status line.
//! - The stream reports no vectored writes, so hyper hands each response
//!   head over in one contiguous buffer that starts at the status line.
//! - A changed write is reported consumed in full; its bytes (with the
//!   header) are written before anything else, flush or shutdown.
//!
//! Over HTTP/2 the h2 library answers an oversized header block with a bare
//! `431` frame and a stream reset that cannot be rewritten here; a browser
//! keeps the HSTS policy it got from any earlier answer.

use axum_server::accept::Accept;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Wraps the streams `inner` accepts in [`HstsStream`].
#[derive(Debug, Clone)]
pub struct HstsAcceptor<A> {
    /// The acceptor that makes the TLS stream.
    pub inner: A,
    /// The header line, `strict-transport-security: max-age=N\r\n`; `None`
    /// (HSTS turned off) passes every stream through unchanged.
    pub line: Option<Vec<u8>>,
}

impl<A, I, S> Accept<I, S> for HstsAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = HstsStream<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let accepted = self.inner.accept(stream, service);
        let line = self.line.clone();
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                HstsStream {
                    inner: stream,
                    line,
                    pending: Vec::new(),
                },
                service,
            ))
        })
    }
}

/// A connection whose hyper-written error answers get the HSTS header.
#[derive(Debug)]
pub struct HstsStream<S> {
    inner: S,
    line: Option<Vec<u8>>,
    /// Bytes already reported written, still to be sent.
    pending: Vec<u8>,
}

/// `buf` with `line` inserted after its status line, when `buf` starts a
/// hyper error answer without HSTS.
fn with_hsts(buf: &[u8], line: &[u8]) -> Option<Vec<u8>> {
    let status = buf.get(..13)?;
    let is_error = status.starts_with(b"HTTP/1.1 ")
        && matches!(&status[9..12], b"400" | b"414" | b"431")
        && status[12] == b' ';
    if !is_error {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = buf[..head_end].to_ascii_lowercase();
    if head
        .windows(b"strict-transport-security".len())
        .any(|w| w == b"strict-transport-security")
    {
        return None;
    }
    let first_line_end = buf.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut out = Vec::with_capacity(buf.len() + line.len());
    out.extend_from_slice(&buf[..first_line_end]);
    out.extend_from_slice(line);
    out.extend_from_slice(&buf[first_line_end..]);
    Some(out)
}

impl<S: AsyncWrite + Unpin> HstsStream<S> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for HstsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for HstsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(changed) = self.line.as_deref().and_then(|l| with_hsts(buf, l)) {
            self.pending = changed;
            // Sent now if it can be; otherwise before the next write or flush.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::with_hsts;

    const LINE: &[u8] = b"strict-transport-security: max-age=31536000\r\n";

    #[test]
    fn only_bare_error_answers_get_the_header() {
        let bare =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let changed = with_hsts(bare, LINE).expect("changed");
        assert_eq!(
            changed,
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nstrict-transport-security: max-age=31536000\r\ncontent-length: 0\r\ndate: x\r\n\r\n"
        );
        assert!(with_hsts(b"HTTP/1.1 414 URI Too Long\r\n\r\n", LINE).is_some());
        assert!(with_hsts(b"HTTP/1.1 400 Bad Request\r\n\r\n", LINE).is_some());
        for untouched in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\nStrict-Transport-Security: max-age=1\r\n\r\n",
            b"HTTP/1.1 4311 x\r\n\r\n",
            b"{\"code\":\"HTTP/1.1 431 \"}",
            b"",
        ] {
            assert!(with_hsts(untouched, LINE).is_none());
        }
    }
}
