use super::*;
use crate::geo::GeoPoint;
use crate::phash::{HashMatch, PerceptualHash};
use crate::policy::Geofence;
use crate::report::{CaptureTime, Exposure, Glare, ImageFormat};
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-23 12:00 UTC);

fn good() -> Measurements {
    Measurements {
        format: ImageFormat::Jpeg,
        width: 4032,
        height: 3024,
        analysis_width: 504,
        analysis_height: 378,
        decode_scale: 8,
        orientation: 1,
        sharpness: 40.0,
        laplacian_variance: 400.0,
        exposure: Exposure {
            mean_luma: 120.0,
            shadows_clipped: 0.01,
            highlights_clipped: 0.01,
        },
        contrast: 50.0,
        glare: Glare {
            fraction: 0.0,
            regions: 0,
        },
        phash: PerceptualHash(0x1234),
        capture_time: Some(CaptureTime {
            local: datetime!(2026-11-23 10:00),
            offset: None,
        }),
        gps: Some(GeoPoint {
            lat: 51.5,
            lon: -0.12,
        }),
        software: Some("Camera 1.0".into()),
        camera: None,
    }
}

fn codes(r: &InspectionReport) -> Vec<ReasonCode> {
    r.reasons.iter().map(|r| r.code).collect()
}

#[test]
fn good_photo_passes_every_check() {
    let r = judge(good(), &Policy::default(), NOW);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", r.reasons);
    assert!(r.reasons.is_empty());
    assert_eq!(r.checks.len(), 8);
}

#[test]
fn verdict_rule_fail_beats_retry_beats_pass() {
    assert_eq!(
        decide([Status::Pass, Status::Warn, Status::Skipped]),
        Verdict::Pass
    );
    assert_eq!(decide([Status::Retry, Status::Pass]), Verdict::Retry);
    assert_eq!(
        decide([Status::Retry, Status::Fail, Status::Pass]),
        Verdict::Fail
    );
    assert_eq!(decide([]), Verdict::Pass);
}

#[test]
fn blurry_photo_is_retry_blurry() {
    let r = judge(
        Measurements {
            sharpness: 1.2,
            ..good()
        },
        &Policy::default(),
        NOW,
    );
    assert_eq!(r.verdict, Verdict::Retry);
    assert_eq!(codes(&r), [ReasonCode::Blurry]);
    assert_eq!(r.reasons[0].check, CheckId::Blur);
    assert!(
        r.reasons[0].message.contains("1.20"),
        "{}",
        r.reasons[0].message
    );
}

#[test]
fn dark_and_bright_photos_are_exposure_findings() {
    let dark = Measurements {
        exposure: Exposure {
            mean_luma: 20.0,
            shadows_clipped: 0.6,
            highlights_clipped: 0.0,
        },
        ..good()
    };
    assert_eq!(
        codes(&judge(dark, &Policy::default(), NOW)),
        [ReasonCode::Underexposed]
    );
    let bright = Measurements {
        exposure: Exposure {
            mean_luma: 240.0,
            shadows_clipped: 0.0,
            highlights_clipped: 0.5,
        },
        ..good()
    };
    assert_eq!(
        codes(&judge(bright, &Policy::default(), NOW)),
        [ReasonCode::Overexposed]
    );
}

#[test]
fn actions_map_to_statuses_and_off_skips() {
    let mut policy = Policy::default();
    let blurry = Measurements {
        sharpness: 1.0,
        ..good()
    };
    policy.blur.action = Action::Fail;
    assert_eq!(judge(blurry.clone(), &policy, NOW).verdict, Verdict::Fail);
    policy.blur.action = Action::Warn;
    let r = judge(blurry.clone(), &policy, NOW);
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Pass, vec![ReasonCode::Blurry])
    );
    policy.blur.action = Action::Off;
    let r = judge(blurry, &policy, NOW);
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == CheckId::Blur && c.status == Status::Skipped)
    );
}

#[test]
fn low_resolution_fails_in_either_orientation() {
    for (w, h) in [(470, 800), (800, 400), (600, 630)] {
        let r = judge(
            Measurements {
                width: w,
                height: h,
                ..good()
            },
            &Policy::default(),
            NOW,
        );
        assert_eq!(
            (r.verdict, codes(&r)),
            (Verdict::Fail, vec![ReasonCode::LowResolution])
        );
    }
    let r = judge(
        Measurements {
            width: 480,
            height: 640,
            ..good()
        },
        &Policy::default(),
        NOW,
    );
    assert_eq!(r.verdict, Verdict::Pass);
}

#[test]
fn glare_and_contrast_thresholds() {
    let r = judge(
        Measurements {
            glare: Glare {
                fraction: 0.2,
                regions: 2,
            },
            contrast: 5.0,
            ..good()
        },
        &Policy::default(),
        NOW,
    );
    assert_eq!(codes(&r), [ReasonCode::LowContrast, ReasonCode::Glare]);
}

