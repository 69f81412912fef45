//! A real H.264 stream for the crate's tests: OpenH264 encodes a bright
//! square moving across a dark field.

use crate::encoder::H264Encoder;
use lensguard_vision::RgbFrame;

/// A 64x48 picture with a bright square in column `f % 4` (of four).
pub(crate) fn picture(f: usize) -> RgbFrame {
    let (w, h) = (64usize, 48usize);
    let rgb: Vec<u8> = (0..w * h)
        .flat_map(|i| {
            let (x, y) = (i % w, i / w);
            let on = (x / 16 == f % 4) && (16..32).contains(&y);
            [if on { 230 } else { 20 }; 3]
        })
        .collect();
    RgbFrame::new(64, 48, rgb).expect("frame")
}

/// A real stream: `frames` pictures of [`picture`], encoded by OpenH264;
/// its record and AVC access units.
pub(crate) fn stream(frames: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut encoder = H264Encoder::new(64, 48, 10.0, 200_000, 1 << 20).expect("encoder");
    let units = (0..frames)
        .map(|f| {
            encoder
                .encode_frame(&picture(f))
                .expect("encodes")
                .expect("a picture")
                .data
        })
        .collect();
    (encoder.record().expect("a record").to_vec(), units)
}

/// `frames` (all of one size) encoded as a camera would send them, in one
/// segment of our fragmented MP4 at 10 pictures a second.
pub(crate) fn camera_segment<'a>(frames: impl IntoIterator<Item = &'a RgbFrame>) -> Vec<u8> {
    use crate::fmp4::{Codec, Sample, Track, segment};
    let frames: Vec<&RgbFrame> = frames.into_iter().collect();
    let (w, h) = (frames[0].width(), frames[0].height());
    let mut encoder = H264Encoder::new(w, h, 10.0, 800_000, 1 << 22).expect("encoder");
    let samples: Vec<Sample> = frames
        .iter()
        .map(|f| {
            let p = encoder
                .encode_frame(f)
                .expect("encodes")
                .expect("a picture");
            Sample {
                data: p.data,
                duration: 9000,
                key: p.key,
            }
        })
        .collect();
    let track = Track {
        codec: Codec::H264,
        record: encoder.record().expect("record").to_vec(),
        width: w as u16,
        height: h as u16,
        timescale: 90_000,
    };
    segment(&track, 1, 0, &samples)
}

/// The track of [`stream`]`(frames)` (64x48 at 90 kHz) and its pictures as
/// samples, the first a key picture, each `duration(i)` long.
pub(crate) fn track_and_samples(
    frames: usize,
    duration: impl Fn(usize) -> u32,
) -> (crate::fmp4::Track, Vec<crate::fmp4::Sample>) {
    use crate::fmp4::{Codec, Sample, Track};
    let (record, units) = stream(frames);
    let track = Track {
        codec: Codec::H264,
        record,
        width: 64,
        height: 48,
        timescale: 90_000,
    };
    let samples = units
        .into_iter()
        .enumerate()
        .map(|(i, data)| Sample {
            data,
            duration: duration(i),
            key: i == 0,
        })
        .collect();
    (track, samples)
}
