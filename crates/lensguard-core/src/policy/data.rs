//! `[data.*]`, `[retention]` and `[egress]`: what lensguard keeps of each
//! photo, for how long, who may read it, and what may leave the device.
//!
//! Every kind of data lensguard holds is a [`DataCategory`]. For each, the
//! policy says when it is stored ([`StoreWhen`]) and for how long
//! (`keep_days`, zero meaning discarded right after the verdict). Who may
//! read a category is fixed by the code ([`DataCategory::read_scope`]), so
//! a policy cannot open originals to a viewer. Egress is deny by default: a
//! report field leaves the device only when `[egress] fields` names it
//! ([`Egress::project`]).
//!
//! Defaults follow what careful vendors promise: original image bytes are
//! discarded after the verdict; redacted images and thumbnails are kept 7
//! days; inspection results and request logs 30; the audit log 90; cameras'
//! footage 3 days where nothing moved, 7 with motion, 14 around events. The
//! `inspection-line` profile ([`super::Policy::builtin`]) keeps originals of
//! failed inspections only.

use crate::access::Scope;
use crate::report::Verdict;
use serde::{Deserialize, Serialize};

/// A kind of data lensguard holds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// The photo as submitted (with its metadata, GPS included).
    Original,
    /// The redacted derivative: faces and text hidden, no metadata.
    Redacted,
    /// A small copy of the redacted derivative.
    Thumbnail,
    /// The inspection result: verdict, reasons, measurements (metadata only).
    Result,
    /// Per-request records (method, route, status, caller).
    RequestLog,
    /// The tamper-evident audit log.
    AuditLog,
    /// A camera's recorded video, kept all the time (`continuous` mode)
    /// where nothing moved.
    FootageContinuous,
    /// A camera's recorded video while something moved and no event was
    /// under way (`continuous` mode).
    FootageMotion,
    /// A camera's recorded video around an event, pre- and post-roll
    /// included (`events` and `continuous` modes).
    FootageEvent,
}

impl DataCategory {
    /// Every category, in inventory order.
    pub const ALL: [DataCategory; 9] = [
        DataCategory::Original,
        DataCategory::Redacted,
        DataCategory::Thumbnail,
        DataCategory::Result,
        DataCategory::RequestLog,
        DataCategory::AuditLog,
        DataCategory::FootageContinuous,
        DataCategory::FootageMotion,
        DataCategory::FootageEvent,
    ];

    /// The recorded-video categories, in the order a camera's disk quota
    /// deletes them (continuous first, event clips last).
    pub const FOOTAGE: [DataCategory; 3] = [
        DataCategory::FootageContinuous,
        DataCategory::FootageMotion,
        DataCategory::FootageEvent,
    ];

    /// The name used in policies, receipts and the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::Original => "original",
            DataCategory::Redacted => "redacted",
            DataCategory::Thumbnail => "thumbnail",
            DataCategory::Result => "result",
            DataCategory::RequestLog => "request_log",
            DataCategory::AuditLog => "audit_log",
            DataCategory::FootageContinuous => "footage_continuous",
            DataCategory::FootageMotion => "footage_motion",
            DataCategory::FootageEvent => "footage_event",
        }
    }

    /// The category's one-byte code in sealed envelopes (stable: never reuse one).
    pub fn code(self) -> u8 {
        match self {
            DataCategory::Original => 1,
            DataCategory::Redacted => 2,
            DataCategory::Thumbnail => 3,
            DataCategory::Result => 4,
            DataCategory::RequestLog => 5,
            DataCategory::AuditLog => 6,
            DataCategory::FootageContinuous => 7,
            DataCategory::FootageMotion => 8,
            DataCategory::FootageEvent => 9,
        }
    }

    /// The category with envelope code `code`.
    pub fn from_code(code: u8) -> Option<DataCategory> {
        DataCategory::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The category named `name`.
    pub fn parse(name: &str) -> Option<DataCategory> {
        DataCategory::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The permission that reads it. Reading an original also needs a stated
    /// reason, and every read is audited.
    pub fn read_scope(self) -> Scope {
        match self {
            DataCategory::Original
            | DataCategory::FootageContinuous
            | DataCategory::FootageMotion
            | DataCategory::FootageEvent => Scope::EvidenceReadOriginal,
            DataCategory::Redacted | DataCategory::Thumbnail | DataCategory::Result => {
                Scope::InspectionsRead
            }
            DataCategory::RequestLog | DataCategory::AuditLog => Scope::AuditRead,
        }
    }

    /// Whether objects of this category are pixels sealed in the evidence vault.
    pub fn is_evidence(self) -> bool {
        matches!(
            self,
            DataCategory::Original | DataCategory::Redacted | DataCategory::Thumbnail
        ) || self.is_footage()
    }

    /// Whether it is a camera's recorded video (never a photo's).
    pub fn is_footage(self) -> bool {
        DataCategory::FOOTAGE.contains(&self)
    }

    /// Whether reading it shows original, unredacted pixels (a stated
    /// reason is required, and the read is audited with it).
    pub fn is_original(self) -> bool {
        self == DataCategory::Original || self.is_footage()
    }
}

impl std::fmt::Display for DataCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a category is stored, by the inspection's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreWhen {
    /// Never stored.
    Never,
    /// Only for inspections that fail.
    OnFail,
    /// For inspections that fail or ask for a retry.
    OnRetry,
    /// For every inspection.
    Always,
}

