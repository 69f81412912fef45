//! Decoding real files: formats, reduced-size JPEG decoding, orientation, EXIF,
//! and every committed bad-input fixture.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::Limits;
use lensguard_core::report::{ImageFormat, ReasonCode};
use lensguard_testkit::encode::{self, JpegOptions};
use lensguard_testkit::exif_block::ExifSpec;
use lensguard_testkit::{bad_input_dir, samples_dir, scene};
use lensguard_vision::decode::{decode, decode_photo};
use lensguard_vision::measure;

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).expect("sample photo is committed")
}

#[test]
fn jpeg_png_and_webp_decode_to_the_analysis_size() {
    for (name, format, w, h) in [
        ("sharp.jpg", ImageFormat::Jpeg, 1024, 768),
        ("progressive.jpg", ImageFormat::Jpeg, 1024, 768),
        ("sharp.png", ImageFormat::Png, 640, 480),
        ("sharp.webp", ImageFormat::Webp, 640, 480),
    ] {
        let d = decode(&sample(name), &Limits::default()).expect(name);
        assert_eq!((d.format, d.width, d.height), (format, w, h), "{name}");
        let long = d.frame.width().max(d.frame.height());
        assert!(
            (460..=563).contains(&long),
            "{name}: analysis long side {long}"
        );
    }
}

#[test]
fn large_jpegs_are_decoded_at_reduced_dct_scale() {
    let img = scene::doorstep(2048, 1536, 5);
    let jpeg = encode::jpeg(
        &img,
        &JpegOptions {
            quality: 85,
            ..JpegOptions::default()
        },
    );
    let d = decode(&jpeg, &Limits::default()).expect("decodes");
    assert_eq!(d.decode_scale, 4);
    assert_eq!((d.frame.width(), d.frame.height()), (512, 384));
    assert_eq!((d.width, d.height), (2048, 1536));
}

#[test]
fn exif_orientation_is_applied() {
    let d = decode(&sample("rotated.jpg"), &Limits::default()).expect("decodes");
    assert_eq!(d.orientation, 6);
    // Stored 768x1024 (sideways), shown 1024x768.
    assert_eq!((d.width, d.height), (1024, 768));
    assert!(d.frame.width() > d.frame.height());
    // Upright, the wall (bright) is on top and the floor (darker) below.
    let px = d.frame.pixels();
    let w = d.frame.width() as usize;
    let row_mean = |y: usize| {
        px[y * w..(y + 1) * w]
            .iter()
            .map(|&p| f64::from(p))
            .sum::<f64>()
            / w as f64
    };
    let rows = d.frame.height() as usize;
    assert!(row_mean(rows / 10) > row_mean(rows * 9 / 10) + 10.0);
}

#[test]
fn exif_capture_time_gps_and_software_are_read() {
    let m = measure(&sample("edited.jpg"), &Limits::default()).expect("measures");
    assert_eq!(
        m.capture_time.map(|t| t.to_string()).as_deref(),
        Some("2026-11-20T09:30:00+00:00")
    );
    let gps = m.gps.expect("gps");
    assert!(
        (gps.lat - 51.5014).abs() < 1e-4 && (gps.lon + 0.1419).abs() < 1e-4,
        "{gps:?}"
    );
    assert_eq!(
        m.software.as_deref(),
        Some("Adobe Photoshop 25.1 (Windows)")
    );
    assert_eq!(m.camera.as_deref(), Some("lensguard-testkit"));
}

#[test]
fn southern_and_western_positions_are_negative() {
    let img = scene::doorstep(320, 240, 3);
    let spec = ExifSpec {
        gps: Some((-33.8568, -70.6693)),
        ..ExifSpec::default()
    };
    let jpeg = encode::jpeg(
        &img,
        &JpegOptions {
            quality: 80,
            progressive: false,
            exif: Some(spec),
        },
    );
    let gps = measure(&jpeg, &Limits::default())
        .expect("measures")
        .gps
        .expect("gps");
    assert!(
        (gps.lat + 33.8568).abs() < 1e-4 && (gps.lon + 70.6693).abs() < 1e-4,
        "{gps:?}"
    );
}

