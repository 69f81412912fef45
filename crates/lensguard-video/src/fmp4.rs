//! Fragmented MP4 (ISO/IEC 14496-12) files of one video track, written from
//! the access units an RTSP client depacketises, without re-encoding.
//!
//! Each file [`segment`] writes stands alone: `ftyp`, a `moov` whose sample
//! entry (`avc1` with `avcC`, or `hvc1` with `hvcC`) carries the camera's
//! decoder configuration record byte for byte, then one `moof` + `mdat`
//! holding the samples. A player, `ffprobe` or a court's expert opens any
//! exported segment on its own. Consecutive segments of a session carry
//! continuing `tfdt` decode times; joining them into one file is not
//! built (each repeats its header).
//!
//! Invariants: sample bytes are copied unchanged (AVC/HEVC length-prefixed
//! NAL units, as RTSP clients hand them out); the first sample of a segment
//! is a key picture ([`crate::segmenter`] guarantees it) and is flagged as
//! the only kind of sync sample; nothing here reads or writes a file.
//!
//! Why written here rather than with a muxing crate: the box set is small
//! and fixed (about 20 boxes), the decoder configuration record must be
//! embedded exactly as the camera sent it, and the same writer serves H.264
//! and H.265 (documented in ARCHITECTURE.md).

/// The video codec of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// H.264 / AVC (`avc1`, `avcC`).
    H264,
    /// H.265 / HEVC (`hvc1`, `hvcC`).
    H265,
}

impl Codec {
    /// The name used in listings (`h264`, `h265`).
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        }
    }

    /// The codec named `name` (`h264`, `h265`), as listings write it.
    pub fn parse(name: &str) -> Option<Codec> {
        match name {
            "h264" => Some(Codec::H264),
            "h265" => Some(Codec::H265),
            _ => None,
        }
    }

    fn sample_entry(self) -> &'static [u8; 4] {
        match self {
            Codec::H264 => b"avc1",
            Codec::H265 => b"hvc1",
        }
    }

    fn configuration_box(self) -> &'static [u8; 4] {
        match self {
            Codec::H264 => b"avcC",
            Codec::H265 => b"hvcC",
        }
    }
}

/// What every segment of a session shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// The codec.
    pub codec: Codec,
    /// The `AVCDecoderConfigurationRecord` or `HEVCDecoderConfigurationRecord`.
    pub record: Vec<u8>,
    /// Picture width in pixels.
    pub width: u16,
    /// Picture height in pixels.
    pub height: u16,
    /// Ticks per second of sample durations (90 000 for RTP video).
    pub timescale: u32,
}

/// One access unit in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// Length-prefixed NAL units.
    pub data: Vec<u8>,
    /// Its duration in the track's timescale.
    pub duration: u32,
    /// Whether it is a key picture (decoding can start here).
    pub key: bool,
}

/// A box being written: its size is filled in when it is closed.
struct BoxWriter<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> BoxWriter<'a> {
    fn open(out: &'a mut Vec<u8>, kind: &[u8; 4]) -> BoxWriter<'a> {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(kind);
        BoxWriter { out, start }
    }

    /// A full box: version and 24 bits of flags after the header.
    fn full(out: &'a mut Vec<u8>, kind: &[u8; 4], version: u8, flags: u32) -> BoxWriter<'a> {
        let b = BoxWriter::open(out, kind);
        b.out.push(version);
        b.out.extend_from_slice(&flags.to_be_bytes()[1..]);
        b
    }

    fn child(&mut self, kind: &[u8; 4]) -> BoxWriter<'_> {
        BoxWriter::open(self.out, kind)
    }

    fn full_child(&mut self, kind: &[u8; 4], version: u8, flags: u32) -> BoxWriter<'_> {
        BoxWriter::full(self.out, kind, version, flags)
    }

    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }

    fn zeros(&mut self, n: usize) -> &mut Self {
        self.out.resize(self.out.len() + n, 0);
        self
    }

    /// The unity matrix of `mvhd` and `tkhd`.
    fn matrix(&mut self) -> &mut Self {
        for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
            self.u32(v);
        }
        self
    }
}

impl Drop for BoxWriter<'_> {
    fn drop(&mut self) {
        // Segments are bounded far below 4 GiB by the segmenter; a size
        // that does not fit would be a bug, written as the largest size
        // (an unreadable box) rather than a panic.
        let size = u32::try_from(self.out.len() - self.start).unwrap_or(u32::MAX);
        self.out[self.start..self.start + 4].copy_from_slice(&size.to_be_bytes());
    }
}

