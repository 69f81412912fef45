//! JPEG decoding at a reduced DCT scale, straight to greyscale, with libjpeg-turbo
//! (as vendored by `mozjpeg-sys`, built with only the C compiler).
//!
//! The header is read first and the declared size checked against the limits;
//! only then does decompression start. The scale is the largest of 1/8, 1/4, 1/2
//! and 1/1 that keeps the long side at or above 90% of the analysis size, so a
//! 12-megapixel photo decodes at 1/8 (about 500 x 380) and only its DC
//! coefficients go through the inverse DCT. Greyscale output skips the chroma
//! IDCT and colour conversion entirely.

use super::{Stored, check_dimensions, parse_exif};
use crate::Error;
use crate::RgbFrame;
use crate::exif::ExifInfo;
use crate::frame::LumaFrame;
use crate::libjpeg::errors::strict_error_mgr;
use crate::libjpeg::guarded;
use lensguard_core::Limits;
use mozjpeg::{ColorSpace, Decompress, Marker};

/// APP1 is where EXIF lives; no other marker is kept.
const EXIF_MARKERS: &[Marker] = &[Marker::APP(1)];
const EXIF_HEADER: &[u8] = b"Exif\0\0";

pub(super) fn decode(bytes: &[u8], limits: &Limits) -> Result<Stored, Error> {
    guarded(|| decode_inner(bytes, limits))
}

/// The image in colour at 1/`denominator(width, height, exif)` of its size
/// (1, 2, 4 or 8), as stored (not yet upright), with that denominator.
pub(super) fn decode_rgb(
    bytes: &[u8],
    limits: &Limits,
    denominator: impl FnOnce(u32, u32, &ExifInfo) -> u8,
) -> Result<(RgbFrame, ExifInfo, u8), Error> {
    guarded(|| decode_rgb_inner(bytes, limits, denominator))
}

/// The stored width and height and the EXIF block, from the header alone.
pub(super) fn header(bytes: &[u8], limits: &Limits) -> Result<(u32, u32, ExifInfo), Error> {
    guarded(|| {
        let (_, width, height, exif) = open(bytes, limits)?;
        Ok((width, height, exif))
    })
}

/// The DCT scale denominator for a long side of `long` pixels.
pub(crate) fn scale_for(long: u32, target: u32) -> u8 {
    let floor = u64::from(target) * 9 / 10;
    for denom in [8u32, 4, 2] {
        if u64::from(long.div_ceil(denom)) >= floor {
            return denom as u8;
        }
    }
    1
}

fn io(e: std::io::Error) -> Error {
    Error::Corrupt(e.to_string())
}

/// A JPEG whose header passed: the decompressor, declared size and EXIF.
type Opened<'a> = (Decompress<&'a [u8]>, u32, u32, ExifInfo);

/// Reads the header, checks the declared size and the EXIF block, and refuses
/// CMYK; nothing is decompressed yet.
fn open<'a>(bytes: &'a [u8], limits: &Limits) -> Result<Opened<'a>, Error> {
    let d = Decompress::builder()
        .with_err(strict_error_mgr())
        .with_markers(EXIF_MARKERS)
        .from_mem(bytes)
        .map_err(io)?;
    let (width, height) = (d.width() as u32, d.height() as u32);
    check_dimensions(
        width,
        height,
        lensguard_core::report::ImageFormat::Jpeg,
        limits,
    )?;
    let exif_raw = d
        .markers()
        .find(|m| m.data.starts_with(EXIF_HEADER))
        .map(|m| m.data[EXIF_HEADER.len()..].to_vec());
    let exif = parse_exif(exif_raw, limits)?;
    if matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK) {
        return Err(Error::UnsupportedFormat(
            "CMYK JPEGs are not supported".to_owned(),
        ));
    }
    Ok((d, width, height, exif))
}

fn decode_rgb_inner(
    bytes: &[u8],
    limits: &Limits,
    denominator: impl FnOnce(u32, u32, &ExifInfo) -> u8,
) -> Result<(RgbFrame, ExifInfo, u8), Error> {
    let (mut d, width, height, exif) = open(bytes, limits)?;
    let denom = match denominator(width, height, &exif) {
        n @ (2 | 4 | 8) => n,
        _ => 1,
    };
    d.scale(8 / denom);
    let mut started = d.rgb().map_err(io)?;
    let (w, h) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(io)?;
    started.finish().map_err(io)?;
    let frame = RgbFrame::new(w, h, pixels)
        .ok_or_else(|| Error::Truncated("fewer scanlines than declared".to_owned()))?;
    Ok((frame, exif, denom))
}

fn decode_inner(bytes: &[u8], limits: &Limits) -> Result<Stored, Error> {
    let (mut d, width, height, exif) = open(bytes, limits)?;
    let scale = scale_for(width.max(height), limits.analysis_long_side);
    d.scale(8 / scale);
    let mut started = d.grayscale().map_err(io)?;
    let (w, h) = (started.width() as u32, started.height() as u32);
    let pixels: Vec<u8> = started.read_scanlines().map_err(io)?;
    started.finish().map_err(io)?;
    let frame = LumaFrame::new(w, h, pixels)
        .ok_or_else(|| Error::Truncated("fewer scanlines than declared".to_owned()))?;
    Ok(Stored {
        frame,
        width,
        height,
        scale,
        exif,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_long_side_near_the_analysis_size() {
        assert_eq!(scale_for(4032, 512), 8);
        assert_eq!(scale_for(1920, 512), 4);
        assert_eq!(scale_for(1280, 512), 2);
        assert_eq!(scale_for(640, 512), 1);
        assert_eq!(scale_for(300, 512), 1);
        assert_eq!(scale_for(3000, 512), 4);
    }
}
