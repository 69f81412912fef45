//! The redaction pipeline end to end with the real models: what a detector
//! finds is hidden, what it cannot find blocks the derivative, and bad input
//! never yields pixels.

#![cfg(feature = "models")]
#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::Limits;
use lensguard_core::policy::{PixelCategory, Policy, RedactStyle};
use lensguard_core::report::ReasonCode;
use lensguard_testkit::fetched::{model, photo};
use lensguard_vision::decode::decode_rgb;
use lensguard_vision::derive::{Derivative, Detectors, derive};
use lensguard_vision::models::{FaceDetector, TextDetector};
use lensguard_vision::{Error, RgbFrame};

fn detectors() -> Option<Detectors> {
    Some(Detectors {
        faces: Ok(FaceDetector::load(&model("centerface.onnx")?).expect("faces")),
        text: Ok(TextDetector::load(&model("ch_PP-OCRv4_det_infer.onnx")?).expect("text")),
    })
}

fn missing(name: &'static str) -> Error {
    Error::ModelMissing {
        model: name,
        reason: "no such file".to_owned(),
    }
}

fn mean_abs_diff(a: &RgbFrame, b: &RgbFrame, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let w = a.width() as usize;
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let at = (y as usize * w + x as usize) * 3;
            for c in 0..3 {
                sum += u64::from(a.pixels()[at + c].abs_diff(b.pixels()[at + c]));
            }
        }
    }
    sum as f64 / f64::from((x1 - x0) * (y1 - y0) * 3)
}

#[test]
fn the_astronauts_face_is_hidden_and_cannot_be_found_again() {
    let (Some(det), Some(bytes)) = (detectors(), photo("astronaut.png")) else {
        return;
    };
    let limits = Limits::default();
    let original = decode_rgb(&bytes, &limits).expect("decode").frame;
    for style in [RedactStyle::Blur, RedactStyle::Pixelate, RedactStyle::Fill] {
        let mut policy = Policy::default();
        policy.redaction.faces = style;
        let out = derive(&bytes, &limits, &det, &policy).expect("derive");
        let faces = out
            .findings
            .faces
            .clone()
            .expect("faces needed")
            .expect("faces ran");
        assert_eq!(faces.len(), 1, "{faces:?}");
        let Derivative::Redacted {
            jpeg,
            faces: hidden,
            ..
        } = out.derivative
        else {
            panic!("withheld: {:?}", out.derivative);
        };
        assert_eq!(hidden, 1);
        let redacted = decode_rgb(jpeg.as_bytes(), &limits).expect("decode").frame;
        assert_eq!((redacted.width(), redacted.height()), (512, 512));
        // The face box changed a lot; far from it the photo is the same up
        // to JPEG noise.
        let f = faces[0];
        let d_face = mean_abs_diff(
            &original,
            &redacted,
            f.x,
            f.y,
            f.x + f.width,
            f.y + f.height,
        );
        let d_far = mean_abs_diff(&original, &redacted, 0, 400, 512, 512);
        assert!(
            d_face > 15.0 && d_far < 6.0,
            "{style:?}: face {d_face}, far {d_far}"
        );
        // And the detector no longer finds a face, even at a low threshold.
        let again = det
            .faces
            .as_ref()
            .unwrap()
            .detect(&redacted, 512, 0.3)
            .expect("detect");
        assert!(again.is_empty(), "{style:?}: {again:?}");
    }
}

