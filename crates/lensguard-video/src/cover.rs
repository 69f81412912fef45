//! Which regions to hide in every frame of a video, from face detections
//! that may come only every n-th frame and may miss a face for a few
//! frames: no single frame may show a face the detections imply.
//!
//! Frames go through a look-ahead buffer of [`CoverSettings::look_ahead`]
//! frames before their regions are final, so that what is learnt later
//! still covers them:
//! - a face first detected at frame `t` is also hidden in the buffered
//!   frames before `t` (it was entering the frame, or the detector missed
//!   it), with a box that grows with the distance in frames, and once its
//!   second detection gives its speed, with its box moved back along it;
//! - between two detections of the same face the box is interpolated, so
//!   frames the detector skipped or missed are covered where it was;
//! - after its last detection a face stays hidden for
//!   [`CoverSettings::hold`] frames, its box moved on at its speed and
//!   grown with the time since it was seen (hold-over).
//!
//! Every box is grown by [`CoverSettings::margin`] of its size. Limits (also
//! in the docs): a face never detected at all is never hidden; one missed
//! for longer than `hold` frames shows until it is detected again, except
//! for the `look_ahead` frames before that; covering is generous by design
//! (a hidden region larger than the face is the failure mode chosen).
//!
//! Invariants: at most [`CoverSettings::max_tracks`] faces are followed and
//! `look_ahead` frames buffered, so memory is bounded; frames come out in
//! order, each exactly once.

use crate::tracker::BoxF;
use std::collections::VecDeque;

/// How faces are followed between detections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoverSettings {
    /// Frames held back so a face detected later is hidden before it too.
    pub look_ahead: usize,
    /// Frames a face stays hidden after its last detection.
    pub hold: usize,
    /// Margin around every box, as a share of its width and height.
    pub margin: f32,
    /// Faces followed at most.
    pub max_tracks: usize,
}

impl Default for CoverSettings {
    fn default() -> Self {
        CoverSettings {
            look_ahead: 8,
            hold: 10,
            margin: 0.25,
            max_tracks: 64,
        }
    }
}

#[derive(Debug, Clone)]
struct Face {
    /// Its box at its last detection, and that frame.
    last: BoxF,
    last_frame: u64,
    /// Its first detection, and that frame.
    first: BoxF,
    first_frame: u64,
    /// Centre velocity in pixels a frame, once seen twice.
    velocity: Option<(f32, f32)>,
}

/// A frame whose regions are not final yet.
#[derive(Debug)]
struct Pending {
    index: u64,
    boxes: Vec<BoxF>,
}

/// The regions to hide, frame by frame.
#[derive(Debug)]
pub struct Cover {
    settings: CoverSettings,
    faces: Vec<Face>,
    buffer: VecDeque<Pending>,
    next: u64,
}

fn centre(b: &BoxF) -> (f32, f32) {
    (b.x + b.width / 2.0, b.y + b.height / 2.0)
}

/// `b` grown by `share` of its size on every side, plus `extra` pixels.
fn grown(b: &BoxF, share: f32, extra: f32) -> BoxF {
    let (dx, dy) = (b.width * share + extra, b.height * share + extra);
    BoxF {
        x: b.x - dx,
        y: b.y - dy,
        width: b.width + 2.0 * dx,
        height: b.height + 2.0 * dy,
    }
}

fn moved(b: &BoxF, (vx, vy): (f32, f32), frames: f32) -> BoxF {
    BoxF {
        x: b.x + vx * frames,
        y: b.y + vy * frames,
        ..*b
    }
}

fn lerp(a: &BoxF, b: &BoxF, s: f32) -> BoxF {
    let mix = |p: f32, q: f32| p + (q - p) * s;
    BoxF {
        x: mix(a.x, b.x),
        y: mix(a.y, b.y),
        width: mix(a.width, b.width),
        height: mix(a.height, b.height),
    }
}

