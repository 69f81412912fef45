//! Downscaling a frame to the analysis size (antialiased bilinear
//! convolution), and a colour frame's greyscale averaged over cells.

use crate::RgbFrame;
use crate::frame::LumaFrame;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// Resamples `frame` so its long side is `target`, when it is more than 10% larger;
/// smaller frames are returned as they are (upscaling would invent detail).
pub(crate) fn to_long_side(frame: LumaFrame, target: u32) -> LumaFrame {
    let (w, h) = (frame.width(), frame.height());
    let long = w.max(h);
    if target == 0 || u64::from(long) * 10 <= u64::from(target) * 11 {
        return frame;
    }
    let scale = f64::from(target) / f64::from(long);
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    resize(&frame, nw, nh).unwrap_or(frame)
}

/// Resamples `frame` to exactly `width` x `height`; `None` only if the resizer
/// refuses the buffers (which a valid frame never gives it).
pub(crate) fn resize(frame: &LumaFrame, width: u32, height: u32) -> Option<LumaFrame> {
    let src = ImageRef::new(frame.width(), frame.height(), frame.pixels(), PixelType::U8).ok()?;
    let mut dst = Image::new(width, height, PixelType::U8);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    Resizer::new().resize(&src, &mut dst, &options).ok()?;
    LumaFrame::new(width, height, dst.into_vec())
}

/// The BT.601 luma of `frame` (libjpeg's fixed-point weights, so a JPEG's
/// greyscale decode and this agree to rounding), averaged over `cell` x
/// `cell` cells: `ceil(width / cell)` x `ceil(height / cell)` pixels, the
/// cells on the right and bottom edges averaging what they hold. A `cell` of
/// 0 means 1. `None` only for a frame whose buffer does not match its size
/// (which [`RgbFrame::new`] never makes).
pub(crate) fn binned_luma(frame: &RgbFrame, cell: u32) -> Option<LumaFrame> {
    const R: u32 = 19_595;
    const G: u32 = 38_470;
    const B: u32 = 7_471;
    let cell = cell.max(1) as usize;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (ow, oh) = (w.div_ceil(cell), h.div_ceil(cell));
    let mut out = Vec::with_capacity(ow * oh);
    // Per output column: the sum of 65536 x luma over the cell.
    let mut sums = vec![0u64; ow];
    for band in frame.pixels().chunks(w * 3 * cell) {
        sums.fill(0);
        let rows = band.len() / (w * 3);
        for row in band.chunks_exact(w * 3) {
            for (sum, run) in sums.iter_mut().zip(row.chunks(cell * 3)) {
                *sum += run
                    .chunks_exact(3)
                    .map(|p| {
                        u64::from(R * u32::from(p[0]) + G * u32::from(p[1]) + B * u32::from(p[2]))
                    })
                    .sum::<u64>();
            }
        }
        for (x, sum) in sums.iter().enumerate() {
            let cols = cell.min(w - x * cell);
            let n = (rows * cols) as u64 * 65_536;
            out.push(((sum + n / 2) / n).min(255) as u8);
        }
    }
    LumaFrame::new(ow as u32, oh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binned_luma_weighs_like_libjpeg_and_averages_edge_cells_over_what_they_hold() {
        // Red, green, blue, white: libjpeg's greyscale of each.
        let pure = RgbFrame::new(4, 1, vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
            .expect("valid");
        let luma = binned_luma(&pure, 1).expect("valid");
        assert_eq!(luma.pixels(), &[76, 150, 29, 255]);
        // A 3x3 grey ramp in 2x2 cells: the right and bottom cells are one
        // pixel wide or high and average only that.
        let ramp =
            RgbFrame::new(3, 3, (0..9u8).flat_map(|v| [v * 10; 3]).collect()).expect("valid");
        let binned = binned_luma(&ramp, 2).expect("valid");
        assert_eq!((binned.width(), binned.height()), (2, 2));
        // (0+10+30+40)/4, (20+50)/2, (60+70)/2, 80.
        assert_eq!(binned.pixels(), &[20, 35, 65, 80]);
        assert_eq!(binned_luma(&ramp, 0), binned_luma(&ramp, 1));
    }
}
