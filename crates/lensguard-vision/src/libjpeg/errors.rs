//! A strict libjpeg error manager: fatal errors *and warnings* abort decoding.
//!
//! libjpeg reports damaged data ("Premature end of JPEG file", "Corrupt JPEG data")
//! as warnings and carries on, filling the missing area with grey. For evidence
//! photos a silently patched image is worse than an error, so every warning
//! unwinds out of the decoder with a [`JpegFault`] payload, which
//! [`super::guarded`] catches and maps to `truncated` or `corrupt`.
//! mozjpeg-sys compiles libjpeg with `-fexceptions` under its `unwinding` feature,
//! which makes unwinding through the C frames sound; the callbacks use the
//! `C-unwind` ABI for the same reason. Trace messages (level >= 0) are ignored.
#![allow(unsafe_code)]

use mozjpeg_sys as ffi;
use std::os::raw::c_int;

/// libjpeg's JMSG_LENGTH_MAX: the size of a formatted message buffer.
const MESSAGE_LENGTH: usize = 80;

/// `format_message` with the buffer it writes into declared mutable.
type FormatMessage = unsafe extern "C-unwind" fn(
    cinfo: &mut ffi::jpeg_common_struct,
    buffer: &mut [u8; MESSAGE_LENGTH],
);

/// Why libjpeg stopped, carried as the unwind payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JpegFault {
    /// libjpeg's message code.
    pub(crate) code: c_int,
    /// libjpeg's message text.
    pub(crate) message: String,
}

impl JpegFault {
    /// Whether libjpeg ran out of data (a truncated file).
    pub(crate) fn is_truncation(&self) -> bool {
        self.code == ffi::JWRN_JPEG_EOF as c_int || self.code == ffi::JERR_INPUT_EOF as c_int
    }
}

/// An error manager whose fatal errors and warnings unwind with a [`JpegFault`].
pub(crate) fn strict_error_mgr() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct of integers and nullable function
    // pointers, for which all-zero bytes are a valid value; jpeg_std_error only
    // writes its default callbacks and counters into the struct it is given.
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(on_fatal);
    err.emit_message = Some(on_message);
    err.output_message = Some(on_output);
    err
}

/// The current message's code and text.
fn fault(cinfo: &mut ffi::jpeg_common_struct) -> JpegFault {
    // SAFETY: libjpeg calls these callbacks with `err` pointing at the error manager
    // installed by `strict_error_mgr`, which lives as long as the decompressor.
    let Some(err) = (unsafe { cinfo.err.as_ref() }) else {
        return JpegFault {
            code: -1,
            message: "unknown libjpeg error".to_owned(),
        };
    };
    let code = err.msg_code;
    let mut buffer = [0u8; MESSAGE_LENGTH];
    if let Some(format) = err.format_message {
        // SAFETY: libjpeg's format_message writes at most JMSG_LENGTH_MAX (80)
        // bytes, NUL-terminated, into the buffer it is given. The binding declares
        // that buffer as `&[u8; 80]`, but C writes through it, so the pointer type
        // is changed to a mutable one with the same ABI and layout.
        unsafe {
            let format: FormatMessage = std::mem::transmute(format);
            format(cinfo, &mut buffer);
        }
    }
    let text = buffer.split(|&b| b == 0).next().unwrap_or_default();
    JpegFault {
        code,
        message: String::from_utf8_lossy(text).into_owned(),
    }
}

extern "C-unwind" fn on_fatal(cinfo: &mut ffi::jpeg_common_struct) {
    std::panic::resume_unwind(Box::new(fault(cinfo)));
}

extern "C-unwind" fn on_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    if level < 0 {
        std::panic::resume_unwind(Box::new(fault(cinfo)));
    }
}

extern "C-unwind" fn on_output(_cinfo: &mut ffi::jpeg_common_struct) {}
