//! Redaction of a JPEG in the DCT domain: only the 8x8 blocks under a hidden
//! region change, every other block is copied bit-exact, and only the entropy
//! coding is redone. The evidence outside the regions keeps the quality it was
//! taken at, and nothing is decoded to pixels or re-quantised.
//!
//! Each region is first grown to whole MCUs (the 16x16 or 8x8 grid every
//! component's blocks align to), so every block it touches, luma and chroma,
//! is hidden; then, per component:
//! - `pixelate`: the region is cut into square cells of whole MCUs, at least
//!   [`Rect::block_side`] pixels wide (as coarse as the pixel path's blocks
//!   or coarser); every block's AC coefficients become 0 and its DC the mean
//!   DC of its cell, so the cell shows its mean colour;
//! - `blur`: the same cell means, each block's DC then interpolated
//!   bilinearly between the means of the cells around its centre, so the
//!   region shades smoothly from cell to cell in 8-pixel steps;
//! - `fill`: AC 0 and the DC of black (luma, or each RGB component) or of
//!   neutral chroma.
//!
//! Invariant (property-tested in `tests.rs`): blocks outside the grown regions
//! are bit-identical to the input's, and what is inside a region depends only
//! on its cells' mean DCs (fill: on nothing). Fills run before pixelation and
//! blur, so a region overlapping a filled one averages black, never the
//! original. Every hidden block is DC-only, so no original pixel detail
//! survives: the same guarantee as the pixel path's block means.

use super::{Rect, RedactedJpeg};
use crate::Error;
use crate::libjpeg::coefficients::{Coefficients, Colour, Component, transcode};
use lensguard_core::policy::RedactStyle;

/// A region grown to whole MCUs, in MCU units, with its cell side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Area {
    /// First MCU column and row.
    x0: u32,
    y0: u32,
    /// One past the last MCU column and row.
    x1: u32,
    y1: u32,
    /// Cell side, in MCUs.
    cell: u32,
}

/// Hides each region (in the JPEG's stored pixel coordinates) of the JPEG
/// in `bytes` in its style, in the DCT domain. Returns the JPEG and how many
/// regions were hidden. Errors when the JPEG cannot be transcoded (damaged,
/// or a colour space or sampling this path does not handle); the caller then
/// falls back to decoding and redacting pixels.
pub fn redact_jpeg(
    bytes: &[u8],
    regions: &[(Rect, RedactStyle)],
) -> Result<(RedactedJpeg, usize), Error> {
    let mut hidden = 0;
    let out = transcode(bytes, |co| hidden = hide(co, regions))?;
    Ok((RedactedJpeg(out), hidden))
}

/// Hides `regions` in `co`; returns how many were inside the image.
fn hide(co: &mut Coefficients<'_>, regions: &[(Rect, RedactStyle)]) -> usize {
    let areas: Vec<(Area, RedactStyle)> = regions
        .iter()
        .filter_map(|&(r, style)| area(r, co.mcu(), co.size()).map(|a| (a, style)))
        .collect();
    let components: Vec<Component> = co.components().to_vec();
    let (mcu, colour) = (co.mcu(), co.colour());
    let fills = areas.iter().filter(|(_, s)| *s == RedactStyle::Fill);
    let others = areas.iter().filter(|(_, s)| *s != RedactStyle::Fill);
    for (a, style) in fills.chain(others) {
        for (i, c) in components.iter().enumerate() {
            let blocks = blocks_of(a, c, mcu);
            match style {
                RedactStyle::Fill => {
                    let dc = black_dc(colour, i, c.dc_step);
                    paint(co, i, blocks, |_, _| dc);
                }
                RedactStyle::Pixelate | RedactStyle::Blur => {
                    let cells = CellMeans::of(co, i, blocks, cell_blocks(a, c, mcu));
                    if *style == RedactStyle::Pixelate {
                        paint(co, i, blocks, |bx, by| cells.at(bx, by));
                    } else {
                        paint(co, i, blocks, |bx, by| cells.interpolated(bx, by));
                    }
                }
            }
        }
    }
    areas.len()
}

/// `r` grown to whole `mcu`s and clipped to an image of `size`; `None` when
/// nothing of it is inside.
fn area(r: Rect, mcu: (u32, u32), size: (u32, u32)) -> Option<Area> {
    let (mw, mh) = (mcu.0.max(1), mcu.1.max(1));
    let x1 = r.x.saturating_add(r.width).min(size.0);
    let y1 = r.y.saturating_add(r.height).min(size.1);
    if r.width == 0 || r.height == 0 || r.x >= x1 || r.y >= y1 {
        return None;
    }
    Some(Area {
        x0: r.x / mw,
        y0: r.y / mh,
        x1: x1.div_ceil(mw),
        y1: y1.div_ceil(mh),
        cell: r.block_side().div_ceil(mw.max(mh)).max(1),
    })
}

