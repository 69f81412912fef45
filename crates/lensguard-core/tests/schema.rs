//! The committed JSON Schema of the inspection report must match the code.
//! Regenerate with `LENSGUARD_BLESS=1 cargo test -p lensguard-core --test schema`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_core::InspectionReport;
use std::path::PathBuf;

#[test]
fn committed_inspection_schema_matches_the_code() {
    let path = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../../docs/schema/inspection.v1.schema.json");
    let schema = schemars::schema_for!(InspectionReport);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serialises");
    text.push('\n');
    if std::env::var_os("LENSGUARD_BLESS").is_some() {
        std::fs::write(&path, &text).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is out of date; regenerate it with LENSGUARD_BLESS=1 cargo test -p lensguard-core --test schema",
        path.display()
    );
}
