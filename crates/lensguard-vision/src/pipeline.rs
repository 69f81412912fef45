//! The whole pipeline for one photo, as every source runs it: decode, the
//! quality and metadata checks, the detectors when the policy's checks or a
//! derivative need them, and redaction. One call ([`run`]); it never panics
//! and never touches disk or network (the detectors arrive loaded).
//!
//! Invariant: a derivative is only ever a [`crate::redact::RedactedJpeg`]
//! made by [`crate::derive`], handed on as the types the vault keeps
//! ([`RedactedImage`], [`ThumbnailImage`]); when redaction cannot be done
//! after the checks passed, or a needed detector did not run, nothing leaves
//! and the report says why (`redaction.withheld`).
//!
//! A photo is decoded into pixels once ([`decode_photo`]): the checks'
//! analysis image and the detectors' colour frame come from the same decode.
//! Only a policy that needs no detector takes the cheaper greyscale-only
//! decode ([`crate::inspect`]).

use crate::decode::decode_photo;
use crate::derive::{Answer, Detectors, Findings};
use lensguard_core::pixels::{RedactedImage, ThumbnailImage};
use lensguard_core::policy::{Expect, Policy};
use lensguard_core::report::Region;
use lensguard_core::rules::{self, Unavailable};
use lensguard_core::{InspectionReport, Limits};

/// Whether the policy's checks need the detectors at all.
pub fn checks_need_detection(policy: &Policy) -> bool {
    policy.faces.expect != Expect::Ignore || policy.text.expect != Expect::Ignore
}

/// Records the `faces` and `text` checks and the regions found on `report`.
pub fn judge(report: &mut InspectionReport, findings: &Findings, policy: &Policy) {
    rules::apply_detections(
        report,
        answer(&findings.faces),
        answer(&findings.text),
        policy,
    );
    if report.verdict != lensguard_core::Verdict::Error {
        report.detections = Some(findings.detections());
    }
}

/// A detector's answer as the checks take it; not run means the policy
/// ignores the check, which then skips it.
fn answer(a: &Answer) -> Result<&[Region], &Unavailable> {
    match a {
        Some(r) => r.as_deref(),
        None => Ok(&[]),
    }
}

/// A photo inspected, with the detectors run when the policy's checks or a
/// derivative need them.
pub struct Outcome {
    /// The report, with `detections` and (when a derivative was asked for)
    /// `redaction` filled in.
    pub report: InspectionReport,
    /// The redacted JPEG, when one was asked for and could be made.
    pub derivative: Option<RedactedImage>,
    /// Its thumbnail.
    pub thumbnail: Option<ThumbnailImage>,
}

/// Inspects `bytes`; runs the detectors when the policy's `faces` or `text`
/// checks need them or `derivative` is asked for, and then redacts.
pub fn run(
    bytes: &[u8],
    policy: &Policy,
    limits: &Limits,
    now: time::OffsetDateTime,
    detectors: &Detectors,
    derivative: bool,
) -> Outcome {
    use crate::derive::{Derivative, decode_denominator, derive_decoded};
    use lensguard_core::report::RedactionOutcome;
    if !derivative && !checks_need_detection(policy) {
        return Outcome {
            report: crate::inspect(bytes, policy, limits, now),
            derivative: None,
            thumbnail: None,
        };
    }
    // One decode for the checks and the detectors.
    let photo = match decode_photo(bytes, limits, |h| decode_denominator(policy, h)) {
        Ok(photo) => photo,
        Err(e) => {
            return Outcome {
                report: crate::judged(Err(e), policy, now),
                derivative: None,
                thumbnail: None,
            };
        }
    };
    let mut report = crate::judged(Ok(crate::measure_decoded(photo.analysis)), policy, now);
    let derived = match derive_decoded(bytes, photo.colour, limits, detectors, policy) {
        Ok(d) => d,
        Err(e) => {
            // The coefficient path failed and so did the whole decode it fell
            // back on: nothing leaves.
            report.redaction =
                derivative.then(|| RedactionOutcome::withheld(e.reason_code(), e.to_string()));
            return Outcome {
                report,
                derivative: None,
                thumbnail: None,
            };
        }
    };
    judge(&mut report, &derived.findings, policy);
    if !derivative {
        return Outcome {
            report,
            derivative: None,
            thumbnail: None,
        };
    }
    let (outcome, jpeg, thumbnail) = match derived.derivative {
        Derivative::Redacted {
            jpeg,
            thumbnail,
            faces,
            text,
            method,
        } => (
            RedactionOutcome::redacted(faces, text, method),
            Some(jpeg.into_redacted_image()),
            Some(thumbnail.into_thumbnail_image()),
        ),
        Derivative::Withheld { code, message } => {
            (RedactionOutcome::withheld(code, message), None, None)
        }
    };
    report.redaction = Some(outcome);
    Outcome {
        report,
        derivative: jpeg,
        thumbnail,
    }
}
