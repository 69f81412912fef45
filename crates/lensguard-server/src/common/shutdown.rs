//! How every long-running command learns it should stop: SIGINT or SIGTERM.

use anyhow::Context;

/// SIGINT or SIGTERM, registered when made: a signal that arrives while the
/// service is still starting is kept, not lost to the default action (which
/// would end the process without its `service.stop` entry).
pub fn signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
