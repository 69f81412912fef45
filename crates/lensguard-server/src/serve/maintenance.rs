//! The vault's background work while the service runs: a retention sweep at
//! start and every `[vault] sweep_interval_minutes`, scheduled KEK rotation
//! (`[vault] kek_rotation_days`), and the re-wrap job after any rotation
//! (resuming one a previous run left unfinished).
//!
//! Failures are reported on stderr and retried at the next tick; a sweep the
//! clock guard paused says so once per tick until an operator accepts the
//! time (`lensguard retention sweep --accept-clock-jump`).

use super::state::AppState;
use lensguard_core::config::VaultConfig;
use lensguard_store::vault::Caller;
use std::time::Duration;

/// Runs until aborted.
pub async fn run(state: AppState, cfg: VaultConfig) {
    let mut every = tokio::time::interval(cfg.sweep_interval);
    loop {
        tokio::select! {
            _ = every.tick() => {
                rotate_if_due(&state, cfg.kek_rotation).await;
                sweep(&state).await;
            }
            () = state.rewrap_soon.notified() => {}
        }
        rewrap(&state).await;
    }
}

async fn sweep(state: &AppState) {
    let policy = state.policy();
    let max_jump = Duration::from_secs(u64::from(policy.retention.max_clock_jump_hours) * 3600);
    match state
        .vault
        .sweep(time::OffsetDateTime::now_utc(), max_jump, None)
        .await
    {
        Ok(r) => {
            if let Some(why) = r.paused {
                eprintln!("lensguard: ALERT: retention paused: {why}");
            }
        }
        Err(e) => eprintln!("lensguard: retention sweep failed (retried next time): {e}"),
    }
}

async fn rotate_if_due(state: &AppState, max_age: Duration) {
    let now = time::OffsetDateTime::now_utc();
    match state.vault.rotation_due(now, max_age).await {
        Ok(true) => {
            if let Err(e) = state.vault.rotate_kek(&Caller::system(), now).await {
                eprintln!("lensguard: scheduled KEK rotation failed (retried next time): {e}");
            }
        }
        Ok(false) => {}
        Err(e) => eprintln!("lensguard: cannot check the KEK schedule: {e}"),
    }
}

async fn rewrap(state: &AppState) {
    match state.vault.pending_rewrap().await {
        Ok(0) => {}
        Ok(_) => {
            if let Err(e) = state.vault.rewrap_all(&Caller::system(), |_| {}).await {
                eprintln!("lensguard: re-wrap stopped (resumed next time): {e}");
            }
        }
        Err(e) => eprintln!("lensguard: cannot count pending re-wraps: {e}"),
    }
}
