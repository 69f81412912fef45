//! A minimum rate for request bodies.
//!
//! A client that sends its body a byte at a time holds a connection (and a
//! file descriptor) for as long as it likes, without credentials. Every
//! request body is therefore read through [`MinRate`]: after a grace period
//! (the header read timeout) it must have delivered at least
//! `min_bytes_per_second` for every second since it started, or the read
//! fails and the request is answered `408 body_too_slow` with the connection
//! closed. A body that keeps up is never affected.
//!
//! Invariant: the timer is armed only while the handler waits for body
//! bytes; a request whose handler is busy elsewhere is never cut off.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The rate a body must keep.
#[derive(Debug, Clone, Copy)]
pub struct BodyRate {
    /// Time before the rate applies.
    pub grace: Duration,
    /// Bytes a second, on average since the body started.
    pub min_bytes_per_second: u64,
}

/// The error a too-slow body reads as.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived more slowly than {0} bytes a second")]
pub struct TooSlow(u64);

/// A request body that fails when it falls behind the rate.
struct MinRate {
    inner: Body,
    rate: BodyRate,
    started: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    tripped: Arc<AtomicBool>,
}

impl MinRate {
    /// When the body falls behind, having received what it has.
    fn deadline(&self) -> Instant {
        let allowed = Duration::from_secs_f64(
            self.received as f64 / self.rate.min_bytes_per_second.max(1) as f64,
        );
        self.started + self.rate.grace + allowed
    }
}

impl HttpBody for MinRate {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    let next = this.deadline();
                    this.timer.as_mut().reset(next);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if this.timer.as_mut().poll(cx).is_ready() {
                    this.tripped.store(true, Ordering::SeqCst);
                    return Poll::Ready(Some(Err(axum::Error::new(TooSlow(
                        this.rate.min_bytes_per_second,
                    )))));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The middleware: every request body keeps `rate`; a request whose body
/// fell behind is answered `408 body_too_slow` and its connection closed,
/// whatever the handler made of the failed read.
pub async fn min_rate(rate: BodyRate, req: Request, next: Next) -> Response {
    // Most requests carry no body: nothing to pace, no timer to arm.
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let tripped = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let http1 = req.version() < axum::http::Version::HTTP_2;
    let req = req.map(|inner| {
        let mut body = MinRate {
            inner,
            rate,
            started,
            received: 0,
            timer: Box::pin(tokio::time::sleep_until(started + rate.grace)),
            tripped: Arc::clone(&tripped),
        };
        let first = body.deadline();
        body.timer.as_mut().reset(first);
        Body::new(body)
    });
    let response = next.run(req).await;
    if !tripped.load(Ordering::SeqCst) {
        return response;
    }
    let id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut r = super::http::error(
        StatusCode::REQUEST_TIMEOUT,
        "body_too_slow",
        format!(
            "the request body arrived more slowly than {} bytes a second",
            rate.min_bytes_per_second
        ),
        &super::http::RequestId(id),
    );
    for (name, value) in response.headers() {
        if !r.headers().contains_key(name)
            && name != header::CONTENT_LENGTH
            && name != header::CONTENT_TYPE
        {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
    // HTTP/2 has no Connection header; the stream ends with the answer.
    if http1 {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}
