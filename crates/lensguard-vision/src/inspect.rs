//! Bytes in, report out: decoding, measuring and judging one photo.

use crate::Error;
use crate::checks::{contrast, exposure, glare, histogram::Histogram, phash, sharpness};
use crate::decode::decode;
use lensguard_core::report::{InspectionReport, Measurements};
use lensguard_core::{Limits, Policy, rules};

/// Decodes `bytes` within `limits` and measures everything the checks need.
pub fn measure(bytes: &[u8], limits: &Limits) -> Result<Measurements, Error> {
    let d = decode(bytes, limits)?;
    let frame = &d.frame;
    let hist = Histogram::of(frame);
    let luma_std = contrast::measure(&hist);
    let laplacian_variance = sharpness::laplacian_variance(frame);
    Ok(Measurements {
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
    })
}

/// Inspects one photo: an `error` report when it cannot be decoded, otherwise the
/// policy's judgement of its measurements at time `now`.
pub fn inspect(
    bytes: &[u8],
    policy: &Policy,
    limits: &Limits,
    now: time::OffsetDateTime,
) -> InspectionReport {
    match measure(bytes, limits) {
        Ok(m) => rules::judge(m, policy, now),
        Err(e) => InspectionReport::error(e.reason_code(), e.to_string(), policy.reference()),
    }
}
