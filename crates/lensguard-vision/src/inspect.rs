//! Bytes in, report out: decoding, measuring and judging one photo.

use crate::Error;
use crate::checks::{contrast, exposure, glare, histogram::Histogram, phash, sharpness};
use crate::decode::{Decoded, decode};
use lensguard_core::report::{InspectionReport, Measurements};
use lensguard_core::{Limits, Policy, rules};

/// Decodes `bytes` within `limits` and measures everything the checks need.
pub fn measure(bytes: &[u8], limits: &Limits) -> Result<Measurements, Error> {
    Ok(measure_decoded(decode(bytes, limits)?))
}

/// Measures a photo already decoded (its analysis image, sizes and EXIF).
pub fn measure_decoded(d: Decoded) -> Measurements {
    let frame = &d.frame;
    let hist = Histogram::of(frame);
    let luma_std = contrast::measure(&hist);
    let laplacian_variance = sharpness::laplacian_variance(frame);
    Measurements {
        format: d.format,
        width: d.width,
        height: d.height,
        analysis_width: frame.width(),
        analysis_height: frame.height(),
        decode_scale: d.decode_scale,
        orientation: d.orientation,
        sharpness: sharpness::normalised(laplacian_variance, luma_std),
        laplacian_variance,
        exposure: exposure::measure(&hist),
        contrast: luma_std,
        glare: glare::measure(frame),
        phash: phash::measure(frame),
        capture_time: d.exif.capture_time,
        gps: d.exif.gps,
        software: d.exif.software,
        camera: d.exif.camera,
    }
}

/// Inspects one photo: an `error` report when it cannot be decoded, otherwise the
/// policy's judgement of its measurements at time `now`.
pub fn inspect(
    bytes: &[u8],
    policy: &Policy,
    limits: &Limits,
    now: time::OffsetDateTime,
) -> InspectionReport {
    judged(measure(bytes, limits), policy, now)
}

/// The policy's judgement of `measured` at time `now`, or the `error` report
/// of why the photo could not be measured.
pub fn judged(
    measured: Result<Measurements, Error>,
    policy: &Policy,
    now: time::OffsetDateTime,
) -> InspectionReport {
    match measured {
        Ok(m) => rules::judge(m, policy, now),
        Err(e) => InspectionReport::error(e.reason_code(), e.to_string(), policy.reference()),
    }
}
