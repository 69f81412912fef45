//! Working on a data directory directly (the service stopped): the database, the
//! audit log and the installation key, with each change audited first.
//!
//! The audit log admits one writer, so these commands refuse to run while the
//! service holds the data directory (use the API then); commands that only read
//! the database ([`read_db`]) work beside the running service. Only
//! [`open_or_create`] (for `keys create` and `users create` on a new
//! installation) may create a data directory; [`open`] and [`read_db`] refuse
//! one that is not initialised ([`crate::data_dir::require`]).

use anyhow::{Context, bail};
use lensguard_store::Error as StoreError;
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use lensguard_store::db::Db;
use lensguard_store::secrets::InstallationSecrets;
use std::path::Path;

/// An opened data directory.
pub struct Local {
    /// The database.
    pub db: Db,
    /// The audit log (held for writing).
    pub audit: std::sync::Arc<AuditLog>,
    /// The installation key.
    pub secrets: InstallationSecrets,
    /// The data directory.
    pub data_dir: std::path::PathBuf,
}

/// Opens the initialised data directory `data_dir` for a change.
pub async fn open(data_dir: &Path) -> anyhow::Result<Local> {
    crate::data_dir::require(data_dir)?;
    open_dir(data_dir).await
}

/// Opens `data_dir` for a change, setting up a new installation there when it
/// is not one yet.
pub async fn open_or_create(data_dir: &Path) -> anyhow::Result<Local> {
    if !crate::data_dir::is_initialised(data_dir) {
        crate::data_dir::create(data_dir)?;
    }
    open_dir(data_dir).await
}

/// The database of the initialised data directory `data_dir`, for reading;
/// works while the service runs (it takes no lock on the audit log).
pub async fn read_db(data_dir: &Path) -> anyhow::Result<Db> {
    crate::data_dir::require(data_dir)?;
    Db::open(&data_dir.join(crate::data_dir::DATABASE))
        .await
        .context("cannot open the database")
}

async fn open_dir(data_dir: &Path) -> anyhow::Result<Local> {
    let secrets = InstallationSecrets::load_or_create(data_dir)
        .context("cannot load the installation key")?;
    let db = Db::open(&data_dir.join(crate::data_dir::DATABASE))
        .await
        .context("cannot open the database")?;
    let audit = match crate::audit_open::open(data_dir, &db, None, Vec::new()).await {
        Ok(a) => a.with_pseudonyms(secrets.pseudonyms().clone()),
        Err(e) if matches!(e.downcast_ref(), Some(StoreError::Locked(_))) => bail!(
            "the service is running on {}; stop it, or make this change through the API",
            data_dir.display()
        ),
        Err(e) => return Err(e).context("cannot open the audit log"),
    };
    Ok(Local {
        db,
        audit: std::sync::Arc::new(audit),
        secrets,
        data_dir: data_dir.to_owned(),
    })
}

impl Local {
    /// The evidence vault, with the keys `config`'s `[vault]` section names
    /// (see [`crate::vault_keys`]).
    pub async fn vault(
        &self,
        config: Option<&Path>,
    ) -> anyhow::Result<lensguard_store::vault::Vault> {
        let cfg = crate::serve::vault_config(config)?;
        let (vault, _, _) = crate::vault_keys::open(
            &cfg,
            &self.data_dir,
            &self.db,
            std::sync::Arc::clone(&self.audit),
        )
        .await?;
        Ok(vault)
    }

    /// Appends an event by the local operator (`system:cli`); an error means the
    /// change must not be made.
    pub fn record(
        &self,
        action: &str,
        target: &str,
        outcome: Outcome,
        reason: Option<String>,
    ) -> anyhow::Result<()> {
        let event = AuditEvent::new(time::OffsetDateTime::now_utc(), "system:cli", action)
            .target(target)
            .outcome(outcome, reason);
        self.audit
            .append(event)
            .context("cannot write the audit log; nothing was changed")?;
        Ok(())
    }
}

/// Runs `f` on a single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = crate::common::runtime::current_thread()?;
    Ok(rt.block_on(f))
}
