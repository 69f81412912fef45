//! Edge to hub: what both ends share.
//!
//! - [`wire`]: the JSON bodies of the hub's edge API (enrolment, state,
//!   batches and their acknowledgements).
//! - [`token`]: the enrolment token's text form, which carries the hub CA's
//!   fingerprint so the edge can pin the hub before it trusts anything.
//! - [`ca`]: the hub's own certificate authority (server certificate, edge
//!   client certificates from CSRs).
//! - [`pinned`]: a rustls verifier that accepts the hub only when its chain
//!   ends in the pinned CA.
//! - [`client`]: the edge's HTTPS client (mutual TLS, one request at a time
//!   over a kept-alive connection).

pub mod ca;
pub mod client;
pub mod pinned;
pub mod token;
pub mod wire;
