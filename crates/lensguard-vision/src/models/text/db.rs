//! DB (differentiable binarisation) post-processing: text lines from a
//! probability map, the way PaddleOCR's `DBPostProcess` and RapidOCR do it.
//!
//! 1. Threshold the map at [`PIXEL_THRESHOLD`] and dilate by a 2x2 kernel.
//! 2. Take each 8-connected component (a contour in OpenCV's terms) and its
//!    minimum-area rotated rectangle; drop it when its shorter side is under
//!    [`MIN_SIZE`].
//! 3. Score it as the mean probability inside that rectangle (not just over
//!    the lit pixels, which would score any bright speckle high) and drop it
//!    under the box threshold.
//! 4. Unclip: the map marks the shrunken core of each line, so grow the
//!    rectangle by `area * UNCLIP_RATIO / perimeter` on every side (the offset
//!    PaddleOCR makes with pyclipper, whose rounded corners the next
//!    minimum-area rectangle squares off again); drop it when its shorter side
//!    is under `MIN_SIZE + 2`.
//!
//! Text-like patterns the network lights up (rows of stars, tile grids) pass
//! these steps, as they do in the reference; [`super::verify`] removes them.
//!
//! Invariant (fuzzed): any map of any size gives lines inside the map's
//! bounds (before unclipping) with finite coordinates, never a panic.

use crate::geometry::{Point, Quad, min_area_rect};

/// Map threshold for a text pixel (the reference's `thresh`).
pub const PIXEL_THRESHOLD: f32 = 0.3;
/// How far a line is grown, relative to its area over its perimeter.
pub const UNCLIP_RATIO: f32 = 1.6;
/// Lines with a shorter side than this (map pixels) are noise.
pub const MIN_SIZE: f32 = 3.0;
/// Most components looked at (the reference's `max_candidates`).
pub const MAX_CANDIDATES: usize = 1000;

/// A text line found in a map, in map pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// The unclipped (grown) rotated rectangle.
    pub quad: Quad,
    /// Mean probability inside the core's rectangle.
    pub score: f32,
}

/// A component's measurements, before any is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The core's rotated rectangle.
    pub core: Quad,
    /// Mean probability inside it.
    pub score: f32,
}

/// Text lines in a `width` x `height` map whose score reaches
/// `box_threshold`; empty when the map is not that size.
pub fn lines(map: &[f32], width: usize, height: usize, box_threshold: f32) -> Vec<Line> {
    candidates(map, width, height)
        .into_iter()
        .filter(|c| c.core.short_side() >= MIN_SIZE)
        .filter(|c| c.score >= box_threshold)
        .filter_map(|c| {
            let (a, b) = (c.core.side_a(), c.core.side_b());
            let grow = a * b * UNCLIP_RATIO / (2.0 * (a + b));
            let quad = c.core.grown(grow);
            (quad.short_side() >= MIN_SIZE + 2.0).then_some(Line {
                quad,
                score: c.score,
            })
        })
        .collect()
}

/// Every component's measurements (at most [`MAX_CANDIDATES`]).
pub fn candidates(map: &[f32], width: usize, height: usize) -> Vec<Candidate> {
    if width == 0 || height == 0 || map.len() != width * height {
        return Vec::new();
    }
    let on = binarise(map, width, height);
    let mut seen = vec![false; map.len()];
    let mut stack = Vec::new();
    let mut found = Vec::new();
    for start in 0..map.len() {
        if !on[start] || seen[start] {
            continue;
        }
        if found.len() == MAX_CANDIDATES {
            break;
        }
        seen[start] = true;
        stack.push(start);
        // Each row's leftmost and rightmost pixel: all the hull needs.
        let mut rows: Vec<(usize, usize, usize)> = Vec::new();
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            rows.push((y, x, x));
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let j = ny * width + nx;
                    if on[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        rows.sort_unstable();
        let mut extremes: Vec<Point> = Vec::new();
        for run in rows.chunk_by(|a, b| a.0 == b.0) {
            let y = run[0].0 as f32;
            let (l, r) = run
                .iter()
                .fold((usize::MAX, 0), |(l, r), &(_, x, _)| (l.min(x), r.max(x)));
            extremes.push((l as f32, y));
            extremes.push((r as f32, y));
        }
        let Some(core) = min_area_rect(&extremes) else {
            continue;
        };
        let score = mean_inside(map, width, height, &core);
        found.push(Candidate { core, score });
    }
    found
}

/// Thresholds `map` and dilates by 2x2 (each pixel also lights its right and
/// lower neighbours), as the reference's `use_dilation`.
fn binarise(map: &[f32], width: usize, height: usize) -> Vec<bool> {
    let mut on = vec![false; map.len()];
    for y in 0..height {
        for x in 0..width {
            // NaN compares false: an unreadable probability is not text.
            if map[y * width + x] > PIXEL_THRESHOLD {
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < width && ny < height {
                        on[ny * width + nx] = true;
                    }
                }
            }
        }
    }
    on
}

