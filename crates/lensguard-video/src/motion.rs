//! Motion gating in the manner of Frigate's improved motion detector: the
//! luma scaled down to a small motion frame, its contrast stretched by the
//! running 4th and 96th percentiles, blurred, compared with a running-average
//! background; pixels that changed by more than the threshold, dilated and
//! grouped into 8-connected regions, are motion when a region's outline
//! encloses more than the contour area (measured like OpenCV's contour area,
//! so specks of sensor noise count for almost nothing, in the threshold and
//! in the share of the frame that moved).
//!
//! Two departures from Frigate: the contrast history starts full of the
//! first frame's percentiles (not 0 and 255, from which the stretch would
//! drift for 50 frames and show a still scene as moving), and a lightning
//! change refills it with the new frame's, so the stretch jumps to the new
//! light at once instead of drifting into it after calibration ended.
//!
//! Invariants: while the detector calibrates (at start, and whenever more
//! than `lightning_threshold` of the frame changed at once: lights, IR
//! switching, a camera moved) it reports no motion and learns the background
//! fast (rate 0.2), until under 5% of the frame moves in at most 4 regions;
//! a region that keeps moving for 10 frames is slowly learnt into the
//! background, so a parked car stops being motion; boxes are in the
//! pixels of the frame given, never outside it.

use lensguard_core::config::cameras::MotionSettings;
use lensguard_vision::LumaFrame;

/// Frames of contrast history averaged (Frigate's `contrast_frame_history`).
const CONTRAST_HISTORY: usize = 50;
/// The background learning rate while calibrating.
const CALIBRATING_ALPHA: f32 = 0.2;
/// Frames a region must keep moving before it is learnt into the background.
const PERSISTENT_FRAMES: u32 = 10;

/// A region that moved, in the pixels of the frame given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MotionBox {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// What one frame showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Motion {
    /// The regions that moved (none while calibrating).
    pub boxes: Vec<MotionBox>,
    /// The share of the motion frame that changed, 0 to 1.
    pub share: f32,
    /// Whether the detector is (re)learning the background.
    pub calibrating: bool,
}

/// One camera's motion detector.
#[derive(Debug)]
pub struct MotionDetector {
    settings: MotionSettings,
    /// The motion frame's width and height, fixed by the first frame.
    size: Option<(usize, usize)>,
    background: Vec<f32>,
    contrast: [(u8, u8); CONTRAST_HISTORY],
    contrast_at: usize,
    /// Whether the contrast history holds a frame's values yet.
    contrast_started: bool,
    calibrating: bool,
    moving_frames: u32,
}

impl MotionDetector {
    /// A detector with `settings`.
    pub fn new(settings: MotionSettings) -> MotionDetector {
        MotionDetector {
            settings,
            size: None,
            background: Vec::new(),
            contrast: [(0, 255); CONTRAST_HISTORY],
            contrast_at: 0,
            contrast_started: false,
            calibrating: true,
            moving_frames: 0,
        }
    }

