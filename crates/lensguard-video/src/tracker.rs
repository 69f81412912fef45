//! Turns a camera's detections into events: simple IoU tracking.
//!
//! Each detection is matched to the live track of the same label it overlaps
//! most (IoU at least [`TrackerSettings::match_iou`] with the track's box
//! moved as it last moved: constant velocity from the last two sightings,
//! so a fast object seen every other picture stays one track), greedily by
//! score;
//! an unmatched detection starts a tentative track. A track becomes an event
//! when it has been seen [`TrackerSettings::min_hits`] times (one stray
//! detection is not an event), and the event starts at the track's first
//! sighting, not at its confirmation. A track ends once it has not been seen
//! for [`TrackerSettings::max_gap`] seconds **and** detection looked where it
//! was since (a region analysed over its box); a still object where nothing
//! moves is not looked for and stays live, so the caller re-checks live
//! tracks from time to time. The event ends at its last sighting.
//!
//! Times are the stream's seconds (from its RTP clock), so events are
//! measured in the stream's time; the caller maps them to the service's
//! clock. Invariants: at most [`TrackerSettings::max_tracks`] live tracks
//! (a detection beyond that is dropped and counted), and a trail holds at
//! most [`MAX_TRAIL`] points (thinned evenly), so memory is bounded whatever
//! a camera shows.

/// The most points an event's box trail keeps.
pub const MAX_TRAIL: usize = 64;

/// A box in the frame's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxF {
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl BoxF {
    /// Intersection over union.
    pub fn iou(&self, other: &BoxF) -> f32 {
        let inter = self.intersection(other);
        let union = self.width * self.height + other.width * other.height - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The area the two boxes share.
    pub fn intersection(&self, other: &BoxF) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.width).min(other.x + other.width);
        let y1 = (self.y + self.height).min(other.y + other.height);
        (x1 - x0).max(0.0) * (y1 - y0).max(0.0)
    }
}

/// One detection handed to the tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation<L> {
    /// What was detected.
    pub label: L,
    /// Where.
    pub bbox: BoxF,
    /// How sure, 0 to 1.
    pub score: f32,
    /// The zones it is in, as bits (zone `i` is bit `i`; at most 64 zones).
    pub zones: u64,
}

/// How tracks are matched and ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerSettings {
    /// Smallest IoU that continues a track. Default 0.3.
    pub match_iou: f32,
    /// Sightings that make a track an event. Default 2.
    pub min_hits: u32,
    /// Seconds unseen (while looked for) that end a track. Default 1.0.
    pub max_gap: f64,
    /// Most live tracks. Default 64.
    pub max_tracks: usize,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        TrackerSettings {
            match_iou: 0.3,
            min_hits: 2,
            max_gap: 1.0,
            max_tracks: 64,
        }
    }
}

/// An event: a confirmed track, live or ended.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedEvent<L> {
    /// The tracker's id for it (unique for the tracker's life).
    pub id: u64,
    /// What it is.
    pub label: L,
    /// Its first sighting, stream seconds.
    pub start: f64,
    /// Its last sighting, stream seconds.
    pub end: f64,
    /// Its best score.
    pub best_score: f32,
    /// Its box at the best score.
    pub best_box: BoxF,
    /// Every zone it was seen in, as bits.
    pub zones: u64,
    /// Where it was seen: (stream seconds, box), at most [`MAX_TRAIL`].
    pub trail: Vec<(f64, BoxF)>,
}

/// What an update changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<L> {
    /// A track was confirmed: an event started.
    Started(TrackedEvent<L>),
    /// An event ended.
    Ended(TrackedEvent<L>),
}

#[derive(Debug)]
struct Track<L> {
    event: TrackedEvent<L>,
    last_box: BoxF,
    /// The box's centre velocity in pixels a second, from the last two
    /// sightings (zero after the first).
    velocity: (f32, f32),
    hits: u32,
    /// Whether detection looked where it was since its last sighting.
    looked_for: bool,
}

/// Live tracks for one camera.
#[derive(Debug)]
pub struct Tracker<L> {
    settings: TrackerSettings,
    tracks: Vec<Track<L>>,
    next_id: u64,
    dropped: u64,
}

impl<L: Copy + PartialEq> Tracker<L> {
    /// A tracker with no tracks.
    pub fn new(settings: TrackerSettings) -> Self {
        Tracker {
            settings,
            tracks: Vec::new(),
            next_id: 1,
            dropped: 0,
        }
    }

