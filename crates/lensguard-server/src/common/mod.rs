//! What several parts of the binary share, owned by none of them: the
//! neutral modules of the dependency rule in ARCHITECTURE.md. A module
//! here imports nothing from its siblings outside `common`.

pub mod audit_alert;
pub mod backoff;
pub mod crash_point;
pub mod durable;
pub mod error_body;
pub mod https_client;
pub mod login_limits;
pub mod runtime;
pub mod shutdown;
pub mod time_text;
pub mod tls;
