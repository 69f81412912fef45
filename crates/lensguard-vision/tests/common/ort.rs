//! ONNX Runtime for the model tests, from the library `scripts/fetch-models`
//! put beside the models. Included by the test files that need it.

use lensguard_vision::models::runtime::Backend;

/// ONNX Runtime from the library `scripts/fetch-models` put beside the
/// models (`None` outside CI when it is missing).
/// The environment is process-wide: built once, shared by the tests.
pub fn onnx_runtime() -> Option<Backend> {
    static ENV: std::sync::OnceLock<Option<ort::environment::Environment>> =
        std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let path = lensguard_testkit::fetched::models_dir().join("libonnxruntime.so");
        lensguard_testkit::fetched::fetched(path.clone())?;
        Some(
            ort::init_from(&path)
                .expect("the pinned ONNX Runtime loads")
                .with_name("lensguard-tests")
                .build()
                .expect("environment"),
        )
    })
    .clone()
    .map(Backend::OnnxRuntime)
}