    /// Detections beyond the track limit, dropped.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The live tracks' boxes (confirmed or not), for re-checking.
    pub fn live_boxes(&self) -> Vec<BoxF> {
        self.tracks.iter().map(|t| t.last_box).collect()
    }

    /// The boxes of live events (confirmed tracks) at their last sighting.
    pub fn event_boxes(&self) -> Vec<BoxF> {
        self.tracks
            .iter()
            .filter(|t| t.hits >= self.settings.min_hits)
            .map(|t| t.last_box)
            .collect()
    }

    /// Takes the detections made at `now` (stream seconds) in the regions
    /// `analysed` (where detection ran); returns the events that started or
    /// ended.
    pub fn update(
        &mut self,
        now: f64,
        analysed: &[BoxF],
        mut observations: Vec<Observation<L>>,
    ) -> Vec<Change<L>> {
        observations.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut matched = vec![false; self.tracks.len()];
        let mut changes = Vec::new();
        for obs in observations {
            if !(obs.score.is_finite() && obs.bbox.width > 0.0 && obs.bbox.height > 0.0) {
                continue;
            }
            let candidates = || {
                self.tracks
                    .iter()
                    .enumerate()
                    .filter(|(i, t)| !matched[*i] && t.event.label == obs.label)
            };
            // By overlap with the predicted box; failing that, by the
            // nearest centre within reach (a small box, a face, moves
            // further than its size between two looks).
            let best = candidates()
                .map(|(i, t)| (i, t.predicted(now).iou(&obs.bbox)))
                .filter(|(_, iou)| *iou >= self.settings.match_iou)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .or_else(|| {
                    candidates()
                        .filter_map(|(i, t)| t.reach(now, &obs.bbox).map(|d| (i, d)))
                        .min_by(|a, b| a.1.total_cmp(&b.1))
                });
            match best {
                Some((i, _)) => {
                    matched[i] = true;
                    let min_hits = self.settings.min_hits;
                    let track = &mut self.tracks[i];
                    track.sighted(now, &obs);
                    if track.hits == min_hits {
                        changes.push(Change::Started(track.event.clone()));
                    }
                }
                None if self.tracks.len() < self.settings.max_tracks => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let track = Track {
                        event: TrackedEvent {
                            id,
                            label: obs.label,
                            start: now,
                            end: now,
                            best_score: obs.score,
                            best_box: obs.bbox,
                            zones: obs.zones,
                            trail: vec![(now, obs.bbox)],
                        },
                        last_box: obs.bbox,
                        velocity: (0.0, 0.0),
                        hits: 1,
                        looked_for: false,
                    };
                    if self.settings.min_hits <= 1 {
                        changes.push(Change::Started(track.event.clone()));
                    }
                    self.tracks.push(track);
                    matched.push(true);
                }
                None => self.dropped += 1,
            }
        }
        for (track, seen) in self.tracks.iter_mut().zip(&matched) {
            if !seen
                && analysed
                    .iter()
                    .any(|r| r.intersection(&track.last_box) > 0.0)
            {
                track.looked_for = true;
            }
        }
        changes.extend(self.expire(now));
        changes
    }

    /// Ends the tracks unseen for longer than the gap while looked for.
    pub fn expire(&mut self, now: f64) -> Vec<Change<L>> {
        let (min_hits, gap) = (self.settings.min_hits, self.settings.max_gap);
        let mut changes = Vec::new();
        self.tracks.retain(|t| {
            let over = t.looked_for && now - t.event.end > gap;
            if over && t.hits >= min_hits {
                changes.push(Change::Ended(t.event.clone()));
            }
            !over
        });
        changes
    }

    /// Ends every live event now (the stream stopped).
    pub fn finish(&mut self) -> Vec<Change<L>> {
        let min_hits = self.settings.min_hits;
        self.tracks
            .drain(..)
            .filter(|t| t.hits >= min_hits)
            .map(|t| Change::Ended(t.event))
            .collect()
    }
}

