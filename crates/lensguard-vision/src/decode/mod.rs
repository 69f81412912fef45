//! Untrusted bytes to an upright analysis image, with every limit checked first.
//!
//! Order of operations, for every format:
//! 1. size of the input against `max_file_bytes`, and format sniffing by magic bytes
//!    (the file name is never trusted);
//! 2. header only: declared width and height against `max_width`, `max_height` and
//!    `max_pixels`, before any pixel buffer is allocated;
//! 3. EXIF block size against `max_exif_bytes`, then EXIF parsing (a damaged EXIF
//!    block is ignored, not fatal: many cameras write slightly broken EXIF);
//! 4. decoding: JPEG at a DCT scale of 1/1 to 1/8 straight to greyscale, chosen so
//!    the long side lands near `analysis_long_side`; PNG and WebP in full, then
//!    converted to greyscale;
//! 5. resampling down to `analysis_long_side` when the decoded image is more than
//!    10% larger, then the EXIF orientation.
//!
//! [`decode_photo`] is the same order with one decode in colour for both the
//! checks and the detectors; its analysis image is the one step 4 would give,
//! made from the colour pixels (to rounding, for a JPEG).

mod jpeg;
mod raster;

use crate::Error;
use crate::RgbFrame;
use crate::exif::ExifInfo;
use crate::frame::LumaFrame;
use lensguard_core::Limits;
use lensguard_core::limits::DimensionVerdict;
use lensguard_core::report::ImageFormat;

/// The result of decoding: the upright analysis image plus what the header said.
#[derive(Debug)]
pub struct Decoded {
    /// The upright greyscale analysis image.
    pub frame: LumaFrame,
    /// Container format.
    pub format: ImageFormat,
    /// Full-size width after orientation.
    pub width: u32,
    /// Full-size height after orientation.
    pub height: u32,
    /// JPEG DCT scale denominator used (1 for PNG and WebP).
    pub decode_scale: u8,
    /// EXIF orientation applied (1 when absent).
    pub orientation: u16,
    /// EXIF fields lensguard uses.
    pub exif: ExifInfo,
}

/// The format the magic bytes announce, if supported.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

/// A photo decoded in colour, upright: what detection and redaction work on.
/// The EXIF block is read for orientation only and not carried on.
#[derive(Debug)]
pub struct DecodedRgb {
    /// Upright pixels, at 1/`scale` of the full size.
    pub frame: RgbFrame,
    /// Container format.
    pub format: ImageFormat,
    /// JPEG DCT scale denominator the frame was decoded at (1, 2, 4 or 8;
    /// always 1 for PNG and WebP).
    pub scale: u8,
    /// Full-size width after orientation.
    pub width: u32,
    /// Full-size height after orientation.
    pub height: u32,
    /// EXIF orientation applied (1 when absent or out of range).
    pub orientation: u16,
}

/// What a JPEG's header says, for choosing the scale to decode it at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegHeader {
    /// Width as stored (before orientation).
    pub width: u32,
    /// Height as stored.
    pub height: u32,
    /// EXIF orientation (1 when absent or out of range).
    pub orientation: u16,
}

/// Decodes `bytes` whole, in colour, upright, within `limits` (the same checks,
/// in the same order, as [`decode`]; the pixel buffer is 3 bytes a pixel of a
/// size the limits allow).
pub fn decode_rgb(bytes: &[u8], limits: &Limits) -> Result<DecodedRgb, Error> {
    decode_rgb_scaled(bytes, limits, |_| 1)
}

/// [`decode_rgb`] at a reduced size: a JPEG is decoded at the DCT scale
/// 1/`denominator(header)` (2, 4 or 8; anything else means 1), so only the
/// low-frequency coefficients go through the inverse DCT; PNG and WebP are
/// decoded whole.
pub fn decode_rgb_scaled(
    bytes: &[u8],
    limits: &Limits,
    denominator: impl FnOnce(&JpegHeader) -> u8,
) -> Result<DecodedRgb, Error> {
    let format = admit(bytes, limits)?;
    let (frame, exif, scale, stored) = match format {
        ImageFormat::Jpeg => {
            let mut size = (0, 0);
            let (frame, exif, scale) = jpeg::decode_rgb(bytes, limits, |width, height, exif| {
                size = (width, height);
                denominator(&JpegHeader {
                    width,
                    height,
                    orientation: valid_orientation(exif.orientation),
                })
            })?;
            (frame, exif, scale, size)
        }
        ImageFormat::Png | ImageFormat::Webp => {
            let (frame, exif) = raster::decode_rgb(bytes, format, limits)?;
            let size = (frame.width(), frame.height());
            (frame, exif, 1, size)
        }
    };
    let orientation = valid_orientation(exif.orientation);
    let (width, height) = upright(stored, orientation);
    Ok(DecodedRgb {
        frame: frame.oriented(orientation),
        format,
        scale,
        width,
        height,
        orientation,
    })
}