impl Cover {
    /// An empty cover.
    pub fn new(settings: CoverSettings) -> Cover {
        Cover {
            settings,
            faces: Vec::new(),
            buffer: VecDeque::new(),
            next: 0,
        }
    }

    /// The next frame, with the faces detected in it (`None` when the
    /// detector did not run on it); the frames whose regions are now final,
    /// in order: `(frame index, regions)`.
    pub fn push(&mut self, detected: Option<&[BoxF]>) -> Vec<(u64, Vec<BoxF>)> {
        let t = self.next;
        self.next += 1;
        let margin = self.settings.margin;
        let mut boxes = Vec::new();
        let mut seen = vec![false; self.faces.len()];
        for d in detected.unwrap_or(&[]) {
            if !(d.width > 0.0 && d.height > 0.0 && d.x.is_finite() && d.y.is_finite()) {
                continue;
            }
            boxes.push(grown(d, margin, 0.0));
            match self.matching(t, d, &seen) {
                Some(i) => {
                    seen[i] = true;
                    self.seen_again(i, t, *d);
                }
                None if self.faces.len() < self.settings.max_tracks => {
                    self.backfill_new(t, d);
                    self.faces.push(Face {
                        last: *d,
                        last_frame: t,
                        first: *d,
                        first_frame: t,
                        velocity: None,
                    });
                    seen.push(true);
                }
                // Beyond the bound the detection itself is still hidden.
                None => {}
            }
        }
        // Hold-over for the faces not seen in this frame.
        let hold = self.settings.hold as u64;
        self.faces
            .retain(|f| t.saturating_sub(f.last_frame) <= hold || f.last_frame == t);
        for f in &self.faces {
            if f.last_frame == t {
                continue;
            }
            let gap = (t - f.last_frame) as f32;
            let v = f.velocity.unwrap_or((0.0, 0.0));
            let speed = v.0.hypot(v.1);
            let size = f.last.width.max(f.last.height);
            // Uncertainty grows with the time unseen: half the distance
            // travelled, and a tenth of the size a frame.
            let extra = 0.5 * speed * gap + 0.1 * size * gap;
            boxes.push(grown(&moved(&f.last, v, gap), margin, extra));
        }
        self.buffer.push_back(Pending { index: t, boxes });
        let mut done = Vec::new();
        while self.buffer.len() > self.settings.look_ahead {
            if let Some(p) = self.buffer.pop_front() {
                done.push((p.index, p.boxes));
            }
        }
        done
    }

    /// Every frame still held back, final now (the video ended).
    pub fn finish(&mut self) -> Vec<(u64, Vec<BoxF>)> {
        self.faces.clear();
        self.buffer.drain(..).map(|p| (p.index, p.boxes)).collect()
    }

