//! Frames back to H.264, for video that leaves redacted: OpenH264's encoder
//! (built from its vendored source, as the decoder is), handing out AVC
//! access units and the `AVCDecoderConfigurationRecord` that
//! [`crate::fmp4`] embeds.
//!
//! Invariants: only [`lensguard_vision::redact::Redacted`] pictures are
//! encoded (the only public way in), so what this encoder writes is
//! redacted video; parameter sets
//! are kept out of the access units and in the record; sizes must be even
//! (4:2:0) and within the limit given, or the frame is refused.

use crate::VideoError;
use lensguard_vision::RgbFrame;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, FrameType, RateControlMode};
use openh264::formats::{RgbSliceU8, YUVBuffer};

/// One encoded picture.
#[derive(Debug)]
pub struct EncodedPicture {
    /// Its NAL units, each prefixed by a four-byte length (no SPS or PPS).
    pub data: Vec<u8>,
    /// Whether it is a key picture (IDR).
    pub key: bool,
}

/// An H.264 encoder for pictures of one size.
pub struct H264Encoder {
    inner: Encoder,
    size: (u32, u32),
    record: Option<Vec<u8>>,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The NAL units of an Annex B stream (start codes of 3 or 4 bytes).
pub(crate) fn annex_b_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |n| n - 3);
        while end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > s {
            units.push(&stream[s..end]);
        }
    }
    units
}

/// The `AVCDecoderConfigurationRecord` of one SPS and one PPS.
pub(crate) fn decoder_record(sps: &[u8], pps: &[u8]) -> Option<Vec<u8>> {
    let (sps_len, pps_len) = (
        u16::try_from(sps.len()).ok()?,
        u16::try_from(pps.len()).ok()?,
    );
    let profile = sps.get(1..4)?;
    let mut record = vec![1, profile[0], profile[1], profile[2], 0xff, 0xe1];
    record.extend_from_slice(&sps_len.to_be_bytes());
    record.extend_from_slice(sps);
    record.push(1);
    record.extend_from_slice(&pps_len.to_be_bytes());
    record.extend_from_slice(pps);
    Some(record)
}

