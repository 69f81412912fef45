//! Exposure: mean luma and the fractions of clipped shadows and highlights.

use super::histogram::Histogram;
use lensguard_core::report::Exposure;

/// Luma at or below this is a clipped shadow.
pub const SHADOW_CLIP: u8 = 8;
/// Luma at or above this is a clipped highlight.
pub const HIGHLIGHT_CLIP: u8 = 247;

/// Exposure figures from the histogram.
pub fn measure(h: &Histogram) -> Exposure {
    Exposure {
        mean_luma: h.mean(),
        shadows_clipped: h.fraction(0..=SHADOW_CLIP),
        highlights_clipped: h.fraction(HIGHLIGHT_CLIP..=255),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LumaFrame;

    fn flat(v: u8) -> Histogram {
        Histogram::of(&LumaFrame::from_fn(64, 48, |_, _| v).expect("frame"))
    }

    #[test]
    fn black_frame_is_all_clipped_shadow() {
        let e = measure(&flat(0));
        assert_eq!(
            (e.mean_luma, e.shadows_clipped, e.highlights_clipped),
            (0.0, 1.0, 0.0)
        );
    }

    #[test]
    fn white_frame_is_all_clipped_highlight() {
        let e = measure(&flat(255));
        assert_eq!(
            (e.mean_luma, e.shadows_clipped, e.highlights_clipped),
            (255.0, 0.0, 1.0)
        );
    }

    #[test]
    fn half_clipped_highlights_are_counted() {
        let f = LumaFrame::from_fn(100, 10, |x, _| if x < 50 { 128 } else { 250 }).expect("frame");
        let e = measure(&Histogram::of(&f));
        assert!((e.highlights_clipped - 0.5).abs() < 1e-9);
        assert!((e.mean_luma - 189.0).abs() < 1e-9);
    }
}