    /// The face `d` continues, if any: overlap with its predicted box, or
    /// the nearest centre within reach (a diagonal plus half a diagonal a
    /// frame since it was seen).
    fn matching(&self, t: u64, d: &BoxF, seen: &[bool]) -> Option<usize> {
        let candidates = || {
            self.faces
                .iter()
                .enumerate()
                .filter(|(i, _)| !seen.get(*i).copied().unwrap_or(true))
        };
        let predicted = |f: &Face| {
            let gap = t.saturating_sub(f.last_frame) as f32;
            moved(&f.last, f.velocity.unwrap_or((0.0, 0.0)), gap)
        };
        candidates()
            .map(|(i, f)| (i, predicted(f).iou(d)))
            .filter(|(_, iou)| *iou >= 0.2)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
            .or_else(|| {
                candidates()
                    .filter_map(|(i, f)| {
                        let p = predicted(f);
                        let ((px, py), (dx, dy)) = (centre(&p), centre(d));
                        let diagonal = p.width.hypot(p.height).max(d.width.hypot(d.height));
                        let gap = t.saturating_sub(f.last_frame) as f32;
                        let distance = (dx - px).hypot(dy - py);
                        (distance <= diagonal * (1.0 + 0.5 * gap)).then_some((i, distance))
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i)
            })
    }

    /// Face `i` detected again at `t` as `d`: the frames between are
    /// covered by interpolation, its speed is learnt, and on its second
    /// detection the frames before its first get boxes moved back along it.
    fn seen_again(&mut self, i: usize, t: u64, d: BoxF) {
        let margin = self.settings.margin;
        let f = self.faces[i].clone();
        let span = (t - f.last_frame) as f32;
        if span > 0.0 {
            for p in self.buffer.iter_mut() {
                if p.index > f.last_frame && p.index < t {
                    let s = (p.index - f.last_frame) as f32 / span;
                    p.boxes.push(grown(&lerp(&f.last, &d, s), margin, 0.0));
                }
            }
        }
        let (a, b) = (centre(&f.last), centre(&d));
        let velocity = (span > 0.0).then(|| ((b.0 - a.0) / span, (b.1 - a.1) / span));
        if f.velocity.is_none()
            && let Some(v) = velocity
        {
            for p in self.buffer.iter_mut() {
                if p.index < f.first_frame {
                    let back = -((f.first_frame - p.index) as f32);
                    p.boxes.push(grown(&moved(&f.first, v, back), margin, 0.0));
                }
            }
        }
        let face = &mut self.faces[i];
        face.last = d;
        face.last_frame = t;
        if velocity.is_some() {
            face.velocity = velocity;
        }
    }

    /// A face first detected at `t` as `d`: every buffered frame before it
    /// gets its box, grown by a fifth of its size a frame of distance (it
    /// may have been moving in from anywhere near), at most twice its size.
    fn backfill_new(&mut self, t: u64, d: &BoxF) {
        let margin = self.settings.margin;
        let size = d.width.max(d.height);
        for p in self.buffer.iter_mut() {
            let frames = (t - p.index) as f32;
            let extra = (0.2 * size * frames).min(2.0 * size);
            p.boxes.push(grown(d, margin, extra));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: f32 = 640.0;

    /// A generated face: its true box at frame `t` (ground truth from the
    /// generator, never from a detector).
    fn truth(t: u64, x0: f32, speed: f32) -> BoxF {
        BoxF {
            x: x0 + speed * t as f32,
            y: 100.0,
            width: 40.0,
            height: 48.0,
        }
    }

    /// The part of `b` inside the frame.
    fn visible(b: &BoxF) -> Option<BoxF> {
        let x0 = b.x.max(0.0);
        let x1 = (b.x + b.width).min(W);
        (x1 > x0).then_some(BoxF {
            x: x0,
            width: x1 - x0,
            ..*b
        })
    }

    fn contains(outer: &BoxF, inner: &BoxF) -> bool {
        outer.x <= inner.x + 0.01
            && outer.y <= inner.y + 0.01
            && outer.x + outer.width >= inner.x + inner.width - 0.01
            && outer.y + outer.height >= inner.y + inner.height - 0.01
    }

    /// Runs a clip of `frames` frames through a cover: `detect(t)` says what
    /// the detector reports at frame `t`. Fails naming the first frame whose
    /// visible true face is not inside one hidden region.
    fn run(
        frames: u64,
        face: impl Fn(u64) -> BoxF,
        detect: impl Fn(u64) -> Option<Vec<BoxF>>,
    ) -> Vec<(u64, Vec<BoxF>)> {
        let mut cover = Cover::new(CoverSettings::default());
        let mut out = Vec::new();
        for t in 0..frames {
            let found = detect(t);
            out.extend(cover.push(found.as_deref()));
        }
        out.extend(cover.finish());
        assert_eq!(
            out.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..frames).collect::<Vec<_>>(),
            "every frame once, in order"
        );
        for (t, boxes) in &out {
            if let Some(v) = visible(&face(*t)) {
                assert!(
                    boxes.iter().any(|b| contains(b, &v)),
                    "frame {t}: the face at {v:?} shows; hidden: {boxes:?}"
                );
            }
        }
        out
    }

    #[test]
    fn a_face_missed_for_three_frames_is_hidden_in_every_frame() {
        let face = |t| truth(t, 50.0, 12.0);
        run(40, face, |t| {
            (!(10..13).contains(&t))
                .then(|| vec![face(t)])
                .or(Some(vec![]))
        });
    }

    #[test]
    fn a_face_detected_every_third_frame_is_hidden_in_the_frames_between() {
        let face = |t| truth(t, 50.0, 10.0);
        run(45, face, |t| (t % 3 == 0).then(|| vec![face(t)]));
    }

    #[test]
    fn a_face_entering_from_the_edge_is_hidden_from_its_first_frame() {
        // At 12 px a frame from x = -40, it shows from frame 1 but the
        // detector only finds it once it is half in (frame 2).
        let face = |t| truth(t, -40.0, 12.0);
        run(30, face, |t| {
            Some(if face(t).x >= -20.0 {
                vec![face(t)]
            } else {
                vec![]
            })
        });
    }

    #[test]
    fn a_fast_face_looked_at_every_other_frame_is_hidden_in_every_frame() {
        // 30 px a frame, more than half its width.
        let face = |t| truth(t, 0.0, 30.0);
        run(20, face, |t| (t % 2 == 0).then(|| vec![face(t)]));
    }

    #[test]
    fn without_the_look_ahead_an_entering_face_would_show() {
        // The same entering face with no look-ahead: the frames before its
        // first detection show it, so the look-ahead is what covers them.
        let face = |t: u64| truth(t, -40.0, 12.0);
        let mut cover = Cover::new(CoverSettings {
            look_ahead: 0,
            ..CoverSettings::default()
        });
        let mut shown = Vec::new();
        for t in 0..10 {
            let found = if face(t).x >= -20.0 {
                vec![face(t)]
            } else {
                vec![]
            };
            for (i, boxes) in cover.push(Some(&found)) {
                let v = visible(&face(i));
                if v.is_some_and(|v| !boxes.iter().any(|b| contains(b, &v))) {
                    shown.push(i);
                }
            }
        }
        assert_eq!(shown, [1]);
    }

    #[test]
    fn hold_over_alone_covers_a_short_miss_and_without_it_the_face_shows() {
        // No look-ahead, so only hold-over can cover frames 10-12.
        let face = |t: u64| truth(t, 50.0, 12.0);
        for (hold, expected) in [(10, vec![]), (0, vec![10, 11, 12])] {
            let mut cover = Cover::new(CoverSettings {
                look_ahead: 0,
                hold,
                ..CoverSettings::default()
            });
            let mut shown = Vec::new();
            for t in 0..20 {
                let found = if (10..13).contains(&t) {
                    vec![]
                } else {
                    vec![face(t)]
                };
                for (i, boxes) in cover.push(Some(&found)) {
                    let v = visible(&face(i)).expect("in frame");
                    if !boxes.iter().any(|b| contains(b, &v)) {
                        shown.push(i);
                    }
                }
            }
            assert_eq!(shown, expected, "hold {hold}");
        }
    }

    #[test]
    fn nothing_detected_hides_nothing_and_memory_is_bounded() {
        let mut cover = Cover::new(CoverSettings::default());
        let mut out = Vec::new();
        for _ in 0..100 {
            out.extend(cover.push(Some(&[])));
        }
        assert!(out.iter().all(|(_, b)| b.is_empty()));
        // A crowd beyond the bound: each detection is still hidden.
        let crowd: Vec<BoxF> = (0..200)
            .map(|i| BoxF {
                x: (i % 20) as f32 * 30.0,
                y: (i / 20) as f32 * 30.0,
                width: 10.0,
                height: 10.0,
            })
            .collect();
        let mut cover = Cover::new(CoverSettings::default());
        cover.push(Some(&crowd));
        assert!(cover.faces.len() <= 64);
        let done = cover.finish();
        assert_eq!(done[0].1.len(), 200);
    }
}