impl<L> Track<L> {
    /// Where its box should be at `now`, moving as it last moved.
    /// How far `b`'s centre is from the predicted box's, in box diagonals,
    /// when that is within reach: one diagonal, plus four a second since
    /// the last sighting (a walker's face seen every other picture).
    fn reach(&self, now: f64, b: &BoxF) -> Option<f32> {
        let p = self.predicted(now);
        let centre = |b: &BoxF| (b.x + b.width / 2.0, b.y + b.height / 2.0);
        let ((px, py), (bx, by)) = (centre(&p), centre(b));
        let diagonal = p
            .width
            .hypot(p.height)
            .max(b.width.hypot(b.height))
            .max(1.0);
        let distance = (bx - px).hypot(by - py) / diagonal;
        let dt = (now - self.event.end).clamp(0.0, 2.0) as f32;
        (distance <= 1.0 + 4.0 * dt).then_some(distance)
    }

    fn predicted(&self, now: f64) -> BoxF {
        let dt = (now - self.event.end).clamp(0.0, 2.0) as f32;
        BoxF {
            x: self.last_box.x + self.velocity.0 * dt,
            y: self.last_box.y + self.velocity.1 * dt,
            ..self.last_box
        }
    }

    fn sighted(&mut self, now: f64, obs: &Observation<L>) {
        self.hits = self.hits.saturating_add(1);
        let dt = (now - self.event.end) as f32;
        if dt > 0.0 {
            let centre = |b: &BoxF| (b.x + b.width / 2.0, b.y + b.height / 2.0);
            let (a, b) = (centre(&self.last_box), centre(&obs.bbox));
            self.velocity = ((b.0 - a.0) / dt, (b.1 - a.1) / dt);
        }
        self.last_box = obs.bbox;
        self.looked_for = false;
        let e = &mut self.event;
        e.end = now;
        e.zones |= obs.zones;
        if obs.score > e.best_score {
            e.best_score = obs.score;
            e.best_box = obs.bbox;
        }
        if e.trail.len() >= MAX_TRAIL {
            // Keep every other point (the first always), then go on.
            let mut i = 0;
            e.trail.retain(|_| {
                i += 1;
                i % 2 == 1
            });
        }
        e.trail.push((now, obs.bbox));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(x: f32, score: f32) -> Observation<&'static str> {
        Observation {
            label: "person",
            bbox: BoxF {
                x,
                y: 10.0,
                width: 40.0,
                height: 100.0,
            },
            score,
            zones: 0,
        }
    }

    const WHOLE: [BoxF; 1] = [BoxF {
        x: 0.0,
        y: 0.0,
        width: 640.0,
        height: 360.0,
    }];

    #[test]
    fn a_walker_is_one_event_from_first_to_last_sighting() {
        let mut t = Tracker::new(TrackerSettings::default());
        let mut changes = Vec::new();
        for step in 0..20 {
            let now = f64::from(step) * 0.2;
            changes.extend(t.update(now, &WHOLE, vec![obs(10.0 + 8.0 * step as f32, 0.8)]));
        }
        for step in 20..30 {
            changes.extend(t.update(f64::from(step) * 0.2, &WHOLE, vec![]));
        }
        assert_eq!(changes.len(), 2, "{changes:?}");
        let Change::Started(s) = &changes[0] else {
            panic!("{changes:?}")
        };
        assert_eq!((s.start, s.id), (0.0, 1));
        let Change::Ended(e) = &changes[1] else {
            panic!("{changes:?}")
        };
        assert_eq!(e.start, 0.0);
        assert!((e.end - 3.8).abs() < 1e-9, "{e:?}");
        assert_eq!(e.trail.len(), 20);
    }

    #[test]
    fn a_fast_walker_seen_every_other_picture_stays_one_event() {
        // 16 px a picture (0.2 s), a 40-px-wide box: two pictures apart the
        // boxes overlap by an IoU of 0.1, below the match; the predicted box
        // matches.
        let mut t = Tracker::new(TrackerSettings::default());
        let mut changes = Vec::new();
        for step in 0..20 {
            let now = f64::from(step) * 0.2;
            let seen = if step < 2 || step % 2 == 0 {
                vec![obs(10.0 + 16.0 * step as f32, 0.8)]
            } else {
                vec![]
            };
            let looked: &[BoxF] = if seen.is_empty() { &[] } else { &WHOLE };
            changes.extend(t.update(now, looked, seen));
        }
        changes.extend(t.finish());
        assert_eq!(changes.len(), 2, "{changes:?}");
        let Change::Ended(e) = &changes[1] else {
            panic!("{changes:?}")
        };
        assert_eq!(e.start, 0.0);
        assert!(
            (e.end - 3.6).abs() < 1e-9,
            "followed to its last sighting: {e:?}"
        );
    }

