//! Redaction: hiding regions of a photo, and the only way to get pixels that may
//! leave the device.
//!
//! [`Redacted`] can be made only by [`redact`], and [`RedactedJpeg`] only from a
//! [`Redacted`]; everything that stores or sends a derivative takes a
//! [`RedactedJpeg`], so handing it an unredacted frame does not compile. The
//! encoder writes no metadata markers at all: no EXIF (GPS above all), no XMP,
//! no ICC profile, no comment.
//!
//! Every style first divides the region into blocks no smaller than
//! 1/[`BLOCKS`] of its longer side and replaces each block by its mean:
//! - `pixelate` stops there;
//! - `blur` then smooths the blocks with a box blur one block wide, so the
//!   region looks blurred but carries no more than the block means;
//! - `fill` paints the region black.
//!
//! Invariant (property-tested): pixels outside the regions are untouched, and
//! what is inside a region depends only on its block means (fill: on nothing),
//! so no pixel of a hidden face or label survives.

pub mod dct;

use crate::{Error, RgbFrame};
use lensguard_core::Limits;
use lensguard_core::policy::RedactStyle;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Blocks along a region's longer side. Six, not more: with eight, a
/// blurred face kept enough of a head's shape in its block means for
/// CenterFace to score it 0.2 to 0.3 in a few pictures of a redacted clip
/// (`scripts/bench-video-redaction`); with six it scores none.
pub const BLOCKS: u32 = 6;

/// A rectangle in whole pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// The box (`x`, `y`, `width`, `height` in pixels, fractional) grown by
    /// `margin` of its size on every side, rounded outwards and clipped to a
    /// `frame_width` x `frame_height` frame; `None` when nothing is left.
    pub fn around(
        (x, y, width, height): (f32, f32, f32, f32),
        margin: f32,
        frame_width: u32,
        frame_height: u32,
    ) -> Option<Rect> {
        let (mx, my) = (width.max(0.0) * margin, height.max(0.0) * margin);
        let x0 = (x - mx).floor().max(0.0);
        let y0 = (y - my).floor().max(0.0);
        let x1 = (x + width + mx).ceil().min(frame_width as f32);
        let y1 = (y + height + my).ceil().min(frame_height as f32);
        if !(x1 > x0 && y1 > y0) {
            return None;
        }
        Some(Rect {
            x: x0 as u32,
            y: y0 as u32,
            width: (x1 - x0) as u32,
            height: (y1 - y0) as u32,
        })
    }

    /// The side of the square blocks this region is divided into.
    pub fn block_side(&self) -> u32 {
        self.width.max(self.height).div_ceil(BLOCKS).max(1)
    }

    /// The blocks of this region, row by row (edge blocks may be smaller).
    pub fn blocks(&self) -> impl Iterator<Item = Rect> + '_ {
        let s = self.block_side();
        (0..self.height.div_ceil(s)).flat_map(move |by| {
            (0..self.width.div_ceil(s)).map(move |bx| Rect {
                x: self.x + bx * s,
                y: self.y + by * s,
                width: s.min(self.width - bx * s),
                height: s.min(self.height - by * s),
            })
        })
    }
}

/// A frame whose regions have been hidden. Only [`redact`] makes one.
#[derive(Debug)]
pub struct Redacted {
    frame: RgbFrame,
    regions: usize,
}

impl Redacted {
    /// The redacted pixels.
    pub fn frame(&self) -> &RgbFrame {
        &self.frame
    }

    /// How many regions were hidden.
    pub fn regions(&self) -> usize {
        self.regions
    }

    /// Encodes as a baseline JPEG of `quality` (1 to 100) with no metadata.
    pub fn encode_jpeg(&self, quality: u8) -> Result<RedactedJpeg, Error> {
        let f = &self.frame;
        let encoded = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
            let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
            c.set_size(f.width() as usize, f.height() as usize);
            c.set_fastest_defaults();
            c.set_quality(f32::from(quality.clamp(1, 100)));
            let mut started = c.start_compress(Vec::new())?;
            started.write_scanlines(f.pixels())?;
            started.finish()
        }));
        match encoded {
            Ok(Ok(bytes)) => Ok(RedactedJpeg(bytes)),
            Ok(Err(e)) => Err(Error::Encode(e.to_string())),
            Err(_) => Err(Error::Encode("the JPEG encoder stopped".to_owned())),
        }
    }
}

