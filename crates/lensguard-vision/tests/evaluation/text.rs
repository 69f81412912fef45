//! Text redaction measured on the generated evaluation set
//! (`scripts/make_text_eval.py`, built by `scripts/install-test-deps` into
//! `<cache>/testdata/text-eval/`): printed labels with line-level truth, and
//! scenes with text-like texture but no text. For lensguard (the default
//! policy's text redaction) and for the boxes RapidOCR would hide (hidden the
//! same way, filled, the same margin):
//!
//! - line recall: a line counts as hidden when the mean absolute horizontal
//!   gradient inside its box drops below 35% of the original's;
//! - over-redaction: the share of the image whose grey level changed by more
//!   than 25 outside the label card (the union of its lines, each padded by
//!   its height); on no-text scenes, anywhere.
//!
//! Fails when lensguard's recall is under 0.95, its over-redaction over 0.5%
//! on either set, or it does worse than RapidOCR's boxes on either measure.

use lensguard_core::Limits;
use lensguard_core::policy::{PixelCategory, Policy, RedactStyle};
use lensguard_testkit::fetched::{fetched, model};
use lensguard_vision::RgbFrame;
use lensguard_vision::decode::{decode_rgb, decode_rgb_scaled};
use lensguard_vision::derive::{Detectors, detection_scale, find, hidden_rect, to_hide};
use lensguard_vision::models::TextDetector;
use lensguard_vision::models::runtime::Backend;
use lensguard_vision::redact::redact;
use serde::Deserialize;

const RECALL_FLOOR: f64 = 0.95;
const OVER_CEILING: f64 = 0.005;
/// A line is hidden when its horizontal gradient falls below this share.
const GRADIENT_KEPT: f64 = 0.35;
/// A grey level changed by more than this counts as redacted.
const CHANGED: i32 = 25;

#[derive(Deserialize)]
struct Set {
    images: Vec<Image>,
}

#[derive(Deserialize)]
struct Image {
    file: String,
    kind: String,
    lines: Vec<[f32; 4]>,
    rapidocr: Vec<[f32; 4]>,
}

fn grey(frame: &RgbFrame) -> Vec<i32> {
    frame
        .pixels()
        .chunks_exact(3)
        .map(|p| (i32::from(p[0]) * 299 + i32::from(p[1]) * 587 + i32::from(p[2]) * 114) / 1000)
        .collect()
}

fn clip(b: [f32; 4], w: usize, h: usize) -> (usize, usize, usize, usize) {
    let c = |v: f32, hi: usize| (v.max(0.0) as usize).min(hi);
    (
        c(b[0].floor(), w),
        c(b[1].floor(), h),
        c(b[2].ceil(), w),
        c(b[3].ceil(), h),
    )
}