const VIDEO_ID: u32 = 1;
const AUDIO_ID: u32 = 2;
/// `sample_depends_on = 2` (depends on no other picture).
const KEY_FLAGS: u32 = 0x0200_0000;
/// `sample_depends_on = 1`, `sample_is_non_sync_sample`.
const DELTA_FLAGS: u32 = 0x0101_0000;

/// A recording's audio track (AAC), kept only where a camera's
/// `keep_audio` says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioTrack {
    /// The whole `mp4a` sample entry box (with its `esds`), as the RTSP
    /// client builds it from the stream's AudioSpecificConfig.
    pub sample_entry: Vec<u8>,
    /// Ticks per second (the sample rate).
    pub timescale: u32,
}

/// Audio for one segment: its track, where its decode time starts, and its
/// frames (every one a sync sample).
#[derive(Debug, Clone, Copy)]
pub struct Audio<'a> {
    /// The track.
    pub track: &'a AudioTrack,
    /// Decode time of the first frame, in the track's timescale.
    pub decode_time: u64,
    /// The frames.
    pub samples: &'a [Sample],
}

/// One self-contained fragmented MP4 file: the track's header, then
/// `samples` as fragment `sequence` starting at `decode_time` (in the track's
/// timescale).
pub fn segment(track: &Track, sequence: u32, decode_time: u64, samples: &[Sample]) -> Vec<u8> {
    segment_with_audio(track, None, sequence, decode_time, samples)
}

/// [`segment`] with an audio track beside the video.
pub fn segment_with_audio(
    track: &Track,
    audio: Option<Audio<'_>>,
    sequence: u32,
    decode_time: u64,
    samples: &[Sample],
) -> Vec<u8> {
    let audio_samples = audio.map_or(&[][..], |a| a.samples);
    let payload: usize = samples
        .iter()
        .chain(audio_samples)
        .map(|s| s.data.len())
        .sum();
    let mut out = Vec::with_capacity(2048 + (samples.len() + audio_samples.len()) * 12 + payload);
    header(&mut out, track, audio.map(|a| a.track));
    let mut runs = vec![(VIDEO_ID, decode_time, samples)];
    if let Some(a) = audio.filter(|a| !a.samples.is_empty()) {
        runs.push((AUDIO_ID, a.decode_time, a.samples));
    }
    fragment(&mut out, sequence, &runs);
    out
}

