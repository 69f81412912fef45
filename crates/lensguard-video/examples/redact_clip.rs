//! Redacts one H.264 clip (a fragmented MP4) the way a case export and the
//! API's redacted view do (`lensguard_video::redact_segment`: faces looked
//! for on every N-th picture and followed between, masks none), writes the
//! result, and prints one JSON line with where the time went.
//! `scripts/bench-video-redaction` runs it beside deface.
//!
//!     cargo run --release -p lensguard-video --example redact_clip -- \
//!         ~/.cache/lensguard/models CLIP.mp4 OUT.mp4 SCALE THRESHOLD|policy EVERY
//!
//! CenterFace on ONNX Runtime (the prepared model in MODELS) unless
//! `LENSGUARD_RUNTIME=tract`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_video::cover::CoverSettings;
use lensguard_video::redact_segment::{SegmentRedaction, redact_segment};
use lensguard_video::tracker::BoxF;
use lensguard_vision::models::FaceDetector;
use lensguard_vision::models::runtime::Backend;
use std::path::Path;
use std::time::Instant;

#[path = "../../lensguard-vision/examples/common/backend.rs"]
#[allow(dead_code)]
mod common;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [models, clip, out, scale, threshold, every] = &args[..] else {
        eprintln!("usage: redact_clip MODELS CLIP.mp4 OUT.mp4 SCALE THRESHOLD EVERY");
        std::process::exit(2);
    };
    let started = Instant::now();
    let policy = lensguard_core::Policy::default();
    let (scale, every): (u32, usize) = (scale.parse().unwrap(), every.parse().unwrap());
    // `policy`: the default policy's threshold, as the service runs.
    let threshold: f32 = if threshold == "policy" {
        policy.faces.threshold
    } else {
        threshold.parse().unwrap()
    };
    let models = Path::new(models);
    let backend = common::backend(models);
    let faces = match backend {
        Backend::Tract => {
            FaceDetector::load(&std::fs::read(models.join("centerface.onnx")).unwrap())
        }
        Backend::OnnxRuntime(_) => FaceDetector::load_on(
            &std::fs::read(models.join("centerface-dynamic.onnx")).unwrap(),
            &backend,
        ),
    }
    .unwrap();
    let setup = started.elapsed();
    let file = std::fs::read(clip).unwrap();
    let how = SegmentRedaction {
        detect_every: every,
        cover: CoverSettings::default(),
        masks: Vec::new(),
        style: policy.redaction.faces,
        max_pixels: 3840 * 2160,
    };
    let started = Instant::now();
    let done = redact_segment(&file, &how, |frame| {
        faces
            .detect(frame, scale, threshold)
            .map(|found| {
                found
                    .into_iter()
                    .map(|d| BoxF {
                        x: d.x,
                        y: d.y,
                        width: d.width,
                        height: d.height,
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    })
    .unwrap();
    let total = started.elapsed();
    std::fs::write(out, &done.file).unwrap();
    let s = done.stages;
    let line = serde_json::json!({
        "runtime": faces.runtime(),
        "pictures": done.pictures,
        "looked": done.looked,
        "threshold": threshold,
        "setup_s": setup.as_secs_f64(),
        "total_s": total.as_secs_f64(),
        "fps": done.pictures as f64 / total.as_secs_f64(),
        "stages_s": {
            "decode": s.decode.as_secs_f64(),
            "detect": s.detect.as_secs_f64(),
            "track": s.track.as_secs_f64(),
            "redact": s.redact.as_secs_f64(),
            "encode": s.encode.as_secs_f64(),
        },
    });
    println!("{line}");
}