/// Mean absolute horizontal gradient of `g` inside `b`.
fn gradient(g: &[i32], w: usize, h: usize, b: [f32; 4]) -> f64 {
    let (x0, y0, x1, y1) = clip(b, w, h);
    let (mut sum, mut n) = (0i64, 0i64);
    for y in y0..y1 {
        for x in x0..x1.saturating_sub(1) {
            sum += i64::from((g[y * w + x + 1] - g[y * w + x]).abs());
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

/// (lines hidden, share of pixels changed outside the card).
fn measure(image: &Image, before: &[i32], after: &[i32], w: usize, h: usize) -> (usize, f64) {
    let hidden = image
        .lines
        .iter()
        .filter(|&&b| gradient(after, w, h, b) < GRADIENT_KEPT * gradient(before, w, h, b))
        .count();
    let mut card = vec![false; w * h];
    for b in &image.lines {
        let pad = b[3] - b[1];
        let (x0, y0, x1, y1) = clip([b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad], w, h);
        for y in y0..y1 {
            card[y * w + x0..y * w + x1].fill(true);
        }
    }
    let changed = (0..w * h)
        .filter(|&i| !card[i] && (before[i] - after[i]).abs() > CHANGED)
        .count();
    (hidden, changed as f64 / (w * h) as f64)
}

#[derive(Default)]
struct Tally {
    lines: usize,
    hidden: usize,
    over: Vec<f64>,
}

impl Tally {
    fn recall(&self) -> f64 {
        if self.lines == 0 {
            1.0
        } else {
            self.hidden as f64 / self.lines as f64
        }
    }
    fn mean_over(&self) -> f64 {
        self.over.iter().sum::<f64>() / self.over.len().max(1) as f64
    }
    fn max_over(&self) -> f64 {
        self.over.iter().copied().fold(0.0, f64::max)
    }
}

fn detector(backend: Option<Backend>) -> Option<TextDetector> {
    let det = model("ch_PP-OCRv4_det_infer.onnx")?;
    let rec = model("ch_PP-OCRv4_rec_infer.onnx")?;
    let backend = backend.unwrap_or(Backend::Tract);
    let mut d = TextDetector::load_on(&det, &backend).expect("text detector loads");
    d.verify_with(&rec, &backend).expect("verifier loads");
    Some(d)
}

#[test]
fn text_redaction_recall_and_over_redaction_against_rapidocr() {
    let Some(text) = detector(super::ort_env::onnx_runtime()) else {
        return;
    };
    let runtime = text.runtime();
    // LENSGUARD_TEXT_EVAL_DIR points at another set of the same layout (a
    // rescaled copy, say).
    let dir = std::env::var_os("LENSGUARD_TEXT_EVAL_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| lensguard_testkit::fetched::cache_dir().join("testdata/text-eval"));
    let Some(truth) = fetched(dir.join("truth.json")) else {
        return;
    };
    let set: Set = serde_json::from_slice(&truth).expect("truth.json parses");
    let detectors = Detectors {
        faces: Err(lensguard_vision::Error::ModelMissing {
            model: "faces",
            reason: "not needed".to_owned(),
        }),
        text: Ok(text),
    };
    let mut policy = Policy::default();
    policy.redaction.categories = vec![PixelCategory::Text];
    // [labels, no-text] x [lensguard, RapidOCR]
    let mut tallies: [[Tally; 2]; 2] = Default::default();
    let mut worst = Vec::new();
    for image in &set.images {
        let Some(bytes) = fetched(dir.join(&image.file)) else {
            return;
        };
        let frame = decode_rgb(&bytes, &Limits::default())
            .expect("decode")
            .frame;
        let (w, h) = (frame.width(), frame.height());
        let before = grey(&frame);
        // Detection sees what the service's detection sees: the JPEG decoded at the
        // DCT scale the policy needs, boxes scaled back to the full size.
        let small = decode_rgb_scaled(&bytes, &Limits::default(), |hd| {
            detection_scale(&policy, hd.width.max(hd.height))
        })
        .expect("decode")
        .frame;
        let findings = find(&small, &detectors, &policy, std::time::Instant::now())
            .scaled_to((small.width(), small.height()), (w, h));
        let (ours, _) = to_hide(&findings, &policy, w, h).expect("text detection ran");
        let theirs: Vec<_> = image
            .rapidocr
            .iter()
            .filter_map(|b| {
                let bx = (b[0], b[1], b[2] - b[0], b[3] - b[1]);
                hidden_rect(PixelCategory::Text, bx, policy.redaction.margin, w, h)
            })
            .map(|r| (r, RedactStyle::Fill))
            .collect();
        let set_index = usize::from(image.kind != "label");
        for (who, hide) in [ours, theirs].iter().enumerate() {
            let after = grey(redact(frame.clone(), hide).frame());
            let (hidden, over) = measure(image, &before, &after, w as usize, h as usize);
            let t = &mut tallies[set_index][who];
            t.lines += image.lines.len();
            t.hidden += hidden;
            t.over.push(over);
            if std::env::var_os("LENSGUARD_TEXT_EVAL_EACH").is_some() {
                println!(
                    "{} {who} {hidden}/{} {:.3}%",
                    image.file,
                    image.lines.len(),
                    over * 100.0
                );
            }
            if who == 0 && (hidden < image.lines.len() || over > OVER_CEILING) {
                worst.push(format!(
                    "  {}: {hidden}/{} lines hidden, {:.2}% over-redacted",
                    image.file,
                    image.lines.len(),
                    over * 100.0
                ));
            }
        }
    }
    println!(
        "\ntext evaluation: {} images, text scale {}, lensguard on {runtime}",
        set.images.len(),
        policy.text.scale
    );
    println!("set       who        lines  recall  over-redaction mean / max");
    for (s, name) in ["labels", "no-text"].iter().enumerate() {
        for (who, label) in ["lensguard", "RapidOCR"].iter().enumerate() {
            let t = &tallies[s][who];
            println!(
                "{name:<9} {label:<9} {:>6}  {:>6.3}  {:>6.2}% / {:.2}%",
                t.lines,
                t.recall(),
                t.mean_over() * 100.0,
                t.max_over() * 100.0
            );
        }
    }
    if !worst.is_empty() {
        println!(
            "lensguard's misses and over-redactions:\n{}",
            worst.join("\n")
        );
    }
    let [labels, no_text] = &tallies;
    assert!(labels[0].lines > 100, "too few labelled lines");
    assert!(
        labels[0].recall() >= RECALL_FLOOR,
        "recall {:.3}",
        labels[0].recall()
    );
    assert!(
        labels[0].recall() >= labels[1].recall(),
        "RapidOCR's recall is better"
    );
    for (name, t) in [("labels", labels), ("no-text", no_text)] {
        assert!(
            t[0].mean_over() <= OVER_CEILING,
            "{name}: over-redaction {:.3}%",
            t[0].mean_over() * 100.0
        );
        assert!(
            t[0].mean_over() <= t[1].mean_over() + 1e-6,
            "{name}: RapidOCR's over-redaction is lower"
        );
    }
}
