//! The `faces` and `text` checks: what the detectors found, judged against the
//! policy's expectation. A detector that could not run fails closed: when the
//! policy expects anything of its regions, the check misses with
//! `model_unavailable` (or `deadline_exceeded`).

use super::{Judgement, decide, push};
use crate::policy::{Expect, Policy};
use crate::report::{CheckId, InspectionReport, ReasonCode, Region, Verdict};

/// Why a detector gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// `model_unavailable` or `deadline_exceeded`.
    pub code: ReasonCode,
    /// What happened.
    pub message: String,
}

/// Records the `faces` and `text` checks on a judged report. Reports with an
/// `error` verdict are left alone.
pub fn apply_detections(
    report: &mut InspectionReport,
    faces: Result<&[Region], &Unavailable>,
    text: Result<&[Region], &Unavailable>,
    policy: &Policy,
) {
    if report.verdict == Verdict::Error {
        return;
    }
    let height = report.measurements.as_ref().map_or(0, |m| m.height);
    let f = &policy.faces;
    let min_height = f.min_height_fraction * f64::from(height);
    let counted = faces.map(|all| {
        all.iter()
            .filter(|r| r.score >= f.threshold && f64::from(r.height) >= min_height)
            .count()
    });
    push(
        report,
        judge(
            CheckId::Faces,
            f.expect,
            f.action,
            counted,
            (ReasonCode::FacePresent, ReasonCode::FaceMissing),
            "face",
        ),
    );
    let t = &policy.text;
    let counted = text.map(|all| all.iter().filter(|r| r.score >= t.threshold).count());
    push(
        report,
        judge(
            CheckId::Text,
            t.expect,
            t.action,
            counted,
            (ReasonCode::TextPresent, ReasonCode::TextMissing),
            "text region",
        ),
    );
    report.verdict = decide(report.checks.iter().map(|c| c.status));
}

fn judge(
    check: CheckId,
    expect: Expect,
    action: crate::policy::Action,
    counted: Result<usize, &Unavailable>,
    (present, missing): (ReasonCode, ReasonCode),
    noun: &str,
) -> Judgement {
    match (expect, counted) {
        (Expect::Ignore, _) => Judgement::skipped(check),
        (_, Err(why)) => Judgement::miss(check, action, why.code, why.message.clone()),
        (Expect::Forbid, Ok(0)) | (Expect::Require, Ok(1..)) => Judgement::pass(check),
        (Expect::Forbid, Ok(n)) => Judgement::miss(
            check,
            action,
            present,
            format!("{n} {noun}(s) found where the policy forbids them"),
        ),
        (Expect::Require, Ok(_)) => Judgement::miss(
            check,
            action,
            missing,
            format!("no {noun} found where the policy requires one"),
        ),
    }
}
