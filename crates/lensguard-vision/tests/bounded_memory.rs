//! Memory stays bounded: the decompression bombs, and photos whose decode
//! would exceed the memory budget, are refused before any large allocation;
//! a photo within the budget goes the service's whole path (one decode for
//! the checks and the detectors, detection and redaction: `pipeline::run`)
//! within the per-pixel peak the budget assumes. A counting global allocator
//! records the peak number of live bytes. This file holds a single test so no
//! other test's allocations mix into the count.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::report::{ImageFormat, ReasonCode};
use lensguard_core::{Limits, Policy, Verdict};
use lensguard_testkit::encode::{self, JpegOptions};
use lensguard_testkit::fetched::model;
use lensguard_vision::derive::Detectors;
use lensguard_vision::models::{FaceDetector, TextDetector};
use lensguard_vision::pipeline::run;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
            PEAK.fetch_max(live, Ordering::SeqCst);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn bombs_are_refused_before_allocating_their_pixels() {
    let dir = lensguard_testkit::bad_input_dir();
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let policy = Policy::default();
    for name in [
        "bomb-65535x65535.png",
        "bomb-19000x19000.png",
        "huge-dimensions.jpg",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("fixture");
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let report = lensguard_vision::inspect(&bytes, &policy, &Limits::default(), now);
        let grew = PEAK.load(Ordering::SeqCst) - before;
        assert_eq!(report.verdict, Verdict::Error, "{name}");
        // The smallest bomb declares 361 million pixels (over 1 GB as RGB).
        assert!(grew < 4 * 1024 * 1024, "{name}: peak grew by {grew} bytes");
    }

    // The review's case: a blank 10000x10000 PNG of a few hundred KB took
    // about 600 MB per request. It is within max_pixels, so only the
    // budget refuses it, before decoding.
    let blank = lensguard_testkit::fixtures::png_blank(10_000, 10_000);
    assert!(blank.len() < 2 * 1024 * 1024, "{} bytes", blank.len());
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let report = lensguard_vision::inspect(&blank, &policy, &Limits::default(), now);
    let grew = PEAK.load(Ordering::SeqCst) - before;
    assert_eq!(
        report.reasons[0].code,
        ReasonCode::DecodeBudgetExceeded,
        "{report:?}"
    );
    assert!(
        grew < 4 * 1024 * 1024,
        "blank PNG: peak grew by {grew} bytes"
    );
    drop(blank);

    // Within the budget: the service's path stays under the per-pixel peak
    // the budget charges (plus the detectors' fixed working memory).
    let detectors = detectors();
    let scene = lensguard_testkit::scene::doorstep(6000, 4500, 7);
    let jpeg_opts = JpegOptions {
        quality: 90,
        progressive: false,
        exif: None,
    };
    for (format, bytes) in [
        (ImageFormat::Jpeg, encode::jpeg(&scene, &jpeg_opts)),
        (ImageFormat::Png, encode::png(&scene)),
    ] {
        let pixels = 6000u64 * 4500;
        let charged = pixels * lensguard_vision::decode::peak_bytes_per_pixel(format);
        let before = LIVE.load(Ordering::SeqCst);
        PEAK.store(before, Ordering::SeqCst);
        let outcome = run(&bytes, &policy, &Limits::default(), now, &detectors, true);
        assert_ne!(
            outcome.report.verdict,
            Verdict::Error,
            "{:?}",
            outcome.report
        );
        assert!(outcome.report.redaction.is_some(), "{:?}", outcome.report);
        drop(outcome);
        let grew = PEAK.load(Ordering::SeqCst) - before;
        eprintln!(
            "{format:?} 6000x4500: peak {} MiB, charged {} MiB",
            grew / (1024 * 1024),
            charged / (1024 * 1024)
        );
        assert!(
            grew as u64 <= charged + DETECTOR_WORKING_MEMORY,
            "{format:?}: peak {grew} bytes over the {charged} the budget charges"
        );
    }
}

/// What the detectors allocate whatever the photo's size (they run on the
/// photo scaled to the detection size, and on tiles of it).
const DETECTOR_WORKING_MEMORY: u64 = 96 * 1024 * 1024;

/// The real detectors when `scripts/fetch-models` fetched them, else
/// detectors that report themselves missing (the decode and redaction still
/// run; a derivative is withheld).
fn detectors() -> Detectors {
    let missing = |model: &'static str| lensguard_vision::Error::ModelMissing {
        model,
        reason: "not fetched".to_owned(),
    };
    Detectors {
        faces: model("centerface.onnx")
            .map(|m| FaceDetector::load(&m).expect("faces"))
            .ok_or_else(|| missing("centerface")),
        text: model("ch_PP-OCRv4_det_infer.onnx")
            .map(|m| TextDetector::load(&m).expect("text"))
            .ok_or_else(|| missing("pp-ocrv4-det")),
    }
}
