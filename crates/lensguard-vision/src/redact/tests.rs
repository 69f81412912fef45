//! The redaction invariant, as properties over random frames and regions.

use super::*;
use proptest::prelude::*;

const STYLES: [RedactStyle; 3] = [RedactStyle::Blur, RedactStyle::Pixelate, RedactStyle::Fill];

fn noise(width: u32, height: u32, seed: u64) -> RgbFrame {
    let mut state = seed | 1;
    let pixels = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    RgbFrame::new(width, height, pixels).expect("frame")
}

fn pixel(f: &RgbFrame, x: u32, y: u32) -> [u8; 3] {
    let at = (y as usize * f.width() as usize + x as usize) * 3;
    [f.pixels()[at], f.pixels()[at + 1], f.pixels()[at + 2]]
}

fn inside(rects: &[Rect], x: u32, y: u32) -> bool {
    rects
        .iter()
        .any(|r| x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height)
}

/// Up to four disjoint regions, one in each quadrant of a `w` x `h` frame.
fn regions(w: u32, h: u32) -> impl Strategy<Value = Vec<(Rect, RedactStyle)>> {
    let (qw, qh) = (w / 2, h / 2);
    prop::collection::vec((0u32..4, 0..qw, 0..qh, 1..=qw, 1..=qh, 0usize..3), 0..=4).prop_map(
        move |v| {
            let mut seen = [false; 4];
            v.into_iter()
                .filter(|&(q, ..)| !std::mem::replace(&mut seen[q as usize], true))
                .map(|(q, x, y, rw, rh, s)| {
                    let (ox, oy) = ((q % 2) * qw, (q / 2) * qh);
                    let (rw, rh) = (rw.min(qw - x), rh.min(qh - y));
                    (
                        Rect {
                            x: ox + x,
                            y: oy + y,
                            width: rw.max(1),
                            height: rh.max(1),
                        },
                        STYLES[s],
                    )
                })
                .collect()
        },
    )
}

