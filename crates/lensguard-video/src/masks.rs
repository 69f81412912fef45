//! Privacy masks burned into pictures: every pixel whose centre lies inside
//! a mask's polygon (fractions of the frame) becomes black.
//!
//! Shared by event snapshots and redacted video, so a mask hides the same
//! pixels wherever a picture leaves.

use lensguard_core::config::cameras::Polygon;
use lensguard_vision::RgbFrame;

/// `frame` with every mask filled black.
pub fn filled(frame: &RgbFrame, masks: &[Polygon]) -> RgbFrame {
    if masks.is_empty() {
        return frame.clone();
    }
    let (w, h) = (frame.width(), frame.height());
    let mut pixels = frame.pixels().to_vec();
    for y in 0..h {
        let fy = (f64::from(y) + 0.5) / f64::from(h);
        for x in 0..w {
            let fx = (f64::from(x) + 0.5) / f64::from(w);
            if masks.iter().any(|m| m.contains(fx, fy)) {
                let at = ((y * w + x) * 3) as usize;
                pixels[at..at + 3].copy_from_slice(&[0, 0, 0]);
            }
        }
    }
    RgbFrame::new(w, h, pixels).unwrap_or_else(|| frame.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_fills_exactly_the_pixels_inside_it() {
        let frame = RgbFrame::new(10, 4, vec![200; 10 * 4 * 3]).expect("frame");
        // The left half.
        let mask = Polygon(vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]);
        let out = filled(&frame, &[mask]);
        let p = out.pixels();
        for y in 0..4 {
            for x in 0..10 {
                let v = p[(y * 10 + x) * 3];
                assert_eq!(v, if x < 5 { 0 } else { 200 }, "({x}, {y})");
            }
        }
        assert_eq!(filled(&frame, &[]).pixels(), frame.pixels());
    }
}
