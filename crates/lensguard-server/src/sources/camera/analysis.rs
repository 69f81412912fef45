//! What happens to a camera's sampled pictures: motion gating, detection of
//! people and vehicles where something moved, and tracking into events.
//!
//! Per picture (at most `detect_fps` a second, on the camera's own analysis
//! thread): the motion detector ([`lensguard_video::motion`]) says what
//! moved; the detector runs on one region around all of it, at least the
//! model's input size (416x416, clipped to the frame), as Frigate does, so
//! a small moving object is seen at full resolution and a still scene costs
//! no detection at all. Tracked objects where nothing moves are not looked
//! for again until [`RECHECK`] has passed (a whole-frame look), so a parked
//! car is not re-detected five times a second; motion that lies wholly
//! around an event's own object is looked at every other picture (the
//! tracker bridges the gap; motion anywhere else is looked at at once).
//! While the motion detector
//! recalibrates (a light switched) it cannot tell what moved, so the whole
//! frame is looked at. Detections go to the
//! [`Tracker`]; an event that ends becomes a [`CameraEvent`] with its times
//! on the service's clock (the stream's clock mapped to the service's at
//! receipt), its zones, and its trail in fractions of the frame.
//!
//! Invariants: a new session (a reconnect) ends every live event first, at
//! its last sighting; without the object detector (its model not fetched)
//! motion is still gated and counted and no event is made, which the
//! camera's status says.

use super::activity::Activity;
use super::{Picture, Status};
use crate::intake::CameraEvent;
use lensguard_core::config::cameras::{CameraMode, Polygon, Zone};
use lensguard_video::motion::{MotionBox, MotionDetector};
use lensguard_video::tracker::{BoxF, Change, Observation, TrackedEvent, Tracker, TrackerSettings};
use lensguard_vision::RgbFrame;
use lensguard_vision::derive::Detectors;
use lensguard_vision::models::{EventLabel, ObjectClass, ObjectDetector, nanodet};
use std::sync::{Arc, Mutex, PoisonError};

/// Seconds between whole-frame looks while objects are tracked and nothing
/// moves.
pub const RECHECK: f64 = 5.0;
/// The lowest detection score that counts.
pub const THRESHOLD: f32 = 0.4;
/// CenterFace's score from which a face counts (the photo policy's default).
pub const FACE_THRESHOLD: f32 = 0.5;

/// An event that ended, with the picture where its label scored best
/// (kept only outside `structure_only` mode) and the masks to paint over it.
#[derive(Debug)]
pub struct Ended {
    /// The event.
    pub event: CameraEvent,
    /// Its best picture, unredacted: only [`super::snapshot`] may keep it.
    pub picture: Option<RgbFrame>,
    /// The camera's privacy masks.
    pub masks: Vec<Polygon>,
}

/// One camera's analysis state.
pub struct Analysis {
    camera: String,
    motion: MotionDetector,
    objects: Option<Arc<ObjectDetector>>,
    tracker: Tracker<EventLabel>,
    zones: Vec<Zone>,
    status: Arc<Mutex<Status>>,
    /// What the recorder reads to classify footage.
    activity: Arc<Mutex<Activity>>,
    /// Whether events keep a snapshot (not in `structure_only` mode).
    keep_snapshots: bool,
    /// The camera's privacy masks (painted over snapshots).
    masks: Vec<Polygon>,
    /// Per label, the best-scoring picture since its objects were last
    /// all gone: the snapshot of the event of that label that ends next.
    candidates: Vec<(EventLabel, f32, RgbFrame)>,
    /// CenterFace, when loaded: faces are looked for inside each person.
    faces: Option<Arc<Detectors>>,
    session: u64,
    /// The service's time at a stream time, for mapping.
    clock: Option<(time::OffsetDateTime, f64)>,
    /// The frame's size, for fractions.
    size: (f32, f32),
    last_look: f64,
    /// Whether the last picture's detection was skipped (explained motion).
    skipped_last: bool,
}

