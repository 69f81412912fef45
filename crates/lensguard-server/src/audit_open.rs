//! Opening a data directory's audit log, anchored in its database.
//!
//! Every command that writes the audit log (the service, the local
//! maintenance commands, edge enrolment) opens it here, so each one checks
//! that the log extends the checkpoint the database keeps
//! ([`lensguard_store::db::AuditAnchor`]) before anything is appended or
//! signed, and keeps that copy current. A log that does not (an entry
//! rewritten with the chain recomputed and the checkpoints deleted, a
//! truncated log, a replaced signing key) is refused
//! ([`lensguard_store::Error::NotExtending`]): nothing is appended to a
//! forged history, and no new checkpoint signs it.

use lensguard_store::Error as StoreError;
use lensguard_store::audit::{AuditLog, AuditOptions, Witness};
use lensguard_store::db::{AuditAnchor, Db};
use std::path::Path;

/// Opens `<data_dir>/audit` for writing (its database `db` already open),
/// checked against the database's anchor, copying every checkpoint it signs
/// to the anchor and to `witnesses`.
pub async fn open(
    data_dir: &Path,
    db: &Db,
    witnesses: Vec<Box<dyn Witness>>,
) -> Result<AuditLog, StoreError> {
    let anchor = db.audit_anchor().await?;
    let mut all: Vec<Box<dyn Witness>> = vec![Box::new(AuditAnchor::new(
        &data_dir.join(crate::data_dir::DATABASE),
    ))];
    all.extend(witnesses);
    let log = AuditLog::open_witnessed(
        &data_dir.join("audit"),
        AuditOptions::default(),
        anchor.as_ref(),
        all,
    )?;
    if anchor.is_none()
        && let Some(cp) = log.latest_checkpoint()
    {
        // A data directory from before the anchor: its newest checkpoint
        // becomes the anchor; the writer keeps it current from here.
        eprintln!(
            "lensguard: the database held no audit anchor; anchoring the log's checkpoint of {} entries",
            cp.size
        );
        db.set_audit_anchor(&cp).await?;
    }
    Ok(log)
}