impl Redacted {
    /// A small copy whose longer side is at most `max_side`, made by
    /// averaging whole blocks of the redacted pixels (so it shows nothing the
    /// redacted frame hides), encoded like [`Redacted::encode_jpeg`].
    pub fn thumbnail(&self, max_side: u32, quality: u8) -> Result<RedactedJpeg, Error> {
        let f = &self.frame;
        let long = f.width().max(f.height());
        let k = long.div_ceil(max_side.max(1)).max(1);
        let (w, h) = (f.width().div_ceil(k), f.height().div_ceil(k));
        let mut small = Vec::with_capacity(w as usize * h as usize * 3);
        let src = f.pixels();
        let stride = f.width() as usize * 3;
        for by in 0..h {
            let (y0, y1) = (by * k, ((by + 1) * k).min(f.height()));
            for bx in 0..w {
                let (x0, x1) = (bx * k, ((bx + 1) * k).min(f.width()));
                let mut sum = [0u64; 3];
                for row in src.chunks_exact(stride).take(y1 as usize).skip(y0 as usize) {
                    for px in row[x0 as usize * 3..x1 as usize * 3].chunks_exact(3) {
                        for (s, v) in sum.iter_mut().zip(px) {
                            *s += u64::from(*v);
                        }
                    }
                }
                let n = u64::from((x1 - x0) * (y1 - y0)).max(1);
                small.extend(sum.iter().map(|s| (s / n) as u8));
            }
        }
        let frame = RgbFrame::new(w, h, small)
            .ok_or_else(|| Error::Encode("thumbnail size overflow".to_owned()))?;
        Redacted {
            frame,
            regions: self.regions,
        }
        .encode_jpeg(quality)
    }
}

/// JPEG bytes of a [`Redacted`] frame: the only image bytes allowed to leave.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedJpeg(Vec<u8>);

impl std::fmt::Debug for RedactedJpeg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedactedJpeg({} bytes)", self.0.len())
    }
}

impl RedactedJpeg {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The encoded bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// A thumbnail of this JPEG, longer side at most `max_side`: decoded at
    /// the smallest DCT scale that keeps at least `max_side` pixels, then
    /// averaged like [`Redacted::thumbnail`], so it shows nothing this JPEG
    /// does not.
    pub fn thumbnail(
        &self,
        max_side: u32,
        quality: u8,
        limits: &Limits,
    ) -> Result<RedactedJpeg, Error> {
        let decoded = crate::decode::decode_rgb_scaled(&self.0, limits, |h| {
            let long = h.width.max(h.height);
            [8u8, 4, 2]
                .into_iter()
                .find(|&d| long.div_ceil(u32::from(d)) >= max_side)
                .unwrap_or(1)
        })?;
        Redacted {
            frame: decoded.frame,
            regions: 0,
        }
        .thumbnail(max_side, quality)
    }

    /// As a redacted derivative the vault may keep (the only way one is
    /// made outside tests).
    pub fn into_redacted_image(self) -> lensguard_core::pixels::RedactedImage {
        lensguard_core::pixels::__from_redaction::redacted(self.0)
    }

    /// As a thumbnail the vault may keep.
    pub fn into_thumbnail_image(self) -> lensguard_core::pixels::ThumbnailImage {
        lensguard_core::pixels::__from_redaction::thumbnail(self.0)
    }
}

/// Hides each region of `frame` in its style.
///
/// Every region is filled or pixelated before any is blurred, so a blur that
/// reaches past its region's edge into another region reads only that region's
/// block means, never its original pixels.
pub fn redact(mut frame: RgbFrame, regions: &[(Rect, RedactStyle)]) -> Redacted {
    let clipped: Vec<_> = regions
        .iter()
        .filter_map(|&(r, style)| clip(r, &frame).map(|r| (r, style)))
        .collect();
    for &(r, style) in &clipped {
        match style {
            RedactStyle::Fill => fill(&mut frame, r, [0, 0, 0]),
            RedactStyle::Pixelate | RedactStyle::Blur => pixelate(&mut frame, r),
        }
    }
    for &(r, style) in &clipped {
        if style == RedactStyle::Blur {
            box_blur(&mut frame, r, r.block_side());
        }
    }
    Redacted {
        frame,
        regions: clipped.len(),
    }
}

