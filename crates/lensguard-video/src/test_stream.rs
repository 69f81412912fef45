//! A real H.264 stream for the crate's tests: OpenH264 encodes a bright
//! square moving across a dark field.

use openh264::encoder::Encoder;
use openh264::formats::{RgbSliceU8, YUVBuffer};

/// NAL units of an Annex B stream (start codes of 3 or 4 bytes).
fn nal_units(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(stream.len(), |n| n - 3);
        while end > s && stream[end - 1] == 0 {
            end -= 1;
        }
        units.push(&stream[s..end]);
    }
    units
}

/// A real stream: `frames` pictures of a bright square moving across a
/// dark 64x48 field, encoded by OpenH264; its record and AVC access
/// units.
pub(crate) fn stream(frames: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (w, h) = (64usize, 48usize);
    let mut encoder = Encoder::new().expect("encoder");
    let (mut sps, mut pps) = (Vec::new(), Vec::new());
    let mut units = Vec::new();
    for f in 0..frames {
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = (i % w, i / w);
                let on = (x / 16 == f % 4) && (16..32).contains(&y);
                [if on { 230 } else { 20 }; 3]
            })
            .collect();
        let yuv = YUVBuffer::from_rgb_source(RgbSliceU8::new(&rgb, (w, h)));
        let bits = encoder.encode(&yuv).expect("encode").to_vec();
        let mut au = Vec::new();
        for unit in nal_units(&bits) {
            match unit[0] & 0x1f {
                7 => sps = unit.to_vec(),
                8 => pps = unit.to_vec(),
                _ => {
                    au.extend_from_slice(&(unit.len() as u32).to_be_bytes());
                    au.extend_from_slice(unit);
                }
            }
        }
        units.push(au);
    }
    let mut record = vec![1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    record.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    record.extend_from_slice(&sps);
    record.push(1);
    record.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    record.extend_from_slice(&pps);
    (record, units)
}
