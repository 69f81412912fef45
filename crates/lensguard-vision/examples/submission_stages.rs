//! Where the CPU goes when the service takes one photo with the default policy
//! (checks, faces and text found, a redacted derivative and a thumbnail
//! made), on one thread, stage by stage: the one decode (in colour, at the
//! DCT scale detection needs), the checks (on the luma of that decode), face
//! detection, text detection (the network, then post-processing and line
//! verification), redaction (of an upright JPEG: in its DCT coefficients)
//! with the thumbnail, as the service's `pipeline::run` runs them; then
//! `pipeline::run` itself, whole, as a cross-check of the sum; and, as the
//! reference for the one decode, the greyscale and colour decodes done apart.
//! `scripts/bench-submission` runs it on 1080p and 12 MP photos.
//!
//!     cargo run --release -p lensguard-vision --example submission_stages -- \
//!         MODELS_DIR ROUNDS PHOTO...
//!
//! On ONNX Runtime when `MODELS_DIR/libonnxruntime.so` is there, on tract
//! with `LENSGUARD_RUNTIME=tract`. The first round builds plans and is not
//! counted; figures are medians of the others.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_core::Limits;
use lensguard_core::policy::Policy;
use lensguard_vision::decode::{decode_photo, decode_rgb_scaled};
use lensguard_vision::derive::{Detectors, decode_denominator, find, redact_jpeg_found};
use lensguard_vision::models::runtime::Backend;
use lensguard_vision::models::{FaceDetector, TextDetector};
use std::path::Path;
use std::time::Instant;

#[path = "common/backend.rs"]
mod common;
use common::backend;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [models, rounds, photos @ ..] = &args[..] else {
        eprintln!("usage: submission_stages MODELS_DIR ROUNDS PHOTO...");
        std::process::exit(2);
    };
    let models = Path::new(models);
    let rounds: usize = rounds.parse().unwrap();
    let backend = backend(models);
    let read = |f: &str| std::fs::read(models.join(f)).unwrap();
    let faces = match backend {
        Backend::Tract => FaceDetector::load(&read("centerface.onnx")),
        Backend::OnnxRuntime(_) => {
            FaceDetector::load_on(&read("centerface-dynamic.onnx"), &backend)
        }
    }
    .unwrap();
    let mut text = TextDetector::load_on(&read("ch_PP-OCRv4_det_infer.onnx"), &backend).unwrap();
    text.verify_with(&read("ch_PP-OCRv4_rec_infer.onnx"), &backend)
        .unwrap();
    common::print_setup(text.runtime());
    let policy = Policy::default();
    let limits = Limits::default();
    let detectors = Detectors {
        faces: Ok(faces),
        text: Ok(text),
    };
    let bytes: Vec<Vec<u8>> = photos.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let names = [
        "decode once (RGB, detection DCT scale)",
        "checks (on the decode's luma)",
        "faces (scale 640)",
        "text network (scale 960)",
        "text lines + verification",
        "redact (DCT domain) + thumbnail",
        "total",
        "pipeline::run, whole (cross-check)",
        "reference: two decodes (greyscale + RGB)",
    ];
    let mut stages: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut found = vec![(0usize, 0usize); bytes.len()];
    let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
    let (face_only, text_only) = {
        let mut f = policy.clone();
        f.redaction.categories = vec![lensguard_core::policy::PixelCategory::Faces];
        let mut t = policy.clone();
        t.redaction.categories = vec![lensguard_core::policy::PixelCategory::Text];
        (f, t)
    };
    let text_det = detectors.text.as_ref().unwrap();
    for round in 0..=rounds {
        for (i, b) in bytes.iter().enumerate() {
            let t0 = Instant::now();
            let photo = decode_photo(b, &limits, |h| decode_denominator(&policy, h)).unwrap();
            let t1 = Instant::now();
            let report = lensguard_core::rules::judge(
                lensguard_vision::measure_decoded(photo.analysis),
                &policy,
                time::OffsetDateTime::UNIX_EPOCH,
            );
            let decoded = photo.colour;
            let (small, full) = (
                (decoded.frame.width(), decoded.frame.height()),
                (decoded.width, decoded.height),
            );
            let frame = decoded.frame;
            let t2 = Instant::now();
            let f = find(&frame, &detectors, &face_only, t2);
            let t3 = Instant::now();
            text_det.probability_map(&frame, policy.text.scale).unwrap();
            let t4 = Instant::now();
            let t = find(&frame, &detectors, &text_only, t4);
            // The text stage above ran the network again: count only what
            // came after it.
            let t5 = Instant::now();
            let mut all = f.clone();
            all.text = t.text.clone();
            all.models.extend(t.models.clone());
            let all = all.scaled_to(small, full);
            let out = redact_jpeg_found(b, &all, &policy, &limits, full).unwrap();
            let t6 = Instant::now();
            let whole = lensguard_vision::pipeline::run(
                b,
                &policy,
                &limits,
                time::OffsetDateTime::UNIX_EPOCH,
                &detectors,
                true,
            );
            let t7 = Instant::now();
            // The reference: the analysis decode and the colour decode done
            // apart, as a submission did before it was decoded once.
            let grey = lensguard_vision::measure(b, &limits).unwrap();
            let colour = decode_rgb_scaled(b, &limits, |h| decode_denominator(&policy, h)).unwrap();
            let t8 = Instant::now();
            std::hint::black_box((grey, colour));
            assert!(whole.derivative.is_some(), "{:?}", whole.report);
            assert_ne!(report.verdict, lensguard_core::Verdict::Error);
            let lensguard_vision::derive::Derivative::Redacted { faces, text, .. } = out else {
                panic!("withheld")
            };
            if round == 0 {
                found[i] = (faces, text);
                continue;
            }
            let network = ms(t3, t4);
            let split = [
                ms(t0, t1),
                ms(t1, t2),
                ms(t2, t3),
                network,
                (ms(t4, t5) - network).max(0.0),
                ms(t5, t6),
            ];
            let total: f64 = split.iter().sum();
            let whole = ms(t6, t7);
            let reference = ms(t7, t8);
            for (s, v) in stages
                .iter_mut()
                .zip(split.iter().chain([&total, &whole, &reference]))
            {
                s.push(*v);
            }
        }
    }
    println!(
        "stage medians over {rounds} rounds of {} photos (one thread), ms per photo:",
        bytes.len()
    );
    for (name, v) in names.iter().zip(stages) {
        println!("  {name:40} {:8.1}", median(v));
    }
    for (p, (f, t)) in photos.iter().zip(&found) {
        println!("found {f} faces, {t} text lines: {p}");
    }
}
