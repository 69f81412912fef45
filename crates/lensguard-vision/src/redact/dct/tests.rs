//! The DCT-domain invariant, as properties over random JPEGs and regions:
//! blocks outside the grown regions are copied bit-exact, hidden blocks carry
//! only their cells' mean DC, and fills are black.

use super::*;
use crate::libjpeg::coefficients::Block;
use lensguard_testkit::encode::{JpegOptions, jpeg};
use lensguard_testkit::scene::{Rgb, doorstep};
use proptest::prelude::*;

/// Each cell's blocks: (column, row, DC).
type Cells = std::collections::BTreeMap<(u32, u32), Vec<(u32, u32, i16)>>;

const STYLES: [RedactStyle; 3] = [RedactStyle::Blur, RedactStyle::Pixelate, RedactStyle::Fill];

/// Every component's blocks, row by row, with its geometry.
fn blocks(bytes: &[u8]) -> Vec<(Component, Vec<Block>)> {
    let mut all = Vec::new();
    transcode(bytes, |co| {
        for (i, c) in co.components().to_vec().into_iter().enumerate() {
            let mut v = Vec::new();
            for by in 0..c.blocks_high {
                v.extend_from_slice(co.row(i, by).expect("row inside the grid"));
            }
            all.push((c, v));
        }
    })
    .expect("transcode");
    all
}

fn photo(w: u32, h: u32, seed: u64, progressive: bool) -> Vec<u8> {
    let opts = JpegOptions {
        quality: 90,
        progressive,
        exif: None,
    };
    jpeg(&doorstep(w, h, seed), &opts)
}

/// Whether block (`bx`, `by`) of a component with blocks of `c` pixels lies
/// under one of `areas`.
fn under(areas: &[Area], c: &Component, mcu: (u32, u32), bx: u32, by: u32) -> bool {
    areas.iter().any(|a| {
        let b = blocks_of(a, c, mcu);
        bx >= b.x0 && bx < b.x1 && by >= b.y0 && by < b.y1
    })
}

