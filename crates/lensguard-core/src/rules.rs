//! Judging measurements against a policy, and the verdict rule.
//!
//! Measuring is the vision crate's job; deciding what a measurement means is
//! this module's. Each check has one function that returns its status and, for a
//! miss, a [`Reason`] with the measured value and the threshold in the message.
//! [`decide`] then applies the verdict rule: any `fail` gives fail, else any
//! `retry` gives retry, else pass (`warn` and `skipped` do not change the verdict).

mod vision;

pub use vision::{Unavailable, apply_detections};

use crate::phash::HashMatch;
use crate::policy::{Action, Policy};
use crate::report::{
    CheckId, CheckResult, DuplicateOf, InspectionReport, Measurements, Reason, ReasonCode,
    SCHEMA_ID, Status, Verdict,
};

/// One check's judgement before it is put into a report.
struct Judgement {
    check: CheckId,
    status: Status,
    reason: Option<(ReasonCode, String)>,
}

impl Judgement {
    fn pass(check: CheckId) -> Self {
        Judgement {
            check,
            status: Status::Pass,
            reason: None,
        }
    }

    fn skipped(check: CheckId) -> Self {
        Judgement {
            check,
            status: Status::Skipped,
            reason: None,
        }
    }

    /// A miss under `action`; `skipped` when the action is `off`.
    fn miss(check: CheckId, action: Action, code: ReasonCode, message: String) -> Self {
        match action.miss_status() {
            None => Judgement::skipped(check),
            Some(status) => Judgement {
                check,
                status,
                reason: Some((code, message)),
            },
        }
    }
}

/// The verdict for a set of check statuses.
pub fn decide(statuses: impl IntoIterator<Item = Status>) -> Verdict {
    let mut verdict = Verdict::Pass;
    for s in statuses {
        match s {
            Status::Fail => return Verdict::Fail,
            Status::Retry => verdict = Verdict::Retry,
            Status::Pass | Status::Warn | Status::Skipped => {}
        }
    }
    verdict
}

/// Judges `m` against `policy` at time `now` and builds the report.
pub fn judge(m: Measurements, policy: &Policy, now: time::OffsetDateTime) -> InspectionReport {
    let judgements = [
        resolution(&m, policy),
        blur(&m, policy),
        exposure(&m, policy),
        contrast(&m, policy),
        glare(&m, policy),
        capture_time(&m, policy, now),
        gps(&m, policy),
        edits(&m, policy),
    ];
    let mut report = InspectionReport {
        schema: SCHEMA_ID.to_owned(),
        verdict: Verdict::Pass,
        reasons: Vec::new(),
        checks: Vec::new(),
        measurements: Some(m),
        duplicate_of: None,
        policy: policy.reference(),
        detections: None,
        redaction: None,
    };
    for j in judgements {
        push(&mut report, j);
    }
    report.verdict = decide(report.checks.iter().map(|c| c.status));
    report
}

fn push(report: &mut InspectionReport, j: Judgement) {
    let code = j.reason.as_ref().map(|(c, _)| *c);
    if let Some((code, message)) = j.reason {
        report.reasons.push(Reason {
            check: j.check,
            code,
            status: j.status,
            message,
        });
    }
    report.checks.push(CheckResult {
        check: j.check,
        status: j.status,
        code,
    });
}

/// Records the duplicate check on a judged report: a match becomes a
/// `duplicate` reason under the policy's action; no match is a pass. Reports
/// with an `error` verdict are left alone.
pub fn apply_duplicate(
    report: &mut InspectionReport,
    found: Option<HashMatch<String>>,
    policy: &Policy,
) {
    if report.verdict == Verdict::Error {
        return;
    }
    let rule = &policy.duplicate;
    let j = match (rule.action, found) {
        (Action::Off, _) => Judgement::skipped(CheckId::Duplicate),
        (_, None) => Judgement::pass(CheckId::Duplicate),
        (action, Some(found)) => {
            let message = format!(
                "near-duplicate of {} (hash distance {} <= {})",
                found.id, found.distance, rule.max_distance
            );
            report.duplicate_of = Some(DuplicateOf {
                id: found.id,
                distance: found.distance,
            });
            Judgement::miss(CheckId::Duplicate, action, ReasonCode::Duplicate, message)
        }
    };
    push(report, j);
    report.verdict = decide(report.checks.iter().map(|c| c.status));
}

fn resolution(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.resolution;
    if r.action == Action::Off {
        return Judgement::skipped(CheckId::Resolution);
    }
    let (short, long) = (m.width.min(m.height), m.width.max(m.height));
    if short >= r.min_short_side && long >= r.min_long_side {
        return Judgement::pass(CheckId::Resolution);
    }
    Judgement::miss(
        CheckId::Resolution,
        r.action,
        ReasonCode::LowResolution,
        format!(
            "{}x{} is below the minimum of {}x{}",
            m.width, m.height, r.min_long_side, r.min_short_side
        ),
    )
}

fn blur(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.blur;
    if r.action == Action::Off || m.sharpness >= r.min_sharpness {
        return pass_unless_off(CheckId::Blur, r.action);
    }
    Judgement::miss(
        CheckId::Blur,
        r.action,
        ReasonCode::Blurry,
        format!(
            "sharpness {:.2} is below the minimum of {:.2}",
            m.sharpness, r.min_sharpness
        ),
    )
}

