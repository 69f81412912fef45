//! PNG and WebP decoding through the `image` crate, header first.
//!
//! The decoder is built (which reads only the header), its declared size is checked
//! against lensguard's limits, its EXIF block is taken, and only then are pixels
//! decoded. `image`'s own allocation limit is set as a second guard; its width and
//! height limits are left open so lensguard's check names the broken limit.

use super::{Stored, check_dimensions, parse_exif};
use crate::Error;
use crate::RgbFrame;
use crate::exif::ExifInfo;
use crate::frame::LumaFrame;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat as Codec, ImageReader};
use lensguard_core::Limits;
use lensguard_core::report::ImageFormat;
use std::io::Cursor;

pub(super) fn decode(bytes: &[u8], format: ImageFormat, limits: &Limits) -> Result<Stored, Error> {
    let (image, width, height, exif) = open(bytes, format, limits)?;
    let frame = LumaFrame::new(width, height, image.into_luma8().into_raw())
        .ok_or_else(|| Error::Corrupt("decoded size differs from the header".to_owned()))?;
    Ok(Stored {
        frame,
        width,
        height,
        scale: 1,
        exif,
    })
}

/// The whole image in colour (alpha dropped), as stored.
pub(super) fn decode_rgb(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(RgbFrame, ExifInfo), Error> {
    let (image, width, height, exif) = open(bytes, format, limits)?;
    let frame = RgbFrame::new(width, height, image.into_rgb8().into_raw())
        .ok_or_else(|| Error::Corrupt("decoded size differs from the header".to_owned()))?;
    Ok((frame, exif))
}

/// The whole image in colour and its greyscale, from one decode: the colour
/// conversion first (so a 16-bit decode is dropped before the greyscale is
/// made), then the greyscale from it by the same conversion as [`decode`].
pub(super) fn decode_both(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(RgbFrame, LumaFrame, ExifInfo), Error> {
    let (image, width, height, exif) = open(bytes, format, limits)?;
    let rgb = DynamicImage::ImageRgb8(image.into_rgb8());
    let luma = rgb.to_luma8();
    let rgb = rgb.into_rgb8();
    let corrupt = || Error::Corrupt("decoded size differs from the header".to_owned());
    let luma = LumaFrame::new(width, height, luma.into_raw()).ok_or_else(corrupt)?;
    let rgb = RgbFrame::new(width, height, rgb.into_raw()).ok_or_else(corrupt)?;
    Ok((rgb, luma, exif))
}

/// Header first, limits checked, then the pixels.
fn open(
    bytes: &[u8],
    format: ImageFormat,
    limits: &Limits,
) -> Result<(DynamicImage, u32, u32, ExifInfo), Error> {
    let codec = match format {
        ImageFormat::Png => Codec::Png,
        _ => Codec::WebP,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), codec);
    let mut guard = image::Limits::default();
    // RGBA16 is the widest buffer a PNG decode allocates: 8 bytes a pixel.
    guard.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(guard);
    let mut decoder = reader.into_decoder().map_err(map_error)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, format, limits)?;
    let exif = parse_exif(decoder.exif_metadata().unwrap_or(None), limits)?;
    let image = DynamicImage::from_decoder(decoder).map_err(map_error)?;
    Ok((image, width, height, exif))
}

fn map_error(e: ImageError) -> Error {
    match e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::Truncated(io.to_string())
        }
        ImageError::Limits(l) => Error::Corrupt(format!("over the decoder's limits: {l}")),
        ImageError::Unsupported(u) => Error::UnsupportedFormat(u.to_string()),
        other => {
            let text = other.to_string();
            if text.to_lowercase().contains("eof") || text.contains("end of") {
                Error::Truncated(text)
            } else {
                Error::Corrupt(text)
            }
        }
    }
}
