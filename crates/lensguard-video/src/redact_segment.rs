//! One stored segment to a redacted one: read back ([`crate::fmp4_read`]),
//! decode every picture, ask the caller's face detector on every n-th,
//! redact ([`crate::redactor`]), encode ([`crate::encoder`]) and write a
//! standalone fragmented MP4 again.
//!
//! Invariants: the output holds only [`lensguard_vision::redact::Redacted`]
//! pictures and no audio (a redacted export carries no sound: voices
//! identify people too); timing follows the original (a picture the
//! decoder cannot produce lends its duration to the one before, so the
//! clip's length is kept); H.265 footage is refused with what is missing
//! (the decoder here is H.264's).

use crate::VideoError;
use crate::cover::CoverSettings;
use crate::decoder::H264Decoder;
use crate::encoder::H264Encoder;
use crate::fmp4::{self, Codec, Sample, Track};
use crate::fmp4_read;
use crate::redactor::FrameRedactor;
use crate::tracker::BoxF;
use lensguard_core::config::cameras::Polygon;
use lensguard_core::policy::RedactStyle;
use lensguard_vision::RgbFrame;
use lensguard_vision::redact::Redacted;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How a segment is redacted.
#[derive(Debug, Clone)]
pub struct SegmentRedaction {
    /// Look for faces on every `detect_every`-th picture (1: all).
    pub detect_every: usize,
    /// How faces are followed between looks.
    pub cover: CoverSettings,
    /// The camera's privacy masks.
    pub masks: Vec<Polygon>,
    /// How faces are hidden.
    pub style: RedactStyle,
    /// The largest picture decoded.
    pub max_pixels: u64,
}

/// What a redaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactedSegment {
    /// The redacted fragmented MP4.
    pub file: Vec<u8>,
    /// Pictures written.
    pub pictures: usize,
    /// Pictures the detector looked at.
    pub looked: usize,
    /// Where the time went.
    pub stages: Stages,
}

/// Time per stage of one redaction (wall clock on the calling thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    /// Reading the segment and decoding its pictures.
    pub decode: Duration,
    /// The face detector.
    pub detect: Duration,
    /// Following faces between looks (the cover).
    pub track: Duration,
    /// Burning in masks and hiding faces.
    pub redact: Duration,
    /// Encoding H.264 and writing the fragmented MP4.
    pub encode: Duration,
}

