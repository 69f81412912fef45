//! The committed JSON Schema of the inspection report must match the code.
//! Regenerate with `LENSGUARD_BLESS=1 cargo test -p lensguard-core --test schema`.
//!
//! Compared as JSON values, and written with every object's keys sorted:
//! in a workspace build a dependency turns on serde_json's
//! `preserve_order`, which changes the order keys come out in, not the
//! schema.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::InspectionReport;
use std::path::PathBuf;

#[test]
fn committed_inspection_schema_matches_the_code() {
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../../docs/schema/inspection.v1.schema.json");
    let schema =
        sorted(serde_json::to_value(schemars::schema_for!(InspectionReport)).expect("schema"));
    if std::env::var_os("LENSGUARD_BLESS").is_some() {
        let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
        text.push('\n');
        std::fs::write(&path, &text).expect("write schema");
    }
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_default();
    assert!(
        committed == schema,
        "{} is out of date; regenerate it with LENSGUARD_BLESS=1 cargo test -p lensguard-core --test schema",
        path.display()
    );
}

/// `v` with every object's keys in sorted order.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}