/// What the header of the JPEG in `bytes` says (size as stored, EXIF
/// orientation), within `limits`; nothing is decompressed.
pub fn jpeg_header(bytes: &[u8], limits: &Limits) -> Result<JpegHeader, Error> {
    if admit(bytes, limits)? != ImageFormat::Jpeg {
        return Err(Error::UnsupportedFormat("not a JPEG".to_owned()));
    }
    let (width, height, exif) = jpeg::header(bytes, limits)?;
    Ok(JpegHeader {
        width,
        height,
        orientation: valid_orientation(exif.orientation),
    })
}

/// One decode serving both the checks and the detectors: the colour frame
/// the detectors and redaction work on, and the analysis image made from the
/// same pixels (so a submission's entropy data is decoded into pixels once).
#[derive(Debug)]
pub struct DecodedPhoto {
    /// The analysis image, as [`decode`] describes it.
    pub analysis: Decoded,
    /// The colour frame.
    pub colour: DecodedRgb,
}

/// Decodes `bytes` once, in colour, for both the checks and the detectors.
///
/// A JPEG is decoded at the DCT scale 1/`denominator(header)` (as
/// [`decode_rgb_scaled`]), or finer when the analysis image needs more pixels
/// than that; its analysis image is the BT.601 luma of those pixels (what a
/// greyscale decode gives, to rounding), averaged over k x k cells so it is the
/// size [`decode`] makes it (1/[`Decoded::decode_scale`] of the photo, then
/// resampled to the analysis size). A PNG or WebP is decoded whole, its
/// analysis image converted from the same decode exactly as [`decode`] does.
pub fn decode_photo(
    bytes: &[u8],
    limits: &Limits,
    denominator: impl FnOnce(&JpegHeader) -> u8,
) -> Result<DecodedPhoto, Error> {
    let format = admit(bytes, limits)?;
    let (colour, luma, exif, scales, stored) = match format {
        ImageFormat::Jpeg => {
            let mut header = (0, 0, 1);
            let (frame, exif, scale) = jpeg::decode_rgb(bytes, limits, |width, height, exif| {
                let analysis = jpeg::scale_for(width.max(height), limits.analysis_long_side);
                header = (width, height, analysis);
                let wanted = denominator(&JpegHeader {
                    width,
                    height,
                    orientation: valid_orientation(exif.orientation),
                });
                match wanted {
                    2 | 4 | 8 => wanted.min(analysis),
                    _ => 1,
                }
            })?;
            let (width, height, analysis) = header;
            // Both are powers of two, and `scale <= analysis`.
            let cell = u32::from(analysis / scale.max(1)).max(1);
            let luma = crate::resize::binned_luma(&frame, cell)
                .ok_or_else(|| Error::Corrupt("decoded size differs from the header".to_owned()))?;
            (frame, luma, exif, (scale, analysis), (width, height))
        }
        ImageFormat::Png | ImageFormat::Webp => {
            let (frame, luma, exif) = raster::decode_both(bytes, format, limits)?;
            let size = (frame.width(), frame.height());
            (frame, luma, exif, (1, 1), size)
        }
    };
    let orientation = valid_orientation(exif.orientation);
    let (width, height) = upright(stored, orientation);
    let analysis = Decoded {
        frame: crate::resize::to_long_side(luma, limits.analysis_long_side).oriented(orientation),
        format,
        width,
        height,
        decode_scale: scales.1,
        orientation,
        exif,
    };
    Ok(DecodedPhoto {
        analysis,
        colour: DecodedRgb {
            frame: colour.oriented(orientation),
            format,
            scale: scales.0,
            width,
            height,
            orientation,
        },
    })
}