/// A range of block columns and rows of one component.
#[derive(Debug, Clone, Copy)]
struct Blocks {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
}

/// The blocks of component `c` under area `a`.
fn blocks_of(a: &Area, c: &Component, mcu: (u32, u32)) -> Blocks {
    let (per_x, per_y) = (mcu.0 / c.block_width, mcu.1 / c.block_height);
    Blocks {
        x0: a.x0 * per_x,
        y0: a.y0 * per_y,
        x1: (a.x1 * per_x).min(c.blocks_wide),
        y1: (a.y1 * per_y).min(c.blocks_high),
    }
}

/// Cell width and height, in blocks of component `c`.
fn cell_blocks(a: &Area, c: &Component, mcu: (u32, u32)) -> (u32, u32) {
    (
        a.cell * (mcu.0 / c.block_width),
        a.cell * (mcu.1 / c.block_height),
    )
}

/// The quantised DC of a black block in component `index`: luma (or an RGB
/// component) at 0, chroma at neutral. A block of level `v` - 128 has DC
/// 8 (`v` - 128) before quantisation.
fn black_dc(colour: Colour, index: usize, step: u16) -> i16 {
    let chroma = colour == Colour::YCbCr && index > 0;
    if chroma {
        0
    } else {
        (-1024.0 / f32::from(step.max(1))).round() as i16
    }
}

/// Sets every block in `blocks` of component `index` to the DC `dc(bx, by)`
/// (relative block column and row) with no AC.
fn paint(co: &mut Coefficients<'_>, index: usize, blocks: Blocks, dc: impl Fn(u32, u32) -> i16) {
    for by in blocks.y0..blocks.y1 {
        let Some(row) = co.row(index, by) else {
            continue;
        };
        let end = (blocks.x1 as usize).min(row.len());
        for (bx, block) in row
            .iter_mut()
            .enumerate()
            .take(end)
            .skip(blocks.x0 as usize)
        {
            *block = [0; 64];
            block[0] = dc(bx as u32 - blocks.x0, by - blocks.y0);
        }
    }
}

/// The mean DC of each cell of one component's blocks under an area.
struct CellMeans {
    /// Cells across and down.
    across: u32,
    down: u32,
    /// Cell width and height in blocks.
    width: u32,
    height: u32,
    means: Vec<f32>,
}

impl CellMeans {
    fn of(co: &mut Coefficients<'_>, index: usize, blocks: Blocks, cell: (u32, u32)) -> Self {
        let (width, height) = (cell.0.max(1), cell.1.max(1));
        let across = (blocks.x1.saturating_sub(blocks.x0)).div_ceil(width).max(1);
        let down = (blocks.y1.saturating_sub(blocks.y0))
            .div_ceil(height)
            .max(1);
        let mut sums = vec![(0i64, 0u32); (across * down) as usize];
        for by in blocks.y0..blocks.y1 {
            let Some(row) = co.row(index, by) else {
                continue;
            };
            let cy = (by - blocks.y0) / height;
            for bx in blocks.x0..blocks.x1.min(row.len() as u32) {
                let cx = (bx - blocks.x0) / width;
                let s = &mut sums[(cy * across + cx) as usize];
                s.0 += i64::from(row[bx as usize][0]);
                s.1 += 1;
            }
        }
        let means = sums
            .iter()
            .map(|&(sum, n)| if n == 0 { 0.0 } else { sum as f32 / n as f32 })
            .collect();
        CellMeans {
            across,
            down,
            width,
            height,
            means,
        }
    }

    fn mean(&self, cx: u32, cy: u32) -> f32 {
        let (cx, cy) = (cx.min(self.across - 1), cy.min(self.down - 1));
        self.means[(cy * self.across + cx) as usize]
    }

    /// The mean of the cell holding relative block (`bx`, `by`).
    fn at(&self, bx: u32, by: u32) -> i16 {
        self.mean(bx / self.width, by / self.height).round() as i16
    }

    /// The cell means around block (`bx`, `by`)'s centre, interpolated
    /// bilinearly (cells' centres as the knots, clamped at the edges).
    fn interpolated(&self, bx: u32, by: u32) -> i16 {
        let axis = |b: u32, side: u32, cells: u32| {
            let u = (b as f32 + 0.5) / side as f32 - 0.5;
            let i0 = u.floor().clamp(0.0, (cells - 1) as f32);
            let t = (u - i0).clamp(0.0, 1.0);
            (i0 as u32, (i0 as u32 + 1).min(cells - 1), t)
        };
        let (x0, x1, tx) = axis(bx, self.width, self.across);
        let (y0, y1, ty) = axis(by, self.height, self.down);
        let top = self.mean(x0, y0) * (1.0 - tx) + self.mean(x1, y0) * tx;
        let bottom = self.mean(x0, y1) * (1.0 - tx) + self.mean(x1, y1) * tx;
        (top * (1.0 - ty) + bottom * ty).round() as i16
    }
}

#[cfg(test)]
mod tests;
