//! Downscaling a frame to the analysis size (antialiased bilinear convolution).

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