fn clip(r: Rect, frame: &RgbFrame) -> Option<Rect> {
    let x1 = r.x.saturating_add(r.width).min(frame.width());
    let y1 = r.y.saturating_add(r.height).min(frame.height());
    (x1 > r.x && y1 > r.y).then_some(Rect {
        x: r.x,
        y: r.y,
        width: x1 - r.x,
        height: y1 - r.y,
    })
}

fn fill(frame: &mut RgbFrame, r: Rect, colour: [u8; 3]) {
    let stride = frame.width() as usize * 3;
    let px = frame.pixels_mut();
    for y in r.y..r.y + r.height {
        let row = y as usize * stride;
        for x in r.x..r.x + r.width {
            let at = row + x as usize * 3;
            px[at..at + 3].copy_from_slice(&colour);
        }
    }
}

fn pixelate(frame: &mut RgbFrame, r: Rect) {
    let stride = frame.width() as usize * 3;
    for b in r.blocks() {
        let mut sum = [0u64; 3];
        let px = frame.pixels();
        for y in b.y..b.y + b.height {
            let row = y as usize * stride;
            for x in b.x..b.x + b.width {
                let at = row + x as usize * 3;
                for c in 0..3 {
                    sum[c] += u64::from(px[at + c]);
                }
            }
        }
        let n = u64::from(b.width) * u64::from(b.height);
        let mean = sum.map(|s| ((s + n / 2) / n) as u8);
        fill(frame, b, mean);
    }
}

/// A separable box blur of `radius` over `r`, reading pixels outside `r` (not
/// secret) as they are and writing only inside `r`. Running sums make it cost
/// the same whatever the radius.
fn box_blur(frame: &mut RgbFrame, r: Rect, radius: u32) {
    let (fw, fh) = (frame.width() as usize, frame.height() as usize);
    let rad = radius as usize;
    let (rx, ry, rw, rh) = (
        r.x as usize,
        r.y as usize,
        r.width as usize,
        r.height as usize,
    );
    // Horizontal pass over r's columns for the rows a vertical window can reach.
    let y0 = ry.saturating_sub(rad);
    let y1 = (ry + rh - 1 + rad).min(fh - 1);
    let px = frame.pixels();
    let mut horiz = vec![[0u32; 3]; (y1 - y0 + 1) * rw];
    for y in y0..=y1 {
        let row = &px[y * fw * 3..(y + 1) * fw * 3];
        let window = |x: usize| (x.saturating_sub(rad), (x + rad).min(fw - 1));
        let (mut a, mut b) = window(rx);
        let mut sum = [0u32; 3];
        for xx in a..=b {
            for c in 0..3 {
                sum[c] += u32::from(row[xx * 3 + c]);
            }
        }
        let out = &mut horiz[(y - y0) * rw..(y - y0 + 1) * rw];
        for (i, slot) in out.iter_mut().enumerate() {
            let x = rx + i;
            let (na, nb) = window(x);
            while b < nb {
                b += 1;
                for c in 0..3 {
                    sum[c] += u32::from(row[b * 3 + c]);
                }
            }
            while a < na {
                for c in 0..3 {
                    sum[c] -= u32::from(row[a * 3 + c]);
                }
                a += 1;
            }
            let n = (b - a + 1) as u32;
            *slot = sum.map(|v| (v + n / 2) / n);
        }
    }
    // Vertical pass, writing only inside r.
    let px = frame.pixels_mut();
    for i in 0..rw {
        let window = |y: usize| (y.saturating_sub(rad).max(y0), (y + rad).min(y1));
        let (mut a, mut b) = window(ry);
        let mut sum = [0u32; 3];
        for yy in a..=b {
            for c in 0..3 {
                sum[c] += horiz[(yy - y0) * rw + i][c];
            }
        }
        for y in ry..ry + rh {
            let (na, nb) = window(y);
            while b < nb {
                b += 1;
                for c in 0..3 {
                    sum[c] += horiz[(b - y0) * rw + i][c];
                }
            }
            while a < na {
                for c in 0..3 {
                    sum[c] -= horiz[(a - y0) * rw + i][c];
                }
                a += 1;
            }
            let n = (b - a + 1) as u32;
            let at = (y * fw + rx + i) * 3;
            for c in 0..3 {
                px[at + c] = ((sum[c] + n / 2) / n) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests;
