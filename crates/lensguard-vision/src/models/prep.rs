//! Input preparation shared by the detectors: scale a frame so its long side is
//! the detection scale, and lay it out as a zero-padded NCHW tensor whose sides
//! are multiples of the network's stride.

use super::RgbFrame;
use super::runtime::NchwInput;
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// A frame scaled for a detector, and how to map its coordinates back.
pub struct Scaled {
    /// RGB bytes, `width * height * 3`.
    pub pixels: Vec<u8>,
    /// Scaled width.
    pub width: usize,
    /// Scaled height.
    pub height: usize,
    /// Multiply a scaled coordinate by this to get the frame's.
    pub back: f32,
}

/// `frame` with its long side at `scale` pixels (at least 32), or `None` when the
/// resampler refuses (it does not for valid frames).
pub fn scale_to(frame: &RgbFrame, scale: u32) -> Option<Scaled> {
    let scale = scale.max(32);
    let long = frame.width().max(frame.height());
    let factor = f64::from(scale) / f64::from(long);
    let w = ((f64::from(frame.width()) * factor).round() as u32).max(1);
    let h = ((f64::from(frame.height()) * factor).round() as u32).max(1);
    let pixels = if (w, h) == (frame.width(), frame.height()) {
        frame.pixels().to_vec()
    } else {
        let src = ImageRef::new(
            frame.width(),
            frame.height(),
            frame.pixels(),
            PixelType::U8x3,
        )
        .ok()?;
        let mut dst = Image::new(w, h, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
        Resizer::new().resize(&src, &mut dst, &options).ok()?;
        dst.into_vec()
    };
    Some(Scaled {
        pixels,
        width: w as usize,
        height: h as usize,
        back: (f64::from(long) / f64::from(scale)) as f32,
    })
}

/// `scaled` as a 3-plane tensor padded with zeros to multiples of `stride`;
/// `value(channel, byte)` maps each sample, and `order` picks which RGB byte
/// feeds each plane (`[0, 1, 2]` for RGB, `[2, 1, 0]` for BGR).
pub fn to_nchw(
    scaled: &Scaled,
    stride: usize,
    order: [usize; 3],
    value: impl Fn(usize, u8) -> f32,
) -> NchwInput {
    let pw = scaled.width.div_ceil(stride) * stride;
    let ph = scaled.height.div_ceil(stride) * stride;
    let mut input = NchwInput::zeros(3, ph, pw);
    let plane = ph * pw;
    for (i, px) in scaled.pixels.chunks_exact(3).enumerate() {
        let (x, y) = (i % scaled.width, i / scaled.width);
        for (c, &src) in order.iter().enumerate() {
            input.data[c * plane + y * pw + x] = value(c, px[src]);
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_keeps_the_aspect_and_padding_is_zero() {
        let frame = RgbFrame::new(200, 100, vec![255; 200 * 100 * 3]).expect("frame");
        let s = scale_to(&frame, 64).expect("scaled");
        assert_eq!((s.width, s.height, s.back), (64, 32, 200.0 / 64.0));
        let t = to_nchw(&s, 32, [2, 1, 0], |_, v| f32::from(v));
        assert_eq!((t.channels, t.height, t.width), (3, 32, 64));
        let odd = RgbFrame::new(3, 1, vec![10, 20, 30, 0, 0, 0, 0, 0, 0]).expect("frame");
        let s = scale_to(&odd, 3).expect("scaled");
        assert_eq!((s.width, s.height), (32, 11));
        // A 1x1 frame becomes 32x32 of its colour; BGR order puts blue first.
        let one = RgbFrame::new(1, 1, vec![10, 20, 30]).expect("frame");
        let s = scale_to(&one, 1).expect("scaled");
        let t = to_nchw(&s, 32, [2, 1, 0], |_, v| f32::from(v));
        assert_eq!(t.data.len(), 3 * 32 * 32);
        assert!(t.data[..1024].iter().all(|&v| v == 30.0));
        assert!(t.data[2048..].iter().all(|&v| v == 10.0));
        // 40x20 pads to 64x32 with zeros right and below.
        let f = RgbFrame::new(40, 20, vec![7; 40 * 20 * 3]).expect("frame");
        let t = to_nchw(&scale_to(&f, 40).expect("scaled"), 32, [0, 1, 2], |_, v| {
            f32::from(v)
        });
        assert_eq!((t.height, t.width), (32, 64));
        assert_eq!((t.data[39], t.data[40], t.data[20 * 64]), (7.0, 0.0, 0.0));
    }
}
