//! `lensguard check`: inspect files in parallel, stream results in input order.
//!
//! Files are processed in chunks: each chunk is inspected on the worker pool, then
//! its results are de-duplicated and printed in input order before the next chunk
//! starts, so output streams, memory stays bounded, and "earlier" in `--dedupe`
//! means earlier on the command line.

use crate::cli::CheckArgs;
use crate::detection;
use crate::inputs::{self, Input, ReadError};
use crate::output::{self, Tally};
use anyhow::Context;
use lensguard_core::report::{InspectionReport, ReasonCode};
use lensguard_core::{HashIndex, Limits, Policy, rules};
use lensguard_vision::derive::Detectors;
use rayon::prelude::*;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

const CHUNK: usize = 64;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let policy = super::load_policy(&args.policy)?;
    let now = parse_now(args.now.as_deref())?;
    let limits = Limits {
        max_file_bytes: args
            .max_file_bytes
            .unwrap_or(Limits::default().max_file_bytes),
        max_pixels: args.max_pixels.unwrap_or(Limits::default().max_pixels),
        ..Limits::default()
    };
    let inputs = inputs::collect(&args.paths)?;
    let detectors = lensguard_vision::pipeline::checks_need_detection(&policy)
        .then(|| detection::load_for_cli(args.models.models.as_deref()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, usize::from))
        .build()
        .context("cannot start worker threads")?;

    let progress = output::progress_bar(inputs.len() as u64, args.quiet);
    let max_distance = args
        .dedupe_distance
        .unwrap_or(policy.duplicate.max_distance);
    let mut index: HashIndex<String> = HashIndex::new();
    let mut tally = Tally::default();
    let stdout = std::io::stdout();
    for chunk in inputs.chunks(CHUNK) {
        let reports: Vec<(&Path, InspectionReport)> = pool.install(|| {
            chunk
                .par_iter()
                .map(|input| {
                    let report = match input {
                        Input::File(path) => {
                            inspect_file(path, &policy, &limits, now, detectors.as_ref())
                        }
                        Input::Unlistable(_, why) => InspectionReport::error(
                            ReasonCode::Unreadable,
                            format!("cannot list this entry: {why}"),
                            policy.reference(),
                        ),
                    };
                    progress.inc(1);
                    (input.path(), report)
                })
                .collect()
        });
        let mut out = stdout.lock();
        for (path, mut report) in reports {
            let shown = path.display().to_string();
            if args.dedupe {
                dedupe(&mut report, &mut index, &shown, max_distance, &policy);
            }
            tally.add(report.verdict);
            progress.suspend(|| -> std::io::Result<()> {
                if args.json {
                    output::json_line(&mut out, &shown, &report)
                } else {
                    output::human(&mut out, &shown, &report)
                }
            })?;
        }
        out.flush()?;
    }
    progress.finish_and_clear();
    if !args.quiet {
        let line = tally.summary();
        if args.json {
            eprintln!("{line}");
        } else {
            writeln!(stdout.lock(), "\n{line}")?;
        }
    }
    Ok(if tally.all_pass() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn dedupe(
    report: &mut InspectionReport,
    index: &mut HashIndex<String>,
    id: &str,
    max_distance: u32,
    policy: &Policy,
) {
    let Some(hash) = report.measurements.as_ref().map(|m| m.phash) else {
        return;
    };
    let found = index.nearest(hash, max_distance);
    rules::apply_duplicate(report, found, policy);
    index.insert(id.to_owned(), hash);
}

fn inspect_file(
    path: &Path,
    policy: &Policy,
    limits: &Limits,
    now: time::OffsetDateTime,
    detectors: Option<&Detectors>,
) -> InspectionReport {
    match inputs::read_limited(path, limits.max_file_bytes) {
        Ok(bytes) => match detectors {
            Some(d) => {
                lensguard_vision::pipeline::run(&bytes, policy, limits, now, d, false).report
            }
            None => lensguard_vision::inspect(&bytes, policy, limits, now),
        },
        Err(ReadError::TooLarge(e)) => {
            InspectionReport::error(e.reason_code(), e.to_string(), policy.reference())
        }
        Err(ReadError::Io(e)) => InspectionReport::error(
            ReasonCode::Unreadable,
            format!("cannot read the file: {e}"),
            policy.reference(),
        ),
    }
}

fn parse_now(now: Option<&str>) -> anyhow::Result<time::OffsetDateTime> {
    match now {
        None => Ok(time::OffsetDateTime::now_utc()),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .with_context(|| format!("--now {s:?} is not an RFC 3339 time (2026-11-21T12:00:00Z)")),
    }
}
