//! Camera video for lensguard: H.264 access units, as an RTSP client
//! depacketises them, to frames the checks and detectors take.
//!
//! - [`avc`] turns the AVC form RTSP clients hand out (length-prefixed NAL
//!   units, parameter sets in an `AVCDecoderConfigurationRecord`) into the
//!   Annex B byte stream the decoder reads, checking every length.
//! - [`H264Decoder`] wraps OpenH264 with a pixel limit: a stream whose
//!   pictures are larger than the camera's limit is refused, not decoded.
//! - [`motion`] gates detection: only frames, and regions, that moved.
//! - [`tracker`] turns detections into events (IoU tracking).
//! - [`masks`] burns privacy masks into pictures; [`redactor`] makes
//!   redacted frames from decoded ones (masks, then what [`cover`] says);
//!   [`redact_segment`] turns a stored segment into a redacted one.
//! - [`encoder`] turns (redacted) frames back into H.264 (OpenH264).
//! - [`cover`] decides what to hide in every frame of a redacted video from
//!   detections that may skip or miss frames (look-ahead, interpolation,
//!   hold-over).
//! - [`segmenter`] cuts a recorded stream (H.264 or H.265, untouched) into
//!   segments of a few seconds, each a standalone fragmented MP4 file
//!   ([`fmp4`], read back by [`fmp4_read`]).
//!
//! Invariants: no input makes this crate panic (the property tests feed it
//! random bytes); it touches neither disk nor network; decoded pixels live
//! only in [`lensguard_vision::LumaFrame`] and [`lensguard_vision::RgbFrame`],
//! which never print or serialise their pixels.

pub mod avc;
pub mod cover;
mod decoder;
pub mod encoder;
mod error;
pub mod fmp4;
pub mod fmp4_read;
pub mod hevc;
pub mod masks;
pub mod motion;
#[cfg(test)]
mod redact_faces_tests;
pub mod redact_segment;
pub mod redactor;
pub mod segmenter;
#[cfg(test)]
mod test_stream;
pub mod tracker;

pub use decoder::{DecodedFrame, H264Decoder};
pub use error::VideoError;
