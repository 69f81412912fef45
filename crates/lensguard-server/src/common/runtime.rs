//! The async runtimes the commands run on, built one way.

use anyhow::Context;

/// A multi-threaded runtime (the services: `serve`, `hub serve`, `edge`).
pub fn multi_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// A single-threaded runtime (one-shot CLI commands and benchmarks).
pub fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
