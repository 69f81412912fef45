//! Contrast: RMS contrast, the standard deviation of luma.

use super::histogram::Histogram;

/// Standard deviation of luma (0 for a flat frame, 127.5 for half black, half white).
pub fn measure(h: &Histogram) -> f64 {
    if h.total == 0 {
        return 0.0;
    }
    let mean = h.mean();
    let var: f64 = h
        .bins
        .iter()
        .enumerate()
        .map(|(v, &n)| (v as f64 - mean).powi(2) * n as f64)
        .sum::<f64>()
        / h.total as f64;
    var.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LumaFrame;

    #[test]
    fn flat_frame_has_no_contrast_and_black_white_has_the_most() {
        let flat = LumaFrame::from_fn(32, 32, |_, _| 90).expect("frame");
        assert_eq!(measure(&Histogram::of(&flat)), 0.0);
        let split = LumaFrame::from_fn(32, 32, |x, _| if x < 16 { 0 } else { 255 }).expect("frame");
        assert!((measure(&Histogram::of(&split)) - 127.5).abs() < 1e-9);
    }
}
