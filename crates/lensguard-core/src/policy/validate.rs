//! Pure validation of a parsed policy: ranges, orderings and formats.
//!
//! Returns every issue at once, each naming the dotted key path, so a user fixes a
//! file in one pass. Never does I/O; [`super::Policy::from_toml`] adds line numbers.

use super::{Policy, PolicyIssue, SCHEMA_VERSION, parse_offset};

/// Every rule `policy` breaks; empty when it is valid.
pub fn validate(policy: &Policy) -> Vec<PolicyIssue> {
    let mut v = Issues(Vec::new());
    if policy.version != SCHEMA_VERSION {
        v.push(
            "version",
            format!(
                "unsupported policy version {} (this build reads version {SCHEMA_VERSION})",
                policy.version
            ),
        );
    }
    if policy.name.trim().is_empty() {
        v.push("name", "must not be empty".to_owned());
    }

    let r = &policy.resolution;
    if r.min_short_side > r.min_long_side {
        v.push(
            "resolution.min_short_side",
            format!(
                "must not exceed min_long_side ({} > {})",
                r.min_short_side, r.min_long_side
            ),
        );
    }

    v.non_negative("blur.min_sharpness", policy.blur.min_sharpness);

    let e = &policy.exposure;
    v.in_range("exposure.min_mean_luma", e.min_mean_luma, 0.0, 255.0);
    v.in_range("exposure.max_mean_luma", e.max_mean_luma, 0.0, 255.0);
    if e.min_mean_luma >= e.max_mean_luma {
        v.push(
            "exposure.min_mean_luma",
            format!(
                "must be below max_mean_luma ({} >= {})",
                e.min_mean_luma, e.max_mean_luma
            ),
        );
    }
    v.fraction("exposure.max_shadows_clipped", e.max_shadows_clipped);
    v.fraction("exposure.max_highlights_clipped", e.max_highlights_clipped);

    v.in_range(
        "contrast.min_std_luma",
        policy.contrast.min_std_luma,
        0.0,
        127.5,
    );

    let g = &policy.glare;
    v.fraction("glare.max_fraction", g.max_fraction);

    let c = &policy.capture_time;
    v.positive("capture_time.max_age_hours", c.max_age_hours);
    v.non_negative("capture_time.max_future_minutes", c.max_future_minutes);
    if parse_offset(&c.assume_utc_offset).is_none() {
        v.push(
            "capture_time.assume_utc_offset",
            format!(
                "must look like +HH:MM or -HH:MM, got {:?}",
                c.assume_utc_offset
            ),
        );
    }

    if let Some(fence) = &policy.gps.geofence {
        v.in_range("gps.geofence.lat", fence.lat, -90.0, 90.0);
        v.in_range("gps.geofence.lon", fence.lon, -180.0, 180.0);
        v.positive("gps.geofence.radius_m", fence.radius_m);
    }

    for (i, s) in policy.edits.software.iter().enumerate() {
        if s.trim().is_empty() {
            v.push("edits.software", format!("entry {} is empty", i + 1));
        }
    }

    if policy.duplicate.max_distance > 64 {
        v.push(
            "duplicate.max_distance",
            format!(
                "must be 0 to 64 (bits of the hash), got {}",
                policy.duplicate.max_distance
            ),
        );
    }

    v.fraction("faces.threshold", f64::from(policy.faces.threshold));
    v.fraction(
        "faces.min_height_fraction",
        policy.faces.min_height_fraction,
    );
    v.fraction("text.threshold", f64::from(policy.text.threshold));
    let d = &policy.detection;
    v.in_range("detection.scale", f64::from(d.scale), 32.0, 4096.0);
    v.in_range("text.scale", f64::from(policy.text.scale), 32.0, 4096.0);
    v.in_range(
        "detection.max_tiles_per_side",
        f64::from(d.max_tiles_per_side),
        2.0,
        4.0,
    );
    v.in_range(
        "detection.deadline_ms",
        d.deadline_ms as f64,
        1.0,
        600_000.0,
    );
    let r = &policy.redaction;
    if r.categories.is_empty() {
        v.push(
            "redaction.categories",
            "must name at least one of \"faces\", \"text\"".to_owned(),
        );
    }
    v.fraction("redaction.margin", f64::from(r.margin));
    v.in_range(
        "redaction.jpeg_quality",
        f64::from(r.jpeg_quality),
        50.0,
        95.0,
    );
    data_rules(policy, &mut v);
    v.0
}

