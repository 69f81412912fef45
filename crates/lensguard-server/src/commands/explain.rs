//! `lensguard policy explain PHOTO`: a dry run of the whole pipeline for one
//! photo under a policy: the verdict, what the service would store and for
//! how long, and exactly which fields would leave the device. Nothing is
//! stored and nothing is sent.

use crate::cli::ModelsArgs;
use crate::dry_run::explain;
use crate::inputs::{ReadError, read_limited};
use anyhow::bail;
use lensguard_core::Limits;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(
    photo: &Path,
    chosen: &super::SourcedPolicy,
    models: &ModelsArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let policy = &chosen.policy;
    let bytes = match read_limited(photo, Limits::default().max_file_bytes) {
        Ok(b) => b,
        Err(ReadError::TooLarge(e)) => bail!("{}: {e}", photo.display()),
        Err(ReadError::Io(e)) => bail!("cannot read {}: {e}", photo.display()),
    };
    let detectors = crate::detection::load_for_cli(models.models.as_deref());
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let mut e = explain(photo, &bytes, policy, &detectors, now)?;
    e.policy_source.clone_from(&chosen.source);
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{}: verdict {} (policy {})",
        e.photo, e.verdict, e.policy
    )?;
    writeln!(out, "policy file: {}", e.policy_source)?;
    for r in &e.reasons {
        writeln!(out, "  reason  {r}")?;
    }
    writeln!(out, "stored:")?;
    for p in &e.stored {
        let kept = match (&p.until, p.stored) {
            (Some(until), true) => format!("kept {} days, until {until}", p.keep_days),
            (None, true) => "kept per the audit log's retention".to_owned(),
            _ => "not stored".to_owned(),
        };
        writeln!(out, "  {:<12} {kept}: {}", p.category, p.why)?;
    }
    writeln!(out, "leaves the device:")?;
    let fields = e.leaves_device.fields.as_object().map_or(0, |m| m.len());
    if fields == 0 {
        writeln!(
            out,
            "  report fields: none (the egress manifest names none)"
        )?;
    } else {
        writeln!(out, "  report fields: {}", e.leaves_device.fields)?;
    }
    writeln!(
        out,
        "  redacted image: {}",
        if e.leaves_device.redacted_image {
            "yes"
        } else {
            "no"
        }
    )?;
    Ok(ExitCode::SUCCESS)
}
