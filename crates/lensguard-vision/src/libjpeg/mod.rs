//! The libjpeg (libjpeg-turbo, as vendored by `mozjpeg-sys`) plumbing that
//! decoding and redaction share: the strict error manager, the guard that
//! turns its unwinds into [`Error`]s, the coefficient transcoder, and whether
//! its SIMD code runs.
//!
//! Invariant: every call into libjpeg runs inside [`guarded`], so a damaged
//! file or a libjpeg refusal becomes an error and never a panic.

pub(crate) mod coefficients;
pub(crate) mod errors;

use crate::Error;
use errors::JpegFault;
use std::panic::{AssertUnwindSafe, catch_unwind};

#[allow(unsafe_code)]
mod simd {
    unsafe extern "C" {
        /// libjpeg-turbo's own check, defined in its SIMD dispatcher and, as
        /// a stub returning 0, when it is built without SIMD.
        fn jsimd_can_ycc_rgb() -> std::os::raw::c_int;
    }

    pub(super) fn colour_conversion() -> bool {
        // SAFETY: takes nothing, reads CPU flags once and caches them.
        unsafe { jsimd_can_ycc_rgb() != 0 }
    }
}

/// Whether libjpeg-turbo was built with its SIMD code (nasm present at build
/// time) and this CPU runs it, judged by its colour conversion.
pub fn simd() -> bool {
    simd::colour_conversion()
}

/// Runs a libjpeg call, turning its error-manager unwinds into errors.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(fault_to_error(payload)),
    }
}

fn fault_to_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    match payload.downcast::<JpegFault>() {
        Ok(fault) if fault.is_truncation() => Error::Truncated(fault.message),
        Ok(fault) => Error::Corrupt(fault.message),
        Err(other) => {
            let text = other
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| other.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "decoder stopped".to_owned());
            Error::Corrupt(text)
        }
    }
}
