//! Printing reports: JSON Lines (`--json`) and the human-readable form.

use lensguard_core::Verdict;
use lensguard_core::report::{InspectionReport, Status};
use serde::Serialize;
use std::io::Write;

/// A `--json` line: the report with the path it came from.
#[derive(Serialize)]
struct Line<'a> {
    path: &'a str,
    #[serde(flatten)]
    report: &'a InspectionReport,
}

/// Writes one JSON object and a newline.
pub fn json_line(
    out: &mut impl Write,
    path: &str,
    report: &InspectionReport,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Line { path, report })?;
    out.write_all(b"\n")
}

/// Writes the verdict, the reasons and the measured values for people.
pub fn human(out: &mut impl Write, path: &str, r: &InspectionReport) -> std::io::Result<()> {
    writeln!(out, "{:<6} {path}", r.verdict.as_str().to_uppercase())?;
    for reason in &r.reasons {
        let status = match reason.status {
            Status::Warn => "warn",
            Status::Retry => "retry",
            Status::Fail => "fail",
            Status::Pass | Status::Skipped => "",
        };
        writeln!(
            out,
            "       - {}/{} ({status}): {}",
            reason.check, reason.code, reason.message
        )?;
    }
    if let Some(d) = &r.duplicate_of {
        writeln!(
            out,
            "       duplicate of {} (distance {})",
            d.id, d.distance
        )?;
    }
    if let Some(m) = &r.measurements {
        writeln!(
            out,
            "       {}x{} {} | sharpness {:.1} | luma {:.0} (shadows {:.1}%, highlights {:.1}%) | contrast {:.1} | glare {:.1}% | phash {}",
            m.width,
            m.height,
            m.format.as_str(),
            m.sharpness,
            m.exposure.mean_luma,
            m.exposure.shadows_clipped * 100.0,
            m.exposure.highlights_clipped * 100.0,
            m.contrast,
            m.glare.fraction * 100.0,
            m.phash
        )?;
        let mut meta = Vec::new();
        if let Some(t) = &m.capture_time {
            meta.push(format!("captured {t}"));
        }
        if let Some(g) = &m.gps {
            meta.push(format!("gps {:.5},{:.5}", g.lat, g.lon));
        }
        if let Some(s) = &m.software {
            meta.push(format!("software {s:?}"));
        }
        if let Some(c) = &m.camera {
            meta.push(format!("camera {c:?}"));
        }
        if !meta.is_empty() {
            writeln!(out, "       {}", meta.join(" | "))?;
        }
    }
    if let Some(d) = &r.detections {
        let mut found = Vec::new();
        if let Some(f) = &d.faces {
            found.push(format!("{} face(s)", f.len()));
        }
        if let Some(t) = &d.text {
            found.push(format!("{} text region(s)", t.len()));
        }
        writeln!(
            out,
            "       {} at detection scale {}",
            found.join(", "),
            d.scale
        )?;
    }
    Ok(())
}

/// Verdict counts for the summary line and the exit code.
#[derive(Debug, Default)]
pub struct Tally {
    pass: usize,
    retry: usize,
    fail: usize,
    error: usize,
}

impl Tally {
    /// Counts one verdict.
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Retry => self.retry += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Error => self.error += 1,
        }
    }

    /// Whether every photo passed (true for an empty batch).
    pub fn all_pass(&self) -> bool {
        self.retry + self.fail + self.error == 0
    }

    /// `13 photos: 4 pass, 6 retry, 2 fail, 1 error`.
    pub fn summary(&self) -> String {
        let total = self.pass + self.retry + self.fail + self.error;
        format!(
            "{total} photo{}: {} pass, {} retry, {} fail, {} error",
            if total == 1 { "" } else { "s" },
            self.pass,
            self.retry,
            self.fail,
            self.error
        )
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal, with --quiet,
/// or for a single file.
pub fn progress_bar(total: u64, quiet: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    if quiet || total < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} photos (eta {eta})",
    ) {
        bar.set_style(style);
    }
    bar
}

/// A new user's line and their TOTP secret, shown once (`what`: "user",
/// "hub user").
pub fn enrolment(
    out: &mut impl Write,
    what: &str,
    e: &lensguard_store::db::TotpEnrolment,
) -> std::io::Result<()> {
    writeln!(
        out,
        "created {what} {} ({}), id {}",
        e.user.username, e.user.role, e.user.id
    )?;
    writeln!(
        out,
        "TOTP secret (shown once; add it to an authenticator app): {}",
        e.secret_base32.expose()
    )?;
    writeln!(out, "otpauth URI: {}", e.otpauth_uri.expose())
}

/// Users, one a line: id, state, role, name.
pub fn users(out: &mut impl Write, users: &[lensguard_store::db::User]) -> std::io::Result<()> {
    for u in users {
        let state = if u.disabled_at.is_some() {
            "disabled"
        } else {
            "active"
        };
        writeln!(
            out,
            "{}  {:<8} {:<10} {}",
            u.id,
            state,
            u.role.as_str(),
            u.username
        )?;
    }
    Ok(())
}
