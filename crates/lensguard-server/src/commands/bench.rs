//! `lensguard bench`: single-thread time per photo, decode plus every check, or
//! (`--threads N`) photos per second with N threads, the in-process reference
//! for the service benchmark (`scripts/bench-service`).

use crate::cli::BenchArgs;
use anyhow::Context;
use lensguard_core::{Limits, Policy, Verdict};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Serialize)]
struct Figures<'a> {
    file: &'a str,
    width: u32,
    height: u32,
    bytes: usize,
    decode_scale: u8,
    verdict: Verdict,
    rounds: u32,
    median_ms: f64,
    p10_ms: f64,
    p90_ms: f64,
}

/// Photos per second with `threads` threads inspecting `bytes` for `seconds`.
fn throughput(bytes: &[u8], threads: u16, seconds: u32) -> f64 {
    let policy = Policy::default();
    let limits = Limits::default();
    let now = time::OffsetDateTime::now_utc();
    let start = Instant::now();
    let deadline = start + std::time::Duration::from_secs(u64::from(seconds));
    let done: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0_u64;
                    while Instant::now() < deadline {
                        std::hint::black_box(lensguard_vision::inspect(
                            bytes, &policy, &limits, now,
                        ));
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    done as f64 / start.elapsed().as_secs_f64()
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.vault {
        super::bench_vault::run(
            &args.files,
            args.rounds,
            args.warmup,
            args.models.models.as_deref(),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(threads) = args.threads {
        let mut out = std::io::stdout().lock();
        for path in &args.files {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let per_second = throughput(&bytes, threads, args.seconds);
            if args.json {
                let v = serde_json::json!({"file": path.display().to_string(), "threads": threads, "seconds": args.seconds, "photos_per_second": per_second});
                writeln!(out, "{v}")?;
            } else {
                writeln!(
                    out,
                    "{}: {per_second:.1} photos/s with {threads} threads",
                    path.display()
                )?;
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let policy = Policy::default();
    let limits = Limits::default();
    let now = time::OffsetDateTime::now_utc();
    let mut out = std::io::stdout().lock();
    if !args.json {
        writeln!(
            out,
            "{:<40} {:>11} {:>6} {:>10} {:>8} {:>8}",
            "file", "size", "scale", "median ms", "p10", "p90"
        )?;
    }
    for path in &args.files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        for _ in 0..args.warmup {
            std::hint::black_box(lensguard_vision::inspect(&bytes, &policy, &limits, now));
        }
        let mut times = Vec::with_capacity(args.rounds as usize);
        let mut last = None;
        for _ in 0..args.rounds {
            let start = Instant::now();
            let report =
                std::hint::black_box(lensguard_vision::inspect(&bytes, &policy, &limits, now));
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            last = Some(report);
        }
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let report = last.context("at least one round runs")?;
        let m = report.measurements.as_ref();
        let name = path.display().to_string();
        let figures = Figures {
            file: &name,
            width: m.map_or(0, |m| m.width),
            height: m.map_or(0, |m| m.height),
            bytes: bytes.len(),
            decode_scale: m.map_or(0, |m| m.decode_scale),
            verdict: report.verdict,
            rounds: args.rounds,
            median_ms: pick(0.5),
            p10_ms: pick(0.1),
            p90_ms: pick(0.9),
        };
        if args.json {
            serde_json::to_writer(&mut out, &figures)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<40} {:>11} {:>6} {:>10.2} {:>8.2} {:>8.2}",
                name,
                format!("{}x{}", figures.width, figures.height),
                format!("1/{}", figures.decode_scale),
                figures.median_ms,
                figures.p10_ms,
                figures.p90_ms
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
