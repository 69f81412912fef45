//! Printed-text detection with PP-OCRv4's detector (the model RapidOCR ships).
//!
//! Pre-processing follows RapidOCR: BGR planes, `(v / 255 - 0.5) / 0.5`, sides
//! padded to multiples of 32. The network answers with a DB (differentiable
//! binarisation) probability map at input resolution; [`regions`] turns it into
//! boxes: threshold the map, dilate by one pixel, take 8-connected components,
//! keep those whose mean probability reaches the box threshold, and grow each box
//! by `area * 1.6 / perimeter` (RapidOCR's unclip ratio), since the map marks
//! the shrunken core of each text line.

use super::runtime::Network;
use super::{Detection, PP_OCR_V4_DET, RgbFrame, prep};
use crate::Error;

/// Map threshold for a text pixel (RapidOCR's `thresh`).
const PIXEL_THRESHOLD: f32 = 0.3;
/// How far a box is grown, relative to its area over its perimeter.
const UNCLIP_RATIO: f32 = 1.6;
/// Components with a shorter side than this (map pixels) are noise.
const MIN_SIDE: usize = 3;

/// A loaded PP-OCRv4 text detector.
#[derive(Debug)]
pub struct TextDetector {
    net: Network,
}

impl TextDetector {
    /// Loads the model from its bytes, which must match [`PP_OCR_V4_DET`].
    pub fn load(bytes: &[u8]) -> Result<TextDetector, Error> {
        Self::load_on(bytes, &super::runtime::Backend::Tract)
    }

    /// Loads the model on `backend`.
    pub fn load_on(bytes: &[u8], backend: &super::runtime::Backend) -> Result<TextDetector, Error> {
        Ok(TextDetector {
            net: Network::load_on(PP_OCR_V4_DET, bytes, backend)?,
        })
    }

    /// The runtime it runs on (`tract` or `onnxruntime`).
    pub fn runtime(&self) -> &'static str {
        self.net.runtime()
    }

    /// The model and runtime, as a report records them.
    pub fn model_run(&self) -> lensguard_core::report::ModelRun {
        self.net.model_run()
    }

    /// Text regions in `frame`, detected with its long side scaled to `scale`
    /// pixels, keeping regions whose mean probability reaches `threshold`
    /// (RapidOCR's `box_thresh`, 0.5).
    pub fn detect(
        &self,
        frame: &RgbFrame,
        scale: u32,
        threshold: f32,
    ) -> Result<Vec<Detection>, Error> {
        let scaled = prep::scale_to(frame, scale).ok_or_else(|| self.net.invalid("resize"))?;
        let input = prep::to_nchw(&scaled, 32, [2, 1, 0], |_, v| {
            (f32::from(v) / 255.0 - 0.5) / 0.5
        });
        let (ph, pw) = (input.height, input.width);
        let outputs = self.net.run(input)?;
        let map = match outputs.first() {
            Some(o) if o.shape == [1, 1, ph, pw] => o,
            Some(o) => {
                return Err(self
                    .net
                    .invalid(format!("unexpected output shape {:?}", o.shape)));
            }
            None => return Err(self.net.invalid("no output")),
        };
        let (w, h) = (scaled.width as f32, scaled.height as f32);
        Ok(regions(&map.data, pw, ph, threshold)
            .into_iter()
            .filter_map(|d| {
                let x0 = d.x.max(0.0);
                let y0 = d.y.max(0.0);
                let x1 = (d.x + d.width).min(w);
                let y1 = (d.y + d.height).min(h);
                (x1 > x0 && y1 > y0).then_some(Detection {
                    x: x0 * scaled.back,
                    y: y0 * scaled.back,
                    width: (x1 - x0) * scaled.back,
                    height: (y1 - y0) * scaled.back,
                    score: d.score,
                })
            })
            .collect())
    }
}

/// Boxes from a `width` x `height` probability map (see the module docs).
pub fn regions(map: &[f32], width: usize, height: usize, box_threshold: f32) -> Vec<Detection> {
    if map.len() != width * height {
        return Vec::new();
    }
    // Threshold, then a 2x2 dilation (each pixel also lights its right and
    // lower neighbours), as RapidOCR's `use_dilation`.
    let mut on = vec![false; map.len()];
    for y in 0..height {
        for x in 0..width {
            if map[y * width + x] > PIXEL_THRESHOLD {
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < width && ny < height {
                        on[ny * width + nx] = true;
                    }
                }
            }
        }
    }
    let mut seen = vec![false; map.len()];
    let mut stack = Vec::new();
    let mut found = Vec::new();
    for start in 0..map.len() {
        if !on[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (width, height, 0, 0);
        let (mut sum, mut count) = (0.0f64, 0usize);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % width, i / width);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            sum += f64::from(map[i]);
            count += 1;
            for ny in y.saturating_sub(1)..=(y + 1).min(height - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(width - 1) {
                    let j = ny * width + nx;
                    if on[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
        let score = (sum / count as f64) as f32;
        if bw.min(bh) < MIN_SIDE || score < box_threshold {
            continue;
        }
        let (bw, bh) = (bw as f32, bh as f32);
        let grow = bw * bh * UNCLIP_RATIO / (2.0 * (bw + bh));
        found.push(Detection {
            x: x0 as f32 - grow,
            y: y0 as f32 - grow,
            width: bw + 2.0 * grow,
            height: bh + 2.0 * grow,
            score,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bright_bar_becomes_one_grown_box_and_faint_or_tiny_blobs_none() {
        let (w, h) = (40, 20);
        let mut map = vec![0.0f32; w * h];
        for y in 8..12 {
            for x in 5..30 {
                map[y * w + x] = 0.9;
            }
        }
        map[2 * w + 35] = 0.9; // a single bright pixel: noise
        for y in 14..19 {
            for x in 30..38 {
                map[y * w + x] = 0.4; // faint: below the box threshold
            }
        }
        let found = regions(&map, w, h, 0.5);
        assert_eq!(found.len(), 1, "{found:?}");
        let d = found[0];
        // 26 x 5 after dilation; grown by 26*5*1.6/62 = 3.35 on every side.
        assert!((d.x - (5.0 - 3.354)).abs() < 0.01, "{d:?}");
        assert!((d.width - (26.0 + 6.709)).abs() < 0.01, "{d:?}");
        assert!(d.score > 0.6 && d.score < 0.9, "{d:?}");
        assert!(regions(&map, w, h + 1, 0.5).is_empty(), "wrong size map");
    }
}
