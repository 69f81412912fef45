//! `[cameras.recording]`: how a camera's recorded stream is cut, what is
//! kept around events, and how much disk the camera may use.
//!
//! ```toml
//! [cameras.recording]
//! segment_seconds = 4     # segments start at the first key picture after this (1 to 60)
//! pre_roll_seconds = 5    # footage kept before an event starts (0 to 60)
//! post_roll_seconds = 5   # footage kept after an event ends (0 to 60)
//! quota_gb = 50           # the camera's footage on disk at most; over it the
//!                         # oldest continuous footage goes first (never held footage)
//! ```
//!
//! One 4 Mbit/s main stream is about 43 GB a day: size the quota for the
//! retention the policy's `[data.footage_*]` sections ask for.

use serde::{Deserialize, Serialize};

/// `[cameras.recording]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingSection {
    /// Seconds per segment (cut at the next key picture). Default 4.
    pub segment_seconds: Option<u32>,
    /// Seconds kept before an event. Default 5.
    pub pre_roll_seconds: Option<u32>,
    /// Seconds kept after an event. Default 5.
    pub post_roll_seconds: Option<u32>,
    /// The camera's footage on disk at most, in GB (10^9 bytes). Default 50.
    pub quota_gb: Option<f64>,
}

/// Validated recording settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingSettings {
    /// Seconds per segment.
    pub segment_seconds: u32,
    /// Seconds kept before an event.
    pub pre_roll_seconds: u32,
    /// Seconds kept after an event.
    pub post_roll_seconds: u32,
    /// Bytes of footage the camera keeps at most.
    pub quota_bytes: u64,
}

impl Default for RecordingSettings {
    fn default() -> Self {
        RecordingSettings {
            segment_seconds: 4,
            pre_roll_seconds: 5,
            post_roll_seconds: 5,
            quota_bytes: 50_000_000_000,
        }
    }
}

impl RecordingSection {
    pub(crate) fn validate(&self, at: &str, problems: &mut Vec<String>) -> RecordingSettings {
        let d = RecordingSettings::default();
        let mut r = RecordingSettings {
            segment_seconds: self.segment_seconds.unwrap_or(d.segment_seconds),
            pre_roll_seconds: self.pre_roll_seconds.unwrap_or(d.pre_roll_seconds),
            post_roll_seconds: self.post_roll_seconds.unwrap_or(d.post_roll_seconds),
            quota_bytes: d.quota_bytes,
        };
        if !(1..=60).contains(&r.segment_seconds) {
            problems.push(format!("{at}.segment_seconds: 1 to 60"));
        }
        for (field, v) in [
            ("pre_roll_seconds", r.pre_roll_seconds),
            ("post_roll_seconds", r.post_roll_seconds),
        ] {
            if v > 60 {
                problems.push(format!("{at}.{field}: 0 to 60"));
            }
        }
        match self.quota_gb {
            None => {}
            Some(gb) if gb.is_finite() && (0.0001..=1_000_000.0).contains(&gb) => {
                r.quota_bytes = (gb * 1e9) as u64;
            }
            Some(_) => problems.push(format!("{at}.quota_gb: 0.0001 (100 kB) to 1000000")),
        }
        r
    }
}
