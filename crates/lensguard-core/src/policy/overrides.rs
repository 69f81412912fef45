//! `[overrides]`: which results a person may override.
//!
//! An operator reviewing a retry or fail may decide the photo is good enough
//! (the blur is acceptable for this parcel, the capture time is off because
//! the phone's clock was wrong). The policy names, per reason code, which
//! may be overridden; a result may be overridden only when every reason that
//! set its verdict (status `retry` or `fail`) is named. Warnings do not
//! count. Nothing is overridable by default, and `error` verdicts never are
//! (there was no photo to judge).

use serde::{Deserialize, Serialize};

/// `[overrides]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Overrides {
    /// Reason codes a person may override (`blurry`, `capture_time_stale`).
    /// Default none.
    pub reasons: Vec<String>,
}

/// Why a result may not be overridden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOverridable {
    /// Only retry and fail verdicts are overridden.
    #[error("only a retry or fail verdict can be overridden; this one is {0}")]
    Verdict(String),
    /// The policy does not allow overriding these reasons.
    #[error("the policy does not allow overriding {}: add them to [overrides] reasons to allow it", .0.join(", "))]
    Reasons(Vec<String>),
    /// The new verdict is not an improvement.
    #[error(
        "an override of a {from} verdict may result in {}, not {to}",
        allowed(from)
    )]
    Target {
        /// The verdict overridden.
        from: String,
        /// The verdict asked for.
        to: String,
    },
}

fn allowed(from: &str) -> &'static str {
    if from == "fail" {
        "pass or retry"
    } else {
        "pass"
    }
}

impl Overrides {
    /// Whether a person may override `report` (a stored result as JSON)
    /// with verdict `to`.
    pub fn check(&self, report: &serde_json::Value, to: &str) -> Result<(), NotOverridable> {
        let from = report
            .get("verdict")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned();
        if from != "retry" && from != "fail" {
            return Err(NotOverridable::Verdict(from));
        }
        let better = match from.as_str() {
            "fail" => to == "pass" || to == "retry",
            _ => to == "pass",
        };
        if !better {
            return Err(NotOverridable::Target {
                from,
                to: to.to_owned(),
            });
        }
        let mut refused: Vec<String> = report
            .get("reasons")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
            .filter(|r| {
                matches!(
                    r.get("status").and_then(|s| s.as_str()),
                    Some("retry" | "fail")
                )
            })
            .filter_map(|r| r.get("code").and_then(|c| c.as_str()))
            .filter(|code| !self.reasons.iter().any(|allowed| allowed == code))
            .map(str::to_owned)
            .collect();
        refused.dedup();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(NotOverridable::Reasons(refused))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(verdict: &str, reasons: &[(&str, &str)]) -> serde_json::Value {
        json!({"verdict": verdict, "reasons": reasons.iter().map(|(code, status)| json!({"code": code, "status": status})).collect::<Vec<_>>()})
    }

    #[test]
    fn every_deciding_reason_must_be_allowed() {
        let o = Overrides {
            reasons: vec!["blurry".into(), "capture_time_stale".into()],
        };
        let blurry = report("fail", &[("blurry", "fail"), ("glare", "warn")]);
        assert_eq!(o.check(&blurry, "pass"), Ok(()), "warnings do not count");
        assert_eq!(o.check(&blurry, "retry"), Ok(()));
        let glare = report("retry", &[("blurry", "retry"), ("glare", "retry")]);
        assert_eq!(
            o.check(&glare, "pass"),
            Err(NotOverridable::Reasons(vec!["glare".into()]))
        );
        assert!(matches!(
            o.check(&report("pass", &[]), "pass"),
            Err(NotOverridable::Verdict(_))
        ));
        assert!(matches!(
            o.check(&report("error", &[("corrupt", "fail")]), "pass"),
            Err(NotOverridable::Verdict(_))
        ));
        assert!(matches!(
            o.check(&report("retry", &[("blurry", "retry")]), "retry"),
            Err(NotOverridable::Target { .. })
        ));
        assert!(matches!(
            o.check(&blurry, "fail"),
            Err(NotOverridable::Target { .. })
        ));
        assert!(matches!(
            Overrides::default().check(&blurry, "pass"),
            Err(NotOverridable::Reasons(_))
        ));
    }
}
