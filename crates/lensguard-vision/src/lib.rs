//! Pixels to measurements: capped decoding, quality checks, perceptual hash, EXIF.
//!
//! - [`decode`] turns untrusted bytes into a small greyscale [`LumaFrame`] (the
//!   *analysis image*, about [`Limits::analysis_long_side`] pixels on the long side)
//!   plus the full-size dimensions and EXIF. Every size limit is checked against the
//!   header before anything large is allocated; JPEGs are decoded at a reduced DCT
//!   scale, so the cost does not grow with resolution. When the detectors run
//!   too, [`decode::decode_photo`] decodes once in colour and makes the same
//!   analysis image from those pixels.
//! - [`checks`] measures the analysis image: sharpness, exposure, contrast, glare
//!   and the perceptual hash. Each check is its own module and is pure.
//! - [`inspect`] runs both and hands the measurements to
//!   [`lensguard_core::rules::judge`] for the verdict.
//!
//! Invariants: this crate neither touches the disk nor the network (callers pass
//! bytes in); decoded pixels live only in [`LumaFrame`], which cannot be serialised
//! and never prints its pixels; no input makes it panic (the fuzz target in `fuzz/`
//! and the property tests hold it to that).
//!
//! [`Limits::analysis_long_side`]: lensguard_core::Limits::analysis_long_side

pub mod checks;
pub mod decode;
#[cfg(feature = "models")]
pub mod derive;
mod error;
pub mod exif;
pub mod frame;
pub mod fuzz;
pub mod geometry;
mod inspect;
mod libjpeg;
#[cfg(feature = "models")]
pub mod models;
#[cfg(feature = "models")]
pub mod pipeline;
pub mod redact;
mod resize;
mod rgb;

pub use error::Error;
pub use frame::LumaFrame;
pub use inspect::{inspect, judged, measure, measure_decoded};
pub use libjpeg::simd as jpeg_simd;
pub use rgb::RgbFrame;
