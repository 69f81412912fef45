//! Perceptual hash: the classic 64-bit DCT hash (as `imagehash.phash` computes it).
//!
//! The analysis image is resampled to 32x32, a 2-D DCT-II is taken, and the 8x8
//! lowest-frequency coefficients (DC included) are compared with their median:
//! bit 63 is the top-left coefficient, bit 0 the eighth of the eighth row.

use crate::frame::LumaFrame;
use crate::resize::resize;
use lensguard_core::PerceptualHash;
use std::sync::OnceLock;

const N: usize = 32;
const LOW: usize = 8;

/// `COS[k][n] = cos(pi / N * (n + 0.5) * k)` for the first `LOW` frequencies.
fn cos_table() -> &'static [[f64; N]; LOW] {
    static TABLE: OnceLock<[[f64; N]; LOW]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0.0; N]; LOW];
        for (k, row) in t.iter_mut().enumerate() {
            for (n, c) in row.iter_mut().enumerate() {
                *c = (std::f64::consts::PI / N as f64 * (n as f64 + 0.5) * k as f64).cos();
            }
        }
        t
    })
}

/// The 64-bit perceptual hash of `frame`.
pub fn measure(frame: &LumaFrame) -> PerceptualHash {
    let Some(small) = resize(frame, N as u32, N as u32) else {
        return PerceptualHash(0);
    };
    let px = small.pixels();
    let cos = cos_table();
    // Rows first: for each of the 32 rows, the LOW lowest frequencies.
    let mut rows = [[0.0f64; LOW]; N];
    for (y, out) in rows.iter_mut().enumerate() {
        let line = &px[y * N..(y + 1) * N];
        for (k, o) in out.iter_mut().enumerate() {
            *o = line
                .iter()
                .zip(&cos[k])
                .map(|(&p, c)| f64::from(p) * c)
                .sum();
        }
    }
    // Then columns, for the LOW lowest vertical frequencies.
    let mut coeffs = [0.0f64; LOW * LOW];
    for ky in 0..LOW {
        for kx in 0..LOW {
            coeffs[ky * LOW + kx] = (0..N).map(|y| rows[y][kx] * cos[ky][y]).sum();
        }
    }
    let mut sorted = coeffs;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[LOW * LOW / 2 - 1] + sorted[LOW * LOW / 2]) / 2.0;
    let bits = coeffs
        .iter()
        .fold(0u64, |acc, &c| (acc << 1) | u64::from(c > median));
    PerceptualHash(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(seed: u32, w: u32, h: u32) -> LumaFrame {
        LumaFrame::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let v = (fx * 7.0 + seed as f32).sin() * (fy * 5.0 + seed as f32 * 0.3).cos();
            (128.0 + 100.0 * v) as u8
        })
        .expect("frame")
    }

    #[test]
    fn same_scene_at_another_size_hashes_alike_and_other_scenes_do_not() {
        let a = measure(&pattern(1, 512, 384));
        let a_small = measure(&pattern(1, 320, 240));
        let b = measure(&pattern(7, 512, 384));
        assert!(a.distance(a_small) <= 4, "{a} vs {a_small}");
        assert!(a.distance(b) > 10, "{a} vs {b}");
    }

    #[test]
    fn hash_is_half_ones_on_a_textured_frame() {
        let ones = measure(&pattern(3, 256, 256)).0.count_ones();
        assert!((24..=40).contains(&ones), "{ones}");
    }
}