/// `tkhd`, `mdhd`, `hdlr`, the media header, `dinf` and an `stbl` holding
/// `entry` (empty sample tables: the samples are in fragments).
fn trak(
    moov: &mut BoxWriter<'_>,
    id: u32,
    timescale: u32,
    size: (u16, u16),
    audio: bool,
    entry: impl FnOnce(&mut BoxWriter<'_>),
) {
    let mut trak = moov.child(b"trak");
    {
        let mut tkhd = trak.full_child(b"tkhd", 0, 0x3);
        tkhd.u32(0).u32(0).u32(id).u32(0).u32(0);
        // Reserved, layer, alternate group, volume (full for audio).
        tkhd.zeros(8)
            .u16(0)
            .u16(0)
            .u16(if audio { 0x0100 } else { 0 })
            .u16(0)
            .matrix();
        tkhd.u32(u32::from(size.0) << 16)
            .u32(u32::from(size.1) << 16);
    }
    let mut mdia = trak.child(b"mdia");
    {
        let mut mdhd = mdia.full_child(b"mdhd", 0, 0);
        // Times, timescale, duration, language "und", pre_defined.
        mdhd.u32(0).u32(0).u32(timescale).u32(0).u16(0x55c4).u16(0);
    }
    {
        let mut hdlr = mdia.full_child(b"hdlr", 0, 0);
        hdlr.u32(0)
            .bytes(if audio { b"soun" } else { b"vide" })
            .zeros(12)
            .bytes(b"lensguard\0");
    }
    let mut minf = mdia.child(b"minf");
    if audio {
        minf.full_child(b"smhd", 0, 0).u16(0).u16(0);
    } else {
        minf.full_child(b"vmhd", 0, 1).u16(0).zeros(6);
    }
    {
        let mut dinf = minf.child(b"dinf");
        let mut dref = dinf.full_child(b"dref", 0, 0);
        dref.u32(1);
        // `url ` with flag 1: the media is in this file.
        drop(dref.full_child(b"url ", 0, 1));
    }
    let mut stbl = minf.child(b"stbl");
    {
        let mut stsd = stbl.full_child(b"stsd", 0, 0);
        stsd.u32(1);
        entry(&mut stsd);
    }
    stbl.full_child(b"stts", 0, 0).u32(0);
    stbl.full_child(b"stsc", 0, 0).u32(0);
    stbl.full_child(b"stsz", 0, 0).u32(0).u32(0);
    stbl.full_child(b"stco", 0, 0).u32(0);
}

fn header(out: &mut Vec<u8>, track: &Track, audio: Option<&AudioTrack>) {
    {
        let mut ftyp = BoxWriter::open(out, b"ftyp");
        ftyp.bytes(b"iso6").u32(0);
        for brand in [b"iso6", b"cmfc", b"mp41", track.codec.sample_entry()] {
            ftyp.bytes(brand);
        }
    }
    let mut moov = BoxWriter::open(out, b"moov");
    {
        let mut mvhd = moov.full_child(b"mvhd", 0, 0);
        mvhd.u32(0).u32(0).u32(1000).u32(0); // times, timescale, duration
        mvhd.u32(0x0001_0000)
            .u16(0x0100)
            .zeros(10)
            .matrix()
            .zeros(24);
        mvhd.u32(AUDIO_ID + 1);
    }
    let size = (track.width, track.height);
    trak(&mut moov, VIDEO_ID, track.timescale, size, false, |stsd| {
        let mut entry = stsd.child(track.codec.sample_entry());
        entry.zeros(6).u16(1); // reserved, data_reference_index
        entry.zeros(16); // pre_defined, reserved
        entry.u16(track.width).u16(track.height);
        entry.u32(0x0048_0000).u32(0x0048_0000).u32(0).u16(1);
        entry.zeros(32).u16(0x0018).u16(0xffff);
        entry
            .child(track.codec.configuration_box())
            .bytes(&track.record);
    });
    if let Some(a) = audio {
        trak(&mut moov, AUDIO_ID, a.timescale, (0, 0), true, |stsd| {
            stsd.bytes(&a.sample_entry);
        });
    }
    let mut mvex = moov.child(b"mvex");
    for id in std::iter::once(VIDEO_ID).chain(audio.map(|_| AUDIO_ID)) {
        mvex.full_child(b"trex", 0, 0)
            .u32(id)
            .u32(1)
            .u32(0)
            .u32(0)
            .u32(0);
    }
}

/// One `moof` with a `traf` per run (track id, decode time, samples), then
/// one `mdat` holding the runs' samples in order.
fn fragment(out: &mut Vec<u8>, sequence: u32, runs: &[(u32, u64, &[Sample])]) {
    let moof_start = out.len();
    let mut offsets_at = Vec::with_capacity(runs.len());
    {
        let mut moof = BoxWriter::open(out, b"moof");
        moof.full_child(b"mfhd", 0, 0).u32(sequence);
        for &(id, decode_time, samples) in runs {
            let mut traf = moof.child(b"traf");
            // default-base-is-moof: data offsets count from the moof's start.
            traf.full_child(b"tfhd", 0, 0x02_0000).u32(id);
            traf.full_child(b"tfdt", 1, 0).u64(decode_time);
            // data-offset, sample duration, size and flags present.
            let mut trun = traf.full_child(b"trun", 0, 0x000_0701);
            trun.u32(u32::try_from(samples.len()).unwrap_or(u32::MAX));
            offsets_at.push(trun.out.len());
            trun.u32(0);
            for s in samples {
                let flags = if s.key { KEY_FLAGS } else { DELTA_FLAGS };
                trun.u32(s.duration)
                    .u32(u32::try_from(s.data.len()).unwrap_or(u32::MAX))
                    .u32(flags);
            }
        }
    }
    // Each run's first sample follows the mdat's 8-byte header and the
    // runs before it.
    let mut offset = out.len() - moof_start + 8;
    for (&(_, _, samples), at) in runs.iter().zip(offsets_at) {
        let value = u32::try_from(offset).unwrap_or(u32::MAX);
        out[at..at + 4].copy_from_slice(&value.to_be_bytes());
        offset += samples.iter().map(|s| s.data.len()).sum::<usize>();
    }
    let mut mdat = BoxWriter::open(out, b"mdat");
    for &(_, _, samples) in runs {
        for s in samples {
            mdat.bytes(&s.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64x48 H.264 track whose record has no parameter sets (structure
    /// tests only: nothing decodes it).
    fn small_track() -> Track {
        Track {
            codec: Codec::H264,
            record: vec![1, 0x42, 0, 0x1e, 0xff, 0xe0, 0],
            width: 64,
            height: 48,
            timescale: 90_000,
        }
    }

    /// The boxes at the top of `file`: kind and size.
    fn top_boxes(file: &[u8]) -> Vec<(String, usize)> {
        let mut at = 0;
        let mut boxes = Vec::new();
        while at + 8 <= file.len() {
            let size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
            boxes.push((
                String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned(),
                size,
            ));
            assert!(size >= 8, "box at {at} has size {size}");
            at += size;
        }
        assert_eq!(at, file.len(), "boxes cover the file exactly");
        boxes
    }

    #[test]
    fn a_segment_is_a_header_and_one_fragment_whose_data_offset_finds_the_samples() {
        let track = small_track();
        let samples = vec![
            Sample {
                data: vec![0, 0, 0, 2, 0x65, 0xaa],
                duration: 3000,
                key: true,
            },
            Sample {
                data: vec![0, 0, 0, 1, 0x41],
                duration: 3000,
                key: false,
            },
        ];
        let file = segment(&track, 7, 123_456, &samples);
        let kinds: Vec<String> = top_boxes(&file).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, ["ftyp", "moov", "moof", "mdat"]);
        let moof = file.windows(4).position(|w| w == b"moof").expect("moof") - 4;
        let trun = file.windows(4).position(|w| w == b"trun").expect("trun") + 4;
        // version/flags, count, data offset.
        let offset = u32::from_be_bytes(file[trun + 8..trun + 12].try_into().unwrap()) as usize;
        assert_eq!(
            &file[moof + offset..],
            [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x41]
        );
        // The record is embedded unchanged in avcC.
        let avcc = file.windows(4).position(|w| w == b"avcC").expect("avcC") + 4;
        assert_eq!(&file[avcc..avcc + 7], &track.record[..]);
    }

    #[test]
    fn ffprobe_decodes_every_picture_of_a_real_h264_segment_and_none_without_its_record() {
        let (track, samples) = crate::test_stream::track_and_samples(30, |_| 3000);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("segment.mp4");
        std::fs::write(&path, segment(&track, 1, 0, &samples)).expect("write");
        let Some(probe) = lensguard_testkit::ffprobe::probe(&path) else {
            return;
        };
        let probe = probe.expect("ffprobe decodes the segment");
        assert_eq!(
            (
                probe.codec.as_str(),
                probe.width,
                probe.height,
                probe.frames
            ),
            ("h264", 64, 48, 30)
        );
        // Without its configuration record nothing decodes: ffprobe is a
        // judge that can say no.
        let broken = Track {
            record: vec![1, 0x42, 0, 0x1e, 0xff, 0xe0, 0],
            ..track
        };
        std::fs::write(&path, segment(&broken, 1, 0, &samples)).expect("write");
        let probe = lensguard_testkit::ffprobe::probe(&path).expect("ffprobe ran");
        assert!(
            probe.as_ref().map_or(true, |p| p.frames == 0),
            "decoded without parameter sets: {probe:?}"
        );
    }

    #[test]
    fn audio_is_a_second_track_whose_run_points_at_its_own_bytes() {
        let track = small_track();
        let video = [Sample {
            data: vec![0, 0, 0, 1, 0x65],
            duration: 3000,
            key: true,
        }];
        let sound = AudioTrack {
            sample_entry: b"\0\0\0\x08mp4a".to_vec(),
            timescale: 48_000,
        };
        let frames = [
            Sample {
                data: vec![0xa1, 0xa2],
                duration: 1024,
                key: true,
            },
            Sample {
                data: vec![0xa3],
                duration: 1024,
                key: true,
            },
        ];
        let audio = Audio {
            track: &sound,
            decode_time: 7,
            samples: &frames,
        };
        let file = segment_with_audio(&track, Some(audio), 1, 0, &video);
        let count = |kind: &[u8]| file.windows(4).filter(|w| *w == kind).count();
        assert_eq!((count(b"trak"), count(b"trex"), count(b"traf")), (2, 2, 2));
        assert_eq!(count(b"soun"), 1);
        let moof = file.windows(4).position(|w| w == b"moof").expect("moof") - 4;
        let runs: Vec<usize> = file
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"trun")
            .map(|(i, _)| {
                let at = i + 4 + 8;
                moof + u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize
            })
            .collect();
        assert_eq!(&file[runs[0]..runs[0] + 5], [0, 0, 0, 1, 0x65]);
        assert_eq!(&file[runs[1]..], [0xa1, 0xa2, 0xa3]);
    }
}
