use super::*;
use crate::Error;

#[test]
fn default_policy_is_valid_and_round_trips_through_toml() {
    let p = Policy::default();
    assert!(validate(&p).is_empty());
    let text = p.to_toml();
    let back = Policy::from_toml(&text).expect("shown policy parses");
    assert_eq!(back, p);
}

#[test]
fn omitted_sections_take_defaults() {
    let p = Policy::from_toml("version = 1\nname = \"line-3\"\n[blur]\nmin_sharpness = 250.0\n")
        .expect("valid");
    assert_eq!(p.name, "line-3");
    assert_eq!(p.blur.min_sharpness, 250.0);
    assert_eq!(p.blur.action, Action::Retry);
    assert_eq!(p.exposure, ExposureRule::default());
}

#[test]
fn unknown_key_is_refused_with_its_line() {
    let src = "version = 1\n\n[blur]\nmin_sharpnes = 3.0\n";
    match Policy::from_toml(src) {
        Err(Error::PolicySyntax { line, message, .. }) => {
            assert_eq!(line, 4, "{message}");
            assert!(message.contains("min_sharpnes"), "{message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn unknown_section_is_refused() {
    assert!(matches!(
        Policy::from_toml("version = 1\n[licence_plates]\naction = \"fail\"\n"),
        Err(Error::PolicySyntax { line: 2, .. })
    ));
}

#[test]
fn wrong_type_is_refused_with_its_line() {
    let src = "version = 1\n[exposure]\naction = \"retry\"\nmin_mean_luma = \"dark\"\n";
    match Policy::from_toml(src) {
        Err(Error::PolicySyntax { line, .. }) => assert_eq!(line, 4),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn unknown_action_is_refused() {
    let src = "version = 1\n[blur]\naction = \"explode\"\n";
    assert!(matches!(
        Policy::from_toml(src),
        Err(Error::PolicySyntax { line: 3, .. })
    ));
}

#[test]
fn missing_version_is_refused() {
    assert!(matches!(
        Policy::from_toml("name = \"x\"\n"),
        Err(Error::PolicySyntax { .. })
    ));
}

#[test]
fn semantic_issues_are_all_listed_with_field_and_line() {
    let src = "\
version = 2
name = \"x\"

[exposure]
min_mean_luma = 220.0
max_mean_luma = 200.0
max_shadows_clipped = 1.5

[gps.geofence]
lat = 95.0
lon = 0.0
radius_m = -1.0

[capture_time]
assume_utc_offset = \"CET\"

[duplicate]
max_distance = 65
";
    let Err(Error::PolicyInvalid(issues)) = Policy::from_toml(src) else {
        panic!("expected validation issues");
    };
    let found: Vec<(&str, Option<usize>)> = issues
        .iter()
        .map(|i| (i.field.as_str(), i.location.map(|l| l.0)))
        .collect();
    for expected in [
        ("version", Some(1)),
        ("exposure.min_mean_luma", Some(5)),
        ("exposure.max_shadows_clipped", Some(7)),
        ("gps.geofence.lat", Some(10)),
        ("gps.geofence.radius_m", Some(12)),
        ("capture_time.assume_utc_offset", Some(15)),
        ("duplicate.max_distance", Some(18)),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    assert_eq!(issues.len(), 7, "{found:?}");
    let text = Error::PolicyInvalid(issues).to_string();
    assert!(
        text.contains("5:1: exposure.min_mean_luma: must be below max_mean_luma"),
        "{text}"
    );
}

#[test]
fn non_finite_thresholds_are_refused() {
    let p = Policy {
        blur: BlurRule {
            action: Action::Retry,
            min_sharpness: f64::NAN,
        },
        ..Policy::default()
    };
    let issues = validate(&p);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].field, "blur.min_sharpness");
}

#[test]
fn offsets_parse() {
    assert_eq!(
        CaptureTimeRule {
            assume_utc_offset: "-05:30".into(),
            ..CaptureTimeRule::default()
        }
        .assumed_offset()
        .whole_minutes(),
        -330
    );
    assert!(parse_offset("05:00").is_none());
}

#[test]
fn vision_sections_parse_and_out_of_range_values_are_located() {
    let p = Policy::from_toml(
        "version = 1\n[faces]\nexpect = \"forbid\"\nmin_height_fraction = 0.1\n\
         [text]\nexpect = \"require\"\n[detection]\nscale = 480\ntiling = \"off\"\n\
         [redaction]\nfaces = \"pixelate\"\n",
    )
    .expect("valid");
    assert_eq!(p.faces.expect, Expect::Forbid);
    assert_eq!(p.text.expect, Expect::Require);
    assert_eq!((p.detection.scale, p.detection.tiling), (480, Tiling::Off));
    assert_eq!(p.redaction.faces, RedactStyle::Pixelate);
    assert_eq!(p.redaction.text, RedactStyle::Fill, "default kept");

    let err =
        Policy::from_toml("version = 1\n[detection]\nscale = 9000\n[redaction]\nmargin = 2.0\n")
            .expect_err("invalid");
    let text = err.to_string();
    assert!(text.contains("3:1: detection.scale"), "{text}");
    assert!(text.contains("5:1: redaction.margin"), "{text}");
    assert!(Policy::from_toml("version = 1\n[redaction]\nfaces = \"none\"\n").is_err());
}

#[test]
fn footage_is_stored_always_or_never_since_it_has_no_verdict() {
    let mut p = Policy::default();
    p.data.footage_motion.store = crate::policy::StoreWhen::OnFail;
    p.data.footage_event.keep_days = 3651;
    let issues = validate(&p);
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        ["data.footage_motion.store", "data.footage_event.keep_days"]
    );
    assert!(issues[0].message.contains("no verdict"), "{issues:?}");
}
