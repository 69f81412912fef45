//! Cuts a recorded stream's access units into segments of a few seconds,
//! each starting at a key picture, each a standalone fragmented MP4
//! ([`crate::fmp4`]).
//!
//! Invariants: a segment always starts with a key picture (units before the
//! first key picture of a session, or after a cut forced by the size limit,
//! are dropped and counted); a segment holds at most [`Segmenter::max_bytes`]
//! of samples and [`MAX_SAMPLES`] pictures, so a camera that never sends a
//! key picture cannot grow memory without bound; new parameter sets end the
//! segment (the next one carries them); times are the service's (the wall
//! time of a session's first picture plus the stream's clock since then).

use crate::fmp4::{self, Audio, AudioTrack, Sample, Track};

/// Pictures a segment holds at most (about 4 minutes at 30 fps).
pub const MAX_SAMPLES: usize = 8192;

/// One access unit of a recorded stream.
#[derive(Debug)]
pub struct Unit {
    /// Length-prefixed NAL units.
    pub data: Vec<u8>,
    /// Its time in the track's timescale, from the stream's clock.
    pub ticks: i64,
    /// The service's time for it, in milliseconds since the epoch.
    pub at_ms: i64,
    /// Whether decoding can start here.
    pub key: bool,
}

/// A finished segment.
#[derive(Debug)]
pub struct Segment {
    /// The fragmented MP4 file.
    pub file: Vec<u8>,
    /// The service's time of its first picture (ms since the epoch).
    pub start_ms: i64,
    /// The service's time its last picture ends (ms since the epoch).
    pub end_ms: i64,
    /// Pictures in it.
    pub pictures: u32,
    /// Its codec.
    pub codec: fmp4::Codec,
    /// Audio frames in it (none unless the camera keeps audio).
    pub audio_frames: u32,
}

/// Builds segments from one stream's access units.
#[derive(Debug)]
pub struct Segmenter {
    target_secs: f64,
    /// Sample bytes one segment holds at most.
    pub max_bytes: usize,
    track: Option<Track>,
    pending: Vec<(Unit, Option<u32>)>,
    bytes: usize,
    sequence: u32,
    /// Where the next segment's decode time starts (continuous within a
    /// session).
    decode_time: u64,
    /// The last sample duration seen, for a segment's last picture when
    /// the stream ends before the next one arrives.
    last_duration: u32,
    /// Units dropped while waiting for a key picture.
    pub dropped: u64,
    audio: Option<AudioTrack>,
    /// Audio frames of the segment in progress: bytes and time in the
    /// audio track's timescale.
    audio_pending: Vec<(Vec<u8>, i64)>,
    /// Where the next segment's audio decode time starts; `None` until the
    /// session's first kept audio frame sets it (aligned to the video by the
    /// service's clock).
    audio_decode_time: Option<u64>,
    audio_last_duration: u32,
}

impl Segmenter {
    /// Segments of about `target_secs` (cut at the first key picture after
    /// it), at most `max_bytes` of samples each.
    pub fn new(target_secs: f64, max_bytes: usize) -> Segmenter {
        Segmenter {
            target_secs: target_secs.max(0.1),
            max_bytes,
            track: None,
            pending: Vec::new(),
            bytes: 0,
            sequence: 0,
            decode_time: 0,
            last_duration: 3000,
            dropped: 0,
            audio: None,
            audio_pending: Vec::new(),
            audio_decode_time: None,
            audio_last_duration: 1024,
        }
    }

    /// The stream's audio track (kept beside the video from now on).
    pub fn audio_parameters(&mut self, track: AudioTrack) {
        self.audio = Some(track);
    }

    /// Adds an audio frame at `ticks` (the audio track's timescale, from the
    /// session's start) heard at `at_ms`: kept in the segment in progress,
    /// dropped before the first key picture, without an audio track, or
    /// when the segment is full.
    pub fn push_audio(&mut self, data: Vec<u8>, ticks: i64, at_ms: i64) {
        let (Some(audio), Some((first, _))) = (&self.audio, self.pending.first()) else {
            return;
        };
        if self.bytes + data.len() > self.max_bytes {
            return;
        }
        if self.audio_decode_time.is_none() {
            // The first kept frame sits where it was heard, after the
            // segment's first picture.
            let after_ms = (at_ms - first.at_ms).max(0) as u64;
            let start = self.decode_time * 1000 / u64::from(self.video_timescale().max(1));
            self.audio_decode_time = Some((start + after_ms) * u64::from(audio.timescale) / 1000);
        }
        self.bytes += data.len();
        self.audio_pending.push((data, ticks));
    }

