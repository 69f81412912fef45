//! The runtime for the benchmark examples: ONNX Runtime from the library
//! `scripts/fetch-models` put in the models folder, or tract with
//! `LENSGUARD_RUNTIME=tract`; and the header lines they print.

use lensguard_vision::models::runtime::Backend;
use std::path::Path;

/// The backend for the models in `models`.
///
/// # Panics
/// When the library is missing or does not load (run scripts/fetch-models).
#[allow(clippy::expect_used)]
pub fn backend(models: &Path) -> Backend {
    if std::env::var("LENSGUARD_RUNTIME").is_ok_and(|v| v == "tract") {
        return Backend::Tract;
    }
    let env = ort::init_from(models.join("libonnxruntime.so"))
        .expect("libonnxruntime.so (scripts/fetch-models)")
        .with_name("bench")
        .build()
        .expect("environment");
    Backend::OnnxRuntime(env)
}

/// Prints which runtime the models run on and whether libjpeg-turbo runs
/// its SIMD code.
#[allow(clippy::print_stdout)]
pub fn print_setup(runtime: &str) {
    println!("runtime: {runtime}");
    println!(
        "JPEG codec: libjpeg-turbo {} SIMD",
        if lensguard_vision::jpeg_simd() {
            "with"
        } else {
            "without"
        }
    );
}
