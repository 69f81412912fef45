//! The committed sample photos and bad-input files are exactly what the fixture
//! code makes, so anyone can rebuild them and review how each was made.
//! Rebuild with `cargo run -p lensguard-testkit --bin make-fixtures`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use lensguard_testkit::{bad_input_dir, fixtures, samples_dir};
use std::path::Path;

fn assert_same(dir: &Path, set: &[fixtures::Fixture]) {
    for f in set {
        let path = dir.join(f.name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == f.bytes,
            "{} differs from what the fixture code makes; run `cargo run -p lensguard-testkit --bin make-fixtures`",
            path.display()
        );
    }
}

#[test]
fn sample_photos_are_reproducible() {
    assert_same(&samples_dir(), &fixtures::samples());
}

#[test]
fn bad_inputs_are_reproducible() {
    assert_same(&bad_input_dir(), &fixtures::bad_inputs());
}
