//! `lensguard bench --vault`: what keeping evidence adds to the ingest path,
//! against the service's own per-photo work measured in the same run.
//!
//! Per photo, one thread: the pipeline the service runs on a submission
//! (decode, checks, detection, redaction, JPEG and thumbnail encoding, with
//! the default policy and the installed models), then the vault's
//! bookkeeping for what the default policy keeps: sealing and durably
//! writing the redacted image and its thumbnail (fresh data keys, wrapping,
//! blob files synced), their rows, and the result's expiry. Target: under 5%
//! of the per-photo time.

use anyhow::Context;
use lensguard_core::pixels::Evidence;
use lensguard_core::{Limits, Policy};
use lensguard_store::audit::{AuditLog, AuditOptions};
use lensguard_store::db::Db;
use lensguard_store::vault::{KeySource, MasterKey, NewObject, Sealable, Vault};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(
    files: &[PathBuf],
    rounds: u32,
    warmup: u32,
    models: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let policy = Policy::default();
    let limits = Limits::default();
    let detectors = crate::detection::load_for_cli(models);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    // A scratch data directory in the temporary folder, removed at the end.
    let dir = std::env::temp_dir().join(format!("lensguard-bench-vault-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = measure(
        files, rounds, warmup, &policy, &limits, &detectors, &rt, &dir,
    );
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[allow(clippy::too_many_arguments)]
fn measure(
    files: &[PathBuf],
    rounds: u32,
    warmup: u32,
    policy: &Policy,
    limits: &Limits,
    detectors: &lensguard_vision::derive::Detectors,
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let vault = rt.block_on(async {
        let db = Db::open(&dir.join("lensguard.db")).await?;
        let audit = Arc::new(AuditLog::open(&dir.join("audit"), AuditOptions::default())?);
        let master = MasterKey::from_file(&dir.join("master.key"), true)?;
        Vault::open(
            &db,
            &dir.join("vault"),
            KeySource::MasterKey(master),
            audit,
            time::OffsetDateTime::now_utc(),
        )
        .await
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<36} {:>12} {:>12} {:>10} {:>8}",
        "file", "pipeline ms", "vault ms", "kept KiB", "share"
    )?;
    for path in files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (mut pipeline, mut keeping) = (Vec::new(), Vec::new());
        let mut kept = 0;
        for round in 0..warmup + rounds {
            let now = time::OffsetDateTime::now_utc();
            let t = Instant::now();
            let o = lensguard_vision::pipeline::run(&bytes, policy, limits, now, detectors, true);
            let p = t.elapsed().as_secs_f64() * 1000.0;
            let (Some(redacted), Some(thumbnail)) = (o.derivative, o.thumbnail) else {
                anyhow::bail!(
                    "{}: no derivative was made (models missing?)",
                    path.display()
                );
            };
            kept = redacted.len() + thumbnail.len();
            let t = Instant::now();
            rt.block_on(async {
                let objects = [Sealable::from(redacted), Sealable::from(thumbnail)]
                    .into_iter()
                    .map(|pixels| {
                        let new = NewObject {
                            inspection_id: "bench",
                            device_id: None,
                            keep_days: policy.data.rule(pixels.category()).keep_days,
                            policy: "proof-of-delivery@1",
                        };
                        (new, pixels)
                    })
                    .collect();
                vault.put_all(objects, now).await?;
                vault.expiry(now, policy.data.result.keep_days).await
            })?;
            let v = t.elapsed().as_secs_f64() * 1000.0;
            if round >= warmup {
                pipeline.push(p);
                keeping.push(v);
            }
        }
        let (p, v) = (median(pipeline), median(keeping));
        writeln!(
            out,
            "{:<36} {:>12.2} {:>12.2} {:>10.1} {:>7.1}%",
            path.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            p,
            v,
            kept as f64 / 1024.0,
            100.0 * v / p
        )?;
    }
    writeln!(
        out,
        "share = vault bookkeeping / pipeline per photo (medians); target under 5%"
    )?;
    Ok(())
}