/// Up to three regions inside a `w` x `h` photo, each of a random style.
fn regions(w: u32, h: u32) -> impl Strategy<Value = Vec<(Rect, RedactStyle)>> {
    prop::collection::vec((0..w, 0..h, 1..=w, 1..=h, 0usize..3), 0..=3).prop_map(move |v| {
        v.into_iter()
            .map(|(x, y, rw, rh, s)| {
                let r = Rect {
                    x,
                    y,
                    width: rw.min(w - x).max(1),
                    height: rh.min(h - y).max(1),
                };
                (r, STYLES[s])
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn outside_is_bit_exact_inside_is_dc_only(
        (w, h, regions) in (24u32..200, 24u32..200)
            .prop_flat_map(|(w, h)| (Just(w), Just(h), regions(w, h))),
        seed in any::<u64>(),
        progressive in any::<bool>(),
    ) {
        let original = photo(w, h, seed, progressive);
        let (out, hidden) = redact_jpeg(&original, &regions).expect("redact");
        prop_assert_eq!(hidden, regions.len());
        let before = blocks(&original);
        let after = blocks(out.as_bytes());
        let mcu = (16, 16);
        let areas: Vec<Area> = regions
            .iter()
            .filter_map(|&(r, _)| area(r, mcu, (w, h)))
            .collect();
        for ((c, b), (c2, a)) in before.iter().zip(&after) {
            prop_assert_eq!(c, c2);
            for by in 0..c.blocks_high {
                for bx in 0..c.blocks_wide {
                    let i = (by * c.blocks_wide + bx) as usize;
                    if under(&areas, c, mcu, bx, by) {
                        prop_assert!(a[i][1..].iter().all(|&v| v == 0), "AC left at {bx},{by}");
                    } else {
                        prop_assert_eq!(a[i], b[i], "block {},{} changed", bx, by);
                    }
                }
            }
        }
    }

    #[test]
    fn only_cell_means_survive(
        (w, h) in (48u32..160, 48u32..160),
        seed in any::<u64>(),
        style in 0usize..3,
        rotate_by in 1usize..5,
    ) {
        // One region in the middle; the input's blocks under it are permuted
        // within each cell (same mean) and their AC coefficients scrambled.
        let r = Rect { x: w / 4, y: h / 4, width: w / 2, height: h / 2 };
        let regions = [(r, STYLES[style])];
        let original = photo(w, h, seed, false);
        let a = area(r, (16, 16), (w, h)).expect("inside");
        let scrambled = transcode(&original, |co| {
            let mcu = co.mcu();
            for (i, c) in co.components().to_vec().into_iter().enumerate() {
                let b = blocks_of(&a, &c, mcu);
                let (cw, ch) = cell_blocks(&a, &c, mcu);
                // Gather each cell's DCs, rotate them, write them back.
                let mut cells: Cells = Default::default();
                for by in b.y0..b.y1 {
                    let row = co.row(i, by).expect("row");
                    for bx in b.x0..b.x1 {
                        let cell = ((bx - b.x0) / cw, (by - b.y0) / ch);
                        cells.entry(cell).or_default().push((bx, by, row[bx as usize][0]));
                    }
                }
                for members in cells.values() {
                    for (k, &(bx, by, _)) in members.iter().enumerate() {
                        let dc = members[(k + rotate_by) % members.len()].2;
                        let row = co.row(i, by).expect("row");
                        let block = &mut row[bx as usize];
                        block[0] = dc;
                        for (j, v) in block.iter_mut().enumerate().skip(1) {
                            *v = ((j as i64 * 7 + bx as i64 * 3 + by as i64) % 11 - 5) as i16;
                        }
                    }
                }
            }
        })
        .expect("scramble");
        let (x, _) = redact_jpeg(&original, &regions).expect("redact original");
        let (y, _) = redact_jpeg(&scrambled, &regions).expect("redact scrambled");
        prop_assert!(x == y, "hidden blocks depend on more than their cell means");
    }
}

fn luma([r, g, b]: [u8; 3]) -> u8 {
    ((77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b) + 128) >> 8) as u8
}

/// The pixel at (`x`, `y`).
fn px(f: &crate::RgbFrame, x: u32, y: u32) -> [u8; 3] {
    let at = ((y * f.width() + x) * 3) as usize;
    [f.pixels()[at], f.pixels()[at + 1], f.pixels()[at + 2]]
}

fn decode(bytes: &[u8]) -> crate::RgbFrame {
    crate::decode::decode_rgb(bytes, &lensguard_core::Limits::default())
        .expect("decode")
        .frame
}

#[test]
fn fill_is_black_and_pixels_away_from_regions_are_unchanged() {
    let (w, h) = (160, 120);
    let original = photo(w, h, 7, false);
    let r = Rect {
        x: 37,
        y: 21,
        width: 50,
        height: 40,
    };
    let (out, _) = redact_jpeg(&original, &[(r, RedactStyle::Fill)]).expect("redact");
    let (a, b) = (decode(&original), decode(out.as_bytes()));
    // The region grown to 16-pixel MCUs: x 32..96, y 16..64.
    for y in 0..h {
        for x in 0..w {
            if (34..94).contains(&x) && (18..62).contains(&y) {
                assert!(
                    px(&b, x, y).iter().all(|&v| v <= 2),
                    "{x},{y}: {:?}",
                    px(&b, x, y)
                );
            } else if (32..96).contains(&x) && (16..64).contains(&y) {
                // At the edge, chroma upsampling mixes in the colour outside.
                assert!(luma(px(&b, x, y)) <= 4, "{x},{y}: {:?}", px(&b, x, y));
            } else if !(16..112).contains(&x) || !(0..80).contains(&y) {
                // One MCU further out, chroma upsampling no longer reaches.
                assert_eq!(px(&a, x, y), px(&b, x, y), "{x},{y}");
            }
        }
    }
}

#[test]
fn pixelate_and_blur_leave_no_detail_and_keep_the_colour() {
    let (w, h) = (160, 160);
    let original = photo(w, h, 11, false);
    let r = Rect {
        x: 32,
        y: 32,
        width: 96,
        height: 96,
    };
    let a = decode(&original);
    for style in [RedactStyle::Pixelate, RedactStyle::Blur] {
        let (out, _) = redact_jpeg(&original, &[(r, style)]).expect("redact");
        let b = decode(out.as_bytes());
        let mean = |f: &crate::RgbFrame| {
            let mut s = 0u64;
            for y in 32..128u32 {
                for x in 32..128u32 {
                    s += u64::from(f.pixels()[((y * w + x) * 3) as usize]);
                }
            }
            s as f64 / (96.0 * 96.0)
        };
        assert!(
            (mean(&a) - mean(&b)).abs() < 4.0,
            "{style:?}: {} vs {}",
            mean(&a),
            mean(&b)
        );
        // Every 8x8 block inside is flat in luma (chroma upsampling shades
        // between cells): no edge or texture survives.
        for by in 4..16u32 {
            for bx in 4..16u32 {
                let at = |x: u32, y: u32| luma(px(&b, x, y));
                let v0 = at(bx * 8, by * 8);
                for y in by * 8..by * 8 + 8 {
                    for x in bx * 8..bx * 8 + 8 {
                        assert!(at(x, y).abs_diff(v0) <= 3, "{style:?} block {bx},{by}");
                    }
                }
            }
        }
    }
}

#[test]
fn greyscale_and_progressive_jpegs_are_redacted_in_place() {
    let img = doorstep(64, 48, 3);
    let grey: Vec<u8> = img.data.chunks(3).map(|p| p[1]).collect();
    let bytes = std::panic::catch_unwind(|| {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
        c.set_size(64, 48);
        c.set_fastest_defaults();
        c.set_quality(90.0);
        let mut s = c.start_compress(Vec::new()).expect("start");
        s.write_scanlines(&grey).expect("write");
        s.finish().expect("finish")
    })
    .expect("encode");
    let r = Rect {
        x: 8,
        y: 8,
        width: 16,
        height: 16,
    };
    let (out, n) = redact_jpeg(&bytes, &[(r, RedactStyle::Fill)]).expect("grey");
    assert_eq!(n, 1);
    assert_eq!(blocks(out.as_bytes()).len(), 1);
    let progressive = photo(64, 48, 3, true);
    redact_jpeg(&progressive, &[(r, RedactStyle::Blur)]).expect("progressive");
}

#[test]
fn damaged_jpegs_are_errors_and_no_metadata_is_carried() {
    let original = photo(64, 48, 5, false);
    for cut in [2, 20, original.len() / 2, original.len() - 2] {
        assert!(redact_jpeg(&original[..cut], &[]).is_err(), "cut at {cut}");
    }
    let with_exif = jpeg(
        &Rgb {
            ..doorstep(64, 48, 5)
        },
        &JpegOptions {
            quality: 90,
            progressive: false,
            exif: Some(Default::default()),
        },
    );
    let (out, _) = redact_jpeg(&with_exif, &[]).expect("redact");
    let bytes = out.as_bytes();
    // Walk the markers up to the scan: only what a baseline JPEG needs.
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "no SOI");
    let mut at = 2;
    let mut reached_scan = false;
    while at + 4 <= bytes.len() && bytes[at] == 0xFF {
        let marker = bytes[at + 1];
        assert!(
            matches!(marker, 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA | 0xDD),
            "marker {marker:#04x} in the output"
        );
        if marker == 0xDA {
            reached_scan = true;
            break;
        }
        at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
    }
    assert!(
        reached_scan,
        "the marker walk stopped before the scan at {at}"
    );
}

#[test]
fn an_output_of_many_chunks_decodes_to_the_same_pixels() {
    // Noisy enough that the output spans several of the writer's 64 KiB
    // chunks; with nothing hidden, every block is the original's.
    let original = photo(1024, 768, 21, true);
    let (out, hidden) = redact_jpeg(&original, &[]).expect("transcode");
    assert_eq!(hidden, 0);
    assert!(
        out.as_bytes().len() > 2 * 65_536,
        "{} bytes",
        out.as_bytes().len()
    );
    let (a, b) = (decode(&original), decode(out.as_bytes()));
    assert!(a.pixels() == b.pixels(), "a transcode changed pixels");
}