impl StoreWhen {
    /// Whether an inspection with `verdict` stores this category.
    pub fn applies(self, verdict: Verdict) -> bool {
        match self {
            StoreWhen::Never => false,
            StoreWhen::OnFail => verdict == Verdict::Fail,
            StoreWhen::OnRetry => matches!(verdict, Verdict::Fail | Verdict::Retry),
            StoreWhen::Always => true,
        }
    }

    /// The name used in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreWhen::Never => "never",
            StoreWhen::OnFail => "on_fail",
            StoreWhen::OnRetry => "on_retry",
            StoreWhen::Always => "always",
        }
    }
}

/// `[data.<category>]`: when it is stored and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryRule {
    /// When it is stored.
    pub store: StoreWhen,
    /// Days it is kept; 0 means discarded right after the verdict.
    pub keep_days: u32,
}

impl CategoryRule {
    const fn new(store: StoreWhen, keep_days: u32) -> Self {
        CategoryRule { store, keep_days }
    }

    /// Whether an inspection with `verdict` keeps this category at all.
    pub fn keeps(&self, verdict: Verdict) -> bool {
        self.keep_days > 0 && self.store.applies(verdict)
    }
}

fn original() -> CategoryRule {
    CategoryRule::new(StoreWhen::Never, 0)
}
fn redacted() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 7)
}
fn thumbnail() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 7)
}
fn result() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 30)
}
fn request_log() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 30)
}
fn audit_log() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 90)
}
fn footage_continuous() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 3)
}
fn footage_motion() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 7)
}
fn footage_event() -> CategoryRule {
    CategoryRule::new(StoreWhen::Always, 14)
}

/// `[data]`: one rule per category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRules {
    /// The photo as submitted. Default: never stored.
    #[serde(default = "original")]
    pub original: CategoryRule,
    /// The redacted derivative. Default: always, 7 days.
    #[serde(default = "redacted")]
    pub redacted: CategoryRule,
    /// Thumbnails of the redacted derivative. Default: always, 7 days.
    #[serde(default = "thumbnail")]
    pub thumbnail: CategoryRule,
    /// Inspection results. Default: always, 30 days.
    #[serde(default = "result")]
    pub result: CategoryRule,
    /// Request logs. Default: 30 days.
    #[serde(default = "request_log")]
    pub request_log: CategoryRule,
    /// The audit log. Default: 90 days.
    #[serde(default = "audit_log")]
    pub audit_log: CategoryRule,
    /// Cameras' footage where nothing moved (`continuous` mode). Default:
    /// 3 days. `store` is `always` or `never` (footage has no verdict).
    #[serde(default = "footage_continuous")]
    pub footage_continuous: CategoryRule,
    /// Cameras' footage with motion and no event. Default: 7 days.
    #[serde(default = "footage_motion")]
    pub footage_motion: CategoryRule,
    /// Cameras' footage around events. Default: 14 days.
    #[serde(default = "footage_event")]
    pub footage_event: CategoryRule,
}