/// An EXIF orientation, 1 when absent or outside 1 to 8.
fn valid_orientation(o: Option<u16>) -> u16 {
    o.filter(|o| (1..=8).contains(o)).unwrap_or(1)
}

/// A stored size after `orientation` (5 to 8 swap the sides).
fn upright((width, height): (u32, u32), orientation: u16) -> (u32, u32) {
    if (5..=8).contains(&orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// Steps 1 of the module docs: not empty, not too large, a supported format.
fn admit(bytes: &[u8], limits: &Limits) -> Result<ImageFormat, Error> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(Error::FileTooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    sniff(bytes).ok_or_else(|| Error::UnsupportedFormat("not a JPEG, PNG or WebP image".to_owned()))
}

/// Decodes `bytes` into an upright analysis image within `limits`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, Error> {
    let format = admit(bytes, limits)?;
    let stored = match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, limits)?,
        ImageFormat::Png | ImageFormat::Webp => raster::decode(bytes, format, limits)?,
    };
    let orientation = valid_orientation(stored.exif.orientation);
    let frame =
        crate::resize::to_long_side(stored.frame, limits.analysis_long_side).oriented(orientation);
    let (width, height) = upright((stored.width, stored.height), orientation);
    Ok(Decoded {
        frame,
        format,
        width,
        height,
        decode_scale: stored.scale,
        orientation,
        exif: stored.exif,
    })
}

/// What a format decoder hands back: pixels as stored (not yet upright).
struct Stored {
    frame: LumaFrame,
    width: u32,
    height: u32,
    scale: u8,
    exif: ExifInfo,
}

/// Bytes per pixel that decoding and redacting a photo of `format` needs at
/// its peak, for [`Limits::max_decode_bytes`]: a JPEG decodes straight to RGB
/// (3) and is redacted in place, with the analysis frame and the encoder's
/// buffers beside it (3.4 measured); a PNG or WebP decodes to as much as
/// RGBA16 (8; an RGB8 one measures 3.4 like a JPEG). `tests/bounded_memory.rs`
/// holds the service's path (analysis, full decode, detection, redaction) to
/// these, plus the detectors' fixed working memory.
pub fn peak_bytes_per_pixel(format: ImageFormat) -> u64 {
    match format {
        ImageFormat::Jpeg => 4,
        ImageFormat::Png | ImageFormat::Webp => 8,
    }
}

/// Refuses a declared size outside the limits, or one whose decode of
/// `format` would need more than the memory budget.
fn check_dimensions(
    width: u32,
    height: u32,
    format: ImageFormat,
    limits: &Limits,
) -> Result<(), Error> {
    match limits.check_dimensions(width, height) {
        DimensionVerdict::Ok => {
            let needed = u64::from(width)
                .saturating_mul(u64::from(height))
                .saturating_mul(peak_bytes_per_pixel(format));
            if needed > limits.max_decode_bytes {
                return Err(Error::DecodeBudgetExceeded {
                    width,
                    height,
                    needed,
                    budget: limits.max_decode_bytes,
                });
            }
            Ok(())
        }
        DimensionVerdict::Empty | DimensionVerdict::TooLarge => Err(Error::DimensionsTooLarge {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        }),
        DimensionVerdict::TooManyPixels => Err(Error::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels,
        }),
    }
}

/// Parses a raw EXIF (TIFF) block after checking its size.
fn parse_exif(raw: Option<Vec<u8>>, limits: &Limits) -> Result<ExifInfo, Error> {
    let Some(raw) = raw else {
        return Ok(ExifInfo::default());
    };
    let size = raw.len() as u64;
    if size > limits.max_exif_bytes {
        return Err(Error::ExifTooLarge {
            size,
            limit: limits.max_exif_bytes,
        });
    }
    Ok(ExifInfo::from_tiff(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_uses_magic_bytes_only() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"RIFF"), None);
    }

    #[test]
    fn empty_and_oversized_inputs_are_refused_before_decoding() {
        let limits = Limits {
            max_file_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(decode(&[], &limits).err(), Some(Error::Empty));
        assert!(matches!(
            decode(&[0xFF, 0xD8, 0xFF, 0, 0], &limits),
            Err(Error::FileTooLarge { size: 5, limit: 4 })
        ));
        assert!(matches!(
            decode(b"text", &Limits::default()),
            Err(Error::UnsupportedFormat(_))
        ));
    }
}
