//! Writes the sample photos to `samples/` and the malformed inputs to
//! `crates/lensguard-testkit/data/bad-input/`.
#![allow(clippy::print_stdout)]

use lensguard_testkit::{bad_input_dir, fixtures, samples_dir};
use std::path::Path;

fn write_all(dir: &Path, set: &[fixtures::Fixture]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in set {
        std::fs::write(dir.join(f.name), &f.bytes)?;
        println!("{:>9} bytes  {}", f.bytes.len(), dir.join(f.name).display());
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    write_all(&samples_dir(), &fixtures::samples())?;
    write_all(&bad_input_dir(), &fixtures::bad_inputs())
}