#[test]
fn capture_time_missing_stale_future_and_offsets() {
    let mut policy = Policy::default();
    policy.capture_time.action = Action::Retry;
    let missing = Measurements {
        capture_time: None,
        ..good()
    };
    assert_eq!(
        codes(&judge(missing.clone(), &policy, NOW)),
        [ReasonCode::CaptureTimeMissing]
    );
    policy.capture_time.require = false;
    assert!(codes(&judge(missing, &policy, NOW)).is_empty());

    let at = |local, offset| Measurements {
        capture_time: Some(CaptureTime { local, offset }),
        ..good()
    };
    let stale = at(datetime!(2026-11-19 12:00), None);
    assert_eq!(
        codes(&judge(stale, &policy, NOW)),
        [ReasonCode::CaptureTimeStale]
    );
    let future = at(datetime!(2026-11-23 13:00), None);
    assert_eq!(
        codes(&judge(future, &policy, NOW)),
        [ReasonCode::CaptureTimeInFuture]
    );
    // 13:00 at +01:00 is 12:00 UTC: not in the future.
    let offset = at(datetime!(2026-11-23 13:00), Some(time::macros::offset!(+1)));
    assert!(codes(&judge(offset, &policy, NOW)).is_empty());
    // Naive times take the policy's assumed offset.
    policy.capture_time.assume_utc_offset = "+02:00".into();
    let naive = at(datetime!(2026-11-23 13:30), None);
    assert!(codes(&judge(naive, &policy, NOW)).is_empty());
}

#[test]
fn gps_geofence_and_required_position() {
    let mut policy = Policy::default();
    policy.gps = crate::policy::GpsRule {
        action: Action::Fail,
        require: true,
        geofence: Some(Geofence {
            lat: 51.5,
            lon: -0.12,
            radius_m: 1000.0,
        }),
    };
    assert!(codes(&judge(good(), &policy, NOW)).is_empty());
    let far = Measurements {
        gps: Some(GeoPoint {
            lat: 48.85,
            lon: 2.35,
        }),
        ..good()
    };
    let r = judge(far, &policy, NOW);
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Fail, vec![ReasonCode::OutsideGeofence])
    );
    let none = Measurements {
        gps: None,
        ..good()
    };
    assert_eq!(codes(&judge(none, &policy, NOW)), [ReasonCode::GpsMissing]);
}

#[test]
fn editor_software_fails_case_insensitively() {
    let r = judge(
        Measurements {
            software: Some("Adobe PHOTOSHOP 25.0 (Windows)".into()),
            ..good()
        },
        &Policy::default(),
        NOW,
    );
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Fail, vec![ReasonCode::EditedSoftware])
    );
}

#[test]
fn duplicates_are_recorded_under_the_policy_action() {
    let policy = Policy::default();
    let mut r = judge(good(), &policy, NOW);
    let found = HashMatch {
        id: "a.jpg".to_owned(),
        hash: PerceptualHash(1),
        distance: 3,
    };
    apply_duplicate(&mut r, Some(found), &policy);
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Fail, vec![ReasonCode::Duplicate])
    );
    assert_eq!(r.duplicate_of.as_ref().map(|d| d.distance), Some(3));

    let mut r = judge(good(), &policy, NOW);
    apply_duplicate(&mut r, None, &policy);
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == CheckId::Duplicate && c.status == Status::Pass)
    );
}

#[test]
fn error_reports_ignore_duplicates() {
    let policy = Policy::default();
    let mut r = InspectionReport::error(ReasonCode::Truncated, "cut short", policy.reference());
    apply_duplicate(&mut r, None, &policy);
    assert_eq!(r.verdict, Verdict::Error);
    assert_eq!(r.checks.len(), 1);
}

fn region(height: u32, score: f32) -> crate::report::Region {
    crate::report::Region {
        x: 10,
        y: 10,
        width: height,
        height,
        score,
    }
}

#[test]
fn faces_and_text_are_judged_against_the_expectation() {
    use crate::policy::Expect;
    let mut policy = Policy::default();
    let none: &[crate::report::Region] = &[];
    // Ignored by default: the checks are skipped and the verdict untouched.
    let mut r = judge(good(), &policy, NOW);
    apply_detections(&mut r, Ok(&[region(500, 0.9)]), Ok(none), &policy);
    assert_eq!(r.verdict, Verdict::Pass);
    assert!(
        r.checks
            .iter()
            .any(|c| c.check == CheckId::Faces && c.status == Status::Skipped)
    );

    // Forbid a face in focus: a small face does not count, a large one does.
    policy.faces.expect = Expect::Forbid;
    policy.faces.min_height_fraction = 0.1; // 302 px of 3024
    let mut r = judge(good(), &policy, NOW);
    apply_detections(&mut r, Ok(&[region(100, 0.9)]), Ok(none), &policy);
    assert_eq!(r.verdict, Verdict::Pass);
    let mut r = judge(good(), &policy, NOW);
    apply_detections(
        &mut r,
        Ok(&[region(400, 0.9), region(400, 0.3)]),
        Ok(none),
        &policy,
    );
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Retry, vec![ReasonCode::FacePresent])
    );
    assert!(
        r.reasons[0].message.starts_with("1 face(s)"),
        "{:?}",
        r.reasons
    );

    // Require a label: none found is a miss; an unavailable model fails closed.
    policy.faces.expect = Expect::Ignore;
    policy.text.expect = Expect::Require;
    policy.text.action = Action::Fail;
    let mut r = judge(good(), &policy, NOW);
    apply_detections(&mut r, Ok(none), Ok(none), &policy);
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Fail, vec![ReasonCode::TextMissing])
    );
    let gone = Unavailable {
        code: ReasonCode::ModelUnavailable,
        message: "models/ch_PP-OCRv4_det_infer.onnx is missing".to_owned(),
    };
    let mut r = judge(good(), &policy, NOW);
    apply_detections(&mut r, Ok(none), Err(&gone), &policy);
    assert_eq!(
        (r.verdict, codes(&r)),
        (Verdict::Fail, vec![ReasonCode::ModelUnavailable])
    );
    let mut r = judge(good(), &policy, NOW);
    apply_detections(&mut r, Ok(none), Ok(&[region(40, 0.8)]), &policy);
    assert_eq!(r.verdict, Verdict::Pass);
}