    fn video_timescale(&self) -> u32 {
        self.track.as_ref().map_or(90_000, |t| t.timescale)
    }

    /// The stream's (new) parameters: the segment in progress ends.
    pub fn parameters(&mut self, track: Track) -> Option<Segment> {
        let done = self.cut();
        self.track = Some(track);
        done
    }

    /// Adds a unit; the segment it ended, if any.
    pub fn push(&mut self, unit: Unit) -> Option<Segment> {
        let Some(track) = &self.track else {
            self.dropped += 1;
            return None;
        };
        let target_ticks = (self.target_secs * f64::from(track.timescale)) as i64;
        let mut done = None;
        if let Some((first, _)) = self.pending.first() {
            let long_enough = unit.ticks - first.ticks >= target_ticks;
            let too_big =
                self.bytes + unit.data.len() > self.max_bytes || self.pending.len() >= MAX_SAMPLES;
            if (unit.key && long_enough) || too_big {
                if let Some((last, duration)) = self.pending.last_mut() {
                    *duration = Some(duration_between(last.ticks, unit.ticks));
                }
                done = self.cut();
            }
        }
        if self.pending.is_empty() && !unit.key {
            self.dropped += 1;
            return done;
        }
        if let Some((last, duration)) = self.pending.last_mut() {
            *duration = Some(duration_between(last.ticks, unit.ticks));
        }
        self.bytes += unit.data.len();
        self.pending.push((unit, None));
        done
    }

    /// Ends the segment in progress (the session ended).
    pub fn finish(&mut self) -> Option<Segment> {
        let done = self.cut();
        self.decode_time = 0;
        self.audio_decode_time = None;
        done
    }

    fn cut(&mut self) -> Option<Segment> {
        if self.track.is_none() || self.pending.is_empty() {
            return None;
        }
        let audio_samples = self.audio_samples();
        let track = self.track.as_ref()?;
        let pending = std::mem::take(&mut self.pending);
        self.bytes = 0;
        let start_ms = pending[0].0.at_ms;
        let mut samples = Vec::with_capacity(pending.len());
        let mut total: u64 = 0;
        for (unit, duration) in pending {
            let duration = duration.unwrap_or(self.last_duration);
            if duration > 0 {
                self.last_duration = duration;
            }
            total += u64::from(duration);
            samples.push(Sample {
                data: unit.data,
                duration,
                key: unit.key,
            });
        }
        self.sequence = self.sequence.wrapping_add(1);
        let audio_start = self.audio_decode_time.unwrap_or(0);
        let audio = self.audio.as_ref().map(|track| Audio {
            track,
            decode_time: audio_start,
            samples: &audio_samples,
        });
        let file =
            fmp4::segment_with_audio(track, audio, self.sequence, self.decode_time, &samples);
        self.decode_time += total;
        if !audio_samples.is_empty() {
            let heard: u64 = audio_samples.iter().map(|s| u64::from(s.duration)).sum();
            self.audio_decode_time = Some(audio_start + heard);
        }
        let span_ms = (total * 1000 / u64::from(track.timescale.max(1))) as i64;
        Some(Segment {
            file,
            start_ms,
            end_ms: start_ms + span_ms,
            pictures: u32::try_from(samples.len()).unwrap_or(u32::MAX),
            codec: track.codec,
            audio_frames: u32::try_from(audio_samples.len()).unwrap_or(u32::MAX),
        })
    }

    /// The segment's audio frames, with durations from their times (the
    /// last one as long as the one before).
    fn audio_samples(&mut self) -> Vec<Sample> {
        let pending = std::mem::take(&mut self.audio_pending);
        let times: Vec<i64> = pending.iter().map(|(_, t)| *t).collect();
        let mut samples = Vec::with_capacity(pending.len());
        for (i, (data, _)) in pending.into_iter().enumerate() {
            let duration = match times.get(i + 1) {
                Some(next) => u32::try_from((next - times[i]).clamp(1, 1 << 20)).unwrap_or(1),
                None => self.audio_last_duration,
            };
            self.audio_last_duration = duration;
            samples.push(Sample {
                data,
                duration,
                key: true,
            });
        }
        samples
    }
}