impl Analysis {
    /// A camera's analysis, with the object detector when it is loaded,
    /// and the photo detectors (whose face detector finds faces in people).
    pub fn new(
        camera: &lensguard_core::config::cameras::Camera,
        objects: Option<Arc<ObjectDetector>>,
        faces: Option<Arc<Detectors>>,
        status: Arc<Mutex<Status>>,
        activity: Arc<Mutex<Activity>>,
    ) -> Analysis {
        Analysis {
            camera: camera.name.clone(),
            motion: MotionDetector::new(camera.motion),
            objects,
            tracker: Tracker::new(TrackerSettings::default()),
            zones: camera.zones.clone(),
            status,
            activity,
            keep_snapshots: camera.mode != CameraMode::StructureOnly,
            masks: camera.masks.clone(),
            candidates: Vec::new(),
            faces: faces.filter(|d| d.faces.is_ok()),
            session: 0,
            clock: None,
            size: (1.0, 1.0),
            last_look: f64::NEG_INFINITY,
            skipped_last: false,
        }
    }

    /// Analyses one sampled picture; the events that ended.
    pub fn picture(&mut self, p: Picture) -> Vec<Ended> {
        let mut ended = Vec::new();
        if p.session != self.session {
            ended = self.finish();
            self.session = p.session;
            self.last_look = f64::NEG_INFINITY;
        }
        self.clock = Some((p.at, p.stream_secs));
        let luma = &p.frame.luma;
        let (fw, fh) = (luma.width(), luma.height());
        self.size = (fw as f32, fh as f32);
        let motion = self.motion.detect(luma);
        {
            let mut s = lock(&self.status);
            s.calibrating = motion.calibrating;
            if !motion.boxes.is_empty() {
                s.moving += 1;
                s.last_motion = Some(p.at);
                drop(s);
                lock(&self.activity).motion(millis(p.at));
            }
        }
        let (Some(objects), Some(rgb)) = (self.objects.clone(), p.frame.rgb.as_ref()) else {
            return ended;
        };
        let whole = MotionBox {
            x: 0,
            y: 0,
            width: fw,
            height: fh,
        };
        let moved = union(&motion.boxes);
        // Motion that only an event's own object makes (inside its box,
        // grown by half a box each way for a picture's travel) is looked at
        // every other picture: the track tolerates a gap, and anything new
        // moving elsewhere is motion outside and is looked at at once.
        let events = self.tracker.event_boxes();
        let explained = !motion.boxes.is_empty()
            && !events.is_empty()
            && motion
                .boxes
                .iter()
                .all(|b| events.iter().any(|e| inside(to_boxf(*b), grown(*e))));
        let skip = explained && !self.skipped_last;
        self.skipped_last = skip;
        let region = match moved {
            Some(_) if skip => None,
            Some(moved) => Some(region_around(moved, (fw, fh))),
            // While the motion detector relearns the scene (a light
            // switched) it cannot say what moved: look everywhere.
            None if motion.calibrating => Some(whole),
            None if !self.tracker.live_boxes().is_empty()
                && p.stream_secs - self.last_look >= RECHECK =>
            {
                Some(whole)
            }
            None => None,
        };
        let mut looked = Vec::new();
        let mut seen = Vec::new();
        if let Some(r) = region {
            if (r.width, r.height) == (fw, fh) {
                self.last_look = p.stream_secs;
            }
            match rgb
                .crop(r.x, r.y, r.width, r.height)
                .map(|c| objects.detect(&c, THRESHOLD))
            {
                Some(Ok(found)) => {
                    looked.push(to_boxf(r));
                    for o in found {
                        let d = o.detection;
                        let bbox = BoxF {
                            x: d.x + r.x as f32,
                            y: d.y + r.y as f32,
                            width: d.width,
                            height: d.height,
                        };
                        let label = EventLabel::Object(o.class);
                        if o.class == ObjectClass::Person {
                            for (face, score) in self.faces_in(rgb, bbox) {
                                if self.keep_snapshots {
                                    self.consider_snapshot(EventLabel::Face, score, rgb);
                                }
                                seen.push(Observation {
                                    label: EventLabel::Face,
                                    bbox: face,
                                    score,
                                    zones: self.zones_of(&face),
                                });
                            }
                        }
                        if self.keep_snapshots {
                            self.consider_snapshot(label, d.score, rgb);
                        }
                        seen.push(Observation {
                            label,
                            bbox,
                            score: d.score,
                            zones: self.zones_of(&bbox),
                        });
                    }
                    lock(&self.status).detections += 1;
                }
                Some(Err(_)) | None => lock(&self.status).detector_errors += 1,
            }
        }
        let changes = self.tracker.update(p.stream_secs, &looked, seen);
        ended.extend(self.changed(changes));
        if lock(&self.status).active_events > 0 {
            lock(&self.activity).event(millis(p.at), millis(p.at));
        }
        if self.tracker.live_boxes().is_empty() {
            self.candidates.clear();
        }
        ended
    }