    /// The motion in `frame`. A frame of another size than the first
    /// restarts the detector (the stream changed resolution).
    pub fn detect(&mut self, frame: &LumaFrame) -> Motion {
        let (fw, fh) = (frame.width() as usize, frame.height() as usize);
        let mh = (self.settings.frame_height as usize).min(fh).max(1);
        let mw = (mh * fw / fh).max(1);
        if self.size != Some((mw, mh)) {
            *self = MotionDetector::new(self.settings);
            self.size = Some((mw, mh));
        }
        let (small, percentiles) = self.stretched(&nearest(frame, mw, mh));
        let blurred = blur(&small, mw, mh);
        if self.background.is_empty() {
            // The first frame is the first background (not black).
            self.background = blurred.iter().map(|&p| f32::from(p)).collect();
        }
        let mut changed: Vec<bool> = blurred
            .iter()
            .zip(&self.background)
            .map(|(&p, &b)| {
                let b = b.round().clamp(0.0, 255.0) as u8;
                p.abs_diff(b) > self.settings.threshold
            })
            .collect();
        changed = dilate(&changed, mw, mh);
        let scale = fh as f32 / mh as f32;
        let mut boxes = Vec::new();
        let mut total = 0f64;
        for region in regions(&changed, mw, mh) {
            let area = region.contour_area();
            total += area;
            if area > f64::from(self.settings.contour_area) {
                let x0 = (region.x0 as f32 * scale) as u32;
                let y0 = (region.y0 as f32 * scale) as u32;
                let x1 = (((region.x1 + 1) as f32 * scale) as u32).min(fw as u32);
                let y1 = (((region.y1 + 1) as f32 * scale) as u32).min(fh as u32);
                boxes.push(MotionBox {
                    x: x0,
                    y: y0,
                    width: x1.saturating_sub(x0),
                    height: y1.saturating_sub(y0),
                });
            }
        }
        let share = (total / (mw * mh) as f64) as f32;
        if share < 0.05 && boxes.len() <= 4 {
            self.calibrating = false;
        }
        if share as f64 > self.settings.lightning_threshold {
            self.calibrating = true;
            if let Some(p) = percentiles {
                self.contrast = [p; CONTRAST_HISTORY];
            }
        }
        let alpha = if self.calibrating {
            CALIBRATING_ALPHA
        } else {
            self.settings.frame_alpha as f32
        };
        let learn = if boxes.is_empty() {
            self.moving_frames = 0;
            true
        } else {
            self.moving_frames = self.moving_frames.saturating_add(1);
            // While calibrating the scene is being learnt, moving or not.
            self.calibrating || self.moving_frames >= PERSISTENT_FRAMES
        };
        if learn {
            for (b, &p) in self.background.iter_mut().zip(&blurred) {
                *b += alpha * (f32::from(p) - *b);
            }
        }
        if self.calibrating {
            boxes.clear();
        }
        Motion {
            boxes,
            share,
            calibrating: self.calibrating,
        }
    }

    /// `small` with its contrast stretched between the running averages of
    /// its 4th and 96th percentiles (unchanged when it is one grey), and
    /// this frame's percentiles.
    fn stretched(&mut self, small: &[u8]) -> (Vec<u8>, Option<(u8, u8)>) {
        let mut histogram = [0usize; 256];
        for &p in small {
            histogram[usize::from(p)] += 1;
        }
        let (lo, hi) = (
            percentile(&histogram, small.len(), 4),
            percentile(&histogram, small.len(), 96),
        );
        if lo >= hi {
            return (small.to_vec(), None);
        }
        if !self.contrast_started {
            // The first frame with contrast: its own values, so a textured
            // scene is stretched from the start. After plain frames (whose
            // background is learnt unstretched), the history starts from
            // no stretch instead and moves towards the scene's a frame at a
            // time, as Frigate's does: a jump would change every pixel at
            // once and read as a light switching.
            let start = if self.background.is_empty() {
                (lo, hi)
            } else {
                (0, 255)
            };
            self.contrast = [start; CONTRAST_HISTORY];
            self.contrast_started = true;
        }
        self.contrast[self.contrast_at] = (lo, hi);
        self.contrast_at = (self.contrast_at + 1) % CONTRAST_HISTORY;
        let n = CONTRAST_HISTORY as f32;
        let avg_lo = self.contrast.iter().map(|c| f32::from(c.0)).sum::<f32>() / n;
        let avg_hi = self.contrast.iter().map(|c| f32::from(c.1)).sum::<f32>() / n;
        if avg_hi <= avg_lo {
            return (small.to_vec(), Some((lo, hi)));
        }
        let out = small
            .iter()
            .map(|&p| {
                ((f32::from(p).clamp(avg_lo, avg_hi) - avg_lo) / (avg_hi - avg_lo) * 255.0) as u8
            })
            .collect();
        (out, Some((lo, hi)))
    }
}

