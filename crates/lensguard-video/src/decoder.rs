//! [`H264Decoder`]: OpenH264 behind a pixel limit and the AVC conversion.
//!
//! Invariants: the parameter sets are fed before any picture; a picture
//! larger than the limit is refused before it is copied out; after an error
//! the decoder waits for the next IDR (key) picture, so a damaged picture
//! never reaches analysis half-decoded.

use crate::{VideoError, avc};
use lensguard_vision::{LumaFrame, RgbFrame};
use openh264::decoder::{DecodedYUV, Decoder};
use openh264::formats::YUVSource;

/// One decoded picture: its luma always, its colour when asked for.
#[derive(Debug)]
pub struct DecodedFrame {
    /// The luma plane.
    pub luma: LumaFrame,
    /// The picture in colour, when the caller asked for it.
    pub rgb: Option<RgbFrame>,
}

/// An H.264 decoder for one stream.
pub struct H264Decoder {
    decoder: Decoder,
    length_size: usize,
    max_pixels: u64,
    annex_b: Vec<u8>,
    /// Set after an error: pictures are dropped until the next IDR.
    resync: bool,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "H264Decoder(max {} pixels)", self.max_pixels)
    }
}

/// NAL unit type 5: a slice of an IDR picture.
const IDR: u8 = 5;

impl H264Decoder {
    /// A decoder for a stream described by `record` (its
    /// `AVCDecoderConfigurationRecord`) whose pictures are at most
    /// `max_pixels`.
    pub fn new(record: &[u8], max_pixels: u64) -> Result<H264Decoder, VideoError> {
        let (parameters, length_size) = avc::parameter_sets(record)?;
        let mut decoder = Decoder::new().map_err(|e| VideoError::Decoder(e.to_string()))?;
        decoder
            .decode(&parameters)
            .map_err(|e| VideoError::Parameters(e.to_string()))?;
        Ok(H264Decoder {
            decoder,
            length_size,
            max_pixels,
            annex_b: Vec::new(),
            resync: false,
        })
    }

    /// Decodes one AVC access unit; `Ok(None)` when it completed no picture
    /// (or the decoder is waiting for a key picture after an error). With
    /// `rgb`, the picture comes in colour too.
    pub fn decode(&mut self, frame: &[u8], rgb: bool) -> Result<Option<DecodedFrame>, VideoError> {
        self.annex_b.clear();
        avc::access_unit(frame, self.length_size, &mut self.annex_b)?;
        if self.resync && !has_idr(frame, self.length_size) {
            return Ok(None);
        }
        let max_pixels = self.max_pixels;
        let picture = match self.decoder.decode(&self.annex_b) {
            Ok(p) => p,
            Err(e) => {
                self.resync = true;
                return Err(VideoError::Decoder(e.to_string()));
            }
        };
        self.resync = false;
        let Some(picture) = picture else {
            return Ok(None);
        };
        match copy_out(&picture, max_pixels, rgb) {
            Ok(f) => Ok(Some(f)),
            Err(e) => {
                self.resync = true;
                Err(e)
            }
        }
    }
}

/// Whether the access unit holds an IDR slice.
fn has_idr(frame: &[u8], length_size: usize) -> bool {
    avc::units(frame, length_size)
        .map_while(|unit| unit)
        .any(|unit| unit.first().is_some_and(|h| h & 0x1f == IDR))
}

/// The picture's luma (and colour) as owned frames, within the limit.
fn copy_out(p: &DecodedYUV<'_>, max_pixels: u64, rgb: bool) -> Result<DecodedFrame, VideoError> {
    let (w, h) = p.dimensions();
    let (width, height) = (
        u32::try_from(w).unwrap_or(u32::MAX),
        u32::try_from(h).unwrap_or(u32::MAX),
    );
    if w == 0 || h == 0 {
        return Err(VideoError::Decoder("a picture without pixels".to_owned()));
    }
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(VideoError::TooLarge {
            width,
            height,
            max_pixels,
        });
    }
    let stride = p.strides().0;
    let plane = p.y();
    let mut luma = Vec::with_capacity(w * h);
    for row in 0..h {
        let start = row * stride;
        let line = plane
            .get(start..start + w)
            .ok_or_else(|| VideoError::Decoder("luma plane shorter than its size".to_owned()))?;
        luma.extend_from_slice(line);
    }
    let short = || VideoError::Decoder("picture buffer does not match its size".to_owned());
    let luma = LumaFrame::new(width, height, luma).ok_or_else(short)?;
    let rgb = if rgb {
        let mut pixels = vec![0u8; w * h * 3];
        p.write_rgb8(&mut pixels);
        Some(RgbFrame::new(width, height, pixels).ok_or_else(short)?)
    } else {
        None
    };
    Ok(DecodedFrame { luma, rgb })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_stream::stream;
    use proptest::prelude::*;

    #[test]
    fn a_real_stream_decodes_to_its_pictures_in_luma_and_colour() {
        let (record, units) = stream(4);
        let mut d = H264Decoder::new(&record, 64 * 48).expect("decoder");
        let mut seen = 0;
        for (f, au) in units.iter().enumerate() {
            let Some(frame) = d.decode(au, true).expect("decodes") else {
                continue;
            };
            seen += 1;
            assert_eq!((frame.luma.width(), frame.luma.height()), (64, 48));
            let rgb = frame.rgb.expect("colour asked for");
            assert_eq!((rgb.width(), rgb.height()), (64, 48));
            // The square is where it was drawn: bright inside, dark outside.
            let y = frame.luma.pixels();
            let at = |x: usize, row: usize| y[row * 64 + x];
            assert!(at((f % 4) * 16 + 8, 24) > 150, "frame {f}");
            assert!(at(((f + 2) % 4) * 16 + 8, 24) < 80, "frame {f}");
            assert!(at(8, 4) < 80, "frame {f}");
        }
        assert_eq!(seen, 4);
    }

    #[test]
    fn pictures_over_the_limit_are_refused_and_the_decoder_waits_for_a_key_picture() {
        let (record, units) = stream(3);
        let mut d = H264Decoder::new(&record, 64 * 47).expect("decoder");
        assert!(matches!(
            d.decode(&units[0], false),
            Err(VideoError::TooLarge {
                width: 64,
                height: 48,
                ..
            })
        ));
        // The next picture is not a key picture: skipped, not decoded.
        assert!(matches!(d.decode(&units[1], false), Ok(None)));
    }

    #[test]
    fn a_record_without_parameter_sets_is_refused() {
        assert!(matches!(
            H264Decoder::new(&[1, 0x42, 0, 0x1e, 0xff, 0xe0, 0], 1 << 20),
            Err(VideoError::Parameters(_))
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Garbage, and real access units with bytes flipped, after valid
        /// parameter sets: errors or no picture, never a panic, never a
        /// picture over the limit.
        #[test]
        fn damaged_access_units_never_panic(
            garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..4),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let (record, units) = stream(3);
            let mut d = H264Decoder::new(&record, 64 * 48).expect("decoder");
            for body in garbage {
                let mut frame = (body.len() as u32).to_be_bytes().to_vec();
                frame.extend_from_slice(&body);
                let _ = d.decode(&frame, true);
                let _ = d.decode(&body, false);
            }
            for mut au in units {
                for (at, x) in &flips {
                    let i = 4 + at % (au.len() - 4);
                    au[i] ^= x;
                }
                if let Ok(Some(f)) = d.decode(&au, true) {
                    prop_assert!(u64::from(f.luma.width()) * u64::from(f.luma.height()) <= 64 * 48);
                }
            }
        }
    }
}
