//! What may leave this edge for the hub, as a type: an [`EgressRecord`] is
//! made only by [`crate::policy::Egress::record`] (an inspection result
//! projected through the policy's egress manifest: fields it does not name
//! never enter), [`crate::policy::Egress::event_record`] (a camera event
//! projected through the manifest's event fields),
//! [`crate::policy::Egress::override_record`] (an override projected through
//! the manifest's override fields) and
//! [`EgressRecord::deletion_receipt`] (a receipt, whose
//! shape holds no pixels and no personal data). The outbox takes nothing
//! else. There is no conversion from a string or JSON value, and no
//! `Deserialize`:
//!
//! ```compile_fail
//! use lensguard_core::egress::EgressRecord;
//! let _: EgressRecord = String::from("{\"data\": {\"gps\": [52.1, 4.3]}}").into();
//! ```
//!
//! ```compile_fail
//! use lensguard_core::egress::EgressRecord;
//! let _: EgressRecord = serde_json::from_str("{}").unwrap();
//! ```

use serde::{Deserialize, Serialize};

/// What kind of record leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressKind {
    /// An inspection result, projected through the egress manifest.
    Inspection,
    /// A deletion receipt.
    DeletionReceipt,
    /// A camera event, projected through the manifest's event fields.
    CameraEvent,
    /// A person's override of a verdict, projected through the manifest's
    /// override fields.
    Override,
}

impl EgressKind {
    /// The name the outbox and the hub use.
    pub fn as_str(self) -> &'static str {
        match self {
            EgressKind::Inspection => "inspection",
            EgressKind::DeletionReceipt => "deletion_receipt",
            EgressKind::CameraEvent => "camera_event",
            EgressKind::Override => "override",
        }
    }
}

/// A record that may leave: `{"manifest": "policy@revision", "data": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressRecord {
    kind: EgressKind,
    payload: String,
}

impl EgressRecord {
    /// Only `Egress::record` (in this crate) makes inspection records.
    pub(crate) fn projected(manifest: &str, data: serde_json::Value) -> EgressRecord {
        EgressRecord {
            kind: EgressKind::Inspection,
            payload: serde_json::json!({"manifest": manifest, "data": data}).to_string(),
        }
    }

    /// Only `Egress::event_record` (in this crate) makes camera event
    /// records.
    pub(crate) fn camera_event(manifest: &str, data: serde_json::Value) -> EgressRecord {
        EgressRecord {
            kind: EgressKind::CameraEvent,
            payload: serde_json::json!({"manifest": manifest, "data": data}).to_string(),
        }
    }

    /// Only `Egress::override_record` (in this crate) makes override records.
    pub(crate) fn overridden(manifest: &str, data: serde_json::Value) -> EgressRecord {
        EgressRecord {
            kind: EgressKind::Override,
            payload: serde_json::json!({"manifest": manifest, "data": data}).to_string(),
        }
    }

    /// The record of a deletion receipt, under the policy that kept the
    /// deleted object.
    pub fn deletion_receipt(receipt: &DeletionReceipt) -> EgressRecord {
        EgressRecord {
            kind: EgressKind::DeletionReceipt,
            payload: serde_json::json!({"manifest": receipt.policy, "data": receipt}).to_string(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> EgressKind {
        self.kind
    }

    /// The JSON that leaves.
    pub fn payload(&self) -> &str {
        &self.payload
    }
}

/// Proof of one deletion, carried by its audit entry (`retention.delete` or
/// `erasure.delete`): which object, what it held (SHA-256 of the plaintext),
/// under which policy it was kept, when and how it was destroyed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionReceipt {
    /// The object (`evidence:<id>` or `inspection:<id>` for a result).
    pub object: String,
    /// Its data category.
    pub category: String,
    /// The inspection it belonged to.
    pub inspection: String,
    /// SHA-256 of the plaintext, hex.
    pub content_sha256: String,
    /// The policy that set its retention (`name@revision`).
    pub policy: String,
    /// When it was destroyed.
    #[serde(with = "time::serde::rfc3339")]
    pub deleted_at: time::OffsetDateTime,
    /// How: `crypto-shred` (wrapped data key destroyed, blob removed) or
    /// `row-delete` (database row removed with SQLite secure_delete).
    pub method: String,
}
