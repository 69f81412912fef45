//! Property tests: inspection never panics on hostile bytes, and a photo
//! re-encoded at another JPEG quality stays a near-duplicate of itself.
//! Failing cases that proptest finds are kept in `tests/properties.proptest-regressions`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::{Limits, Policy};
use lensguard_testkit::encode::{self, JpegOptions};
use lensguard_testkit::scene;
use proptest::prelude::*;
use std::sync::OnceLock;

fn limits() -> Limits {
    Limits {
        max_width: 4096,
        max_height: 4096,
        max_pixels: 4_000_000,
        ..Limits::default()
    }
}

fn inspect(bytes: &[u8]) -> lensguard_core::InspectionReport {
    lensguard_vision::inspect(
        bytes,
        &Policy::default(),
        &limits(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
}

/// Small valid files of every format to mutate.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let img = scene::doorstep(96, 64, 11);
        vec![
            encode::jpeg(
                &img,
                &JpegOptions {
                    quality: 80,
                    ..JpegOptions::default()
                },
            ),
            encode::jpeg(
                &img,
                &JpegOptions {
                    quality: 80,
                    progressive: true,
                    exif: None,
                },
            ),
            encode::png(&img),
            encode::webp(&img),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let r = inspect(&bytes);
        prop_assert!(!r.checks.is_empty());
    }

    #[test]
    fn arbitrary_bytes_behind_a_real_magic_never_panic(
        magic in prop::sample::select(vec![
            b"\xFF\xD8\xFF\xE0".to_vec(),
            b"\x89PNG\r\n\x1a\n".to_vec(),
            b"RIFF\0\0\0\0WEBPVP8 ".to_vec(),
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = magic;
        bytes.extend(tail);
        prop_assert!(!inspect(&bytes).checks.is_empty());
    }

    #[test]
    fn mutated_real_files_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seeds()[which].clone();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        prop_assert!(!inspect(&bytes).checks.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reencoding_at_another_quality_stays_a_duplicate(
        seed in any::<u64>(),
        q1 in 60u8..=95,
        q2 in 35u8..=95,
    ) {
        let img = scene::doorstep(640, 480, seed);
        let a = encode::jpeg(&img, &JpegOptions { quality: q1, ..JpegOptions::default() });
        let b = encode::jpeg(&img, &JpegOptions { quality: q2, progressive: true, exif: None });
        let ha = lensguard_vision::measure(&a, &limits()).expect("decodes").phash;
        let hb = lensguard_vision::measure(&b, &limits()).expect("decodes").phash;
        let max = Policy::default().duplicate.max_distance;
        prop_assert!(ha.distance(hb) <= max, "{ha} vs {hb}: {} > {max}", ha.distance(hb));
        prop_assert_eq!(ha.distance(hb), hb.distance(ha));
    }
}
