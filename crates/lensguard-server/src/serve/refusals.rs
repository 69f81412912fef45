//! Refusals that reach every client intact, over HTTP/1.1 and HTTP/2.
//!
//! A handler may answer before it has read the whole request body (413 for a
//! photo past the limit, 415 for a wrong type, 401 before any body is read).
//! Over HTTP/2, hyper resets a stream whose request body is dropped while the
//! response is still being sent (`RST_STREAM CANCEL`), and the client then
//! reports a framing error instead of the answer. [`keep_request_body`] holds
//! the request body until the response body has been sent to its end, so the
//! reset that stops the client's upload comes after the complete answer, as
//! `RST_STREAM NO_ERROR` (RFC 9113 section 8.1), which clients accept.
//!
//! Invariant: the handler reads the same bytes it would have read from the
//! original body; only the moment the unread rest is dropped moves.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

type Shared = Arc<Mutex<Body>>;

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
    Response::from_parts(
        parts,
        Body::new(Holding {
            response,
            _request: shared,
        }),
    )
}