#[test]
fn every_bad_input_fixture_gets_its_reason_code() {
    let expected = [
        ("bad-checksum.png", ReasonCode::Corrupt),
        ("bomb-19000x19000.png", ReasonCode::TooManyPixels),
        ("bomb-65535x65535.png", ReasonCode::DimensionsTooLarge),
        ("corrupt-scan.jpg", ReasonCode::Corrupt),
        ("header-only.png", ReasonCode::Truncated),
        ("huge-dimensions.jpg", ReasonCode::DimensionsTooLarge),
        ("not-an-image.jpg", ReasonCode::UnsupportedFormat),
        ("random-bytes.webp", ReasonCode::Corrupt),
        ("truncated-header.jpg", ReasonCode::Truncated),
        ("truncated-progressive.jpg", ReasonCode::Truncated),
        ("truncated.jpg", ReasonCode::Truncated),
        ("truncated.webp", ReasonCode::Corrupt),
        ("zero-bytes.jpg", ReasonCode::EmptyFile),
        ("zero-width.png", ReasonCode::Corrupt),
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(bad_input_dir())
        .expect("fixture folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".md"))
        .collect();
    on_disk.sort();
    let named: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(on_disk, named, "every fixture has an expectation");
    for (name, code) in expected {
        let bytes = std::fs::read(bad_input_dir().join(name)).expect("fixture");
        let err = measure(&bytes, &Limits::default()).expect_err(name);
        assert_eq!(err.reason_code(), code, "{name}: {err}");
    }
}

#[test]
fn limits_are_enforced_from_the_header() {
    let d = Limits::default();
    let cases = [
        (
            "sharp.jpg",
            Limits {
                max_width: 1000,
                ..d
            },
            ReasonCode::DimensionsTooLarge,
        ),
        (
            "sharp.jpg",
            Limits {
                max_pixels: 500_000,
                ..d
            },
            ReasonCode::TooManyPixels,
        ),
        (
            "sharp.jpg",
            Limits {
                max_file_bytes: 1000,
                ..d
            },
            ReasonCode::FileTooLarge,
        ),
        (
            "sharp.png",
            Limits {
                max_pixels: 100_000,
                ..d
            },
            ReasonCode::TooManyPixels,
        ),
        (
            "sharp.webp",
            Limits {
                max_height: 400,
                ..d
            },
            ReasonCode::DimensionsTooLarge,
        ),
    ];
    for (name, limits, code) in cases {
        let err = measure(&sample(name), &limits).expect_err(name);
        assert_eq!(err.reason_code(), code, "{name} under {limits:?}");
    }
}

#[test]
fn oversized_exif_is_refused() {
    let img = scene::doorstep(320, 240, 4);
    let spec = ExifSpec {
        software: Some("x".repeat(4000)),
        ..ExifSpec::default()
    };
    let jpeg = encode::jpeg(
        &img,
        &JpegOptions {
            quality: 80,
            progressive: false,
            exif: Some(spec),
        },
    );
    let limits = Limits {
        max_exif_bytes: 1024,
        ..Limits::default()
    };
    assert_eq!(
        measure(&jpeg, &limits).expect_err("exif").reason_code(),
        ReasonCode::ExifTooLarge
    );
    assert!(measure(&jpeg, &Limits::default()).is_ok());
}

/// `decode_photo` (one decode in colour for the checks and the detectors)
/// against `decode` (the greyscale-only decode): the same analysis size,
/// scale, orientation and EXIF; a PNG or WebP the same pixels; a JPEG the same
/// pixels to rounding (its greyscale is the luma of the colour decode, averaged
/// down from a finer DCT scale), and the same verdict.
#[test]
fn one_decode_for_checks_and_detectors_measures_what_the_greyscale_decode_does() {
    let names = [
        "sharp.jpg",
        "blurred.jpg",
        "dark.jpg",
        "foggy.jpg",
        "glare.jpg",
        "overexposed.jpg",
        "progressive.jpg",
        "rotated.jpg",
        "low-resolution.jpg",
        "edited.jpg",
        "sharp.png",
        "sharp.webp",
    ];
    let mut photos: Vec<(String, Vec<u8>)> =
        names.iter().map(|n| (n.to_string(), sample(n))).collect();
    for (w, h) in [(1920u32, 1080u32), (4032, 3024)] {
        let img = scene::doorstep(w, h, 3);
        let options = JpegOptions {
            quality: 90,
            ..JpegOptions::default()
        };
        photos.push((format!("doorstep {w}x{h}"), encode::jpeg(&img, &options)));
    }
    let limits = Limits::default();
    let policy = lensguard_core::Policy::default();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    for (name, bytes) in &photos {
        let grey = decode(bytes, &limits).expect(name);
        let alone = measure(bytes, &limits).expect(name);
        for denominator in [1u8, 2, 4, 8] {
            let at = format!("{name} at 1/{denominator}");
            let photo = decode_photo(bytes, &limits, |_| denominator).expect(&at);
            let (a, c) = (&photo.analysis, &photo.colour);
            assert_eq!(
                (a.format, a.width, a.height, a.decode_scale, a.orientation),
                (
                    grey.format,
                    grey.width,
                    grey.height,
                    grey.decode_scale,
                    grey.orientation
                ),
                "{at}"
            );
            assert_eq!(a.exif, grey.exif, "{at}");
            assert_eq!(
                (a.frame.width(), a.frame.height()),
                (grey.frame.width(), grey.frame.height()),
                "{at}"
            );
            // The colour frame is at the scale asked for, or finer when the
            // analysis image needs more.
            assert!(
                c.scale <= denominator.max(1),
                "{at}: colour at 1/{}",
                c.scale
            );
            assert_eq!((c.width, c.height), (grey.width, grey.height), "{at}");
            let long = c.frame.width().max(c.frame.height());
            assert_eq!(
                long,
                grey.width.max(grey.height).div_ceil(u32::from(c.scale)),
                "{at}"
            );
            let diffs: Vec<u32> = grey
                .frame
                .pixels()
                .iter()
                .zip(a.frame.pixels())
                .map(|(x, y)| u32::from(x.abs_diff(*y)))
                .collect();
            let mean = f64::from(diffs.iter().sum::<u32>()) / diffs.len() as f64;
            if grey.format == ImageFormat::Jpeg {
                assert!(mean <= 0.5, "{at}: mean difference {mean:.2}");
            } else {
                assert_eq!(mean, 0.0, "{at}");
            }
            let m = lensguard_vision::measure_decoded(photo.analysis);
            let relative = (m.sharpness - alone.sharpness).abs() / alone.sharpness.max(1e-9);
            assert!(
                relative <= 0.05,
                "{at}: sharpness {} against {}",
                m.sharpness,
                alone.sharpness
            );
            assert!(
                (m.exposure.mean_luma - alone.exposure.mean_luma).abs() <= 0.5,
                "{at}"
            );
            let one = lensguard_core::rules::judge(m, &policy, now);
            let two = lensguard_core::rules::judge(alone.clone(), &policy, now);
            assert_eq!(one.verdict, two.verdict, "{at}");
            let codes = |r: &lensguard_core::InspectionReport| {
                r.reasons.iter().map(|r| r.code).collect::<Vec<_>>()
            };
            assert_eq!(codes(&one), codes(&two), "{at}");
        }
    }
}
