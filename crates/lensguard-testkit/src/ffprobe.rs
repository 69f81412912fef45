//! FFmpeg's `ffprobe`, the independent judge of recorded segments: it
//! decodes every picture of a file and says what it found.
//!
//! [`probe`] returns `None` after a loud message when `ffprobe` is missing
//! (Debian package `ffmpeg`, installed by `scripts/install-test-deps`), or
//! panics under `CI=true`, where a missing prerequisite fails the run.

use std::path::Path;
use std::process::Command;

/// What `ffprobe` decoded of a file's first video stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Its codec (`h264`, `hevc`).
    pub codec: String,
    /// Picture width.
    pub width: u32,
    /// Picture height.
    pub height: u32,
    /// Pictures decoded (`-count_frames`).
    pub frames: u64,
}

/// Decodes `file`'s first video stream: `Some(Ok)` when it decodes,
/// `Some(Err(ffprobe's complaint))` when it does not, `None` without
/// `ffprobe` outside CI.
pub fn probe(file: &Path) -> Option<Result<Probe, String>> {
    let output = match Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            let why = format!("ffprobe cannot run ({e}); install Debian's ffmpeg");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{why}: it is required under CI=true; run scripts/install-test-deps");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.trim().split(',').collect();
    let parsed = match fields.as_slice() {
        [codec, width, height, frames] if output.status.success() => {
            match (width.parse(), height.parse(), frames.parse()) {
                (Ok(width), Ok(height), Ok(frames)) => Some(Probe {
                    codec: (*codec).to_owned(),
                    width,
                    height,
                    frames,
                }),
                _ => None,
            }
        }
        _ => None,
    };
    Some(parsed.ok_or_else(|| {
        format!(
            "ffprobe: status {}, output {:?}, errors {:?}",
            output.status,
            text.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }))
}
