//! AVC (length-prefixed, ISO/IEC 14496-15) to Annex B (start codes), with
//! every length checked against the bytes there are.

use crate::VideoError;

/// The Annex B start code put before each NAL unit.
const START: [u8; 4] = [0, 0, 0, 1];

/// The parameter sets of an `AVCDecoderConfigurationRecord` (what RTSP
/// clients derive from the SDP's `sprop-parameter-sets`) as Annex B, and the
/// size in bytes of the NAL unit lengths in the access units (1, 2 or 4).
pub fn parameter_sets(record: &[u8]) -> Result<(Vec<u8>, usize), VideoError> {
    let bad = |what: &str| VideoError::Parameters(what.to_owned());
    let mut r = Reader(record);
    let header = r
        .take(5)
        .ok_or_else(|| bad("record shorter than its header"))?;
    if header[0] != 1 {
        return Err(bad("record version is not 1"));
    }
    let length_size = usize::from(header[4] & 0x03) + 1;
    if length_size == 3 {
        return Err(bad("NAL unit length size of 3 bytes"));
    }
    let mut out = Vec::with_capacity(record.len() + 16);
    let sps = r.byte().ok_or_else(|| bad("no SPS count"))? & 0x1f;
    if sps == 0 {
        return Err(bad("no SPS"));
    }
    for _ in 0..sps {
        copy_unit(&mut r, 2, &mut out).ok_or_else(|| bad("SPS longer than the record"))?;
    }
    let pps = r.byte().ok_or_else(|| bad("no PPS count"))?;
    if pps == 0 {
        return Err(bad("no PPS"));
    }
    for _ in 0..pps {
        copy_unit(&mut r, 2, &mut out).ok_or_else(|| bad("PPS longer than the record"))?;
    }
    Ok((out, length_size))
}

/// The NAL units of the AVC access unit `frame` (each prefixed by a
/// big-endian length of `length_size` bytes), as far as their lengths hold;
/// `None` in place of a unit whose length is zero or runs past the end (the
/// iteration stops there).
pub fn units(frame: &[u8], length_size: usize) -> impl Iterator<Item = Option<&[u8]>> {
    let mut r = Reader(frame);
    let mut broken = false;
    std::iter::from_fn(move || {
        if broken || r.0.is_empty() {
            return None;
        }
        let unit = take_unit(&mut r, length_size);
        broken = unit.is_none();
        Some(unit)
    })
}

/// Appends the NAL units of the AVC access unit `frame` (each prefixed by a
/// big-endian length of `length_size` bytes) to `out` as Annex B.
pub fn access_unit(frame: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), VideoError> {
    if !matches!(length_size, 1 | 2 | 4) {
        return Err(VideoError::Malformed(format!(
            "NAL unit length size of {length_size} bytes"
        )));
    }
    if frame.is_empty() {
        return Err(VideoError::Malformed("empty access unit".to_owned()));
    }
    for unit in units(frame, length_size) {
        let unit = unit.ok_or_else(|| {
            VideoError::Malformed("a NAL unit is empty or longer than the access unit".to_owned())
        })?;
        out.extend_from_slice(&START);
        out.extend_from_slice(unit);
    }
    Ok(())
}

/// Copies one length-prefixed, non-empty NAL unit from `r` to `out` as
/// Annex B; `None` when the length runs past the end or is zero.
fn copy_unit(r: &mut Reader<'_>, length_size: usize, out: &mut Vec<u8>) -> Option<()> {
    let unit = take_unit(r, length_size)?;
    out.extend_from_slice(&START);
    out.extend_from_slice(unit);
    Some(())
}

/// Takes one length-prefixed, non-empty NAL unit from `r`; `None` when the
/// length runs past the end or is zero.
fn take_unit<'a>(r: &mut Reader<'a>, length_size: usize) -> Option<&'a [u8]> {
    let len = r
        .take(length_size)?
        .iter()
        .fold(0usize, |n, b| (n << 8) | usize::from(*b));
    if len == 0 {
        return None;
    }
    r.take(len)
}

/// A cursor over bytes that never reads past the end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_record_gives_its_parameter_sets_with_start_codes() {
        // version 1, profile 0x42, compat 0, level 0x1e, length size 4,
        // one SPS of 3 bytes, one PPS of 2 bytes.
        let record = [
            1, 0x42, 0, 0x1e, 0xff, 0xe1, 0, 3, 0x67, 1, 2, 1, 0, 2, 0x68, 9,
        ];
        let (annex_b, size) = parameter_sets(&record).expect("valid");
        assert_eq!(size, 4);
        assert_eq!(annex_b, [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 9]);
        assert!(parameter_sets(&record[..10]).is_err());
        assert!(parameter_sets(&[1, 0x42, 0, 0x1e, 0xff, 0xe0, 0]).is_err());
    }

    #[test]
    fn an_access_unit_gets_a_start_code_per_nal_unit_and_lengths_are_checked() {
        let mut out = Vec::new();
        access_unit(&[0, 0, 0, 2, 0x65, 7, 0, 0, 0, 1, 0x41], 4, &mut out).expect("valid");
        assert_eq!(out, [0, 0, 0, 1, 0x65, 7, 0, 0, 0, 1, 0x41]);
        let mut out = Vec::new();
        assert!(access_unit(&[0, 0, 0, 9, 0x65], 4, &mut out).is_err());
        assert!(access_unit(&[0, 0, 0, 0], 4, &mut out).is_err());
        assert!(access_unit(&[], 4, &mut out).is_err());
        assert!(access_unit(&[1, 0x65], 3, &mut out).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_and_never_read_past_the_end(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            size in prop::sample::select(vec![1usize, 2, 3, 4]),
        ) {
            let _ = parameter_sets(&bytes);
            let mut out = Vec::new();
            if access_unit(&bytes, size, &mut out).is_ok() {
                // Every input byte but the lengths went out, plus the start codes.
                prop_assert!(out.len() >= bytes.len());
            }
        }
    }
}
