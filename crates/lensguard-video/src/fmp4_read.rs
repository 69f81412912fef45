//! Reading back the segments [`crate::fmp4`] writes: the video track's
//! configuration and its samples, for redacting stored footage.
//!
//! Invariants: every length and offset is checked against the bytes there
//! are (a damaged or foreign file is an error, never a panic or a read out
//! of bounds; property-tested); only what `fmp4` writes is understood: one
//! `moov` with an `avc1`/`avcC` or `hvc1`/`hvcC` video track, fragments with
//! `tfhd` default-base-is-moof, `tfdt` and `trun` with data offset,
//! durations, sizes and flags.

use crate::VideoError;
use crate::fmp4::{Codec, Sample, Track};

/// A segment read back: its video track and its video samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadSegment {
    /// The video track.
    pub track: Track,
    /// Its samples, in decoding order.
    pub samples: Vec<Sample>,
}

fn bad(what: &str) -> VideoError {
    VideoError::Malformed(format!("segment: {what}"))
}

/// A box: its kind, its body, and where it starts in what was split.
type RawBox<'a> = ([u8; 4], &'a [u8], usize);

/// The boxes directly inside `bytes`.
fn boxes(bytes: &[u8]) -> Result<Vec<RawBox<'_>>, VideoError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let head = bytes
            .get(at..at + 8)
            .ok_or_else(|| bad("a truncated box header"))?;
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        if size < 8 {
            return Err(bad("a box smaller than its header"));
        }
        let body = bytes
            .get(at + 8..at + size)
            .ok_or_else(|| bad("a box longer than the file"))?;
        out.push((kind, body, at));
        at += size;
    }
    Ok(out)
}

fn child<'a>(bytes: &'a [u8], kind: &[u8; 4]) -> Result<&'a [u8], VideoError> {
    boxes(bytes)?
        .into_iter()
        .find(|(k, _, _)| k == kind)
        .map(|(_, body, _)| body)
        .ok_or_else(|| bad(&format!("no {} box", String::from_utf8_lossy(kind))))
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, VideoError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("a field past the end of its box"))
}

fn u16_at(bytes: &[u8], at: usize) -> Result<u16, VideoError> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("a field past the end of its box"))
}

/// The video track of a `moov` body.
fn video_track(moov: &[u8]) -> Result<(u32, Track), VideoError> {
    for (kind, trak, _) in boxes(moov)? {
        if &kind != b"trak" {
            continue;
        }
        let mdia = child(trak, b"mdia")?;
        let hdlr = child(mdia, b"hdlr")?;
        if hdlr.get(8..12) != Some(b"vide") {
            continue;
        }
        let tkhd = child(trak, b"tkhd")?;
        let id = u32_at(tkhd, 12)?;
        let timescale = u32_at(child(mdia, b"mdhd")?, 12)?;
        let stsd = child(child(child(mdia, b"minf")?, b"stbl")?, b"stsd")?;
        // Full box header and entry count, then the sample entry.
        let entries = stsd.get(8..).ok_or_else(|| bad("an empty stsd"))?;
        let (entry_kind, entry, _) = *boxes(entries)?
            .first()
            .ok_or_else(|| bad("no sample entry"))?;
        let (codec, config) = match &entry_kind {
            b"avc1" => (Codec::H264, b"avcC"),
            b"hvc1" => (Codec::H265, b"hvcC"),
            _ => return Err(bad("a video codec this reader does not know")),
        };
        // The visual sample entry's fixed fields are 78 bytes.
        let (width, height) = (u16_at(entry, 24)?, u16_at(entry, 26)?);
        let record = child(
            entry.get(78..).ok_or_else(|| bad("a short sample entry"))?,
            config,
        )?;
        return Ok((
            id,
            Track {
                codec,
                record: record.to_vec(),
                width,
                height,
                timescale,
            },
        ));
    }
    Err(bad("no video track"))
}

/// What a `tfhd` says samples are when their `trun` does not.
struct TrackDefaults {
    duration: Option<u32>,
    size: Option<u32>,
    flags: Option<u32>,
}

impl TrackDefaults {
    fn of(tfhd: &[u8]) -> Result<TrackDefaults, VideoError> {
        let flags = u32_at(tfhd, 0)? & 0x00ff_ffff;
        if flags & 0x1 != 0 {
            return Err(bad("a tfhd with an explicit base data offset"));
        }
        // After version/flags (4) and the track id (4).
        let mut at = 8;
        if flags & 0x2 != 0 {
            at += 4; // sample description index
        }
        let mut next = |present: bool| -> Result<Option<u32>, VideoError> {
            if !present {
                return Ok(None);
            }
            let v = u32_at(tfhd, at)?;
            at += 4;
            Ok(Some(v))
        };
        Ok(TrackDefaults {
            duration: next(flags & 0x8 != 0)?,
            size: next(flags & 0x10 != 0)?,
            flags: next(flags & 0x20 != 0)?,
        })
    }
}

