//! What a camera's analysis saw, in the service's time, for its recorder to
//! decide which category each recorded segment belongs to.
//!
//! The analysis thread notes motion and live events as it sees them; the
//! recorder asks [`Activity::category`] for a segment once no later event
//! could still claim it as pre-roll. Invariants: at most [`MAX_SPANS`]
//! spans of each kind are kept (the oldest go first), so memory is bounded
//! whatever the scene; a span grows while notes arrive within [`JOIN_MS`]
//! of its end.

use lensguard_core::policy::DataCategory;
use std::collections::VecDeque;

/// Spans of each kind kept at most.
pub const MAX_SPANS: usize = 256;
/// Notes closer than this to a span's end extend it (ms).
pub const JOIN_MS: i64 = 2000;

/// Recent motion and events of one camera (ms since the epoch).
#[derive(Debug, Default)]
pub struct Activity {
    motion: VecDeque<(i64, i64)>,
    events: VecDeque<(i64, i64)>,
}

fn note(spans: &mut VecDeque<(i64, i64)>, start: i64, end: i64) {
    if let Some(last) = spans.back_mut()
        && start <= last.1 + JOIN_MS
        && end >= last.0
    {
        last.0 = last.0.min(start);
        last.1 = last.1.max(end);
        return;
    }
    if spans.len() == MAX_SPANS {
        spans.pop_front();
    }
    spans.push_back((start, end));
}

fn overlaps(spans: &VecDeque<(i64, i64)>, start: i64, end: i64) -> bool {
    spans.iter().any(|&(s, e)| s < end && e >= start)
}

impl Activity {
    /// Something moved at `at_ms`.
    pub fn motion(&mut self, at_ms: i64) {
        note(&mut self.motion, at_ms, at_ms);
    }

    /// An event was under way from `start_ms` to `end_ms` (a live event:
    /// its first sighting to now; an ended one: its whole span).
    pub fn event(&mut self, start_ms: i64, end_ms: i64) {
        note(&mut self.events, start_ms, end_ms);
    }

    /// The category of footage from `start_ms` to `end_ms`: an event
    /// clip when an event was under way within `pre_roll_ms` after it or
    /// `post_roll_ms` before it; motion when something moved in it;
    /// continuous otherwise.
    pub fn category(
        &self,
        (start_ms, end_ms): (i64, i64),
        pre_roll_ms: i64,
        post_roll_ms: i64,
    ) -> DataCategory {
        if overlaps(&self.events, start_ms - post_roll_ms, end_ms + pre_roll_ms) {
            DataCategory::FootageEvent
        } else if overlaps(&self.motion, start_ms, end_ms) {
            DataCategory::FootageMotion
        } else {
            DataCategory::FootageContinuous
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_claims_its_pre_and_post_roll_and_motion_only_what_it_covers() {
        let mut a = Activity::default();
        a.motion(10_000);
        a.motion(11_000);
        a.event(20_000, 21_000);
        a.event(21_500, 24_000);
        let cat = |s: i64| a.category((s * 1000, (s + 4) * 1000), 5000, 5000);
        assert_eq!(cat(0), DataCategory::FootageContinuous);
        assert_eq!(cat(8), DataCategory::FootageMotion);
        // Pre-roll: 12-16 s ends 4 s before the event starts.
        assert_eq!(cat(12), DataCategory::FootageEvent);
        assert_eq!(cat(20), DataCategory::FootageEvent);
        // Post-roll: 28-32 s starts 4 s after the event's end.
        assert_eq!(cat(28), DataCategory::FootageEvent);
        assert_eq!(cat(30), DataCategory::FootageContinuous);
    }

    #[test]
    fn notes_join_into_spans_and_spans_are_bounded() {
        let mut a = Activity::default();
        for i in 0..10 {
            a.motion(i * 500);
        }
        assert_eq!(a.motion.len(), 1);
        for i in 0..1000 {
            a.event(i * 10_000, i * 10_000 + 1);
        }
        assert_eq!(a.events.len(), MAX_SPANS);
        assert_eq!(a.events.front(), Some(&(744 * 10_000, 744 * 10_000 + 1)));
    }
}
