//! Redacting one recorded segment for anyone without original-access: the
//! one path the API's redacted view and a case export share.
//!
//! Faces are looked for on every [`DETECT_EVERY`]-th picture at the
//! policy's detection scale and threshold and followed between looks
//! (`lensguard_video::cover`); the camera's privacy masks are burned in;
//! the result is H.264 in a fragmented MP4 without audio or metadata.
//! Blocking: call it off the async runtime.

use lensguard_core::config::cameras::Polygon;
use lensguard_core::policy::Policy;
use lensguard_video::redact_segment::{RedactedSegment, SegmentRedaction, redact_segment};
use lensguard_video::{VideoError, tracker::BoxF};
use lensguard_vision::derive::Detectors;

/// Pictures between two looks of the face detector in a redacted segment
/// (the cover's hold-over and look-ahead span more than this).
pub const DETECT_EVERY: usize = 2;

/// `original` (a sealed segment's bytes) redacted under `policy`.
pub fn redact(
    original: &[u8],
    masks: Vec<Polygon>,
    policy: &Policy,
    detectors: &Detectors,
    max_pixels: u64,
) -> Result<RedactedSegment, VideoError> {
    let Ok(faces) = detectors.faces.as_ref() else {
        return Err(VideoError::Detector("it is not loaded".to_owned()));
    };
    let how = SegmentRedaction {
        detect_every: DETECT_EVERY,
        cover: lensguard_video::cover::CoverSettings::default(),
        masks,
        style: policy.redaction.faces,
        max_pixels,
    };
    let (scale, threshold) = (policy.detection.scale, policy.faces.threshold);
    redact_segment(original, &how, |frame| {
        faces
            .detect(frame, scale, threshold)
            .map(boxes)
            .map_err(|e| e.to_string())
    })
}

/// Detections as the boxes video redaction follows.
pub fn boxes(found: Vec<lensguard_vision::models::Detection>) -> Vec<BoxF> {
    found
        .into_iter()
        .map(|d| BoxF {
            x: d.x,
            y: d.y,
            width: d.width,
            height: d.height,
        })
        .collect()
}