#[test]
fn a_missing_model_withholds_the_derivative_unless_its_category_is_not_hidden() {
    let (Some(text), Some(bytes)) = (model("ch_PP-OCRv4_det_infer.onnx"), photo("astronaut.png"))
    else {
        return;
    };
    let det = Detectors {
        faces: Err(missing("centerface")),
        text: Ok(TextDetector::load(&text).expect("text")),
    };
    let limits = Limits::default();
    let policy = Policy::default();
    let out = derive(&bytes, &limits, &det, &policy).expect("decoded");
    match out.derivative {
        Derivative::Withheld { code, message } => {
            assert_eq!(code, ReasonCode::ModelUnavailable);
            assert!(message.contains("centerface"), "{message}");
        }
        other => panic!("pixels came out without the face model: {other:?}"),
    }
    assert!(matches!(out.findings.faces, Some(Err(_))));
    // A policy that hides text only does not need the face model.
    let mut text_only = Policy::default();
    text_only.redaction.categories = vec![PixelCategory::Text];
    let out = derive(&bytes, &limits, &det, &text_only).expect("decoded");
    assert!(
        matches!(out.derivative, Derivative::Redacted { faces: 0, .. }),
        "{:?}",
        out.derivative
    );
    // A deadline that has passed before detection ends withholds too.
    let mut hurried = Policy::default();
    hurried.detection.deadline_ms = 1;
    hurried.redaction.categories = vec![PixelCategory::Text];
    let big = RgbFrame::new(2000, 2000, vec![90; 2000 * 2000 * 3]).expect("frame");
    let out = lensguard_vision::derive::derive_frame(big, &det, &hurried);
    assert!(
        matches!(
            out.derivative,
            Derivative::Withheld {
                code: ReasonCode::DeadlineExceeded,
                ..
            }
        ),
        "{:?}",
        out.derivative
    );
}

#[test]
fn bad_and_extreme_inputs_give_errors_or_safe_derivatives_never_a_panic() {
    let Some(det) = detectors() else {
        return;
    };
    let policy = Policy::default();
    let limits = Limits::default();
    // Undecodable or over the limits: an error, so no derivative at all.
    for entry in std::fs::read_dir(lensguard_testkit::bad_input_dir()).expect("bad-input dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let result = derive(&bytes, &limits, &det, &policy);
        assert!(result.is_err(), "{} gave {result:?}", path.display());
    }
    // 1x1 and a thin strip: redacted (nothing to hide), not refused.
    for (w, h) in [(1u32, 1u32), (4000, 2)] {
        let img = lensguard_testkit::scene::doorstep(w.max(8), h.max(8), 1);
        let img = lensguard_testkit::scene::resized(&img, w, h);
        let png = lensguard_testkit::encode::png(&img);
        let out = derive(&png, &limits, &det, &policy).expect("decodes");
        assert!(
            matches!(out.derivative, Derivative::Redacted { .. }),
            "{w}x{h}: {:?}",
            out.derivative
        );
        assert_eq!((out.width, out.height), (w, h));
    }
    // A photo whose pixel count is over the limits is refused before decoding.
    let small = Limits {
        max_pixels: 100,
        ..Limits::default()
    };
    let png = lensguard_testkit::encode::png(&lensguard_testkit::scene::doorstep(20, 20, 1));
    assert!(matches!(
        derive(&png, &small, &det, &policy),
        Err(Error::TooManyPixels { .. })
    ));
}

#[test]
fn the_coefficient_path_refuses_a_rotated_jpeg_or_findings_of_another_size() {
    use lensguard_core::policy::Policy;
    use lensguard_vision::derive::{Derivative, Findings, redact_jpeg_found};
    let samples = lensguard_testkit::samples_dir();
    let limits = Limits::default();
    let findings = Findings {
        faces: Some(Ok(Vec::new())),
        text: Some(Ok(Vec::new())),
        scale: 640,
        text_scale: Some(960),
        tiles: 0,
        models: Vec::new(),
    };
    let policy = Policy::default();
    // samples/rotated.jpg carries an EXIF rotation: its upright size is not
    // its stored one, and boxes found upright would land elsewhere.
    let rotated = std::fs::read(samples.join("rotated.jpg")).expect("sample");
    let up = decode_rgb(&rotated, &limits).expect("decode");
    assert_ne!(up.orientation, 1);
    assert!(
        redact_jpeg_found(&rotated, &findings, &policy, &limits, (up.width, up.height)).is_err()
    );
    let sharp = std::fs::read(samples.join("sharp.jpg")).expect("sample");
    let s = decode_rgb(&sharp, &limits).expect("decode");
    assert!(
        redact_jpeg_found(&sharp, &findings, &policy, &limits, (s.width + 1, s.height)).is_err()
    );
    assert!(matches!(
        redact_jpeg_found(&sharp, &findings, &policy, &limits, (s.width, s.height)),
        Ok(Derivative::Redacted { .. })
    ));
}
