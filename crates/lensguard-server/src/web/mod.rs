//! What the edge's console and the hub's console share: the frame of every
//! page ([`frame`]), the static files ([`assets`]), the cookies
//! ([`cookies`]), the form checks ([`csrf`]), a new second factor's page
//! ([`enrolment`]), the sign-in and users pages ([`sign_in`], [`users`])
//! and the response headers every console page carries
//! ([`policy_headers`]). Neutral: nothing here knows which service serves
//! it.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod enrolment;
pub mod frame;
pub mod sign_in;
pub mod users;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

/// Adds the console's Content-Security-Policy, framing refusal and referrer
/// policy.
pub async fn policy_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin requests carry the page as referrer and their real Origin
    // (with `no-referrer`, a browser sends `Origin: null` on form posts);
    // nothing leaks to other sites.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}