/// Redacts `file` (a segment `fmp4` wrote); `detect` finds faces in a
/// picture (boxes in its pixels).
pub fn redact_segment(
    file: &[u8],
    how: &SegmentRedaction,
    mut detect: impl FnMut(&RgbFrame) -> Result<Vec<BoxF>, String>,
) -> Result<RedactedSegment, VideoError> {
    let started = Instant::now();
    let segment = fmp4_read::read(file)?;
    if segment.track.codec != Codec::H264 {
        return Err(VideoError::Decoder(
            "H.265 footage cannot be redacted: only H.264 is decoded here".to_owned(),
        ));
    }
    let mut decoder = H264Decoder::new(&segment.track.record, how.max_pixels)?;
    let (w, h) = (
        u32::from(segment.track.width),
        u32::from(segment.track.height),
    );
    let timescale = segment.track.timescale.max(1);
    let fps = {
        let total: u64 = segment.samples.iter().map(|s| u64::from(s.duration)).sum();
        let n = segment.samples.len().max(1) as f64;
        (n * f64::from(timescale) / total.max(1) as f64).clamp(1.0, 120.0) as f32
    };
    let bits = (f64::from(w) * f64::from(h) * f64::from(fps) * 0.15).clamp(100_000.0, 20e6) as u32;
    let mut encoder = H264Encoder::new(w, h, fps, bits, how.max_pixels)?;
    let mut redactor = FrameRedactor::new(how.cover, how.masks.clone(), how.style);
    let every = how.detect_every.max(1);
    let (mut durations, mut looked, mut decoded) = (VecDeque::new(), 0usize, 0usize);
    let mut stages = Stages {
        decode: started.elapsed(),
        ..Stages::default()
    };
    let mut encoding = Duration::ZERO;
    let mut out: Vec<Sample> = Vec::new();
    let mut encode = |pictures: Vec<Redacted>,
                      durations: &mut VecDeque<u32>,
                      out: &mut Vec<Sample>|
     -> Result<(), VideoError> {
        let started = Instant::now();
        for picture in pictures {
            let duration = durations.pop_front().unwrap_or(3000);
            if out.is_empty() {
                encoder.force_key();
            }
            if let Some(p) = encoder.encode(&picture)? {
                out.push(Sample {
                    data: p.data,
                    duration,
                    key: p.key,
                });
            } else if let Some(last) = out.last_mut() {
                last.duration += duration;
            }
        }
        encoding += started.elapsed();
        Ok(())
    };
    for sample in &segment.samples {
        let started = Instant::now();
        let frame = match decoder.decode(&sample.data, true) {
            Ok(Some(f)) => f.rgb,
            Ok(None) | Err(_) => None,
        };
        stages.decode += started.elapsed();
        let Some(frame) = frame else {
            // Its time goes to the picture before.
            if let Some(last) = durations.back_mut() {
                *last += sample.duration;
            }
            continue;
        };
        durations.push_back(sample.duration);
        let faces = if decoded % every == 0 {
            looked += 1;
            let started = Instant::now();
            // A detector that fails hides nothing it could not see: the
            // export is refused rather than written without faces hidden.
            let found = detect(&frame).map_err(VideoError::Detector)?;
            stages.detect += started.elapsed();
            Some(found)
        } else {
            None
        };
        decoded += 1;
        let ready = redactor.push(frame, faces.as_deref());
        encode(ready, &mut durations, &mut out)?;
    }
    let rest = redactor.finish();
    encode(rest, &mut durations, &mut out)?;
    (stages.track, stages.redact) = redactor.times();
    let started = Instant::now();
    let record = encoder
        .record()
        .ok_or_else(|| VideoError::Encoder("no picture was encoded".to_owned()))?
        .to_vec();
    let track = Track {
        codec: Codec::H264,
        record,
        width: segment.track.width,
        height: segment.track.height,
        timescale,
    };
    let file = fmp4::segment(&track, 1, 0, &out);
    stages.encode = encoding + started.elapsed();
    Ok(RedactedSegment {
        file,
        pictures: out.len(),
        looked,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 160;
    const H: u32 = 96;

    /// Frame `t` of a generated clip and its face's true box: grey, with a
    /// 32x32 face of fine texture (2-pixel squares of 30 and 220: detail
    /// far smaller than a redaction block) moving right at 6 px a frame.
    fn clip(t: u64) -> (RgbFrame, BoxF) {
        let face = BoxF {
            x: 10.0 + 6.0 * t as f32,
            y: 32.0,
            width: 32.0,
            height: 32.0,
        };
        let mut pixels = vec![128u8; (W * H * 3) as usize];
        for y in 32..64u32 {
            for x in 0..32u32 {
                let fx = face.x as u32 + x;
                let v = if (x / 2 + y / 2) % 2 == 0 { 30 } else { 220 };
                let at = ((y * W + fx) * 3) as usize;
                pixels[at..at + 3].copy_from_slice(&[v, v, v]);
            }
        }
        (RgbFrame::new(W, H, pixels).expect("frame"), face)
    }

    /// The clip as a camera's segment (an H.264 encode of the originals).
    fn original_segment(frames: u64) -> Vec<u8> {
        let pictures: Vec<RgbFrame> = (0..frames).map(|t| clip(t).0).collect();
        crate::test_stream::camera_segment(&pictures)
    }

    /// The spread of luma inside `b` (max - min).
    fn spread(frame: &RgbFrame, b: &BoxF) -> u8 {
        let p = frame.pixels();
        let (mut lo, mut hi) = (255u8, 0u8);
        for y in (b.y as u32 + 2)..(b.y + b.height) as u32 - 2 {
            for x in (b.x as u32 + 2)..(b.x + b.width) as u32 - 2 {
                let v = p[((y * W + x) * 3) as usize];
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        hi - lo
    }

    #[test]
    fn every_picture_of_a_redacted_segment_has_lost_the_face_and_it_plays_whole() {
        let frames = 20u64;
        let original = original_segment(frames);
        let mut looked_at = 0u64;
        let how = SegmentRedaction {
            detect_every: 3,
            cover: CoverSettings::default(),
            masks: Vec::new(),
            style: RedactStyle::Pixelate,
            max_pixels: 1 << 20,
        };
        // The "detector" reports the generator's truth for the pictures it
        // is shown, counted in order.
        let redacted = redact_segment(&original, &how, |_| {
            let t = looked_at * 3;
            looked_at += 1;
            Ok(vec![clip(t).1])
        })
        .expect("redacts");
        assert_eq!(redacted.pictures, frames as usize);
        assert_eq!(redacted.looked, 7);
        // Read back and decode every redacted picture: the face's texture
        // (a spread of about 190 in the original) is gone in every one.
        let back = fmp4_read::read(&redacted.file).expect("reads");
        assert_eq!(back.samples.len(), frames as usize);
        let mut decoder = H264Decoder::new(&back.track.record, 1 << 20).expect("decoder");
        for (t, s) in back.samples.iter().enumerate() {
            let frame = decoder
                .decode(&s.data, true)
                .expect("decodes")
                .and_then(|f| f.rgb)
                .expect("a picture");
            let (original, face) = clip(t as u64);
            assert!(spread(&original, &face) > 150);
            let left = spread(&frame, &face);
            assert!(
                left < 60,
                "picture {t}: the face's texture shows (spread {left})"
            );
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("redacted.mp4");
        std::fs::write(&path, &redacted.file).expect("write");
        if let Some(probe) = lensguard_testkit::ffprobe::probe(&path) {
            let probe = probe.expect("ffprobe decodes the redacted segment");
            assert_eq!((probe.width, probe.height, probe.frames), (W, H, frames));
        }
    }

    #[test]
    fn a_failing_detector_refuses_the_export_and_h265_is_refused() {
        let how = SegmentRedaction {
            detect_every: 1,
            cover: CoverSettings::default(),
            masks: Vec::new(),
            style: RedactStyle::Fill,
            max_pixels: 1 << 20,
        };
        let original = original_segment(3);
        assert!(matches!(
            redact_segment(&original, &how, |_| Err("no model".to_owned())),
            Err(VideoError::Detector(why)) if why == "no model"
        ));
        let mut read = fmp4_read::read(&original).expect("reads");
        read.track.codec = Codec::H265;
        let hevc = fmp4::segment(&read.track, 1, 0, &read.samples);
        let refused = redact_segment(&hevc, &how, |_| Ok(Vec::new()));
        assert!(
            matches!(&refused, Err(VideoError::Decoder(why)) if why.contains("H.265")),
            "{refused:?}"
        );
    }
}