/// The value below which `pct` percent of the `n` pixels in `histogram` lie.
fn percentile(histogram: &[usize; 256], n: usize, pct: usize) -> u8 {
    let target = n * pct / 100;
    let mut seen = 0;
    for (v, &count) in histogram.iter().enumerate() {
        seen += count;
        if seen > target {
            return v as u8;
        }
    }
    255
}

/// `frame` scaled to `w` x `h` by nearest neighbour.
fn nearest(frame: &LumaFrame, w: usize, h: usize) -> Vec<u8> {
    let (fw, fh) = (frame.width() as usize, frame.height() as usize);
    let px = frame.pixels();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let sy = (y * fh / h).min(fh - 1);
        for x in 0..w {
            let sx = (x * fw / w).min(fw - 1);
            out.push(px[sy * fw + sx]);
        }
    }
    out
}

/// A Gaussian blur of sigma 1 and radius 1, separable, edges mirrored.
fn blur(p: &[u8], w: usize, h: usize) -> Vec<u8> {
    const K: [f32; 3] = [0.274_068_6, 0.451_862_8, 0.274_068_6];
    let at = |i: isize, n: usize| -> usize {
        if i < 0 {
            0
        } else if i as usize >= n {
            n - 1
        } else {
            i as usize
        }
    };
    let mut rows = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            rows[y * w + x] = (0..3)
                .map(|k| K[k] * f32::from(p[y * w + at(x as isize + k as isize - 1, w)]))
                .sum();
        }
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let v: f32 = (0..3)
                .map(|k| K[k] * rows[at(y as isize + k as isize - 1, h) * w + x])
                .sum();
            out.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// `on` grown by one pixel in every direction (3x3).
fn dilate(on: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if on[y * w + x] {
                for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                    for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                        out[ny * w + nx] = true;
                    }
                }
            }
        }
    }
    out
}

