//! An event's snapshot: the picture where its object scored best, with the
//! camera's privacy masks painted over and faces and printed text hidden as
//! the policy says, before it is sealed.
//!
//! Invariants: the only way to a stored snapshot is [`redacted_snapshot`],
//! which returns a [`RedactedImage`] (the vault's redacted category) made by
//! the same redaction as photos ([`lensguard_vision::derive::derive_frame`]):
//! when a detector the policy needs is unavailable the snapshot is withheld,
//! never stored unredacted. Masks are filled black pixel by pixel (a pixel
//! whose centre is inside the polygon), before detection, so nothing under
//! a mask is ever kept.

use lensguard_core::config::cameras::Polygon;
use lensguard_core::pixels::RedactedImage;
use lensguard_core::policy::Policy;
use lensguard_vision::RgbFrame;
use lensguard_vision::derive::{Derivative, Detectors, derive_frame};

/// `frame` with every mask filled black.
pub fn masked(frame: &RgbFrame, masks: &[Polygon]) -> RgbFrame {
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

/// The snapshot to keep of `frame`: masks filled, then redacted as `policy`
/// says; `Err(why)` when it must be withheld.
pub fn redacted_snapshot(
    frame: &RgbFrame,
    masks: &[Polygon],
    detectors: &Detectors,
    policy: &Policy,
) -> Result<RedactedImage, String> {
    match derive_frame(masked(frame, masks), detectors, policy).derivative {
        Derivative::Redacted { jpeg, .. } => Ok(jpeg.into_redacted_image()),
        Derivative::Withheld { message, .. } => Err(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_fills_exactly_the_pixels_inside_it() {
        let frame = RgbFrame::new(10, 4, vec![200; 10 * 4 * 3]).expect("frame");
        // The left half.
        let mask = Polygon(vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]);
        let out = masked(&frame, &[mask]);
        let p = out.pixels();
        for y in 0..4 {
            for x in 0..10 {
                let v = p[(y * 10 + x) * 3];
                assert_eq!(v, if x < 5 { 0 } else { 200 }, "({x}, {y})");
            }
        }
        assert_eq!(masked(&frame, &[]).pixels(), frame.pixels());
    }
}
