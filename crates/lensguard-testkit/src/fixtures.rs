//! The committed fixture sets, built from code so anyone can rebuild them
//! (`cargo run -p lensguard-testkit --bin make-fixtures`) and a test can prove the
//! committed bytes are what this code makes.

use crate::encode::{self, JpegOptions};
use crate::exif_block::ExifSpec;
use crate::scene::{self, Rgb};
use std::io::Write;

/// A named fixture file.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// File name, saying what the file is.
    pub name: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// The capture time every sample carries (EXIF form).
pub const SAMPLE_CAPTURE_TIME: &str = "2026:11:20 09:30:00";
/// A `--now` for which the samples are fresh under the default 72 h window.
pub const SAMPLE_NOW: &str = "2026-11-21T12:00:00Z";

const W: u32 = 1024;
const H: u32 = 768;

fn exif() -> ExifSpec {
    ExifSpec {
        capture_time: Some(SAMPLE_CAPTURE_TIME.to_owned()),
        offset: Some("+00:00".to_owned()),
        gps: Some((51.501_4, -0.141_9)),
        software: Some("DeliveryCam 4.2".to_owned()),
        orientation: None,
        make: Some("lensguard-testkit".to_owned()),
    }
}

fn jpeg(img: &Rgb, quality: u8, spec: ExifSpec) -> Vec<u8> {
    encode::jpeg(
        img,
        &JpegOptions {
            quality,
            progressive: false,
            exif: Some(spec),
        },
    )
}

/// The sample photos: one good photo per format and one per failure, each with
/// EXIF as a delivery app would write it. The expected verdict is in the name's
/// description in `samples/README.md`.
pub fn samples() -> Vec<Fixture> {
    let sharp = scene::doorstep(W, H, 1);
    let mut out = vec![
        Fixture {
            name: "sharp.jpg",
            bytes: jpeg(&sharp, 88, exif()),
        },
        Fixture {
            // The same delivery photographed again later, re-encoded and resized:
            // the classic re-submission that --dedupe catches.
            name: "sharp_resubmitted.jpg",
            bytes: jpeg(&scene::resized(&sharp, 960, 720), 70, exif()),
        },
        Fixture {
            name: "progressive.jpg",
            bytes: encode::jpeg(
                &scene::doorstep(W, H, 2),
                &JpegOptions {
                    quality: 85,
                    progressive: true,
                    exif: Some(exif()),
                },
            ),
        },
        Fixture {
            // Stored sideways with EXIF orientation 6, as phones store portrait shots.
            name: "rotated.jpg",
            bytes: jpeg(
                &scene::rotated_ccw(&scene::doorstep(W, H, 3)),
                88,
                ExifSpec {
                    orientation: Some(6),
                    ..exif()
                },
            ),
        },
        Fixture {
            name: "blurred.jpg",
            bytes: jpeg(&scene::blurred(&scene::doorstep(W, H, 4), 5), 88, exif()),
        },
        Fixture {
            name: "dark.jpg",
            bytes: jpeg(
                &scene::exposed(&scene::doorstep(W, H, 5), 0.12, 0.0),
                88,
                exif(),
            ),
        },
        Fixture {
            name: "overexposed.jpg",
            bytes: jpeg(
                &scene::exposed(&scene::doorstep(W, H, 6), 1.8, 90.0),
                88,
                exif(),
            ),
        },
        Fixture {
            name: "glare.jpg",
            bytes: jpeg(
                &scene::with_glare(
                    &scene::doorstep(W, H, 7),
                    &[(0.45, 0.42, 0.09), (0.7, 0.3, 0.05)],
                ),
                88,
                exif(),
            ),
        },
        Fixture {
            name: "foggy.jpg",
            bytes: jpeg(&scene::foggy(&scene::doorstep(W, H, 8), 0.1), 88, exif()),
        },
        Fixture {
            name: "low-resolution.jpg",
            bytes: jpeg(&scene::doorstep(400, 300, 9), 88, exif()),
        },
        Fixture {
            name: "edited.jpg",
            bytes: jpeg(
                &scene::doorstep(W, H, 10),
                88,
                ExifSpec {
                    software: Some("Adobe Photoshop 25.1 (Windows)".to_owned()),
                    ..exif()
                },
            ),
        },
        Fixture {
            name: "sharp.png",
            bytes: encode::png(&scene::doorstep(640, 480, 11)),
        },
        Fixture {
            name: "sharp.webp",
            bytes: encode::webp(&scene::doorstep(640, 480, 12)),
        },
    ];
    out.sort_by_key(|f| f.name);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend(crc.finalize().to_be_bytes());
}

