//! An event's snapshot: the picture where its object scored best, with the
//! camera's privacy masks painted over and faces and printed text hidden as
//! the policy says, before it is sealed.
//!
//! Invariants: the only way to a stored snapshot is [`redacted_snapshot`],
//! which returns a [`RedactedImage`] (the vault's redacted category) made by
//! the same redaction as photos ([`lensguard_vision::derive::derive_frame`]):
//! when a detector the policy needs is unavailable the snapshot is withheld,
//! never stored unredacted. Masks are filled black pixel by pixel
//! ([`lensguard_video::masks`]), before detection, so nothing under a mask
//! is ever kept.

use lensguard_core::config::cameras::Polygon;
use lensguard_core::pixels::RedactedImage;
use lensguard_core::policy::Policy;
use lensguard_video::masks::filled;
use lensguard_vision::RgbFrame;
use lensguard_vision::derive::{Derivative, Detectors, derive_frame};

/// The snapshot to keep of `frame`: masks filled, then redacted as `policy`
/// says; `Err(why)` when it must be withheld.
pub fn redacted_snapshot(
    frame: &RgbFrame,
    masks: &[Polygon],
    detectors: &Detectors,
    policy: &Policy,
) -> Result<RedactedImage, String> {
    match derive_frame(filled(frame, masks), detectors, policy).derivative {
        Derivative::Redacted { jpeg, .. } => Ok(jpeg.into_redacted_image()),
        Derivative::Withheld { message, .. } => Err(message),
    }
}
