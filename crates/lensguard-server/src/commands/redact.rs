//! `lensguard redact`: hide faces and printed text in files and folders, and
//! write the redacted copies (JPEG, no metadata) to an output folder.
//!
//! Photos are processed in parallel in chunks and reported in input order. A
//! copy is written to a temporary name and renamed into place, so a crash never
//! leaves half a file under a real name; an input is never overwritten.

use crate::cli::{OnlyArg, RedactArgs, StyleArg};
use crate::detection;
use crate::inputs::{self, Input, ReadError};
use crate::output;
use anyhow::{Context, bail};
use lensguard_core::policy::{PixelCategory, Policy, RedactStyle, Tiling};
use lensguard_core::report::{Detections, RedactionOutcome, RedactionStatus};
use lensguard_core::{Limits, report::ReasonCode};
use lensguard_vision::derive::{Derivative, Detectors, derive};
use rayon::prelude::*;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

const CHUNK: usize = 32;

/// One photo's result, as printed with `--json`.
#[derive(Serialize)]
struct Line {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<String>,
    redaction: RedactionOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    detections: Option<Detections>,
}

pub fn run(args: RedactArgs) -> anyhow::Result<ExitCode> {
    let mut policy = super::load_policy(&args.policy)?;
    apply_overrides(&mut policy, &args);
    let limits = Limits::default();
    let detectors = detection::load_for_cli(args.models.models.as_deref());
    let jobs = plan(&args.paths, &args.out)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, usize::from))
        .build()
        .context("cannot start worker threads")?;
    let progress = output::progress_bar(jobs.len() as u64, args.quiet);
    let started = Instant::now();
    let (mut redacted, mut withheld) = (0usize, 0usize);
    let stdout = std::io::stdout();
    for chunk in jobs.chunks(CHUNK) {
        let lines: Vec<Line> = pool.install(|| {
            chunk
                .par_iter()
                .map(|job| {
                    let line = redact_one(job, &policy, &limits, &detectors);
                    progress.inc(1);
                    line
                })
                .collect()
        });
        let mut out = stdout.lock();
        for line in lines {
            if line.redaction.status == RedactionStatus::Redacted {
                redacted += 1;
            } else {
                withheld += 1;
            }
            progress.suspend(|| print(&mut out, &line, args.json))?;
        }
        out.flush()?;
    }
    progress.finish_and_clear();
    if !args.quiet {
        eprintln!(
            "{} photo{}: {redacted} redacted, {withheld} withheld, in {:.1} s",
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if withheld == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn apply_overrides(policy: &mut Policy, args: &RedactArgs) {
    match args.only {
        Some(OnlyArg::Faces) => policy.redaction.categories = vec![PixelCategory::Faces],
        Some(OnlyArg::Text) => policy.redaction.categories = vec![PixelCategory::Text],
        None => {}
    }
    if let Some(style) = args.style {
        let style = match style {
            StyleArg::Blur => RedactStyle::Blur,
            StyleArg::Pixelate => RedactStyle::Pixelate,
            StyleArg::Fill => RedactStyle::Fill,
        };
        policy.redaction.faces = style;
        policy.redaction.text = style;
    }
    if let Some(scale) = args.scale {
        policy.detection.scale = scale;
    }
    match args.tiling.as_deref() {
        Some("off") => policy.detection.tiling = Tiling::Off,
        Some("auto") => policy.detection.tiling = Tiling::Auto,
        _ => {}
    }
}

/// A photo to redact and where its copy goes.
struct Job {
    input: Input,
    output: PathBuf,
}

/// Every input with its output path under `out`, keeping folder layout.
fn plan(paths: &[PathBuf], out: &Path) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for root in paths {
        let is_dir = std::fs::metadata(root)
            .with_context(|| format!("cannot read {}", root.display()))?
            .is_dir();
        for input in inputs::collect(std::slice::from_ref(root))? {
            let path = input.path();
            let rel = if is_dir {
                path.strip_prefix(root).unwrap_or(path).to_path_buf()
            } else {
                PathBuf::from(path.file_name().unwrap_or(path.as_os_str()))
            };
            let output = out.join(output_name(&rel));
            if same_file(path, &output) {
                bail!(
                    "{} would be overwritten by its redacted copy; choose another --out",
                    path.display()
                );
            }
            jobs.push(Job { input, output });
        }
    }
    Ok(jobs)
}

/// `a.jpg` stays `a.jpg`; anything else gets `.jpg` added (`b.png.jpg`).
fn output_name(rel: &Path) -> PathBuf {
    let is_jpeg = rel
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| e == "jpg" || e == "jpeg");
    if is_jpeg {
        rel.to_path_buf()
    } else {
        let mut name = rel.as_os_str().to_owned();
        name.push(".jpg");
        PathBuf::from(name)
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn redact_one(job: &Job, policy: &Policy, limits: &Limits, detectors: &Detectors) -> Line {
    let path = job.input.path().display().to_string();
    let withheld = |code, message: String| Line {
        path: path.clone(),
        output: None,
        redaction: RedactionOutcome::withheld(code, message),
        detections: None,
    };
    let bytes = match &job.input {
        Input::Unlistable(_, why) => {
            return withheld(ReasonCode::Unreadable, format!("cannot list: {why}"));
        }
        Input::File(p) => match inputs::read_limited(p, limits.max_file_bytes) {
            Ok(b) => b,
            Err(ReadError::TooLarge(e)) => return withheld(e.reason_code(), e.to_string()),
            Err(ReadError::Io(e)) => {
                return withheld(ReasonCode::Unreadable, format!("cannot read: {e}"));
            }
        },
    };
    let derived = match derive(&bytes, limits, detectors, policy) {
        Ok(d) => d,
        Err(e) => return withheld(e.reason_code(), e.to_string()),
    };
    let detections = Some(derived.findings.detections());
    match derived.derivative {
        Derivative::Redacted {
            jpeg,
            faces,
            text,
            method,
            ..
        } => {
            if let Err(e) = write_atomically(&job.output, jpeg.as_bytes()) {
                return withheld(
                    ReasonCode::RedactionFailed,
                    format!("cannot write {}: {e}", job.output.display()),
                );
            }
            Line {
                path,
                output: Some(job.output.display().to_string()),
                redaction: RedactionOutcome::redacted(faces, text, method),
                detections,
            }
        }
        Derivative::Withheld { code, message } => Line {
            detections,
            ..withheld(code, message)
        },
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::common::durable::write(path, bytes, crate::common::durable::Mode::Public)
}

fn print(out: &mut impl Write, line: &Line, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, line)?;
        return out.write_all(b"\n");
    }
    let r = &line.redaction;
    match (&line.output, r.code) {
        (Some(to), _) => writeln!(
            out,
            "REDACTED {} -> {to} ({} face(s), {} text region(s) hidden)",
            line.path, r.faces, r.text
        ),
        (None, code) => writeln!(
            out,
            "WITHHELD {}: {}: {}",
            line.path,
            code.map_or("unknown", |c| c.as_str()),
            r.message.as_deref().unwrap_or("")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_keep_jpeg_names_and_mark_other_formats() {
        assert_eq!(output_name(Path::new("a/b.JPG")), PathBuf::from("a/b.JPG"));
        assert_eq!(output_name(Path::new("b.png")), PathBuf::from("b.png.jpg"));
        assert_eq!(
            output_name(Path::new("c.webp")),
            PathBuf::from("c.webp.jpg")
        );
    }
}
