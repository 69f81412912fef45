//! Redacted video, frame by frame: each decoded frame gets the camera's
//! privacy masks burned in, then every region [`crate::cover`] says may
//! show a face hidden by the photos' redaction
//! ([`lensguard_vision::redact`]), and only then leaves as a
//! [`Redacted`] picture (the only kind [`crate::encoder`] encodes).
//!
//! Invariants: frames come out in order, each exactly once, held back at
//! most [`CoverSettings::look_ahead`] frames (so memory is bounded by that
//! many frames); a frame is redacted with every region known for it when
//! it leaves; masks are filled before the regions are redacted (no block
//! mean reads what is under a mask) and again after (no block mean spills
//! into one), so pixels under a mask are black in every output frame.

use crate::cover::{Cover, CoverSettings};
use crate::masks;
use crate::tracker::BoxF;
use lensguard_core::config::cameras::Polygon;
use lensguard_core::policy::RedactStyle;
use lensguard_vision::RgbFrame;
use lensguard_vision::redact::{Rect, Redacted, redact};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Redacts a video's frames.
#[derive(Debug)]
pub struct FrameRedactor {
    cover: Cover,
    held: VecDeque<(u64, RgbFrame)>,
    next: u64,
    masks: Vec<Polygon>,
    style: RedactStyle,
    tracking: Duration,
    hiding: Duration,
}

impl FrameRedactor {
    /// Faces followed as `settings` says, hidden in `style`, `masks`
    /// burned in.
    pub fn new(settings: CoverSettings, masks: Vec<Polygon>, style: RedactStyle) -> FrameRedactor {
        FrameRedactor {
            cover: Cover::new(settings),
            held: VecDeque::new(),
            next: 0,
            masks,
            style,
            tracking: Duration::ZERO,
            hiding: Duration::ZERO,
        }
    }

    /// Time spent so far following faces (the cover) and hiding them
    /// (masks and redaction), for the benchmark's split.
    pub fn times(&self) -> (Duration, Duration) {
        (self.tracking, self.hiding)
    }

    /// The next frame and the faces detected in it (`None`: the detector
    /// did not look at it); the frames redacted now, in order.
    pub fn push(&mut self, frame: RgbFrame, faces: Option<&[BoxF]>) -> Vec<Redacted> {
        self.held.push_back((self.next, frame));
        self.next += 1;
        let started = Instant::now();
        let done = self.cover.push(faces);
        self.tracking += started.elapsed();
        self.release(done)
    }

    /// Every frame still held back, redacted (the video ended).
    pub fn finish(&mut self) -> Vec<Redacted> {
        let started = Instant::now();
        let done = self.cover.finish();
        self.tracking += started.elapsed();
        self.release(done)
    }

    fn release(&mut self, done: Vec<(u64, Vec<BoxF>)>) -> Vec<Redacted> {
        let started = Instant::now();
        let mut out = Vec::with_capacity(done.len());
        for (index, boxes) in done {
            // Cover and frames advance together: the front frame is the one
            // the cover finished.
            let Some((held, frame)) = self.held.pop_front() else {
                break;
            };
            debug_assert_eq!(held, index);
            out.push(self.redact_one(&frame, &boxes));
        }
        self.hiding += started.elapsed();
        out
    }

    fn redact_one(&self, frame: &RgbFrame, boxes: &[BoxF]) -> Redacted {
        let (w, h) = (frame.width(), frame.height());
        let regions: Vec<(Rect, RedactStyle)> = boxes
            .iter()
            .filter_map(|b| Rect::around((b.x, b.y, b.width, b.height), 0.0, w, h))
            .map(|r| (r, self.style))
            .collect();
        // Masks before the regions, so no block mean reads what is under a
        // mask; and after, so a region's block means do not spill into it.
        let hidden = redact(masks::filled(frame, &self.masks), &regions);
        if self.masks.is_empty() || regions.is_empty() {
            return hidden;
        }
        redact(masks::filled(hidden.frame(), &self.masks), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 160;
    const H: u32 = 96;

    /// A generated clip's frame `t`: a mid-grey scene with a 24x28 "face"
    /// of fine texture (a checkerboard of 0 and 255) moving right at 9 px
    /// a frame from x = -12; its true box (ground truth from the generator).
    fn clip(t: u64) -> (RgbFrame, BoxF) {
        let face = BoxF {
            x: -12.0 + 9.0 * t as f32,
            y: 30.0,
            width: 24.0,
            height: 28.0,
        };
        let mut pixels = vec![128u8; (W * H * 3) as usize];
        for y in 0..H {
            for x in 0..W {
                let (fx, fy) = (x as f32, y as f32);
                if fx >= face.x
                    && fx < face.x + face.width
                    && fy >= face.y
                    && fy < face.y + face.height
                {
                    let v = if (x + y) % 2 == 0 { 0 } else { 255 };
                    let at = ((y * W + x) * 3) as usize;
                    pixels[at..at + 3].copy_from_slice(&[v, v, v]);
                }
            }
        }
        (RgbFrame::new(W, H, pixels).expect("frame"), face)
    }

    #[test]
    fn no_frame_shows_the_face_or_what_is_under_a_mask() {
        let mask = Polygon(vec![[0.75, 0.0], [1.0, 0.0], [1.0, 0.25], [0.75, 0.25]]);
        let mut r = FrameRedactor::new(CoverSettings::default(), vec![mask], RedactStyle::Pixelate);
        let frames = 18u64;
        let mut out = Vec::new();
        for t in 0..frames {
            let (frame, face) = clip(t);
            // The detector looks at every other frame, finds the face only
            // once it is wholly in, and misses it at frames 8 to 10.
            let faces = (t % 2 == 0).then(|| {
                if face.x >= 0.0 && !(8..=10).contains(&t) {
                    vec![face]
                } else {
                    vec![]
                }
            });
            out.extend(r.push(frame, faces.as_deref()));
        }
        out.extend(r.finish());
        assert_eq!(out.len(), frames as usize);
        for (t, picture) in out.iter().enumerate() {
            let (original, face) = clip(t as u64);
            let p = picture.frame().pixels();
            let o = original.pixels();
            // No original texture pixel survives inside the face's visible
            // box: each is replaced by a block mean.
            let mut kept = 0;
            let mut inside = 0;
            for y in face.y as u32..(face.y + face.height) as u32 {
                for x in face.x.max(0.0) as u32..((face.x + face.width) as u32).min(W) {
                    let at = ((y * W + x) * 3) as usize;
                    inside += 1;
                    if p[at] == o[at] && (o[at] == 0 || o[at] == 255) {
                        kept += 1;
                    }
                }
            }
            assert_eq!(kept, 0, "frame {t}: {kept} of {inside} face pixels shown");
            // The masked corner is black in every frame.
            for y in 0..H / 4 {
                for x in W * 3 / 4..W {
                    assert_eq!(p[((y * W + x) * 3) as usize], 0, "frame {t} ({x}, {y})");
                }
            }
        }
    }
}
