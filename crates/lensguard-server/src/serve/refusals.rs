//! Refusals that reach every client intact, over HTTP/1.1 and HTTP/2.
//!
//! A handler may answer before it has read the whole request body (413 for a
//! photo past the limit, 415 for a wrong type, 401 before any body is read).
//! Over HTTP/2 the stream is then closed while the client is still sending,
//! and common clients (curl 7.88, Debian 12's) fail the upload with a
//! framing error and never show the answer. [`keep_request_body`] therefore
//! reads and discards the rest of the body of a refused request before the
//! refusal is sent (at most [`DRAIN_MAX`] bytes within [`DRAIN_TIME`], so a
//! client cannot hold the service with an endless body), and keeps whatever
//! is still unread alive until the response body has been sent to its end,
//! so that the reset stopping a longer upload comes after the complete answer
//! (`RST_STREAM NO_ERROR`, RFC 9113 section 8.1) rather than before it.
//!
//! Invariant: the handler reads the same bytes it would have read from the
//! original body; only what it left unread is drained, and only after it
//! answered with an error status.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

type Shared = Arc<Mutex<Body>>;

/// The most of a refused request's body read and discarded before the answer.
pub const DRAIN_MAX: u64 = 64 * 1024 * 1024;
/// The longest the rest of a refused request's body is read before the answer.
pub const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

fn lock(body: &Shared) -> MutexGuard<'_, Body> {
    body.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The handler's view of the request body: reads through to the real body,
/// which the middleware keeps alive.
struct ReadThrough(Shared);

impl HttpBody for ReadThrough {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut *lock(&self.0)).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        lock(&self.0).is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        lock(&self.0).size_hint()
    }
}

/// The response body, holding the request body until it is dropped itself
/// (after its last frame was handed to the connection).
struct Holding {
    response: Body,
    _request: Shared,
}

impl HttpBody for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.response).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.response.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.response.size_hint()
    }
}

/// Middleware: the request body outlives the response (see the module docs).
pub async fn keep_request_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let shared: Shared = Arc::new(Mutex::new(body));
    let request = Request::from_parts(parts, Body::new(ReadThrough(Arc::clone(&shared))));
    let (parts, response) = next.run(request).await.into_parts();
    if parts.status.is_client_error() || parts.status.is_server_error() {
        drain(&shared).await;
    }
    Response::from_parts(
        parts,
        Body::new(Holding {
            response,
            _request: shared,
        }),
    )
}

/// Reads and discards what is left of a refused request's body, within
/// [`DRAIN_MAX`] and [`DRAIN_TIME`]; what is still unread then stays in
/// `shared` until the answer has been sent.
async fn drain(shared: &Shared) {
    let mut body = std::mem::replace(&mut *lock(shared), Body::empty());
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    let mut read = 0u64;
    while !body.is_end_stream() && read <= DRAIN_MAX {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                read += frame.data_ref().map_or(0, |d| d.len() as u64);
            }
            // The end, a broken body, or out of time.
            _ => break,
        }
    }
    *lock(shared) = body;
}