    #[test]
    fn a_small_face_moving_further_than_its_size_between_looks_stays_one_event() {
        // A 30-px face at 160 px/s, looked at every half second: 80 px
        // between sightings, no overlap at all, even predicted from a
        // standstill; its centre is within reach (one diagonal plus four
        // a second).
        let face = |x: f32| Observation {
            label: "face",
            bbox: BoxF {
                x,
                y: 40.0,
                width: 30.0,
                height: 36.0,
            },
            score: 0.8,
            zones: 0,
        };
        let mut t = Tracker::new(TrackerSettings::default());
        let mut changes = Vec::new();
        for step in 0..8 {
            let now = f64::from(step) * 0.5;
            changes.extend(t.update(now, &WHOLE, vec![face(10.0 + 80.0 * step as f32)]));
        }
        changes.extend(t.finish());
        assert_eq!(
            changes.len(),
            2,
            "one event, started and ended: {changes:?}"
        );
        let Change::Ended(e) = &changes[1] else {
            panic!("{changes:?}")
        };
        assert_eq!((e.start, e.end), (0.0, 3.5));
        // Far beyond reach, it is another object.
        let mut t = Tracker::new(TrackerSettings::default());
        t.update(0.0, &WHOLE, vec![face(0.0)]);
        t.update(0.5, &WHOLE, vec![face(0.0)]);
        let started = t.update(0.6, &WHOLE, vec![face(400.0)]);
        assert!(started.is_empty(), "{started:?}");
        assert_eq!(t.live_boxes().len(), 2);
    }

    #[test]
    fn one_stray_detection_is_no_event_and_a_still_object_waits_to_be_looked_for() {
        let mut t = Tracker::new(TrackerSettings::default());
        assert!(t.update(0.0, &WHOLE, vec![obs(100.0, 0.9)]).is_empty());
        assert!(
            t.update(5.0, &WHOLE, vec![]).is_empty(),
            "unconfirmed: no event"
        );
        assert!(t.live_boxes().is_empty());
        // Confirmed, then nothing moves where it is: it stays live.
        t.update(10.0, &WHOLE, vec![obs(100.0, 0.9)]);
        let started = t.update(10.2, &WHOLE, vec![obs(101.0, 0.7)]);
        assert!(matches!(&started[..], [Change::Started(_)]), "{started:?}");
        let elsewhere = [BoxF {
            x: 400.0,
            y: 0.0,
            width: 100.0,
            height: 100.0,
        }];
        assert!(t.update(60.0, &elsewhere, vec![]).is_empty());
        assert_eq!(t.live_boxes().len(), 1);
        // Looked for and gone: it ends at its last sighting.
        let ended = t.update(61.0, &WHOLE, vec![]);
        let ended2 = t.update(62.5, &WHOLE, vec![]);
        let all: Vec<_> = ended.into_iter().chain(ended2).collect();
        assert!(
            matches!(&all[..], [Change::Ended(e)] if e.end == 10.2 && e.best_score == 0.9),
            "{all:?}"
        );
    }

    #[test]
    fn labels_do_not_mix_and_tracks_and_trails_are_bounded() {
        let settings = TrackerSettings {
            max_tracks: 3,
            ..TrackerSettings::default()
        };
        let mut t = Tracker::new(settings);
        let mut car = obs(10.0, 0.9);
        car.label = "car";
        t.update(0.0, &WHOLE, vec![obs(10.0, 0.9), car.clone()]);
        assert_eq!(t.live_boxes().len(), 2, "a car does not continue a person");
        t.update(
            0.2,
            &WHOLE,
            (0..10).map(|i| obs(100.0 + 50.0 * i as f32, 0.5)).collect(),
        );
        assert_eq!(t.live_boxes().len(), 3);
        assert!(t.dropped() > 0);
        let mut t = Tracker::new(TrackerSettings::default());
        for step in 0..1000 {
            t.update(f64::from(step) * 0.2, &WHOLE, vec![obs(10.0, 0.5)]);
        }
        let ended = t.finish();
        let [Change::Ended(e)] = &ended[..] else {
            panic!("{ended:?}")
        };
        assert!(
            e.trail.len() <= MAX_TRAIL && e.trail[0].0 == 0.0,
            "{}",
            e.trail.len()
        );
        assert!((e.end - 199.8).abs() < 1e-9);
    }
}
