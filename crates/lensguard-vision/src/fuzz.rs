//! Fuzz entry points, so the targets in `fuzz/` are one-liners.

use lensguard_core::{Limits, Policy};

/// Runs the whole inspection (decode, every check, judgement) on arbitrary bytes
/// with small limits, so the fuzzer explores parsing rather than large allocations.
pub fn inspect_bytes(data: &[u8]) {
    let limits = Limits {
        max_width: 4096,
        max_height: 4096,
        max_pixels: 4_000_000,
        ..Limits::default()
    };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let report = crate::inspect(data, &Policy::default(), &limits, now);
    assert!(!report.checks.is_empty(), "every report records its checks");
}
