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

/// Runs `ffprobe` on `file`'s stream `selector` (`v:0`, `a:0`) with
/// `-count_frames`, asking for `entries`: its CSV fields, or its complaint;
/// `None` without `ffprobe` outside CI.
fn run(file: &Path, selector: &str, entries: &str) -> Option<Result<Vec<String>, String>> {
    let output = match Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", selector])
        .args(["-show_entries", entries, "-of", "csv=p=0"])
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
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Some(if output.status.success() && !text.is_empty() {
        Ok(text.split(',').map(str::to_owned).collect())
    } else {
        Err(format!(
            "ffprobe: status {}, output {text:?}, errors {:?}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    })
}

/// Decodes `file`'s first video stream: `Some(Ok)` when it decodes,
/// `Some(Err(ffprobe's complaint))` when it does not, `None` without
/// `ffprobe` outside CI.
pub fn probe(file: &Path) -> Option<Result<Probe, String>> {
    let fields = run(file, "v:0", "stream=codec_name,width,height,nb_read_frames")?;
    Some(fields.and_then(|f| match f.as_slice() {
        [codec, width, height, frames] => match (width.parse(), height.parse(), frames.parse()) {
            (Ok(width), Ok(height), Ok(frames)) => Ok(Probe {
                codec: codec.clone(),
                width,
                height,
                frames,
            }),
            _ => Err(format!("ffprobe: unexpected fields {f:?}")),
        },
        _ => Err(format!("ffprobe: unexpected fields {f:?}")),
    }))
}

/// Decodes `file`'s first audio stream: its codec and frames decoded.
pub fn probe_audio(file: &Path) -> Option<Result<(String, u64), String>> {
    let fields = run(file, "a:0", "stream=codec_name,nb_read_frames")?;
    Some(fields.and_then(|f| {
        match f.as_slice() {
            [codec, frames] => frames
                .parse()
                .map(|n| (codec.clone(), n))
                .map_err(|_| format!("ffprobe: unexpected fields {f:?}")),
            _ => Err(format!("ffprobe: unexpected fields {f:?}")),
        }
    }))
}