    /// Faces inside `person` (grown by a tenth each way), in frame pixels,
    /// with their scores; none without the face detector.
    fn faces_in(&self, rgb: &RgbFrame, person: BoxF) -> Vec<(BoxF, f32)> {
        let Some(faces) = self.faces.as_ref().and_then(|d| d.faces.as_ref().ok()) else {
            return Vec::new();
        };
        let (fw, fh) = (rgb.width() as f32, rgb.height() as f32);
        let x0 = (person.x - person.width * 0.1).max(0.0);
        let y0 = (person.y - person.height * 0.1).max(0.0);
        let x1 = (person.x + person.width * 1.1).min(fw);
        let y1 = (person.y + person.height * 1.1).min(fh);
        if x1 - x0 < 16.0 || y1 - y0 < 16.0 {
            return Vec::new();
        }
        let (x, y) = (x0 as u32, y0 as u32);
        let Some(crop) = rgb.crop(x, y, (x1 - x0) as u32, (y1 - y0) as u32) else {
            return Vec::new();
        };
        // CenterFace at the crop's own size (a multiple of 32, 64 to 320):
        // a person box is small, so this costs little beside NanoDet.
        let long = crop.width().max(crop.height());
        let scale = long.div_ceil(32).clamp(2, 10) * 32;
        match faces.detect(&crop, scale, FACE_THRESHOLD) {
            Ok(found) => found
                .into_iter()
                .map(|d| {
                    let b = BoxF {
                        x: d.x + x as f32,
                        y: d.y + y as f32,
                        width: d.width,
                        height: d.height,
                    };
                    (b, d.score)
                })
                .collect(),
            Err(_) => {
                lock(&self.status).detector_errors += 1;
                Vec::new()
            }
        }
    }

    /// Keeps `rgb` as the snapshot candidate of `label` when it scores best.
    fn consider_snapshot(&mut self, label: EventLabel, score: f32, rgb: &RgbFrame) {
        match self.candidates.iter_mut().find(|(l, _, _)| *l == label) {
            Some((_, best, _)) if *best >= score => {}
            Some(c) => *c = (label, score, rgb.clone()),
            None => self.candidates.push((label, score, rgb.clone())),
        }
    }

    /// Ends every live event (the stream stopped); those that were events.
    pub fn finish(&mut self) -> Vec<Ended> {
        let changes = self.tracker.finish();
        self.changed(changes)
    }

    fn changed(&mut self, changes: Vec<Change<EventLabel>>) -> Vec<Ended> {
        let mut ended = Vec::new();
        for change in changes {
            match change {
                Change::Started(_) => lock(&self.status).active_events += 1,
                Change::Ended(e) => {
                    let mut s = lock(&self.status);
                    s.active_events = s.active_events.saturating_sub(1);
                    s.events += 1;
                    drop(s);
                    let label = e.label;
                    if let Some(event) = self.event(e) {
                        lock(&self.activity).event(millis(event.start), millis(event.end));
                        let picture = self
                            .candidates
                            .iter()
                            .position(|(l, _, _)| *l == label)
                            .map(|i| self.candidates.swap_remove(i).2);
                        ended.push(Ended {
                            event,
                            picture,
                            masks: self.masks.clone(),
                        });
                    }
                }
            }
        }
        ended
    }

    /// The zones `b`'s bottom centre (where an object stands) is in, as bits.
    fn zones_of(&self, b: &BoxF) -> u64 {
        let (fw, fh) = self.size;
        let x = f64::from((b.x + b.width / 2.0) / fw);
        let y = f64::from((b.y + b.height) / fh);
        self.zones
            .iter()
            .take(64)
            .enumerate()
            .filter(|(_, z)| z.outline.contains(x, y))
            .fold(0, |bits, (i, _)| bits | (1 << i))
    }

