//! Glare: connected regions of saturated pixels (specular reflections, flash
//! bounce on shrink-wrap or glass).
//!
//! A pixel is saturated at luma >= [`SATURATED`]. Regions are 4-connected; only
//! regions covering at least [`MIN_REGION_FRACTION`] of the frame count, so
//! scattered bright pixels (a white shirt's weave, noise) are not glare. The figure
//! does not depend on the policy; the policy only sets how much is too much.

use crate::frame::LumaFrame;
use lensguard_core::report::Glare;

/// Luma at or above this is saturated.
pub const SATURATED: u8 = 250;
/// Smallest region that counts, as a fraction of the frame (0.1%: about 190
/// pixels of a 504x378 analysis image).
pub const MIN_REGION_FRACTION: f64 = 0.001;

/// Fraction of the frame covered by saturated regions large enough to count.
pub fn measure(frame: &LumaFrame) -> Glare {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let pixels = frame.pixels();
    let total = pixels.len();
    let min_region = ((total as f64 * MIN_REGION_FRACTION).ceil() as usize).max(4);
    let mut seen = vec![false; total];
    let mut stack = Vec::new();
    let (mut covered, mut regions) = (0usize, 0u32);
    for start in 0..total {
        if seen[start] || pixels[start] < SATURATED {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut size = 0usize;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % w, i / w);
            let neighbours = [
                (x > 0).then(|| i - 1),
                (x + 1 < w).then(|| i + 1),
                (y > 0).then(|| i - w),
                (y + 1 < h).then(|| i + w),
            ];
            for n in neighbours.into_iter().flatten() {
                if !seen[n] && pixels[n] >= SATURATED {
                    seen[n] = true;
                    stack.push(n);
                }
            }
        }
        if size >= min_region {
            covered += size;
            regions += 1;
        }
    }
    Glare {
        fraction: if total == 0 {
            0.0
        } else {
            covered as f64 / total as f64
        },
        regions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clipped_highlight_blob_is_glare() {
        // A 40x40 saturated square on a mid-grey 200x100 frame: 8% of the frame.
        let f = LumaFrame::from_fn(200, 100, |x, y| {
            if (50..90).contains(&x) && (30..70).contains(&y) {
                255
            } else {
                120
            }
        })
        .expect("frame");
        let g = measure(&f);
        assert_eq!(g.regions, 1);
        assert!((g.fraction - 0.08).abs() < 1e-9, "{g:?}");
    }

    #[test]
    fn scattered_bright_pixels_are_not_glare() {
        let f = LumaFrame::from_fn(
            200,
            100,
            |x, y| if (x + y).is_multiple_of(2) { 255 } else { 100 },
        )
        .expect("frame");
        assert_eq!(
            measure(&f),
            Glare {
                fraction: 0.0,
                regions: 0
            }
        );
    }

    #[test]
    fn dark_frame_has_no_glare() {
        let f = LumaFrame::from_fn(64, 64, |_, _| 3).expect("frame");
        assert_eq!(measure(&f).regions, 0);
    }
}