/// Appends the samples of one `trun` (offsets from the `moof` at
/// `moof_at`): per-sample fields where present, else the `tfhd` defaults.
fn read_trun(
    file: &[u8],
    trun: &[u8],
    moof_at: usize,
    defaults: &TrackDefaults,
    samples: &mut Vec<Sample>,
) -> Result<(), VideoError> {
    let flags = u32_at(trun, 0)? & 0x00ff_ffff;
    if flags & 0x1 == 0 {
        return Err(bad("a trun without a data offset"));
    }
    let count = u32_at(trun, 4)? as usize;
    let mut offset = moof_at
        .checked_add_signed(u32_at(trun, 8)? as i32 as isize)
        .ok_or_else(|| bad("a data offset before the file"))?;
    let mut at = 12;
    let first_flags = if flags & 0x4 != 0 {
        at += 4;
        Some(u32_at(trun, 8 + 4)?)
    } else {
        None
    };
    if count > trun.len() / 4 {
        return Err(bad("a trun longer than its box"));
    }
    for i in 0..count {
        let mut field = |bit: u32| -> Result<Option<u32>, VideoError> {
            if flags & bit == 0 {
                return Ok(None);
            }
            let v = u32_at(trun, at)?;
            at += 4;
            Ok(Some(v))
        };
        let duration = field(0x100)?.or(defaults.duration);
        let size = field(0x200)?.or(defaults.size);
        let mut sample_flags = field(0x400)?.or(defaults.flags);
        field(0x800)?; // composition offset: pictures are shown in decode order
        if i == 0 && first_flags.is_some() {
            sample_flags = first_flags;
        }
        let (Some(duration), Some(size)) = (duration, size) else {
            return Err(bad("a sample without a duration or size"));
        };
        let size = size as usize;
        let data = file
            .get(offset..offset.saturating_add(size))
            .ok_or_else(|| bad("a sample past the end of the file"))?;
        samples.push(Sample {
            data: data.to_vec(),
            duration,
            key: sample_flags.is_none_or(|f| f & 0x0001_0000 == 0),
        });
        offset += size;
    }
    Ok(())
}

/// The video track and samples of a fragmented MP4: a segment `fmp4`
/// wrote, or another writer's (ffmpeg's `frag_keyframe` files) whose
/// fragments address their data from their `moof`.
pub fn read(file: &[u8]) -> Result<ReadSegment, VideoError> {
    let top = boxes(file)?;
    let moov = top
        .iter()
        .find(|(k, _, _)| k == b"moov")
        .ok_or_else(|| bad("no moov"))?
        .1;
    let (video_id, track) = video_track(moov)?;
    let mut samples = Vec::new();
    for &(kind, moof, moof_at) in &top {
        if &kind != b"moof" {
            continue;
        }
        for (kind, traf, _) in boxes(moof)? {
            if &kind != b"traf" || u32_at(child(traf, b"tfhd")?, 4)? != video_id {
                continue;
            }
            let tfhd = child(traf, b"tfhd")?;
            let defaults = TrackDefaults::of(tfhd)?;
            let trun = child(traf, b"trun")?;
            read_trun(file, trun, moof_at, &defaults, &mut samples)?;
        }
    }
    Ok(ReadSegment { track, samples })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fmp4::{Audio, AudioTrack, segment_with_audio};
    use proptest::prelude::*;

    fn written() -> (Track, Vec<Sample>, Vec<u8>) {
        // Durations differ, so reading them back is a check.
        let (track, samples) = crate::test_stream::track_and_samples(6, |i| 3000 + i as u32);
        let sound = AudioTrack {
            sample_entry: b"\0\0\0\x08mp4a".to_vec(),
            timescale: 48_000,
        };
        let frames = [Sample {
            data: vec![0xa1; 9],
            duration: 1024,
            key: true,
        }];
        let audio = Audio {
            track: &sound,
            decode_time: 0,
            samples: &frames,
        };
        let file = segment_with_audio(&track, Some(audio), 3, 1000, &samples);
        (track, samples, file)
    }

    #[test]
    fn a_written_segment_reads_back_as_it_was_written_audio_aside() {
        let (track, samples, file) = written();
        let read = read(&file).expect("reads");
        assert_eq!(read.track, track);
        assert_eq!(read.samples, samples);
    }

    #[test]
    fn damaged_segments_are_errors() {
        let (_, _, file) = written();
        assert!(read(&file[..file.len() - 1]).is_err(), "truncated");
        assert!(read(&file[..40]).is_err(), "header only");
        assert!(read(b"not an mp4 file").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Random bytes, and a real segment with bytes changed: an error or
        /// samples within the file, never a panic.
        #[test]
        fn any_bytes_read_safely(
            noise in proptest::collection::vec(any::<u8>(), 0..512),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let _ = read(&noise);
            let (_, _, mut file) = written();
            for (at, x) in flips {
                let i = at % file.len();
                file[i] ^= x;
            }
            if let Ok(r) = read(&file) {
                let total: usize = r.samples.iter().map(|s| s.data.len()).sum();
                prop_assert!(total <= file.len());
            }
        }
    }
}