    fn event(&self, e: TrackedEvent<EventLabel>) -> Option<CameraEvent> {
        let (at, stream) = self.clock?;
        let on_clock = |s: f64| at + time::Duration::seconds_f64(s - stream);
        let (fw, fh) = self.size;
        let frac = |b: BoxF| [b.x / fw, b.y / fh, b.width / fw, b.height / fh];
        Some(CameraEvent {
            id: uuid::Uuid::new_v4().to_string(),
            camera: self.camera.clone(),
            label: e.label.as_str().to_owned(),
            start: on_clock(e.start),
            end: on_clock(e.end),
            best_score: e.best_score,
            best_box: frac(e.best_box),
            zones: self
                .zones
                .iter()
                .enumerate()
                .filter(|(i, _)| *i < 64 && e.zones & (1 << i) != 0)
                .map(|(_, z)| z.name.clone())
                .collect(),
            trail: e
                .trail
                .iter()
                .map(|(t, b)| ((t - e.start) as f32, frac(*b)))
                .collect(),
            model: self
                .objects
                .as_ref()
                .map(|o| o.model_run())
                .unwrap_or_else(|| lensguard_core::report::ModelRun {
                    model: "none".to_owned(),
                    runtime: "none".to_owned(),
                }),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Milliseconds since the epoch.
fn millis(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn to_boxf(b: MotionBox) -> BoxF {
    BoxF {
        x: b.x as f32,
        y: b.y as f32,
        width: b.width as f32,
        height: b.height as f32,
    }
}

/// `b` grown by half its size on every side.
fn grown(b: BoxF) -> BoxF {
    BoxF {
        x: b.x - b.width / 2.0,
        y: b.y - b.height / 2.0,
        width: b.width * 2.0,
        height: b.height * 2.0,
    }
}

/// Whether `inner` lies wholly within `outer`.
fn inside(inner: BoxF, outer: BoxF) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.x + inner.width <= outer.x + outer.width
        && inner.y + inner.height <= outer.y + outer.height
}

/// The box around every moving region.
fn union(boxes: &[MotionBox]) -> Option<MotionBox> {
    let first = boxes.first()?;
    let (mut x0, mut y0) = (first.x, first.y);
    let (mut x1, mut y1) = (first.x + first.width, first.y + first.height);
    for b in &boxes[1..] {
        x0 = x0.min(b.x);
        y0 = y0.min(b.y);
        x1 = x1.max(b.x + b.width);
        y1 = y1.max(b.y + b.height);
    }
    Some(MotionBox {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
    })
}

/// The region detection runs on around `moved`: a square at least the
/// model's input side, centred on it, moved (not shrunk) to fit the frame,
/// and clipped where the frame is smaller.
pub fn region_around(moved: MotionBox, (fw, fh): (u32, u32)) -> MotionBox {
    let side = moved.width.max(moved.height).max(nanodet::INPUT_SIDE);
    let (w, h) = (side.min(fw), side.min(fh));
    let place = |start: u32, len: u32, want: u32, frame: u32| {
        let centre = start + len / 2;
        centre.saturating_sub(want / 2).min(frame - want)
    };
    MotionBox {
        x: place(moved.x, moved.width, w, fw),
        y: place(moved.y, moved.height, h, fh),
        width: w,
        height: h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: u32, y: u32, width: u32, height: u32) -> MotionBox {
        MotionBox {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn the_region_is_at_least_the_model_input_and_stays_in_the_frame() {
        // A small movement near the right edge of a 640x360 frame: a 416
        // wide region ending at the edge, the frame's full height.
        assert_eq!(
            region_around(b(600, 100, 20, 30), (640, 360)),
            b(224, 0, 416, 360)
        );
        // In the middle of a 1920x1080 frame: 416x416 around it.
        assert_eq!(
            region_around(b(900, 500, 40, 80), (1920, 1080)),
            b(712, 332, 416, 416)
        );
        // Larger than the input: the movement's long side, square.
        assert_eq!(
            region_around(b(100, 100, 600, 200), (1920, 1080)),
            b(100, 0, 600, 600)
        );
        // Larger than the frame: the frame.
        assert_eq!(
            region_around(b(0, 0, 640, 360), (640, 360)),
            b(0, 0, 640, 360)
        );
        assert_eq!(
            union(&[b(10, 10, 5, 5), b(100, 50, 10, 10)]),
            Some(b(10, 10, 100, 50))
        );
        assert_eq!(union(&[]), None);
        // Motion around a tracked object's box, grown by half each way.
        let person = to_boxf(b(100, 100, 40, 100));
        assert!(inside(to_boxf(b(90, 80, 60, 140)), grown(person)));
        assert!(
            !inside(to_boxf(b(70, 80, 60, 140)), grown(person)),
            "too far left"
        );
    }
}