/// The PNG signature and an IHDR chunk for `width` x `height` RGB8 pixels.
fn png_head(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    out
}

/// A PNG whose header declares `width` x `height` RGB pixels, followed by a small
/// IDAT of zero rows: the decompression-bomb shape (a few KB that would need
/// gigabytes once decoded).
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = png_head(width, height);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // 256 KiB of zero bytes: filter type 0 and black pixels for the first rows.
    let _ = z.write_all(&vec![0u8; 256 * 1024]);
    let idat = z.finish().unwrap_or_default();
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A complete, valid PNG of `width` x `height` white RGB pixels: a few
/// hundred KB that decode to `3 * width * height` bytes (the review's
/// "blank 10000x10000 PNG"). Rows are compressed as they are made, so
/// building it never holds the pixels.
pub fn png_blank(width: u32, height: u32) -> Vec<u8> {
    let mut out = png_head(width, height);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut row = vec![255u8; 1 + 3 * width as usize];
    row[0] = 0; // filter: none
    for _ in 0..height {
        let _ = z.write_all(&row);
    }
    let idat = z.finish().unwrap_or_default();
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Overwrites the size in the first SOF marker of a JPEG.
fn with_sof_size(mut jpeg: Vec<u8>, width: u16, height: u16) -> Vec<u8> {
    let mut i = 2;
    while i + 9 < jpeg.len() {
        if jpeg[i] == 0xFF && matches!(jpeg[i + 1], 0xC0..=0xC2) {
            jpeg[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            jpeg[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            break;
        }
        i += 1;
    }
    jpeg
}

/// The malformed inputs, each named after what it is.
pub fn bad_inputs() -> Vec<Fixture> {
    let small = scene::doorstep(320, 240, 21);
    let baseline = jpeg(&small, 85, ExifSpec::default());
    let progressive = encode::jpeg(
        &small,
        &JpegOptions {
            quality: 85,
            progressive: true,
            exif: None,
        },
    );
    let cut = |b: &[u8], keep: usize| b[..b.len() * keep / 100].to_vec();
    let mut corrupt = baseline.clone();
    // Overwrite the middle of the entropy-coded scan with a restart marker the
    // file never declared: the decoder meets a marker where data should be.
    let mid = corrupt.len() / 2;
    corrupt[mid..mid + 16].copy_from_slice(&[
        0xFF, 0xD3, 0xFF, 0xD5, 0, 0, 0, 0, 0xFF, 0xD7, 1, 2, 3, 4, 5, 6,
    ]);
    let mut random = b"RIFF\x20\x00\x00\x00WEBPVP8 ".to_vec();
    let mut rng = scene::SplitMix(99);
    random.extend((0..64).map(|_| rng.next_u64() as u8));
    let mut header_only = png_bomb(64, 64);
    header_only.truncate(8 + 25);
    let mut bad_crc = encode::png(&small);
    let n = bad_crc.len();
    bad_crc[n / 2] ^= 0x55;
    let mut out = vec![
        Fixture {
            name: "zero-bytes.jpg",
            bytes: Vec::new(),
        },
        Fixture {
            name: "not-an-image.jpg",
            bytes: b"This is a delivery note, not a photo.\n".to_vec(),
        },
        Fixture {
            name: "truncated.jpg",
            bytes: cut(&baseline, 60),
        },
        Fixture {
            name: "truncated-progressive.jpg",
            bytes: cut(&progressive, 60),
        },
        Fixture {
            name: "truncated-header.jpg",
            bytes: baseline[..40.min(baseline.len())].to_vec(),
        },
        Fixture {
            name: "corrupt-scan.jpg",
            bytes: corrupt,
        },
        Fixture {
            name: "huge-dimensions.jpg",
            bytes: with_sof_size(baseline.clone(), 65_000, 65_000),
        },
        Fixture {
            name: "bomb-65535x65535.png",
            bytes: png_bomb(65_535, 65_535),
        },
        Fixture {
            name: "bomb-19000x19000.png",
            bytes: png_bomb(19_000, 19_000),
        },
        Fixture {
            name: "header-only.png",
            bytes: header_only,
        },
        Fixture {
            name: "zero-width.png",
            bytes: png_bomb(0, 64),
        },
        Fixture {
            name: "bad-checksum.png",
            bytes: bad_crc,
        },
        Fixture {
            name: "random-bytes.webp",
            bytes: random,
        },
        Fixture {
            name: "truncated.webp",
            bytes: cut(&encode::webp(&small), 50),
        },
    ];
    out.sort_by_key(|f| f.name);
    out
}
