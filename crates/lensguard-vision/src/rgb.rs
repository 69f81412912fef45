//! [`RgbFrame`]: 8-bit RGB pixels for the detectors and for redaction. Like `LumaFrame`, it is not
//! `Serialize` and its `Debug` never prints pixels.

use std::fmt;

/// An 8-bit RGB image, row-major, 3 bytes a pixel, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbFrame {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RgbFrame({}x{}, pixels hidden)", self.width, self.height)
    }
}

impl RgbFrame {
    /// A frame from row-major RGB bytes; `None` unless the length is
    /// `width * height * 3` and both sides are non-zero.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(3)?;
        (width > 0 && height > 0 && pixels.len() == expected).then_some(RgbFrame {
            width,
            height,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGB bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The RGB bytes, to change in place (redaction does).
    pub(crate) fn pixels_mut(&mut self) -> &mut [u8] {
        &mut self.pixels
    }

    /// Applies an EXIF orientation (1 to 8) so the frame is upright.
    pub fn oriented(self, orientation: u16) -> RgbFrame {
        let (width, height, pixels) =
            crate::frame::orient(self.width, self.height, 3, self.pixels, orientation);
        RgbFrame {
            width,
            height,
            pixels,
        }
    }

    /// The rectangle at (`x`, `y`) of `width` x `height`, clipped to the frame;
    /// `None` when nothing of it is inside.
    pub fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> Option<RgbFrame> {
        let x1 = x.saturating_add(width).min(self.width);
        let y1 = y.saturating_add(height).min(self.height);
        if x >= x1 || y >= y1 {
            return None;
        }
        let stride = self.width as usize * 3;
        let mut pixels = Vec::with_capacity((x1 - x) as usize * (y1 - y) as usize * 3);
        for row in y..y1 {
            let at = row as usize * stride;
            pixels.extend_from_slice(&self.pixels[at + x as usize * 3..at + x1 as usize * 3]);
        }
        RgbFrame::new(x1 - x, y1 - y, pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_clips_to_the_frame_and_orientation_moves_whole_pixels() {
        // 2x2:  (1,1,1) (2,2,2)
        //       (3,3,3) (4,4,4)
        let f = RgbFrame::new(2, 2, vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]).expect("frame");
        assert_eq!(
            f.crop(1, 0, 5, 5).map(|c| c.pixels().to_vec()),
            Some(vec![2, 2, 2, 4, 4, 4])
        );
        assert!(f.crop(2, 0, 1, 1).is_none());
        assert!(f.crop(0, 0, 0, 1).is_none());
        let r = f.oriented(6);
        assert_eq!(r.pixels(), &[3, 3, 3, 1, 1, 1, 4, 4, 4, 2, 2, 2]);
        assert_eq!(format!("{r:?}"), "RgbFrame(2x2, pixels hidden)");
    }
}
