//! The detectors measured: faces here, text in `evaluation/text.rs`.
//!
//! Face detection measured against the hand-labelled set in `eval/faces.toml`:
//! recall and precision across thresholds, and the smallest face found with
//! and without tiling. Prints its tables (`scripts/evaluate-faces` shows them)
//! and fails when recall or precision at the default threshold falls below the
//! floors, or tiling stops finding smaller faces than one pass.

#![cfg(feature = "models")]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // test helpers fail loudly; the tables are the point

use lensguard_core::Limits;
use lensguard_core::policy::{PixelCategory, Policy, Tiling};
use lensguard_core::report::Region;
use lensguard_testkit::fetched::{model, photo};
use lensguard_vision::RgbFrame;
use lensguard_vision::decode::decode_rgb;
use lensguard_vision::derive::{Detectors, find};
use lensguard_vision::models::FaceDetector;
use serde::Deserialize;

#[path = "common/ort.rs"]
mod ort_env;
#[path = "evaluation/text.rs"]
mod text;

/// A detection matches a labelled face at this IoU or more (hand boxes and
/// CenterFace's boxes differ in shape, profiles most).
const MATCH_IOU: f32 = 0.3;
const THRESHOLDS: [f32; 6] = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
const RECALL_FLOOR: f64 = 0.75;
const PRECISION_FLOOR: f64 = 0.75;

#[derive(Deserialize)]
struct Set {
    photo: Vec<Labelled>,
}

#[derive(Deserialize)]
struct Labelled {
    file: String,
    faces: Vec<[u32; 4]>,
    #[serde(default)]
    ignore: Vec<[u32; 4]>,
}

fn iou(a: [u32; 4], b: &Region) -> f32 {
    let (ax1, ay1) = (a[0] + a[2], a[1] + a[3]);
    let (bx1, by1) = (b.x + b.width, b.y + b.height);
    let w = ax1.min(bx1).saturating_sub(a[0].max(b.x));
    let h = ay1.min(by1).saturating_sub(a[1].max(b.y));
    let inter = (w * h) as f32;
    inter / ((a[2] * a[3] + b.width * b.height) as f32 - inter)
}

fn centred_in(r: &Region, b: [u32; 4]) -> bool {
    let (cx, cy) = (r.x + r.width / 2, r.y + r.height / 2);
    cx >= b[0] && cy >= b[1] && cx < b[0] + b[2] && cy < b[1] + b[3]
}

/// (true positives, false negatives, false positives) for one photo.
fn score(found: &[Region], labelled: &Labelled, threshold: f32) -> (usize, usize, usize) {
    let mut used = vec![false; labelled.faces.len()];
    let mut fp = 0;
    let mut kept: Vec<&Region> = found.iter().filter(|r| r.score >= threshold).collect();
    kept.sort_by(|a, b| b.score.total_cmp(&a.score));
    for r in kept {
        let best = (0..labelled.faces.len())
            .filter(|&i| !used[i])
            .map(|i| (i, iou(labelled.faces[i], r)))
            .filter(|&(_, v)| v >= MATCH_IOU)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => used[i] = true,
            None if labelled.ignore.iter().any(|&b| centred_in(r, b)) => {}
            None => fp += 1,
        }
    }
    let tp = used.iter().filter(|&&u| u).count();
    (tp, labelled.faces.len() - tp, fp)
}

fn policy(threshold: f32, tiling: Tiling) -> Policy {
    let mut p = Policy::default();
    p.redaction.categories = vec![PixelCategory::Faces];
    p.faces.threshold = threshold;
    p.detection.tiling = tiling;
    p
}

fn faces(frame: &RgbFrame, detectors: &Detectors, policy: &Policy) -> Vec<Region> {
    let found = find(frame, detectors, policy, std::time::Instant::now());
    found.faces.expect("needed").expect("ran")
}

fn detectors() -> Option<Detectors> {
    Some(Detectors {
        faces: Ok(FaceDetector::load(&model("centerface.onnx")?).expect("load")),
        text: Err(lensguard_vision::Error::ModelMissing {
            model: "text",
            reason: "not needed".to_owned(),
        }),
    })
}

