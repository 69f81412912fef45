//! The 256-bin luma histogram shared by the exposure and contrast checks.

use crate::frame::LumaFrame;

/// Pixel counts per luma value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    /// `bins[v]` counts pixels with luma `v`.
    pub bins: [u64; 256],
    /// Total pixel count.
    pub total: u64,
}

impl Histogram {
    /// Counts every pixel of `frame`.
    pub fn of(frame: &LumaFrame) -> Histogram {
        // Four partial histograms break the store-to-load dependency on runs of
        // equal pixels (common in flat or clipped areas).
        let mut parts = [[0u64; 256]; 4];
        let mut chunks = frame.pixels().chunks_exact(4);
        for c in &mut chunks {
            parts[0][usize::from(c[0])] += 1;
            parts[1][usize::from(c[1])] += 1;
            parts[2][usize::from(c[2])] += 1;
            parts[3][usize::from(c[3])] += 1;
        }
        for &p in chunks.remainder() {
            parts[0][usize::from(p)] += 1;
        }
        let mut bins = [0u64; 256];
        for (i, b) in bins.iter_mut().enumerate() {
            *b = parts.iter().map(|p| p[i]).sum();
        }
        Histogram {
            bins,
            total: frame.pixels().len() as u64,
        }
    }

    /// Mean luma.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let sum: u64 = self
            .bins
            .iter()
            .enumerate()
            .map(|(v, &n)| v as u64 * n)
            .sum();
        sum as f64 / self.total as f64
    }

    /// Fraction of pixels whose luma lies in `range`.
    pub fn fraction(&self, range: std::ops::RangeInclusive<u8>) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let n: u64 = self.bins[usize::from(*range.start())..=usize::from(*range.end())]
            .iter()
            .sum();
        n as f64 / self.total as f64
    }
}
