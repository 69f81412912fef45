//! Sharpness: variance of the 4-neighbour Laplacian on the analysis image,
//! normalised twice so one threshold serves every photo.
//!
//! - Size: every input is brought to the same analysis size (about 512 pixels on
//!   the long side), so a 12-megapixel photo and a 640x480 one of the same scene
//!   score alike.
//! - Contrast: the Laplacian's variance grows with the square of the image's
//!   contrast, so a dark or foggy but well-focused photo would otherwise read as
//!   blurred. [`normalised`] divides by the luma variance (plus a small floor, so
//!   flat frames do not divide by zero): the score measures how much of the
//!   image's contrast sits in fine detail.
//!
//! Border pixels are skipped.

use crate::frame::LumaFrame;

/// Luma variance floor (a standard deviation of 5) in [`normalised`].
const VARIANCE_FLOOR: f64 = 25.0;

/// Sharpness score: `100 * laplacian_variance / (luma_std^2 + 25)`. Sharp photos
/// score 20 to 100; visibly blurred ones under 3.
pub fn normalised(laplacian_variance: f64, luma_std: f64) -> f64 {
    100.0 * laplacian_variance / (luma_std * luma_std + VARIANCE_FLOOR)
}

/// Variance of the Laplacian; 0 for frames smaller than 3x3.
pub fn laplacian_variance(frame: &LumaFrame) -> f64 {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let p = frame.pixels();
    let mut sum = 0i64;
    let mut sum_sq = 0i64;
    for y in 1..h - 1 {
        let up = &p[(y - 1) * w..y * w];
        let row = &p[y * w..(y + 1) * w];
        let down = &p[(y + 1) * w..(y + 2) * w];
        let mut row_sum = 0i32;
        let mut row_sq = 0i64;
        for x in 1..w - 1 {
            let lap = i32::from(up[x])
                + i32::from(down[x])
                + i32::from(row[x - 1])
                + i32::from(row[x + 1])
                - 4 * i32::from(row[x]);
            row_sum += lap;
            row_sq += i64::from(lap * lap);
        }
        sum += i64::from(row_sum);
        sum_sq += row_sq;
    }
    let n = ((w - 2) * (h - 2)) as f64;
    let mean = sum as f64 / n;
    (sum_sq as f64 / n - mean * mean).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkerboard(cell: u32) -> LumaFrame {
        LumaFrame::from_fn(256, 192, |x, y| {
            if (x / cell + y / cell).is_multiple_of(2) {
                30
            } else {
                220
            }
        })
        .expect("frame")
    }

    /// A separable box blur of the given radius.
    fn box_blur(f: &LumaFrame, r: i64) -> LumaFrame {
        let (w, h) = (i64::from(f.width()), i64::from(f.height()));
        let at = |x: i64, y: i64| {
            i64::from(f.pixels()[(y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) as usize])
        };
        LumaFrame::from_fn(f.width(), f.height(), |x, y| {
            let (x, y) = (i64::from(x), i64::from(y));
            let mut s = 0;
            for dy in -r..=r {
                for dx in -r..=r {
                    s += at(x + dx, y + dy);
                }
            }
            (s / ((2 * r + 1) * (2 * r + 1))) as u8
        })
        .expect("frame")
    }

    #[test]
    fn flat_frame_has_zero_sharpness() {
        let f = LumaFrame::from_fn(64, 64, |_, _| 128).expect("frame");
        assert_eq!(laplacian_variance(&f), 0.0);
    }

    #[test]
    fn blurring_a_checkerboard_lowers_sharpness_by_far() {
        let sharp = checkerboard(8);
        let blurred = box_blur(&sharp, 3);
        let (s, b) = (laplacian_variance(&sharp), laplacian_variance(&blurred));
        assert!(s > 1000.0, "sharp {s}");
        assert!(b < s / 10.0, "sharp {s}, blurred {b}");
    }

    #[test]
    fn normalised_score_ignores_contrast_but_not_blur() {
        let sharp = checkerboard(8);
        // The same checkerboard at a fifth of the contrast (a dark photo).
        let dim = LumaFrame::from_fn(256, 192, |x, y| {
            if (x / 8 + y / 8).is_multiple_of(2) {
                6
            } else {
                44
            }
        })
        .expect("frame");
        let score = |f: &LumaFrame| {
            let h = crate::checks::histogram::Histogram::of(f);
            normalised(laplacian_variance(f), crate::checks::contrast::measure(&h))
        };
        let (s, d, b) = (score(&sharp), score(&dim), score(&box_blur(&sharp, 3)));
        assert!((d / s) > 0.8, "sharp {s}, dim {d}");
        assert!(b < s / 10.0, "sharp {s}, blurred {b}");
    }

    #[test]
    fn tiny_frames_score_zero_without_panicking() {
        let f = LumaFrame::from_fn(2, 100, |x, _| (x * 200) as u8).expect("frame");
        assert_eq!(laplacian_variance(&f), 0.0);
    }
}