impl H264Encoder {
    /// An encoder for `width` x `height` pictures (even, at most
    /// `max_pixels`) at `fps` a second and about `bits_per_second`.
    pub fn new(
        width: u32,
        height: u32,
        fps: f32,
        bits_per_second: u32,
        max_pixels: u64,
    ) -> Result<H264Encoder, VideoError> {
        if width == 0 || height == 0 || !width.is_multiple_of(2) || !height.is_multiple_of(2) {
            return Err(VideoError::Encoder(format!(
                "{width}x{height}: sizes must be even and not zero"
            )));
        }
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(VideoError::TooLarge {
                width,
                height,
                max_pixels,
            });
        }
        // Buffer-based rate control: the bitrate is a target, and no
        // picture is ever skipped (every frame of a redacted video is kept).
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bits_per_second))
            .max_frame_rate(FrameRate::from_hz(fps))
            .rate_control_mode(RateControlMode::Bufferbased)
            .skip_frames(false);
        let inner = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| VideoError::Encoder(e.to_string()))?;
        Ok(H264Encoder {
            inner,
            size: (width, height),
            record: None,
        })
    }

    /// The stream's `AVCDecoderConfigurationRecord`, once the first picture
    /// is encoded.
    pub fn record(&self) -> Option<&[u8]> {
        self.record.as_deref()
    }

    /// Asks for the next picture to be a key picture.
    pub fn force_key(&mut self) {
        self.inner.force_intra_frame();
    }

    /// Encodes a redacted picture (of the encoder's size); `None` when the
    /// encoder produced nothing for it. Only redacted pictures can be
    /// encoded from outside this crate:
    ///
    /// ```compile_fail
    /// use lensguard_video::encoder::H264Encoder;
    /// let mut e = H264Encoder::new(2, 2, 10.0, 1000, 4).unwrap();
    /// let original = lensguard_vision::RgbFrame::new(2, 2, vec![0; 12]).unwrap();
    /// let _ = e.encode(&original);
    /// ```
    pub fn encode(
        &mut self,
        picture: &lensguard_vision::redact::Redacted,
    ) -> Result<Option<EncodedPicture>, VideoError> {
        self.encode_frame(picture.frame())
    }

    /// Encodes any frame: for this crate's tests (a camera's stream).
    pub(crate) fn encode_frame(
        &mut self,
        frame: &RgbFrame,
    ) -> Result<Option<EncodedPicture>, VideoError> {
        if (frame.width(), frame.height()) != self.size {
            return Err(VideoError::Encoder(format!(
                "a {}x{} frame for a {}x{} stream",
                frame.width(),
                frame.height(),
                self.size.0,
                self.size.1
            )));
        }
        let (w, h) = (self.size.0 as usize, self.size.1 as usize);
        let yuv = YUVBuffer::from_rgb_source(RgbSliceU8::new(frame.pixels(), (w, h)));
        let encoded = self
            .inner
            .encode(&yuv)
            .map_err(|e| VideoError::Encoder(e.to_string()))?;
        let key = matches!(encoded.frame_type(), FrameType::IDR);
        let stream = encoded.to_vec();
        let (mut sps, mut pps, mut data) = (None, None, Vec::with_capacity(stream.len()));
        for unit in annex_b_units(&stream) {
            match unit[0] & 0x1f {
                7 => sps = Some(unit),
                8 => pps = Some(unit),
                _ => {
                    let len = u32::try_from(unit.len())
                        .map_err(|_| VideoError::Encoder("a NAL unit over 4 GiB".to_owned()))?;
                    data.extend_from_slice(&len.to_be_bytes());
                    data.extend_from_slice(unit);
                }
            }
        }
        if let (Some(sps), Some(pps)) = (sps, pps)
            && self.record.is_none()
        {
            self.record = decoder_record(sps, pps);
        }
        Ok((!data.is_empty()).then_some(EncodedPicture { data, key }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmp4::{Codec, Sample, Track, segment};
    use crate::test_stream::picture;

    #[test]
    fn encoded_pictures_make_a_segment_ffprobe_decodes_whole() {
        let mut encoder = H264Encoder::new(64, 48, 10.0, 200_000, 1 << 20).expect("encoder");
        let mut samples = Vec::new();
        for f in 0..20 {
            if f == 10 {
                encoder.force_key();
            }
            let p = encoder
                .encode_frame(&picture(f))
                .expect("encodes")
                .expect("a picture");
            assert_eq!(p.key, f == 0 || f == 10, "picture {f}");
            samples.push(Sample {
                data: p.data,
                duration: 9000,
                key: p.key,
            });
        }
        let track = Track {
            codec: Codec::H264,
            record: encoder.record().expect("a record").to_vec(),
            width: 64,
            height: 48,
            timescale: 90_000,
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("redacted.mp4");
        std::fs::write(&path, segment(&track, 1, 0, &samples)).expect("write");
        let Some(probe) = lensguard_testkit::ffprobe::probe(&path) else {
            return;
        };
        let probe = probe.expect("decodes");
        assert_eq!(
            (
                probe.codec.as_str(),
                probe.width,
                probe.height,
                probe.frames
            ),
            ("h264", 64, 48, 20)
        );
    }

    #[test]
    fn odd_oversized_and_mismatched_pictures_are_refused() {
        assert!(matches!(
            H264Encoder::new(63, 48, 10.0, 1000, 1 << 20),
            Err(VideoError::Encoder(_))
        ));
        assert!(matches!(
            H264Encoder::new(64, 48, 10.0, 1000, 100),
            Err(VideoError::TooLarge { .. })
        ));
        let mut e = H264Encoder::new(32, 32, 10.0, 1000, 1 << 20).expect("encoder");
        assert!(matches!(
            e.encode_frame(&picture(0)),
            Err(VideoError::Encoder(_))
        ));
    }
}
