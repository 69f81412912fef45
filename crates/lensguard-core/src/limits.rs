//! Limits on every untrusted size, in one place.
//!
//! Each field is checked before any allocation that depends on it: the file size
//! before reading, the declared width, height and pixel count from the image header
//! before decoding, the EXIF block size before parsing it. Defaults suit phone and
//! line-camera photos (up to about 50 megapixels) with a wide safety margin.

use serde::{Deserialize, Serialize};

/// Caps on untrusted input sizes. See the field docs for defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted encoded file, in bytes. Default 50 MiB.
    pub max_file_bytes: u64,
    /// Largest accepted declared width, in pixels. Default 20,000.
    pub max_width: u32,
    /// Largest accepted declared height, in pixels. Default 20,000.
    pub max_height: u32,
    /// Largest accepted declared pixel count (width x height). Default 100 million:
    /// a full-size decode of a PNG at this size needs 400 MB of RGBA.
    pub max_pixels: u64,
    /// Largest accepted EXIF block, in bytes. Default 256 KiB (a JPEG APP1 segment
    /// cannot exceed 64 KiB; PNG and WebP containers can carry more).
    pub max_exif_bytes: u64,
    /// Long side, in pixels, of the analysis image the checks run on. Default 512.
    /// JPEGs are decoded at a reduced DCT scale (1/2 to 1/8) close to this size.
    pub analysis_long_side: u32,
    /// Most memory one photo's decoding and redaction may take, in bytes,
    /// estimated from its declared size and format before anything is
    /// decoded (the decoder's bytes per pixel at its peak: 4 for a JPEG, 8
    /// for a PNG or WebP). Default 512 MiB: a 64-megapixel PNG or a
    /// 100-megapixel JPEG fits; a blank 10000x10000 PNG does not.
    pub max_decode_bytes: u64,
    /// Largest picture of a camera's analysed stream, in pixels: a stream
    /// whose parameter sets announce more is refused before a decoder is
    /// made for it (the decoder's buffers grow with the picture). Default
    /// 3840 x 2160 (8,294,400); the analysed stream is usually a camera's
    /// sub-stream, far smaller.
    pub max_camera_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 50 * 1024 * 1024,
            max_width: 20_000,
            max_height: 20_000,
            max_pixels: 100_000_000,
            max_exif_bytes: 256 * 1024,
            analysis_long_side: 512,
            max_decode_bytes: 512 * 1024 * 1024,
            max_camera_pixels: 3840 * 2160,
        }
    }
}

/// Which limit a declared size broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DimensionVerdict {
    /// Within every limit.
    Ok,
    /// Zero width or height.
    Empty,
    /// Width or height above `max_width`/`max_height`.
    TooLarge,
    /// Width x height above `max_pixels`.
    TooManyPixels,
}

impl Limits {
    /// Judges a declared image size against the limits, before anything is decoded.
    pub fn check_dimensions(&self, width: u32, height: u32) -> DimensionVerdict {
        if width == 0 || height == 0 {
            DimensionVerdict::Empty
        } else if width > self.max_width || height > self.max_height {
            DimensionVerdict::TooLarge
        } else if u64::from(width) * u64::from(height) > self.max_pixels {
            DimensionVerdict::TooManyPixels
        } else {
            DimensionVerdict::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bomb_header_is_refused_by_dimensions() {
        let limits = Limits::default();
        assert_eq!(
            limits.check_dimensions(65_535, 65_535),
            DimensionVerdict::TooLarge
        );
        assert_eq!(limits.check_dimensions(0, 10), DimensionVerdict::Empty);
        assert_eq!(
            limits.check_dimensions(15_000, 15_000),
            DimensionVerdict::TooManyPixels
        );
        assert_eq!(limits.check_dimensions(4032, 3024), DimensionVerdict::Ok);
    }
}
