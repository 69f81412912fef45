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

mod jpeg;
mod jpeg_errors;
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

/// A photo decoded whole, in colour, upright: what detection and redaction
/// work on. The EXIF block is read for orientation only and not carried on.
#[derive(Debug)]
pub struct DecodedRgb {
    /// Full-size upright pixels.
    pub frame: RgbFrame,
    /// Container format.
    pub format: ImageFormat,
}

/// Decodes `bytes` whole, in colour, upright, within `limits` (the same checks,
/// in the same order, as [`decode`]; the pixel buffer is 3 bytes a pixel of a
/// size the limits allow).
pub fn decode_rgb(bytes: &[u8], limits: &Limits) -> Result<DecodedRgb, Error> {
    let format = admit(bytes, limits)?;
    let (frame, exif) = match format {
        ImageFormat::Jpeg => jpeg::decode_rgb(bytes, limits)?,
        ImageFormat::Png | ImageFormat::Webp => raster::decode_rgb(bytes, format, limits)?,
    };
    Ok(DecodedRgb {
        frame: frame.oriented(exif.orientation.unwrap_or(1)),
        format,
    })
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
    let orientation = stored.exif.orientation.unwrap_or(1);
    let frame =
        crate::resize::to_long_side(stored.frame, limits.analysis_long_side).oriented(orientation);
    let (width, height) = if (5..=8).contains(&orientation) {
        (stored.height, stored.width)
    } else {
        (stored.width, stored.height)
    };
    Ok(Decoded {
        frame,
        format,
        width,
        height,
        decode_scale: stored.scale,
        orientation: if (1..=8).contains(&orientation) {
            orientation
        } else {
            1
        },
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