/// An 8-connected region: its pixel count and bounding box (inclusive).
struct Region {
    area: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Region {
    /// The area of the region's outline, as a contour's area is measured
    /// (the polygon through its edge pixels' centres), estimated as its
    /// pixel count times `(w - 1)(h - 1) / (w h)` of its bounding box: a
    /// filled block keeps nearly all of it, a speck of noise (a 3x3 blob
    /// after dilation: 4) or a one-pixel line has little or none.
    fn contour_area(&self) -> f64 {
        let (w, h) = (
            (self.x1 - self.x0 + 1) as f64,
            (self.y1 - self.y0 + 1) as f64,
        );
        self.area as f64 * (w - 1.0) * (h - 1.0) / (w * h)
    }
}

/// The 8-connected regions of `on`.
fn regions(on: &[bool], w: usize, h: usize) -> Vec<Region> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !on[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut r = Region {
            area: 0,
            x0: usize::MAX,
            y0: usize::MAX,
            x1: 0,
            y1: 0,
        };
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            r.area += 1;
            r.x0 = r.x0.min(x);
            r.y0 = r.y0.min(y);
            r.x1 = r.x1.max(x);
            r.y1 = r.y1.max(y);
            for ny in y.saturating_sub(1)..=(y + 1).min(h - 1) {
                for nx in x.saturating_sub(1)..=(x + 1).min(w - 1) {
                    let j = ny * w + nx;
                    if on[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 640x360 textured scene (a wall of slow gradients) with `brightness`
    /// added, and a 60x60 dark square at `square`, if any.
    fn scene(square: Option<(u32, u32)>, brightness: i32) -> LumaFrame {
        LumaFrame::from_fn(640, 360, |x, y| {
            if let Some((sx, sy)) = square
                && (sx..sx + 60).contains(&x)
                && (sy..sy + 60).contains(&y)
            {
                return 20;
            }
            let base = 90 + ((x / 40 + y / 30) % 4) as i32 * 25;
            (base + brightness).clamp(0, 255) as u8
        })
        .expect("valid size")
    }

    fn calibrated() -> MotionDetector {
        let mut d = MotionDetector::new(MotionSettings::default());
        for _ in 0..40 {
            d.detect(&scene(None, 0));
        }
        assert!(!d.detect(&scene(None, 0)).calibrating);
        d
    }

    #[test]
    fn a_still_scene_has_no_motion_once_calibrated() {
        let mut d = MotionDetector::new(MotionSettings::default());
        let first = d.detect(&scene(None, 0));
        assert!(
            first.boxes.is_empty(),
            "the first frame is the background: {first:?}"
        );
        let mut d = calibrated();
        for _ in 0..50 {
            let m = d.detect(&scene(None, 0));
            assert!(m.boxes.is_empty(), "{m:?}");
        }
    }

    #[test]
    fn a_moving_object_is_boxed_where_it_is() {
        let mut d = calibrated();
        for step in 0..8u32 {
            let (sx, sy) = (100 + step * 40, 150);
            let m = d.detect(&scene(Some((sx, sy)), 0));
            assert!(!m.boxes.is_empty(), "step {step}: {m:?}");
            // Some box covers the square's centre, and none is far larger
            // than the square and where it was (dilation and blur add a few
            // motion-frame pixels, 3.6 frame pixels each).
            let (cx, cy) = (sx + 30, sy + 30);
            assert!(
                m.boxes
                    .iter()
                    .any(|b| (b.x..b.x + b.width).contains(&cx)
                        && (b.y..b.y + b.height).contains(&cy)),
                "step {step}: {m:?}"
            );
            for b in &m.boxes {
                assert!(b.width <= 60 + 40 + 40 && b.height <= 60 + 40, "{b:?}");
                assert!(b.x + b.width <= 640 && b.y + b.height <= 360, "{b:?}");
            }
        }
    }

    #[test]
    fn a_body_crossing_a_plain_scene_is_motion_from_entry_to_exit() {
        // A uniform grey scene (no contrast to stretch) and a 171x200
        // checked body walking in from the left at 32 px a frame.
        let mut d = MotionDetector::new(MotionSettings::default());
        let mut moving = Vec::new();
        for i in 0..40i32 {
            let x0 = -520 + 32 * i;
            let frame = LumaFrame::from_fn(640, 360, |x, y| {
                let inside = (x0..x0 + 171).contains(&(x as i32)) && y >= 160;
                match (inside, (x / 8 + y / 8) % 2) {
                    (true, 0) => 30,
                    (true, _) => 200,
                    (false, _) => 120,
                }
            })
            .expect("valid size");
            let m = d.detect(&frame);
            let visible = x0 + 171 > 0 && x0 < 640;
            assert_eq!(!m.boxes.is_empty(), visible, "frame {i} (x {x0}): {m:?}");
            moving.push(!m.boxes.is_empty());
        }
        assert_eq!(moving.iter().filter(|m| **m).count(), 26);
    }

    #[test]
    fn lights_switching_recalibrate_instead_of_reporting_motion() {
        let mut d = calibrated();
        let mut recalibrated = false;
        for _ in 0..60 {
            let m = d.detect(&scene(None, 70));
            recalibrated |= m.calibrating;
            assert!(m.boxes.is_empty(), "{m:?}");
        }
        assert!(recalibrated);
        // And motion is seen again afterwards.
        let m = d.detect(&scene(Some((300, 150)), 70));
        assert!(!m.boxes.is_empty(), "{m:?}");
    }

    #[test]
    fn an_object_that_stops_is_learnt_into_the_background() {
        let mut d = calibrated();
        let mut last = Vec::new();
        for _ in 0..400 {
            last = d.detect(&scene(Some((300, 150)), 0)).boxes;
        }
        assert!(last.is_empty(), "{last:?}");
    }
}