/// Mean probability over the pixels whose centres lie in `quad` (edges
/// included, as OpenCV's `fillPoly` draws them).
fn mean_inside(map: &[f32], width: usize, height: usize, quad: &Quad) -> f32 {
    let (x0, y0, x1, y1) = quad.bounds();
    let clamp = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi - 1);
    let (x0, x1) = (clamp(x0.floor(), width), clamp(x1.ceil(), width));
    let (y0, y1) = (clamp(y0.floor(), height), clamp(y1.ceil(), height));
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            if quad.contains((x as f32, y as f32), 0.5) {
                let p = map[y * width + x];
                sum += if p.is_finite() { f64::from(p) } else { 0.0 };
                n += 1;
            }
        }
    }
    if n == 0 {
        return 0.0;
    }
    (sum / n as f64) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paint(map: &mut [f32], w: usize, (x0, y0, x1, y1): (usize, usize, usize, usize), v: f32) {
        for y in y0..y1 {
            for x in x0..x1 {
                map[y * w + x] = v;
            }
        }
    }

    #[test]
    fn a_bright_bar_becomes_one_grown_line_and_faint_or_tiny_blobs_none() {
        let (w, h) = (40, 20);
        let mut map = vec![0.0f32; w * h];
        paint(&mut map, w, (5, 8, 30, 12), 0.9);
        map[2 * w + 35] = 0.9; // a single bright pixel: noise
        paint(&mut map, w, (30, 14, 38, 19), 0.4); // faint: below the box threshold
        let found = lines(&map, w, h, 0.5);
        assert_eq!(found.len(), 1, "{found:?}");
        let l = found[0];
        // The dilated core spans pixel centres 5..=30 and 8..=12: 25 x 4,
        // grown by 25*4*1.6/58 = 2.76 on every side.
        let (x0, y0, x1, _) = l.quad.bounds();
        assert!((x0 - (5.0 - 2.759)).abs() < 0.01, "{l:?}");
        assert!((y0 - (8.0 - 2.759)).abs() < 0.01, "{l:?}");
        assert!((x1 - x0 - (25.0 + 5.517)).abs() < 0.01, "{l:?}");
        assert!(l.score > 0.6 && l.score < 0.9, "{l:?}");
        assert!(lines(&map, w, h + 1, 0.5).is_empty(), "wrong size map");
    }

    #[test]
    fn a_speckled_patch_scores_by_its_whole_rectangle_not_its_lit_pixels() {
        // Bright dots on a diagonal lattice join (8-connected after dilation)
        // into one component whose rectangle is mostly dark: the reference's
        // mean over the rectangle is low, a mean over lit pixels would be 0.9.
        let (w, h) = (60, 60);
        let mut map = vec![0.0f32; w * h];
        for k in 0..25 {
            map[(10 + k) * w + 10 + k] = 0.9;
            map[(10 + k) * w + 34 - k] = 0.9;
        }
        let c = candidates(&map, w, h);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].score < 0.5, "{c:?}");
        assert!(lines(&map, w, h, 0.5).is_empty());
    }

    #[test]
    fn a_tilted_line_keeps_its_tilt() {
        let (w, h) = (120, 80);
        let mut map = vec![0.0f32; w * h];
        for u in 0..80 {
            for v in 0..6 {
                let (x, y) = (
                    20.0 + u as f32 * 0.94 - v as f32 * 0.34,
                    20.0 + u as f32 * 0.34 + v as f32 * 0.94,
                );
                map[y.round() as usize * w + x.round() as usize] = 0.95;
            }
        }
        let found = lines(&map, w, h, 0.5);
        assert_eq!(found.len(), 1, "{found:?}");
        let q = found[0].quad;
        let (x0, y0, x1, y1) = q.bounds();
        assert!(q.area() < 0.6 * (x1 - x0) * (y1 - y0), "{q:?}");
    }

    #[test]
    fn maps_of_nonsense_give_no_panic_and_finite_lines() {
        let w = 7;
        for map in [
            vec![f32::NAN; 49],
            vec![f32::INFINITY; 49],
            vec![1.0; 49],
            vec![-1.0; 49],
        ] {
            for l in lines(&map, w, 7, 0.5) {
                assert!(
                    l.quad
                        .corners
                        .iter()
                        .all(|(x, y)| x.is_finite() && y.is_finite()),
                    "{l:?}"
                );
            }
        }
        assert!(lines(&[], 0, 0, 0.5).is_empty());
        assert!(lines(&[0.9], 1, 1, 0.5).is_empty());
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any map, of any size up to 48 x 48 with any values (NaN and
        /// infinities included): no panic, every core on the map with a
        /// finite score, and every line with finite corners and a score
        /// between the threshold and 1. (A rotated minimum-area rectangle
        /// may overhang the map's edge, as the reference's does: a
        /// component of pixels along a diagonal near a border is enclosed
        /// by a tilted rectangle whose corner lies past it. Redaction clips
        /// every box to the photo.)
        #[test]
        fn random_maps_give_finite_lines_inside_the_map(
            (w, h, map) in (1usize..48, 1usize..48).prop_flat_map(|(w, h)| {
                (
                    Just(w),
                    Just(h),
                    proptest::collection::vec(
                        prop_oneof![
                            0.0f32..1.0,
                            Just(0.9f32),
                            Just(f32::NAN),
                            Just(f32::INFINITY),
                            Just(-1.0f32),
                        ],
                        w * h,
                    ),
                )
            }),
            threshold in 0.0f32..1.0,
        ) {
            for c in candidates(&map, w, h) {
                let (x0, y0, x1, y1) = c.core.bounds();
                prop_assert!(c.core.corners.iter().all(|(x, y)| x.is_finite() && y.is_finite()), "{c:?}");
                prop_assert!(x0 <= w as f32 && y0 <= h as f32 && x1 >= 0.0 && y1 >= 0.0, "{c:?}");
                prop_assert!(c.score.is_finite() && c.score <= 1.0, "{c:?}");
            }
            for l in lines(&map, w, h, threshold) {
                prop_assert!(l.quad.corners.iter().all(|(x, y)| x.is_finite() && y.is_finite()), "{l:?}");
                prop_assert!(l.score >= threshold && l.score <= 1.0, "{l:?}");
            }
        }
    }
}
