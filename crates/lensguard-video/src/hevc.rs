//! H.265 access units, as RTSP clients hand them out (NAL units each
//! prefixed by a four-byte length): where decoding can start.
//!
//! Cameras and encoders (x265 among them) mark most key pictures as CRA
//! (clean random access) rather than IDR. A CRA picture starts decoding as
//! an IDR does; only the "leading" pictures that follow it in decoding
//! order but precede it in display may reference earlier pictures, and
//! streams without B-frames (what cameras send) have none.

/// Whether `unit` is an IRAP access unit: at least one IRAP picture NAL
/// unit (BLA, IDR or CRA: types 16 to 23) and no other picture NAL unit.
/// Malformed lengths answer `false`.
pub fn is_irap(unit: &[u8]) -> bool {
    let mut at = 0usize;
    let mut irap = false;
    while at < unit.len() {
        let Some(len) = unit
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        else {
            return false;
        };
        let Some(&header) = unit.get(at + 4) else {
            return false;
        };
        if len == 0 || at + 4 + len > unit.len() {
            return false;
        }
        match (header >> 1) & 0x3f {
            16..=23 => irap = true,
            0..=15 => return false,
            _ => {}
        }
        at += 4 + len;
    }
    irap
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unit(types: &[u8]) -> Vec<u8> {
        types
            .iter()
            .flat_map(|t| [0, 0, 0, 3, t << 1, 1, 0xaa])
            .collect()
    }

    #[test]
    fn cra_and_idr_pictures_start_decoding_and_others_do_not() {
        assert!(is_irap(&unit(&[21])), "CRA");
        assert!(is_irap(&unit(&[32, 33, 34, 19])), "parameter sets, IDR");
        assert!(!is_irap(&unit(&[1])), "TRAIL_R");
        assert!(!is_irap(&unit(&[21, 1])), "a CRA with a trailing picture");
        assert!(!is_irap(&unit(&[32, 33, 34])), "no picture");
        assert!(!is_irap(&[0, 0, 0, 9, 42, 1]), "a length past the end");
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = is_irap(&bytes);
        }
    }
}
