//! The crate's one error type.

/// Why a stream's bytes did not become a frame; each says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// The depacketised bytes are not AVC: skip this access unit and wait
    /// for the next key frame.
    #[error("malformed H.264 access unit: {0}")]
    Malformed(String),
    /// The parameter sets (SPS/PPS) are missing or malformed: the camera's
    /// stream description is unusable; check the camera's encoder settings.
    #[error("unusable H.264 parameter sets: {0}")]
    Parameters(String),
    /// The pictures are larger than the camera's limit: use the camera's
    /// sub-stream for analysis, or raise the limit.
    #[error("{width}x{height} pictures exceed the limit of {max_pixels} pixels")]
    TooLarge {
        /// Picture width.
        width: u32,
        /// Picture height.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// The decoder refused the bitstream: skip to the next key frame.
    #[error("the H.264 decoder refused the stream: {0}")]
    Decoder(String),
    /// The face detector failed on a picture: nothing was written (a
    /// redacted video is never made without it); check the models.
    #[error("the face detector failed: {0}")]
    Detector(String),
    /// The encoder refused the pictures (odd or changing size, or an
    /// internal failure): nothing was written; report it.
    #[error("the H.264 encoder refused: {0}")]
    Encoder(String),
}
