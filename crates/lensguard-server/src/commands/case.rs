//! `lensguard case ...`: evidence cases on a data directory (see
//! [`super::local`]), and checking a bundle anywhere.

use super::local::{Local, block_on, open, read_db};
use crate::cases::export::{ExportContext, export};
use crate::cases::signing::EvidenceSigner;
use crate::cases::verify::{Keys, verify};
use crate::cli::{CaseAddArgs, CaseCommand, CaseExportArgs, CaseVerifyArgs};
use anyhow::{Context, bail};
use lensguard_store::db::{CaseItem, CaseItemKind, Selection};
use lensguard_store::vault::Caller;
use std::io::Write;
use std::process::ExitCode;

fn cli() -> Caller {
    Caller::named("system:cli")
}

fn time_arg(flag: &str, value: Option<&str>) -> anyhow::Result<i64> {
    let value = value.with_context(|| format!("{flag} is needed with a range"))?;
    time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
        .map(time::OffsetDateTime::unix_timestamp)
        .with_context(|| format!("{flag} {value:?} is not an RFC 3339 time (2026-12-07T10:00:00Z)"))
}

pub fn run(cmd: CaseCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CaseCommand::Verify(args) => verify_bundle(&args),
        other => block_on(local(other))?,
    }
}

/// The commands that work on a data directory.
async fn local(cmd: CaseCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        CaseCommand::Open {
            vault,
            name,
            reason,
        } => {
            let l = open(&vault.data.data_dir).await?;
            let v = l.vault(vault.config.as_deref()).await?;
            let id = v.open_case(&name, &reason, &cli(), now).await?;
            writeln!(out, "{id}")?;
        }
        CaseCommand::Add(args) => return add(args).await,
        CaseCommand::List { vault, case } => {
            let db = read_db(&vault.data.data_dir).await?;
            match case {
                None => {
                    let cases = db.list_cases().await?;
                    if cases.is_empty() {
                        writeln!(out, "no cases")?;
                    }
                    for c in cases {
                        let state = if c.closed_at.is_some() {
                            "closed"
                        } else {
                            "open"
                        };
                        writeln!(out, "{}  {state:6}  {}  (owner {})", c.id, c.name, c.owner)?;
                    }
                }
                Some(id) => {
                    if db.get_case(&id).await?.is_none() {
                        bail!("there is no case {id}");
                    }
                    let items = db.case_items(&id).await?;
                    if items.is_empty() {
                        writeln!(out, "case {id} holds no evidence yet")?;
                    }
                    for i in items {
                        writeln!(
                            out,
                            "{:10} {}  (added by {})",
                            i.item.kind.as_str(),
                            i.item.id,
                            i.added_by
                        )?;
                    }
                }
            }
        }
        CaseCommand::Close { vault, case } => {
            let l = open(&vault.data.data_dir).await?;
            let v = l.vault(vault.config.as_deref()).await?;
            v.close_case(&case, &cli(), now).await?;
            writeln!(out, "case {case} closed; its hold is lifted")?;
        }
        CaseCommand::Export(args) => return export_case(args).await,
        CaseCommand::Verify(args) => return verify_bundle(&args),
    }
    Ok(ExitCode::SUCCESS)
}

async fn add(args: CaseAddArgs) -> anyhow::Result<ExitCode> {
    let l = open(&args.vault.data.data_dir).await?;
    let v = l.vault(args.vault.config.as_deref()).await?;
    let mut items: Vec<CaseItem> = Vec::new();
    for (kind, ids) in [
        (CaseItemKind::Inspection, &args.inspection),
        (CaseItemKind::Event, &args.event),
        (CaseItemKind::Segment, &args.segment),
    ] {
        items.extend(ids.iter().map(|id| CaseItem {
            kind,
            id: id.clone(),
        }));
    }
    let range = || -> anyhow::Result<(i64, i64)> {
        let (from, to) = (
            time_arg("--from", args.from.as_deref())?,
            time_arg("--to", args.to.as_deref())?,
        );
        if from >= to {
            bail!("--from must be before --to");
        }
        Ok((from, to))
    };
    let selection = match (&args.device, &args.camera) {
        (Some(device), _) => Some(Selection::Device {
            device: device.clone(),
            from: range()?.0,
            to: range()?.1,
        }),
        (_, Some(camera)) => Some(Selection::Camera {
            camera: camera.clone(),
            from: range()?.0,
            to: range()?.1,
        }),
        _ => None,
    };
    if let Some(s) = &selection {
        items.extend(l.db.select_items(s).await?);
    }
    let mut out = std::io::stdout().lock();
    if items.is_empty() {
        writeln!(
            out,
            "nothing to add: {}",
            if selection.is_some() {
                "the selection found no evidence in that range"
            } else {
                "name evidence with --inspection, --event, --segment, or select it with --device or --camera and a range"
            }
        )?;
        return Ok(ExitCode::from(1));
    }
    let added = v
        .add_to_case(&args.case, &items, &cli(), time::OffsetDateTime::now_utc())
        .await?;
    writeln!(
        out,
        "added {added} of {} items to case {} ({} were already in it); they are held until the case is closed",
        items.len(),
        args.case,
        items.len() - added
    )?;
    Ok(ExitCode::SUCCESS)
}