/// `[data]`, `[retention]` and `[egress]`.
fn data_rules(policy: &Policy, v: &mut Issues) {
    use super::{DataCategory, EGRESS_FIELDS, EVENT_FIELDS, OVERRIDE_FIELDS, StoreWhen};
    for category in DataCategory::ALL {
        let rule = policy.data.rule(category);
        let name = category.as_str();
        if rule.store != StoreWhen::Never && rule.keep_days == 0 {
            v.push(
                &format!("data.{name}.keep_days"),
                format!(
                    "0 discards it right after the verdict; say store = \"never\" instead of store = \"{}\"",
                    rule.store.as_str()
                ),
            );
        }
        if category.is_footage() && !matches!(rule.store, StoreWhen::Always | StoreWhen::Never) {
            v.push(
                &format!("data.{name}.store"),
                format!(
                    "footage has no verdict: say \"always\" or \"never\", not \"{}\"",
                    rule.store.as_str()
                ),
            );
        }
        if rule.keep_days > 3650 {
            v.push(
                &format!("data.{name}.keep_days"),
                format!("must be at most 3650 (ten years), got {}", rule.keep_days),
            );
        }
    }
    for (category, why) in [
        (
            DataCategory::Result,
            "results answer reads and idempotent replays",
        ),
        (
            DataCategory::AuditLog,
            "every access and deletion is recorded",
        ),
    ] {
        if policy.data.rule(category).store != StoreWhen::Always {
            v.push(
                &format!("data.{category}.store"),
                format!("must be \"always\": {why}"),
            );
        }
    }
    if policy.data.audit_log.keep_days < 90 {
        v.push(
            "data.audit_log.keep_days",
            format!(
                "must be at least 90 (deletion receipts must outlive what they prove), got {}",
                policy.data.audit_log.keep_days
            ),
        );
    }
    if policy.retention.max_clock_jump_hours == 0 {
        v.push(
            "retention.max_clock_jump_hours",
            "must be above zero".to_owned(),
        );
    }
    for field in &policy.egress.event_fields {
        if !EVENT_FIELDS.contains(&field.as_str()) {
            v.push(
                "egress.event_fields",
                format!(
                    "unknown camera event field {field:?} (known: {})",
                    EVENT_FIELDS.join(", ")
                ),
            );
        }
    }
    for field in &policy.egress.override_fields {
        if !OVERRIDE_FIELDS.contains(&field.as_str()) {
            v.push(
                "egress.override_fields",
                format!(
                    "unknown override field {field:?} (known: {})",
                    OVERRIDE_FIELDS.join(", ")
                ),
            );
        }
    }
    for code in &policy.overrides.reasons {
        let known = serde_json::from_value::<crate::report::ReasonCode>(serde_json::Value::String(
            code.clone(),
        ))
        .is_ok();
        if !known {
            v.push(
                "overrides.reasons",
                format!("unknown reason code {code:?} (see docs/schema.md for the codes)"),
            );
        }
    }
    for field in &policy.egress.fields {
        if !EGRESS_FIELDS.contains(&field.as_str()) {
            v.push(
                "egress.fields",
                format!(
                    "unknown report field {field:?} (known: {})",
                    EGRESS_FIELDS.join(", ")
                ),
            );
        }
    }
}

struct Issues(Vec<PolicyIssue>);

impl Issues {
    fn push(&mut self, field: &str, message: String) {
        self.0.push(PolicyIssue {
            field: field.to_owned(),
            message,
            location: None,
        });
    }

    fn in_range(&mut self, field: &str, value: f64, min: f64, max: f64) {
        if !(value.is_finite() && (min..=max).contains(&value)) {
            self.push(
                field,
                format!("must be between {min} and {max}, got {value}"),
            );
        }
    }

    fn fraction(&mut self, field: &str, value: f64) {
        self.in_range(field, value, 0.0, 1.0);
    }

    fn non_negative(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value >= 0.0) {
            self.push(field, format!("must be zero or more, got {value}"));
        }
    }

    fn positive(&mut self, field: &str, value: f64) {
        if !(value.is_finite() && value > 0.0) {
            self.push(field, format!("must be above zero, got {value}"));
        }
    }
}
