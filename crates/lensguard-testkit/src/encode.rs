//! Encoding synthetic scenes as JPEG (via libjpeg-turbo/mozjpeg), PNG and WebP.

use crate::exif_block::{ExifSpec, build};
use crate::scene::Rgb;
use image::ExtendedColorType::Rgb8 as RGB8;
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use mozjpeg::{ColorSpace, Compress, Marker};

/// JPEG options.
#[derive(Debug, Clone, Default)]
pub struct JpegOptions {
    /// Quality, 1 to 100.
    pub quality: u8,
    /// Progressive scans instead of baseline.
    pub progressive: bool,
    /// EXIF block to embed as APP1, if any.
    pub exif: Option<ExifSpec>,
}

/// Encodes `img` as JPEG with 4:2:0 chroma subsampling, like a phone camera.
pub fn jpeg(img: &Rgb, opts: &JpegOptions) -> Vec<u8> {
    let run = || -> std::io::Result<Vec<u8>> {
        let mut c = Compress::new(ColorSpace::JCS_RGB);
        c.set_size(img.width as usize, img.height as usize);
        c.set_quality(f32::from(opts.quality.clamp(1, 100)));
        if opts.progressive {
            c.set_progressive_mode();
        } else {
            c.set_fastest_defaults();
            c.set_quality(f32::from(opts.quality.clamp(1, 100)));
        }
        let mut started = c.start_compress(Vec::new())?;
        if let Some(spec) = &opts.exif {
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend(build(spec));
            started.write_marker(Marker::APP(1), &app1);
        }
        started.write_scanlines(&img.data)?;
        started.finish()
    };
    // Test-data generation: a failure here is a bug in the fixture code.
    std::panic::catch_unwind(run)
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// Encodes `img` as an 8-bit RGB PNG.
pub fn png(img: &Rgb) -> Vec<u8> {
    let mut out = Vec::new();
    let written = PngEncoder::new(&mut out).write_image(&img.data, img.width, img.height, RGB8);
    if written.is_ok() { out } else { Vec::new() }
}

/// Encodes `img` as a lossless WebP.
pub fn webp(img: &Rgb) -> Vec<u8> {
    let mut out = Vec::new();
    let written =
        WebPEncoder::new_lossless(&mut out).write_image(&img.data, img.width, img.height, RGB8);
    if written.is_ok() { out } else { Vec::new() }
}