async fn export_case(args: CaseExportArgs) -> anyhow::Result<ExitCode> {
    let data_dir = &args.vault.data.data_dir;
    let local: Local = open(data_dir).await?;
    let vault = local.vault(args.vault.config.as_deref()).await?;
    let masks = crate::serve::camera_masks(args.vault.config.as_deref())?;
    let policy = crate::serve::load_policy(data_dir)?;
    let signer = match (&args.signing_cert, &args.signing_key) {
        (Some(cert), Some(key)) => EvidenceSigner::from_files(cert, key)?,
        _ => EvidenceSigner::installation(data_dir)?,
    };
    let detectors = crate::detection::load_for_cli(args.models.as_deref());
    let masks_of = move |camera: &str| masks.get(camera).cloned();
    let caller = cli();
    let audit_dir = data_dir.join("audit");
    let cx = ExportContext {
        db: &local.db,
        vault: &vault,
        audit: &local.audit,
        audit_dir: &audit_dir,
        signer: &signer,
        detectors: &detectors,
        policy: &policy,
        masks: &masks_of,
        max_pixels: lensguard_core::Limits::default().max_camera_pixels,
        caller: &caller,
    };
    let bar = crate::output::progress_bar(0, false);
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let done = export(&args.case, &args.out, &cx, &progress).await?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let statuses: Vec<String> = done.items.iter().map(|(s, n)| format!("{n} {s}")).collect();
    writeln!(
        out,
        "wrote {}: items {}; {} media files with C2PA manifests; {} audit entries with proofs\nMANIFEST.sha256 sha256:{}",
        done.dir.display(),
        statuses.join(", "),
        done.media,
        done.entries,
        done.manifest_sha256
    )?;
    if let Some(anchor) = &signer.anchor {
        writeln!(
            out,
            "recipients trust the C2PA certificate {}",
            anchor.display()
        )?;
    }
    writeln!(
        out,
        "audit public key {}",
        hex::encode(local.audit.public_key())
    )?;
    Ok(ExitCode::SUCCESS)
}

fn verify_bundle(args: &CaseVerifyArgs) -> anyhow::Result<ExitCode> {
    if !args.bundle.join(crate::cases::bundle::MANIFEST).exists() {
        bail!(
            "{} is not a case bundle (no {}); nothing was verified",
            args.bundle.display(),
            crate::cases::bundle::MANIFEST
        );
    }
    let audit_key = args
        .audit_key
        .as_deref()
        .map(|k| super::audit::parse_key_for("--audit-key", k))
        .transpose()?;
    let anchors = args
        .trust_anchor
        .as_deref()
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read the trust anchor {}", p.display()))
        })
        .transpose()?;
    let verdict = verify(&args.bundle, &Keys { audit_key, anchors });
    let mut out = std::io::stdout().lock();
    if args.json {
        let checks: Vec<serde_json::Value> = verdict
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({"check": c.name, "ok": c.problems.is_empty(),
                    "covered": c.covered, "problems": c.problems})
            })
            .collect();
        let v = serde_json::json!({"ok": verdict.ok(), "checks": checks, "not_checked": verdict.unchecked});
        writeln!(out, "{v}")?;
    } else {
        for c in &verdict.checks {
            let mark = if c.problems.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(out, "{mark} {}: {}", c.name, c.covered)?;
            for p in &c.problems {
                writeln!(out, "     - {p}")?;
            }
        }
        for u in &verdict.unchecked {
            writeln!(out, "not checked: {u}")?;
        }
        writeln!(
            out,
            "{}",
            if verdict.ok() {
                "the bundle verifies"
            } else {
                "the bundle does NOT verify"
            }
        )?;
    }
    Ok(if verdict.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
