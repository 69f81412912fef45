//! Opening a data directory's audit log, anchored in its database, signed
//! with its key wherever that is held.
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
//!
//! The signing key is `audit/signing.key`, or, when the service is configured
//! with `[audit] signing_key = "pkcs11"`, a key pair in the `[vault]` token.
//! The service then records where the token is (`audit/signing.token`:
//! module, label and PIN file, no secret), so every other command that
//! opens the log signs with the same key (the PIN from that file, else
//! `LENSGUARD_PKCS11_PIN`).

use anyhow::Context;
use lensguard_core::config::VaultKeys;
use lensguard_store::audit::{AuditLog, AuditOptions, OpenWith, Signer, Witness};
use lensguard_store::db::{AuditAnchor, Db};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where a token-held signing key is, relative to the data directory.
const TOKEN_FILE: &str = "audit/signing.token";

/// The token that holds the audit signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRef {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// A file holding the user PIN (else `LENSGUARD_PKCS11_PIN`).
    pub pin_file: Option<PathBuf>,
}

impl TokenRef {
    /// The `[vault]` token, when `keys` names one.
    pub fn of_vault(keys: &VaultKeys) -> Option<TokenRef> {
        match keys {
            VaultKeys::Pkcs11 {
                module,
                token_label,
                pin_file,
            } => Some(TokenRef {
                module: module.clone(),
                token_label: token_label.clone(),
                pin_file: pin_file.clone(),
            }),
            VaultKeys::MasterKey(_) => None,
        }
    }
}

/// The signer for `data_dir`'s log: in `configured`'s token (recorded for
/// the other commands), else in the token the data directory records, else
/// `None` (the folder's `signing.key`).
fn signer(data_dir: &Path, configured: Option<&TokenRef>) -> anyhow::Result<Option<Signer>> {
    let file = data_dir.join(TOKEN_FILE);
    let token = match configured {
        Some(t) => {
            std::fs::create_dir_all(data_dir.join("audit"))
                .with_context(|| format!("cannot create {}", data_dir.join("audit").display()))?;
            let text = serde_json::to_string_pretty(t)?;
            if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
                crate::data_dir::write_private(&file, text.as_bytes())?;
            }
            t.clone()
        }
        None if file.exists() => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a token reference", file.display()))?
        }
        None => return Ok(None),
    };
    let cfg = crate::token::config(&token.module, &token.token_label, token.pin_file.as_deref())?;
    let token = lensguard_store::pkcs11::Token::open(&cfg)
        .context("the audit log's signing key is in a PKCS#11 token that cannot be reached")?;
    Ok(Some(Signer::in_token(std::sync::Arc::new(token)).context(
        "cannot use the audit signing key in the PKCS#11 token",
    )?))
}

/// Opens `<data_dir>/audit` for writing (its database `db` already open),
/// checked against the database's anchor, signing in `token` when given
/// (see the module docs), copying every checkpoint it signs to the anchor
/// and to `witnesses`. A log held by another process fails with
/// [`lensguard_store::Error::Locked`] inside.
pub async fn open(
    data_dir: &Path,
    db: &Db,
    token: Option<&TokenRef>,
    witnesses: Vec<Box<dyn Witness>>,
) -> anyhow::Result<AuditLog> {
    let signer = signer(data_dir, token)?;
    let anchor = db.audit_anchor().await?;
    let mut all: Vec<Box<dyn Witness>> = vec![Box::new(AuditAnchor::new(
        &data_dir.join(crate::data_dir::DATABASE),
    ))];
    all.extend(witnesses);
    let had_anchor = anchor.is_some();
    let log = AuditLog::open_with(
        &data_dir.join("audit"),
        AuditOptions::default(),
        OpenWith {
            anchor,
            witnesses: all,
            signer,
        },
    )?;
    if !had_anchor && let Some(cp) = log.latest_checkpoint() {
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
