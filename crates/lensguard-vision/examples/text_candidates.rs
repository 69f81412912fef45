//! Prints every text candidate the DB post-processing weighs on each photo:
//! its core rectangle, mean probability, what the verifier (on tract, if
//! `ch_PP-OCRv4_rec_infer.onnx` is beside the model) makes of it, and whether
//! it is kept.
//! For tuning and for reading why a region was or was not hidden.
//!
//!     cargo run --release -p lensguard-vision --example text_candidates -- \
//!         ~/.cache/lensguard/models/ch_PP-OCRv4_det_infer.onnx SCALE PHOTO...

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_core::Limits;
use lensguard_vision::decode::decode_rgb;
use lensguard_vision::models::{TextDetector, text_db};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, scale, photos @ ..] = &args[..] else {
        eprintln!("usage: text_candidates MODEL SCALE PHOTO...");
        std::process::exit(2);
    };
    let scale: u32 = scale.parse().unwrap();
    let mut detector = TextDetector::load(&std::fs::read(model).unwrap()).unwrap();
    let rec = std::path::Path::new(model).with_file_name("ch_PP-OCRv4_rec_infer.onnx");
    if let Ok(b) = std::fs::read(rec) {
        detector
            .verify_with(&b, &lensguard_vision::models::runtime::Backend::Tract)
            .unwrap();
    }
    for p in photos {
        let frame = decode_rgb(&std::fs::read(p).unwrap(), &Limits::default())
            .unwrap()
            .frame;
        let map = detector.probability_map(&frame, scale).unwrap();
        println!(
            "{p} ({}x{}, map {}x{})",
            frame.width(),
            frame.height(),
            map.width,
            map.height
        );
        for c in text_db::candidates(&map.data, map.width, map.height) {
            if c.core.short_side() < text_db::MIN_SIZE {
                continue;
            }
            let (x0, y0, x1, y1) = c.core.scaled(map.back).bounds();
            let (a, b) = (c.core.side_a(), c.core.side_b());
            let grow = a * b * text_db::UNCLIP_RATIO / (2.0 * (a + b));
            let line = c.core.grown(grow).scaled(map.back);
            let reads = detector.line_confidence(&frame, &line);
            let kept = c.score >= 0.5 && reads.is_none_or(|r| r >= 0.5);
            let verdict = if kept { "KEEP" } else { "drop" };
            let (long, short) = (c.core.long_side(), c.core.short_side());
            let score = c.score;
            println!(
                "  {verdict} core {x0:.0},{y0:.0} {:.0}x{:.0} (sides {long:.1} x {short:.1}) \
                 score {score:.2} reads {reads:.2?}",
                x1 - x0,
                y1 - y0,
            );
        }
    }
}