/// The duration between two pictures' times: at least one tick (a camera
/// repeating or reversing timestamps must not make a zero or negative
/// duration), at most ten seconds' worth at 90 kHz.
fn duration_between(from: i64, to: i64) -> u32 {
    u32::try_from((to - from).clamp(1, 900_000)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fmp4::Codec;

    fn track() -> Track {
        Track {
            codec: Codec::H264,
            record: vec![1, 0x42, 0, 0x1e, 0xff, 0xe0, 0],
            width: 64,
            height: 48,
            timescale: 90_000,
        }
    }

    fn unit(i: i64, key: bool) -> Unit {
        Unit {
            data: vec![0, 0, 0, 1, if key { 0x65 } else { 0x41 }],
            ticks: i * 9000,
            at_ms: 1_000_000 + i * 100,
            key,
        }
    }

    #[test]
    fn segments_start_at_key_pictures_after_the_target_and_cover_the_stream() {
        let mut s = Segmenter::new(1.0, 1 << 20);
        assert!(s.parameters(track()).is_none());
        let mut segments = Vec::new();
        // A key picture every 6 pictures (0.6 s) at 10 fps; a first unit
        // that is not a key picture is dropped.
        assert!(s.push(unit(-1, false)).is_none());
        for i in 0..40 {
            segments.extend(s.push(unit(i, i % 6 == 0)));
        }
        segments.extend(s.finish());
        assert_eq!(s.dropped, 1);
        let spans: Vec<(i64, i64, u32)> = segments
            .iter()
            .map(|g| (g.start_ms - 1_000_000, g.end_ms - 1_000_000, g.pictures))
            .collect();
        // Cuts at 1.2 s, 2.4 s, 3.6 s: the first key picture a second or
        // more after the segment's start; the last segment ends a picture
        // after its last picture.
        assert_eq!(
            spans,
            [
                (0, 1200, 12),
                (1200, 2400, 12),
                (2400, 3600, 12),
                (3600, 4000, 4)
            ]
        );
    }

    #[test]
    fn a_stream_without_key_pictures_is_bounded_and_dropped() {
        let mut s = Segmenter::new(1.0, 100);
        s.parameters(track());
        let mut segments = Vec::new();
        segments.extend(s.push(unit(0, true)));
        for i in 1..1000 {
            segments.extend(s.push(unit(i, false)));
        }
        // 100 bytes hold 20 units of 5: the segment is cut there, and the
        // rest waits for a key picture that never comes.
        assert_eq!(segments.len(), 1);
        assert_eq!(segments[0].pictures, 20);
        assert_eq!(s.dropped, 980);
        assert!(s.finish().is_none());
    }

    #[test]
    fn nothing_is_kept_before_the_stream_says_its_parameters() {
        let mut s = Segmenter::new(1.0, 1 << 20);
        assert!(s.push(unit(0, true)).is_none());
        assert!(s.finish().is_none());
        assert_eq!(s.dropped, 1);
    }

    proptest::proptest! {
        /// Whatever a camera sends (sizes, key pictures, times that jump
        /// back or far ahead): no panic, every segment starts with a key
        /// picture, holds at most the byte limit plus one unit, and ends
        /// no earlier than it starts.
        #[test]
        fn any_stream_is_cut_safely(
            units in proptest::collection::vec((1usize..300, proptest::bool::ANY, -90_000i64..900_000), 0..200),
        ) {
            let mut s = Segmenter::new(1.0, 1000);
            s.parameters(track());
            let mut segments = Vec::new();
            let mut ticks = 0i64;
            for (len, key, step) in units {
                ticks += step;
                let mut data = (len as u32).to_be_bytes().to_vec();
                data.extend(std::iter::repeat_n(if key { 0x65 } else { 0x41 }, len));
                segments.extend(s.push(Unit { data, ticks, at_ms: ticks / 90, key }));
            }
            segments.extend(s.finish());
            for g in segments {
                proptest::prop_assert!(g.end_ms >= g.start_ms);
                proptest::prop_assert!(g.file.len() < 1000 + 304 + 2048 + 12 * g.pictures as usize);
                let mdat = g.file.windows(4).position(|w| w == b"mdat").expect("mdat");
                proptest::prop_assert_eq!(g.file.get(mdat + 8), Some(&0x65), "starts with a key picture");
            }
        }
    }
}
