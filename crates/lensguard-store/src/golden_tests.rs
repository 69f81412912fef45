//! Durable formats held still: a committed audit-log folder and a sealed
//! vault envelope (`tests/golden/v0.1/`), written by lensguard 0.1, that
//! every later version must still verify and open. A format change that
//! breaks them fails here; keeping old files readable is then the job (a
//! version bump in the format with a reader for the old one), never
//! re-blessing the files.
//!
//! `LENSGUARD_BLESS_GOLDEN=1` writes the folder only when it does not exist
//! yet (for a new format version's own folder).

use crate::audit::{AuditEvent, AuditLog, AuditOptions, DeletionReceipt, EgressReceipt, Outcome};
use crate::vault::data_key::DataKey;
use crate::vault::envelope::{self, Binding, HEAD_LEN};
use lensguard_core::policy::DataCategory;
use std::path::{Path, PathBuf};

fn golden() -> PathBuf {
    lensguard_testkit::package_dir(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v0.1")
}

/// The data key and object the golden envelope was sealed with (test
/// values, not secrets of any installation).
const DATA_KEY: [u8; 32] = [0x5a; 32];
const OBJECT_ID: [u8; 16] = *b"golden-object-01";
const PLAIN: &[u8] = b"redacted pixels, as sealed by lensguard 0.1";

fn events() -> Vec<AuditEvent> {
    let t = time::macros::datetime!(2026-12-06 12:00 UTC);
    let mut out = Vec::new();
    for i in 0..9 {
        out.push(
            AuditEvent::new(t, format!("key:k{i}"), "inspections.submit")
                .target(format!("inspection:i{i}"))
                .outcome(Outcome::Success, Some("verdict pass".to_owned())),
        );
    }
    out.push(
        AuditEvent::new(t, "anonymous", "auth.login")
            .outcome(Outcome::Denied, Some("name 3f2a (pseudonym)".to_owned())),
    );
    let mut deletion = AuditEvent::new(t, "system", "retention.delete").target("evidence:e1");
    deletion.receipt = Some(Box::new(DeletionReceipt {
        object: "evidence:e1".to_owned(),
        category: "redacted".to_owned(),
        inspection: "i1".to_owned(),
        content_sha256: "00".repeat(32),
        policy: "proof-of-delivery@1".to_owned(),
        deleted_at: t,
        method: "crypto-shred".to_owned(),
    }));
    out.push(deletion);
    let mut egress = AuditEvent::new(t, "system", "egress.batch").target("https://hub:8443");
    egress.egress = Some(Box::new(EgressReceipt {
        destination: "https://hub:8443 (edge e1)".to_owned(),
        content_sha256: "11".repeat(32),
        bytes: 512,
        manifests: vec!["proof-of-delivery@1".to_owned()],
        records: 2,
        first_seq: 1,
        last_seq: 2,
    }));
    out.push(egress);
    out
}

fn options() -> AuditOptions {
    AuditOptions {
        checkpoint_every: 4,
        ..AuditOptions::default()
    }
}

fn bless(dir: &Path) {
    let audit = dir.join("audit");
    std::fs::create_dir_all(&audit).expect("golden folder");
    let log = AuditLog::open(&audit, options()).expect("open");
    for e in events() {
        log.append(e).expect("append");
    }
    drop(log);
    let key = DataKey::from_unwrapped(&DATA_KEY).expect("key");
    let binding = Binding {
        id: OBJECT_ID,
        category: DataCategory::Redacted,
    };
    let sealed = envelope::seal(&binding, &key, PLAIN.to_vec()).expect("seal");
    let mut blob = sealed.head.to_vec();
    blob.extend(&sealed.body);
    blob.extend(sealed.tag);
    std::fs::write(dir.join("envelope.lgv1"), blob).expect("blob");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn the_committed_audit_log_verifies_and_opens_for_appending() {
    let dir = golden();
    if !dir.exists() && std::env::var_os("LENSGUARD_BLESS_GOLDEN").is_some() {
        bless(&dir);
    }
    let audit = dir.join("audit");
    let public = std::fs::read_to_string(audit.join("signing.pub")).expect("golden signing.pub");
    let public = hex::decode(public.trim()).expect("hex key");
    let summary =
        crate::audit::verify::verify_dir(&audit, Some(&public), &[]).expect("golden log verifies");
    // 12 events and the cadence entry, signed every 4 entries and at close.
    assert_eq!(summary.entries, 13);
    assert_eq!(summary.unsigned_entries, 0);
    assert!(summary.checkpoints >= 4, "{summary:?}");
    // This version opens it and extends it.
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(&audit, copy.path());
    let log = AuditLog::open(copy.path(), options()).expect("opens");
    log.append(AuditEvent::new(
        time::OffsetDateTime::now_utc(),
        "system",
        "service.start",
    ))
    .expect("append");
    drop(log);
    let after = crate::audit::verify::verify_dir(copy.path(), Some(&public), &[]).expect("verify");
    assert_eq!(after.entries, 14);
}

#[test]
fn the_committed_envelope_opens_and_is_bound_to_its_object() {
    let blob = std::fs::read(golden().join("envelope.lgv1")).expect("golden envelope");
    assert_eq!(&blob[..4], b"LGV1");
    let key = DataKey::from_unwrapped(&DATA_KEY).expect("key");
    let binding = Binding {
        id: OBJECT_ID,
        category: DataCategory::Redacted,
    };
    let plain = envelope::open(&binding, &key, &blob[..HEAD_LEN], blob[HEAD_LEN..].to_vec())
        .expect("golden envelope opens");
    assert_eq!(plain, PLAIN);
    let elsewhere = Binding {
        id: OBJECT_ID,
        category: DataCategory::Original,
    };
    assert!(
        envelope::open(
            &elsewhere,
            &key,
            &blob[..HEAD_LEN],
            blob[HEAD_LEN..].to_vec()
        )
        .is_err()
    );
}
