//! Appending to the audit log from the service without blocking the async
//! runtime, and saying once, loudly, when the log stops taking entries.
//!
//! Invariant: `Err` means the entry is not recorded and the caller must
//! refuse what it was about to do (no change without its audit entry).
//! The alert is printed once per process on stderr; `/metrics` keeps
//! saying it (`lensguard_audit_unwritable`).

use lensguard_store::audit::{AuditEvent, AuditLog};

/// Appends `event`; `Err` carries the log's reason.
pub async fn append(audit: &AuditLog, event: AuditEvent) -> Result<(), String> {
    match audit.append_async(event).await {
        Ok(_) => Ok(()),
        Err(e) => {
            static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
            if !SAID.swap(true, std::sync::atomic::Ordering::SeqCst) {
                eprintln!(
                    "lensguard: ALERT: {e}; every request that needs an audit entry is \
                     refused with 503 audit_unavailable and nothing is changed, until the \
                     log's volume is fixed and the service restarted"
                );
            }
            Err(e.to_string())
        }
    }
}
