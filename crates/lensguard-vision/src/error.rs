//! The one error type of `lensguard-vision`: why an input could not be inspected.

use lensguard_core::report::ReasonCode;

/// Why bytes could not be turned into measurements. Each maps to a stable
/// [`ReasonCode`] through [`Error::reason_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// More bytes than `Limits::max_file_bytes`.
    #[error("the file is {size} bytes, above the limit of {limit} bytes")]
    FileTooLarge {
        /// Actual size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a JPEG, PNG or WebP file, or a variant of one that is not supported.
    #[error("{0}")]
    UnsupportedFormat(String),
    /// The data ends before the image does.
    #[error("the image data ends early ({0})")]
    Truncated(String),
    /// The data is damaged.
    #[error("the image data is damaged ({0})")]
    Corrupt(String),
    /// Declared width or height is zero or above the limits.
    #[error("declared size {width}x{height} is outside the limit of {max_width}x{max_height}")]
    DimensionsTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Width limit.
        max_width: u32,
        /// Height limit.
        max_height: u32,
    },
    /// Declared pixel count is above `Limits::max_pixels` (a decompression bomb).
    #[error("declared size {width}x{height} is more than the limit of {max_pixels} pixels")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Pixel limit.
        max_pixels: u64,
    },
    /// Decoding and redacting the declared size would take more memory than
    /// `Limits::max_decode_bytes` allows.
    #[error(
        "declared size {width}x{height} needs about {} MiB to decode, over the budget of {} MiB",
        needed / (1024 * 1024),
        budget / (1024 * 1024)
    )]
    DecodeBudgetExceeded {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Estimated bytes at the decode's peak.
        needed: u64,
        /// The budget.
        budget: u64,
    },
    /// A model file is not the one its card names (wrong, truncated or altered).
    #[error("the {model} model file has SHA-256 {actual}, not the pinned {expected}")]
    ModelMismatch {
        /// The model.
        model: &'static str,
        /// The pinned hash.
        expected: &'static str,
        /// The file's hash.
        actual: String,
    },
    /// A model could not be planned or run.
    #[error("the {model} model cannot run: {reason}")]
    ModelInvalid {
        /// The model.
        model: &'static str,
        /// Why.
        reason: String,
    },
    /// A model the step needs was not loaded (its file is missing or unreadable).
    #[error("the {model} model is not loaded: {reason}")]
    ModelMissing {
        /// The model.
        model: &'static str,
        /// Why.
        reason: String,
    },
    /// Detection took longer than the policy allows.
    #[error("detection took {elapsed_ms} ms, past the deadline of {deadline_ms} ms")]
    DeadlineExceeded {
        /// Time spent.
        elapsed_ms: u64,
        /// The policy's deadline.
        deadline_ms: u64,
    },
    /// The redacted derivative could not be encoded.
    #[error("the redacted image could not be encoded: {0}")]
    Encode(String),
    /// The EXIF block is larger than `Limits::max_exif_bytes`.
    #[error("the EXIF block is {size} bytes, above the limit of {limit} bytes")]
    ExifTooLarge {
        /// Actual size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl Error {
    /// The stable reason code for reports.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            Error::Empty => ReasonCode::EmptyFile,
            Error::FileTooLarge { .. } => ReasonCode::FileTooLarge,
            Error::UnsupportedFormat(_) => ReasonCode::UnsupportedFormat,
            Error::Truncated(_) => ReasonCode::Truncated,
            Error::Corrupt(_) => ReasonCode::Corrupt,
            Error::DimensionsTooLarge { .. } => ReasonCode::DimensionsTooLarge,
            Error::TooManyPixels { .. } => ReasonCode::TooManyPixels,
            Error::DecodeBudgetExceeded { .. } => ReasonCode::DecodeBudgetExceeded,
            Error::ExifTooLarge { .. } => ReasonCode::ExifTooLarge,
            Error::ModelMismatch { .. }
            | Error::ModelInvalid { .. }
            | Error::ModelMissing { .. } => ReasonCode::ModelUnavailable,
            Error::DeadlineExceeded { .. } => ReasonCode::DeadlineExceeded,
            Error::Encode(_) => ReasonCode::RedactionFailed,
        }
    }
}