impl Default for DataRules {
    fn default() -> Self {
        DataRules {
            original: original(),
            redacted: redacted(),
            thumbnail: thumbnail(),
            result: result(),
            request_log: request_log(),
            audit_log: audit_log(),
            footage_continuous: footage_continuous(),
            footage_motion: footage_motion(),
            footage_event: footage_event(),
        }
    }
}

impl DataRules {
    /// The rule for `category`.
    pub fn rule(&self, category: DataCategory) -> CategoryRule {
        match category {
            DataCategory::Original => self.original,
            DataCategory::Redacted => self.redacted,
            DataCategory::Thumbnail => self.thumbnail,
            DataCategory::Result => self.result,
            DataCategory::RequestLog => self.request_log,
            DataCategory::AuditLog => self.audit_log,
            DataCategory::FootageContinuous => self.footage_continuous,
            DataCategory::FootageMotion => self.footage_motion,
            DataCategory::FootageEvent => self.footage_event,
        }
    }
}

/// `[retention]`: how the sweeper behaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// A forward clock jump larger than this (hours since the last sweep)
    /// pauses deletion and raises an alert instead of deleting everything that
    /// suddenly looks expired. Default 72 (a device switched off over a
    /// weekend resumes on its own).
    pub max_clock_jump_hours: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            max_clock_jump_hours: 72,
        }
    }
}

/// `[egress]`: the manifest of what may leave the device. Deny by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Egress {
    /// Report fields that may leave, as dotted paths (`verdict`,
    /// `measurements.sharpness`); see [`EGRESS_FIELDS`]. Default none.
    pub fields: Vec<String>,
    /// Whether redacted derivatives may leave. Default false.
    pub redacted_images: bool,
    /// Camera event fields that may leave (`label`, `start`, `zones`); see
    /// [`EVENT_FIELDS`]. Default none: no camera event leaves at all.
    pub event_fields: Vec<String>,
    /// Override fields that may leave (`inspection`, `verdict`); see
    /// [`OVERRIDE_FIELDS`]. Default none: no override leaves at all.
    pub override_fields: Vec<String>,
}

/// Every override field an egress manifest may name. The person's stated
/// reason (free text) and who they are never leave.
pub const OVERRIDE_FIELDS: &[&str] = &[
    "id",
    "inspection",
    "from_verdict",
    "verdict",
    "time",
    "reason_codes",
];

/// Every camera event field an egress manifest may name. None of them holds
/// pixels; `trail` and `box` are boxes in fractions of the frame.
pub const EVENT_FIELDS: &[&str] = &[
    "id",
    "camera",
    "label",
    "start",
    "end",
    "best_score",
    "box",
    "zones",
    "trail",
];

/// Every report field an egress manifest may name.
pub const EGRESS_FIELDS: &[&str] = &[
    "id",
    "verdict",
    "reasons",
    "checks",
    "policy",
    "duplicate_of",
    "detections",
    "redaction",
    "submission",
    "measurements",
    "measurements.format",
    "measurements.width",
    "measurements.height",
    "measurements.sharpness",
    "measurements.exposure",
    "measurements.contrast",
    "measurements.glare",
    "measurements.phash",
    "measurements.capture_time",
    "measurements.gps",
    "measurements.software",
    "measurements.camera",
];

impl Egress {
    /// The record of an inspection whose stored result is `report`, for
    /// the outbox: `manifest` (`policy@revision`) and the projection.
    pub fn record(
        &self,
        manifest: &str,
        report: &serde_json::Value,
    ) -> crate::egress::EgressRecord {
        crate::egress::EgressRecord::projected(manifest, self.project(report))
    }