fn exposure(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.exposure;
    let e = &m.exposure;
    let dark = e.mean_luma < r.min_mean_luma || e.shadows_clipped > r.max_shadows_clipped;
    let bright = e.mean_luma > r.max_mean_luma || e.highlights_clipped > r.max_highlights_clipped;
    if r.action == Action::Off || !(dark || bright) {
        return pass_unless_off(CheckId::Exposure, r.action);
    }
    let (code, word) = if dark {
        (ReasonCode::Underexposed, "too dark")
    } else {
        (ReasonCode::Overexposed, "too bright")
    };
    Judgement::miss(
        CheckId::Exposure,
        r.action,
        code,
        format!(
            "{word}: mean luma {:.0} (allowed {:.0} to {:.0}), {:.1}% shadows and {:.1}% highlights clipped",
            e.mean_luma,
            r.min_mean_luma,
            r.max_mean_luma,
            e.shadows_clipped * 100.0,
            e.highlights_clipped * 100.0
        ),
    )
}

fn contrast(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.contrast;
    if r.action == Action::Off || m.contrast >= r.min_std_luma {
        return pass_unless_off(CheckId::Contrast, r.action);
    }
    Judgement::miss(
        CheckId::Contrast,
        r.action,
        ReasonCode::LowContrast,
        format!(
            "contrast {:.1} is below the minimum of {:.1}",
            m.contrast, r.min_std_luma
        ),
    )
}

fn glare(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.glare;
    if r.action == Action::Off || m.glare.fraction <= r.max_fraction {
        return pass_unless_off(CheckId::Glare, r.action);
    }
    Judgement::miss(
        CheckId::Glare,
        r.action,
        ReasonCode::Glare,
        format!(
            "{} saturated region(s) cover {:.1}% of the image (allowed {:.1}%)",
            m.glare.regions,
            m.glare.fraction * 100.0,
            r.max_fraction * 100.0
        ),
    )
}

fn capture_time(m: &Measurements, p: &Policy, now: time::OffsetDateTime) -> Judgement {
    let r = &p.capture_time;
    if r.action == Action::Off {
        return Judgement::skipped(CheckId::CaptureTime);
    }
    let Some(taken) = m.capture_time else {
        if !r.require {
            return Judgement::skipped(CheckId::CaptureTime);
        }
        return Judgement::miss(
            CheckId::CaptureTime,
            r.action,
            ReasonCode::CaptureTimeMissing,
            "the photo has no EXIF capture time".to_owned(),
        );
    };
    let age = now - taken.instant(r.assumed_offset());
    let age_hours = age.as_seconds_f64() / 3600.0;
    if age_hours > r.max_age_hours {
        return Judgement::miss(
            CheckId::CaptureTime,
            r.action,
            ReasonCode::CaptureTimeStale,
            format!(
                "taken {taken}, {age_hours:.1} h ago (allowed {:.1} h)",
                r.max_age_hours
            ),
        );
    }
    let ahead_minutes = -age.as_seconds_f64() / 60.0;
    if ahead_minutes > r.max_future_minutes {
        return Judgement::miss(
            CheckId::CaptureTime,
            r.action,
            ReasonCode::CaptureTimeInFuture,
            format!(
                "taken {taken}, {ahead_minutes:.0} min in the future (allowed {:.0} min)",
                r.max_future_minutes
            ),
        );
    }
    Judgement::pass(CheckId::CaptureTime)
}

fn gps(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.gps;
    if r.action == Action::Off {
        return Judgement::skipped(CheckId::Gps);
    }
    let Some(pos) = m.gps else {
        if !r.require {
            return Judgement::skipped(CheckId::Gps);
        }
        return Judgement::miss(
            CheckId::Gps,
            r.action,
            ReasonCode::GpsMissing,
            "the photo has no EXIF GPS position".to_owned(),
        );
    };
    if let Some(fence) = &r.geofence {
        let d = pos.distance_m(&fence.centre());
        if d > fence.radius_m {
            return Judgement::miss(
                CheckId::Gps,
                r.action,
                ReasonCode::OutsideGeofence,
                format!(
                    "taken {d:.0} m from the geofence centre (radius {:.0} m)",
                    fence.radius_m
                ),
            );
        }
    }
    Judgement::pass(CheckId::Gps)
}

fn edits(m: &Measurements, p: &Policy) -> Judgement {
    let r = &p.edits;
    if r.action == Action::Off {
        return Judgement::skipped(CheckId::Edits);
    }
    let Some(software) = &m.software else {
        return Judgement::pass(CheckId::Edits);
    };
    let lower = software.to_lowercase();
    match r
        .software
        .iter()
        .find(|s| lower.contains(&s.to_lowercase()))
    {
        None => Judgement::pass(CheckId::Edits),
        Some(hit) => Judgement::miss(
            CheckId::Edits,
            r.action,
            ReasonCode::EditedSoftware,
            format!("EXIF software {software:?} names an image editor ({hit})"),
        ),
    }
}

fn pass_unless_off(check: CheckId, action: Action) -> Judgement {
    if action == Action::Off {
        Judgement::skipped(check)
    } else {
        Judgement::pass(check)
    }
}

#[cfg(test)]
mod tests;