#[test]
fn recall_and_precision_on_the_labelled_set() {
    let Some(det) = detectors() else {
        return;
    };
    let root = lensguard_testkit::workspace_root();
    let set: Set = toml::from_str(
        &std::fs::read_to_string(root.join("eval/faces.toml")).expect("eval/faces.toml"),
    )
    .expect("labels parse");
    let low = policy(THRESHOLDS[0], Tiling::Auto);
    let mut runs = Vec::new();
    for labelled in &set.photo {
        let Some(bytes) = photo(&labelled.file) else {
            return;
        };
        let frame = decode_rgb(&bytes, &Limits::default())
            .expect("decode")
            .frame;
        runs.push((labelled, faces(&frame, &det, &low)));
    }
    let labelled_faces: usize = set.photo.iter().map(|p| p.faces.len()).sum();
    println!(
        "\nface evaluation: {} photos, {labelled_faces} labelled faces, scale 640, match IoU >= {MATCH_IOU}",
        set.photo.len()
    );
    println!("threshold  recall  precision  found  missed  false");
    let mut at_default = (0.0, 0.0);
    for t in THRESHOLDS {
        let (mut tp, mut fn_, mut fp) = (0, 0, 0);
        for (labelled, found) in &runs {
            let (a, b, c) = score(found, labelled, t);
            (tp, fn_, fp) = (tp + a, fn_ + b, fp + c);
        }
        let recall = tp as f64 / (tp + fn_).max(1) as f64;
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        println!("{t:>9.1}  {recall:>6.2}  {precision:>9.2}  {tp:>5}  {fn_:>6}  {fp:>5}");
        if (t - Policy::default().faces.threshold).abs() < 1e-6 {
            at_default = (recall, precision);
        }
    }
    for (labelled, found) in &runs {
        let (tp, fn_, fp) = score(found, labelled, Policy::default().faces.threshold);
        if fn_ + fp > 0 {
            println!(
                "  at the default: {} missed {fn_}, {fp} false (of {tp} found)",
                labelled.file
            );
        }
    }
    assert!(
        at_default.0 >= RECALL_FLOOR && at_default.1 >= PRECISION_FLOOR,
        "recall {:.2}, precision {:.2} at the default threshold",
        at_default.0,
        at_default.1
    );
}

/// The astronaut photo scaled to `side` pixels and placed at (`x`, `y`) in a
/// grey `width` x `height` frame; returns the frame and where her face is.
fn planted(
    astronaut: &RgbFrame,
    side: u32,
    width: u32,
    height: u32,
    x: u32,
    y: u32,
) -> (RgbFrame, [u32; 4]) {
    let mut px = vec![128u8; (width * height * 3) as usize];
    let src = astronaut.pixels();
    for dy in 0..side {
        for dx in 0..side {
            let (sx, sy) = (dx * 512 / side, dy * 512 / side);
            let s = ((sy * 512 + sx) * 3) as usize;
            let d = (((y + dy) * width + x + dx) * 3) as usize;
            px[d..d + 3].copy_from_slice(&src[s..s + 3]);
        }
    }
    let f = |v: u32| v * side / 512;
    let face = [x + f(178), y + f(60), f(90), f(118)];
    (RgbFrame::new(width, height, px).expect("frame"), face)
}

#[test]
fn tiling_finds_smaller_faces_in_large_photos() {
    let (Some(det), Some(bytes)) = (detectors(), photo("astronaut.png")) else {
        return;
    };
    let astronaut = decode_rgb(&bytes, &Limits::default())
        .expect("decode")
        .frame;
    let default = Policy::default().faces.threshold;
    println!("\nsmallest face found in a 4000x3000 photo, scale 640, threshold {default}");
    println!("face height  one pass  tiled (3x3)");
    let mut smallest = [u32::MAX; 2];
    for face_height in [12u32, 16, 20, 24, 32, 48, 64, 96] {
        let side = face_height * 512 / 118;
        let (frame, face) = planted(&astronaut, side, 4000, 3000, 1700, 1300);
        let labelled = Labelled {
            file: String::new(),
            faces: vec![face],
            ignore: Vec::new(),
        };
        let mut row = Vec::new();
        for (i, tiling) in [Tiling::Off, Tiling::Auto].into_iter().enumerate() {
            let found = faces(&frame, &det, &policy(default, tiling));
            let (tp, _, fp) = score(&found, &labelled, default);
            if tp == 1 {
                smallest[i] = smallest[i].min(face_height);
            }
            row.push(format!(
                "{}{}",
                if tp == 1 { "found" } else { "missed" },
                if fp > 0 {
                    format!(" +{fp} false")
                } else {
                    String::new()
                }
            ));
        }
        println!("{face_height:>8} px  {:>8}  {:>11}", row[0], row[1]);
    }
    println!(
        "smallest found: one pass {} px, tiled {} px",
        smallest[0], smallest[1]
    );
    assert!(
        smallest[1] < smallest[0],
        "tiling found nothing smaller: {smallest:?}"
    );
}