    /// The record of a camera event (`event`: the stored event as JSON),
    /// projected through `event_fields`, or `None` when the manifest names
    /// none (nothing about events leaves).
    pub fn event_record(
        &self,
        manifest: &str,
        event: &serde_json::Value,
    ) -> Option<crate::egress::EgressRecord> {
        if self.event_fields.is_empty() {
            return None;
        }
        let data: serde_json::Map<_, _> = self
            .event_fields
            .iter()
            .filter_map(|f| event.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        Some(crate::egress::EgressRecord::camera_event(
            manifest,
            serde_json::Value::Object(data),
        ))
    }

    /// The record of an override (`record`: the override as JSON, with the
    /// fields of [`OVERRIDE_FIELDS`] and more), projected through
    /// `override_fields`, or `None` when the manifest names none.
    pub fn override_record(
        &self,
        manifest: &str,
        record: &serde_json::Value,
    ) -> Option<crate::egress::EgressRecord> {
        if self.override_fields.is_empty() {
            return None;
        }
        let data: serde_json::Map<_, _> = self
            .override_fields
            .iter()
            .filter(|f| OVERRIDE_FIELDS.contains(&f.as_str()))
            .filter_map(|f| record.get(f).map(|v| (f.clone(), v.clone())))
            .collect();
        Some(crate::egress::EgressRecord::overridden(
            manifest,
            serde_json::Value::Object(data),
        ))
    }

    /// The part of `report` (a report as JSON) that may leave: only the
    /// fields the manifest names, everything else dropped. A named field the
    /// report lacks is simply absent.
    pub fn project(&self, report: &serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for field in &self.fields {
            let mut path = field.split('.');
            let (Some(head), tail) = (path.next(), path.next()) else {
                continue;
            };
            let Some(value) = report.get(head) else {
                continue;
            };
            match tail {
                None => {
                    out.insert(head.to_owned(), value.clone());
                }
                Some(sub) => {
                    if let Some(v) = value.get(sub) {
                        let slot = out
                            .entry(head.to_owned())
                            .or_insert_with(|| serde_json::Value::Object(Default::default()));
                        if let Some(map) = slot.as_object_mut() {
                            map.insert(sub.to_owned(), v.clone());
                        }
                    }
                }
            }
        }
        serde_json::Value::Object(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn store_when_follows_the_verdict() {
        use StoreWhen::*;
        use Verdict::*;
        for (when, pass, retry, fail) in [
            (Never, false, false, false),
            (OnFail, false, false, true),
            (OnRetry, false, true, true),
            (Always, true, true, true),
        ] {
            assert_eq!(when.applies(Pass), pass, "{when:?}");
            assert_eq!(when.applies(Retry), retry, "{when:?}");
            assert_eq!(when.applies(Fail), fail, "{when:?}");
        }
        assert!(
            !CategoryRule::new(Always, 0).keeps(Pass),
            "zero days keeps nothing"
        );
    }

    #[test]
    fn category_codes_round_trip_and_are_distinct() {
        for c in DataCategory::ALL {
            assert_eq!(DataCategory::from_code(c.code()), Some(c));
            assert_eq!(DataCategory::parse(c.as_str()), Some(c));
        }
        assert_eq!(DataCategory::from_code(0), None);
        assert_eq!(DataCategory::from_code(10), None);
    }

    #[test]
    fn egress_keeps_only_named_fields() {
        let report = serde_json::json!({
            "id": "x", "verdict": "pass", "reasons": [],
            "measurements": {"sharpness": 20.0, "gps": {"lat": 1.0, "lon": 2.0}}
        });
        assert_eq!(Egress::default().project(&report), serde_json::json!({}));
        let manifest = Egress {
            fields: vec![
                "verdict".into(),
                "measurements.sharpness".into(),
                "checks".into(),
            ],
            redacted_images: false,
            event_fields: Vec::new(),
            override_fields: Vec::new(),
        };
        assert_eq!(
            manifest.project(&report),
            serde_json::json!({"verdict": "pass", "measurements": {"sharpness": 20.0}})
        );
    }

    #[test]
    fn camera_events_leave_only_with_named_fields() {
        let event = serde_json::json!({
            "id": "e", "camera": "dock-2", "label": "person", "zones": ["door"],
            "trail": [[0.0, [0.1, 0.2, 0.1, 0.3]]]
        });
        assert_eq!(Egress::default().event_record("p@1", &event), None);
        let manifest = Egress {
            event_fields: vec!["label".into(), "zones".into(), "start".into()],
            ..Egress::default()
        };
        let record = manifest.event_record("p@1", &event).expect("a record");
        assert_eq!(record.kind().as_str(), "camera_event");
        let payload: serde_json::Value = serde_json::from_str(record.payload()).expect("json");
        assert_eq!(
            payload,
            serde_json::json!({"manifest": "p@1", "data": {"label": "person", "zones": ["door"]}})
        );
    }
}
