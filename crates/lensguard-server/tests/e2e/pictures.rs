//! What the camera tests read back from redacted footage: the decoded
//! pictures of a fragmented MP4, and the brightest value in the corner that
//! their cameras' privacy mask covers.

use lensguard_vision::RgbFrame;

/// Every picture of the fragmented MP4 `file`, decoded (each must decode).
pub fn decoded(file: &[u8]) -> Vec<RgbFrame> {
    let back = lensguard_video::fmp4_read::read(file).expect("a fragmented MP4");
    let mut decoder =
        lensguard_video::H264Decoder::new(&back.track.record, 1 << 22).expect("a decoder");
    back.samples
        .iter()
        .map(|s| {
            decoder
                .decode(&s.data, true)
                .expect("decodes")
                .and_then(|f| f.rgb)
                .expect("a picture")
        })
        .collect()
}

/// The brightest red value in pixels 10..150 x 10..80: inside the tests'
/// mask over the top-left quarter of a 640x360 picture (black when the
/// mask is burned in; the grey scene is about 120).
pub fn masked_corner(frame: &RgbFrame) -> u8 {
    let w = frame.width() as usize;
    (10..80)
        .flat_map(|y| (10..150).map(move |x| (y, x)))
        .map(|(y, x)| frame.pixels()[(y * w + x) * 3])
        .max()
        .unwrap_or(0)
}