/// `frame` with the pixels of every block of every region shuffled within the
/// block (block means unchanged).
fn shuffled(frame: &RgbFrame, regions: &[(Rect, RedactStyle)], seed: u64) -> RgbFrame {
    let mut out = frame.clone();
    let w = frame.width() as usize;
    let mut state = seed | 1;
    for (r, _) in regions {
        for b in r.blocks() {
            let coords: Vec<(u32, u32)> = (b.y..b.y + b.height)
                .flat_map(|y| (b.x..b.x + b.width).map(move |x| (x, y)))
                .collect();
            let mut order: Vec<usize> = (0..coords.len()).collect();
            for i in (1..order.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            for (dst, &src) in coords.iter().zip(&order) {
                let (sx, sy) = coords[src];
                let v = pixel(frame, sx, sy);
                let at = (dst.1 as usize * w + dst.0 as usize) * 3;
                out.pixels_mut()[at..at + 3].copy_from_slice(&v);
            }
        }
    }
    out
}

proptest! {
    #[test]
    fn outside_untouched_fill_is_black_and_only_block_means_survive(
        (w, h) in (8u32..96, 8u32..96),
        seed in any::<u64>(),
        shuffle_seed in any::<u64>(),
        regions in (8u32..96, 8u32..96).prop_flat_map(|(w, h)| regions(w, h)),
    ) {
        let frame = noise(w, h, seed);
        let regions: Vec<_> = regions
            .into_iter()
            .filter(|(r, _)| r.x + r.width <= w && r.y + r.height <= h)
            .collect();
        let rects: Vec<Rect> = regions.iter().map(|(r, _)| *r).collect();
        let out = redact(frame.clone(), &regions);
        prop_assert_eq!(out.regions(), regions.len());
        for y in 0..h {
            for x in 0..w {
                if !inside(&rects, x, y) {
                    prop_assert_eq!(pixel(out.frame(), x, y), pixel(&frame, x, y));
                }
            }
        }
        for (r, style) in &regions {
            if *style == RedactStyle::Fill {
                for y in r.y..r.y + r.height {
                    for x in r.x..r.x + r.width {
                        prop_assert_eq!(pixel(out.frame(), x, y), [0, 0, 0]);
                    }
                }
            }
        }
        // Rearranging the original pixels inside each block changes nothing:
        // no pixel's value at its place survives, only block means.
        let other = redact(shuffled(&frame, &regions, shuffle_seed), &regions);
        prop_assert!(other.frame() == out.frame());
    }
}

#[test]
fn a_region_of_noise_keeps_none_of_its_pixels() {
    let frame = noise(64, 64, 7);
    let r = Rect {
        x: 8,
        y: 8,
        width: 40,
        height: 40,
    };
    for style in STYLES {
        let out = redact(frame.clone(), &[(r, style)]);
        let mut same = 0;
        for y in r.y..r.y + r.height {
            for x in r.x..r.x + r.width {
                same += usize::from(pixel(out.frame(), x, y) == pixel(&frame, x, y));
            }
        }
        assert_eq!(same, 0, "{style:?} kept {same} of 1600 pixels");
    }
}

#[test]
fn rects_grow_by_the_margin_and_clip_to_the_frame() {
    let r = Rect::around((10.0, 10.0, 20.0, 10.0), 0.5, 100, 100).expect("rect");
    assert_eq!(
        r,
        Rect {
            x: 0,
            y: 5,
            width: 40,
            height: 20
        }
    );
    let r = Rect::around((90.0, 95.0, 20.0, 20.0), 0.0, 100, 100).expect("rect");
    assert_eq!(
        r,
        Rect {
            x: 90,
            y: 95,
            width: 10,
            height: 5
        }
    );
    assert!(Rect::around((120.0, 0.0, 5.0, 5.0), 0.2, 100, 100).is_none());
    // A NaN edge hides out to the frame's edge rather than nothing.
    let r = Rect::around((f32::NAN, 0.0, 5.0, 5.0), 0.2, 100, 100).expect("rect");
    assert_eq!((r.x, r.width), (0, 100));
    let r = Rect {
        x: 0,
        y: 0,
        width: 17,
        height: 3,
    };
    assert_eq!(r.block_side(), 3);
    assert_eq!(r.blocks().count(), 6);
    assert_eq!(r.blocks().map(|b| b.width * b.height).sum::<u32>(), 51);
}

#[test]
fn the_jpeg_has_no_metadata_and_decodes_to_the_redacted_size() {
    let out = redact(
        noise(33, 17, 3),
        &[(
            Rect {
                x: 0,
                y: 0,
                width: 10,
                height: 10,
            },
            RedactStyle::Fill,
        )],
    );
    let jpeg = out.encode_jpeg(85).expect("encode");
    let b = jpeg.as_bytes();
    assert_eq!(&b[..2], &[0xFF, 0xD8]);
    // Walk the markers up to the scan: only JFIF (APP0), tables and frame headers.
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF && b[i + 1] != 0xDA {
        let marker = b[i + 1];
        assert!(
            !(0xE1..=0xEF).contains(&marker) && marker != 0xFE,
            "metadata marker {marker:#x}"
        );
        i += 2 + usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
    }
    let d = crate::decode::decode_rgb(b, &lensguard_core::Limits::default()).expect("decode");
    assert_eq!((d.frame.width(), d.frame.height()), (33, 17));
    assert_eq!(
        format!("{jpeg:?}"),
        format!("RedactedJpeg({} bytes)", b.len())
    );
}

/// The blur step, naively: every pixel of `r` becomes the rounded mean of the
/// window of `radius` around it (clipped to the frame), horizontally then
/// vertically, reading the frame as it was.
fn naive_blur(frame: &RgbFrame, r: Rect, radius: u32) -> RgbFrame {
    let (w, h) = (frame.width(), frame.height());
    let mut horiz = vec![[0u32; 3]; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius).min(w - 1));
            let mut s = [0u32; 3];
            for xx in x0..=x1 {
                let p = pixel(frame, xx, y);
                (0..3).for_each(|c| s[c] += u32::from(p[c]));
            }
            let n = x1 - x0 + 1;
            horiz[(y * w + x) as usize] = s.map(|v| (v + n / 2) / n);
        }
    }
    let mut out = frame.clone();
    for y in r.y..r.y + r.height {
        for x in r.x..r.x + r.width {
            let (y0, y1) = (y.saturating_sub(radius), (y + radius).min(h - 1));
            let mut s = [0u32; 3];
            for yy in y0..=y1 {
                (0..3).for_each(|c| s[c] += horiz[(yy * w + x) as usize][c]);
            }
            let n = y1 - y0 + 1;
            let at = ((y * w + x) * 3) as usize;
            for (c, v) in s.iter().enumerate() {
                out.pixels_mut()[at + c] = ((v + n / 2) / n) as u8;
            }
        }
    }
    out
}

#[test]
fn the_running_sum_blur_equals_the_naive_one() {
    let frame = noise(57, 43, 11);
    for (r, radius) in [
        (
            Rect {
                x: 0,
                y: 0,
                width: 57,
                height: 43,
            },
            5,
        ),
        (
            Rect {
                x: 10,
                y: 7,
                width: 20,
                height: 30,
            },
            3,
        ),
        (
            Rect {
                x: 50,
                y: 40,
                width: 7,
                height: 3,
            },
            9,
        ),
        (
            Rect {
                x: 3,
                y: 3,
                width: 1,
                height: 1,
            },
            1,
        ),
    ] {
        let mut fast = frame.clone();
        box_blur(&mut fast, r, radius);
        assert!(
            fast == naive_blur(&frame, r, radius),
            "{r:?} radius {radius}"
        );
    }
}
