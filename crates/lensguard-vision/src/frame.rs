//! [`LumaFrame`]: decoded greyscale pixels, the only place pixels live in this crate.
//!
//! Privacy invariant: a frame is not `Serialize`, and its `Debug` prints the size,
//! never pixel values, so pixels cannot leak into logs, reports or JSON by accident.

use std::fmt;

/// An 8-bit greyscale image, row-major, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct LumaFrame {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl fmt::Debug for LumaFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LumaFrame({}x{}, pixels hidden)",
            self.width, self.height
        )
    }
}

impl LumaFrame {
    /// A frame from row-major pixels; `None` unless `pixels.len() == width * height`
    /// and both sides are non-zero.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        let expected = (width as usize).checked_mul(height as usize)?;
        (width > 0 && height > 0 && pixels.len() == expected).then_some(LumaFrame {
            width,
            height,
            pixels,
        })
    }

    /// A frame where pixel (x, y) is `f(x, y)`; for tests and synthetic inputs.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> u8) -> Option<Self> {
        let mut pixels = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                pixels.push(f(x, y));
            }
        }
        Self::new(width, height, pixels)
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// All pixels, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Applies an EXIF orientation (1 to 8) so the frame is upright; values outside
    /// 2 to 8 leave it as it is.
    pub fn oriented(self, orientation: u16) -> LumaFrame {
        let (width, height, pixels) = orient(self.width, self.height, 1, self.pixels, orientation);
        LumaFrame {
            width,
            height,
            pixels,
        }
    }
}

/// Turns row-major pixels of `bpp` bytes each upright for an EXIF orientation
/// (1 to 8; other values leave them as they are). Returns the new size too.
pub(crate) fn orient(
    width: u32,
    height: u32,
    bpp: usize,
    pixels: Vec<u8>,
    orientation: u16,
) -> (u32, u32, Vec<u8>) {
    if !(2..=8).contains(&orientation) {
        return (width, height, pixels);
    }
    let (w, h) = (width as usize, height as usize);
    let swap = orientation >= 5;
    let (nw, nh) = if swap { (h, w) } else { (w, h) };
    let mut out = Vec::with_capacity(pixels.len());
    for y in 0..nh {
        for x in 0..nw {
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x),
            };
            let at = (sy * w + sx) * bpp;
            out.extend_from_slice(&pixels[at..at + bpp]);
        }
    }
    (nw as u32, nh as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 frame:  1 2 3
    ///               4 5 6
    fn sample() -> LumaFrame {
        LumaFrame::new(3, 2, vec![1, 2, 3, 4, 5, 6]).expect("valid")
    }

    #[test]
    fn debug_hides_pixels() {
        assert_eq!(format!("{:?}", sample()), "LumaFrame(3x2, pixels hidden)");
    }

    #[test]
    fn wrong_length_or_empty_is_refused() {
        assert!(LumaFrame::new(3, 2, vec![0; 5]).is_none());
        assert!(LumaFrame::new(0, 0, vec![]).is_none());
    }

    #[test]
    fn every_orientation_puts_pixels_where_exif_says() {
        let cases: [(u16, u32, &[u8]); 8] = [
            (1, 3, &[1, 2, 3, 4, 5, 6]),
            (2, 3, &[3, 2, 1, 6, 5, 4]),
            (3, 3, &[6, 5, 4, 3, 2, 1]),
            (4, 3, &[4, 5, 6, 1, 2, 3]),
            (5, 2, &[1, 4, 2, 5, 3, 6]),
            (6, 2, &[4, 1, 5, 2, 6, 3]),
            (7, 2, &[6, 3, 5, 2, 4, 1]),
            (8, 2, &[3, 6, 2, 5, 1, 4]),
        ];
        for (o, width, pixels) in cases {
            let f = sample().oriented(o);
            assert_eq!((f.width(), f.pixels()), (width, pixels), "orientation {o}");
        }
    }
}
