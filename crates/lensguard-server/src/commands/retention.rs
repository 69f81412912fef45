//! `lensguard retention`: sweep, hold, lift, holds (on a data directory; see
//! [`super::local`]).

use super::local::{block_on, open};
use crate::cli::RetentionCommand;
use anyhow::{Context, bail};
use lensguard_store::vault::{Caller, HoldTarget};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(cmd: RetentionCommand) -> anyhow::Result<ExitCode> {
    block_on(run_async(cmd))?
}

pub(super) fn parse_time(flag: &str, s: &str) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{flag} must be an RFC 3339 time such as 2026-12-01T00:00:00Z"))
}

async fn run_async(cmd: RetentionCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let cli = Caller::named("system:cli");
    match cmd {
        RetentionCommand::Sweep {
            vault,
            now,
            accept_clock_jump,
        } => {
            let local = open(&vault.data.data_dir).await?;
            let v = local.vault(vault.config.as_deref()).await?;
            let policy = crate::serve::stored_policy(&local.data_dir)?;
            let now = match now {
                Some(t) => parse_time("--now", &t)?,
                None => time::OffsetDateTime::now_utc(),
            };
            let max_jump =
                Duration::from_secs(u64::from(policy.retention.max_clock_jump_hours) * 3600);
            let report = v
                .sweep(now, max_jump, accept_clock_jump.then_some(&cli))
                .await?;
            if let Some(why) = &report.paused {
                writeln!(out, "PAUSED: {why}")?;
                writeln!(
                    out,
                    "If the clock is right, run again with --accept-clock-jump."
                )?;
                return Ok(ExitCode::from(1));
            }
            for r in &report.deleted {
                writeln!(
                    out,
                    "deleted {} ({}, inspection {}, sha256 {}, {}, kept under {})",
                    r.object, r.category, r.inspection, r.content_sha256, r.method, r.policy
                )?;
            }
            writeln!(
                out,
                "{} deleted with receipts in the audit log; {} expired but held; {} orphaned blobs removed",
                report.deleted.len(),
                report.held,
                report.orphans_removed
            )?;
        }
        RetentionCommand::Hold {
            vault,
            inspection,
            device,
            from,
            to,
            reason,
        } => {
            let target = match (inspection, device, from, to) {
                (Some(i), None, None, None) => HoldTarget::Inspection(i),
                (None, Some(d), None, None) => HoldTarget::Device(d),
                (None, None, Some(f), Some(t)) => {
                    let (from, to) = (parse_time("--from", &f)?, parse_time("--to", &t)?);
                    if from >= to {
                        bail!("--from must be before --to");
                    }
                    HoldTarget::Range {
                        from: from.unix_timestamp(),
                        to: to.unix_timestamp(),
                    }
                }
                _ => bail!("name what to hold: --inspection ID, --device ID, or --from T --to T"),
            };
            let local = open(&vault.data.data_dir).await?;
            let v = local.vault(vault.config.as_deref()).await?;
            let id = v
                .place_hold(&target, &reason, &cli, time::OffsetDateTime::now_utc())
                .await?;
            writeln!(out, "hold {id} placed")?;
        }
        RetentionCommand::Lift { vault, id } => {
            let local = open(&vault.data.data_dir).await?;
            let v = local.vault(vault.config.as_deref()).await?;
            if !v
                .lift_hold(&id, &cli, time::OffsetDateTime::now_utc())
                .await?
            {
                bail!("no active hold {id}");
            }
            writeln!(out, "hold {id} lifted")?;
        }
        RetentionCommand::Holds { vault } => {
            let local = open(&vault.data.data_dir).await?;
            let v = local.vault(vault.config.as_deref()).await?;
            // Stored text is shown with control characters escaped.
            use lensguard_core::text::printable;
            for h in v.holds().await? {
                writeln!(
                    out,
                    "{}  {}  {}  by {}  {}",
                    h.id,
                    printable(&h.target),
                    if h.lifted_at.is_some() {
                        "lifted"
                    } else {
                        "active"
                    },
                    printable(&h.created_by),
                    printable(&h.reason)
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
