//! Pixel measurements on the analysis image, one module per check.
//!
//! Every function here is pure, takes a [`LumaFrame`](crate::LumaFrame) and
//! returns a number or a small struct; thresholds are the policy's business
//! (`lensguard_core::rules`). The resolution check needs no pixels and the EXIF
//! checks need no pixels either; they are judged from the header and [`crate::exif`].

pub mod contrast;
pub mod exposure;
pub mod glare;
pub mod histogram;
pub mod phash;
pub mod sharpness;
