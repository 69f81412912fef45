//! `lensguard evidence get` and `lensguard erase` (on a data directory; see
//! [`super::local`]).

use super::local::{block_on, open};
use crate::cli::{EraseArgs, EvidenceCommand, EvidenceKind};
use anyhow::{Context, bail};
use lensguard_core::policy::DataCategory;
use lensguard_store::audit::Outcome;
use lensguard_store::vault::Caller;
use std::io::Write;
use std::process::ExitCode;

pub fn run(cmd: EvidenceCommand) -> anyhow::Result<ExitCode> {
    block_on(get(cmd))?
}

async fn get(cmd: EvidenceCommand) -> anyhow::Result<ExitCode> {
    let EvidenceCommand::Get {
        vault,
        inspection,
        kind,
        reason,
        out,
    } = cmd;
    let category = match kind {
        EvidenceKind::Original => DataCategory::Original,
        EvidenceKind::Redacted => DataCategory::Redacted,
        EvidenceKind::Thumbnail => DataCategory::Thumbnail,
    };
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if category == DataCategory::Original && reason.is_none() {
        bail!("reading an original needs --reason (it is recorded in the audit log)");
    }
    let local = open(&vault.data.data_dir).await?;
    let v = local.vault(vault.config.as_deref()).await?;
    let Some(info) = v.find(&inspection, category).await? else {
        bail!("no {category} image is kept for inspection {inspection}");
    };
    let action = if category == DataCategory::Original {
        "evidence.read_original"
    } else {
        "evidence.read"
    };
    let target = format!("evidence:{} inspection:{inspection} {category}", info.id);
    let reason = reason.map(|r| format!("reason {}", local.audit.pseudonym(&r)));
    local.record(action, &target, Outcome::Success, reason)?;
    let bytes = v.get(&info.id, &Caller::named("system:cli")).await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&out)
        .with_context(|| format!("cannot create {} (it must not exist)", out.display()))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", out.display()))?;
    writeln!(
        std::io::stdout().lock(),
        "wrote {} ({} bytes, {category}, sha256 {})",
        out.display(),
        bytes.len(),
        info.content_sha256
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn erase(args: EraseArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let local = open(&args.vault.data.data_dir).await?;
        let v = local.vault(args.vault.config.as_deref()).await?;
        let report = v
            .erase_device(
                &args.device,
                &Caller::named("system:cli"),
                time::OffsetDateTime::now_utc(),
            )
            .await?;
        let mut out = std::io::stdout().lock();
        for r in &report.deleted {
            writeln!(
                out,
                "deleted {} ({}, inspection {}, sha256 {}, {})",
                r.object, r.category, r.inspection, r.content_sha256, r.method
            )?;
        }
        if report.deleted.is_empty() && report.held == 0 {
            // Nothing to act on is not a success: say so, and fail.
            eprintln!(
                "device {}: nothing is kept from this device in {} (check the device id and \
                 --data-dir); nothing was erased (the request is recorded in the audit log)",
                args.device,
                args.vault.data.data_dir.display()
            );
            return Ok(ExitCode::from(1));
        }
        writeln!(
            out,
            "device {}: {} deleted with receipts in the audit log; {} kept under legal hold",
            args.device,
            report.deleted.len(),
            report.held
        )?;
        Ok(ExitCode::SUCCESS)
    })?
}
