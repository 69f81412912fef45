//! Kept pixels as types: an original photo, a redacted image and its
//! thumbnail are different types, and the vault's data category follows
//! from the type stored ([`Evidence::CATEGORY`]), never from a value a
//! caller passes beside the bytes.
//!
//! Invariants:
//! - [`RedactedImage`] and [`ThumbnailImage`] are made only from the
//!   redaction pipeline's output (`lensguard_vision::redact::RedactedJpeg`,
//!   the encoder that writes no metadata). Their constructors sit in the
//!   hidden module `__from_redaction`, which only `lensguard-vision` and
//!   tests call; none of these types converts from bytes, a string or
//!   another of them.
//! - [`OriginalPhoto`] is what a source received, unchanged.
//! - [`ContinuousFootage`], [`MotionFootage`] and [`EventFootage`] are a
//!   camera's recorded video as it sent it (never re-encoded, never
//!   redacted): originals, read only with a reason.
//! - [`Evidence`] is sealed: only the types here implement it, so the
//!   vault cannot be handed pixels of any other category.
//!
//! An original cannot be stored where a redacted image is expected:
//!
//! ```compile_fail
//! use lensguard_core::pixels::{OriginalPhoto, RedactedImage};
//! fn keep_redacted(_: RedactedImage) {}
//! keep_redacted(OriginalPhoto::received(vec![0xff, 0xd8, 0xff]));
//! ```
//!
//! nor can bytes become a redacted image by conversion:
//!
//! ```compile_fail
//! use lensguard_core::pixels::RedactedImage;
//! let _: RedactedImage = vec![0xff, 0xd8, 0xff].into();
//! ```
//!
//! and a thumbnail is not a redacted image either:
//!
//! ```compile_fail
//! use lensguard_core::pixels::{RedactedImage, ThumbnailImage, __from_redaction};
//! let thumbnail: ThumbnailImage = __from_redaction::thumbnail(vec![0xff]);
//! let _: RedactedImage = thumbnail.into();
//! ```

use crate::policy::DataCategory;

/// The photo as a source received it (metadata, GPS and faces included).
pub struct OriginalPhoto(Vec<u8>);

/// A redacted derivative: faces and text hidden, no metadata.
pub struct RedactedImage(Vec<u8>);

/// A small copy of a redacted derivative.
pub struct ThumbnailImage(Vec<u8>);

/// A segment of a camera's recorded video where nothing moved.
pub struct ContinuousFootage(Vec<u8>);

/// A segment of a camera's recorded video in which something moved.
pub struct MotionFootage(Vec<u8>);

/// A segment of a camera's recorded video around an event.
pub struct EventFootage(Vec<u8>);

macro_rules! footage {
    ($t:ident) => {
        impl $t {
            /// A segment as the camera's stream delivered it, unchanged.
            pub fn recorded(bytes: Vec<u8>) -> $t {
                $t(bytes)
            }
        }
    };
}
footage!(ContinuousFootage);
footage!(MotionFootage);
footage!(EventFootage);

impl OriginalPhoto {
    /// The bytes a source received, unchanged.
    pub fn received(bytes: Vec<u8>) -> OriginalPhoto {
        OriginalPhoto(bytes)
    }
}

/// Prints the size, never the bytes.
macro_rules! opaque_debug {
    ($($t:ident),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($t), "({} bytes)"), self.0.len())
            }
        }
    )*};
}
opaque_debug!(
    OriginalPhoto,
    RedactedImage,
    ThumbnailImage,
    ContinuousFootage,
    MotionFootage,
    EventFootage
);

/// The constructors of redaction output, for `lensguard-vision` (which
/// makes them from a `RedactedJpeg`) and tests. Anything else calling these
/// breaks the privacy invariant and fails review.
#[doc(hidden)]
pub mod __from_redaction {
    use super::{RedactedImage, ThumbnailImage};

    /// A redacted derivative's encoded bytes.
    pub fn redacted(bytes: Vec<u8>) -> RedactedImage {
        RedactedImage(bytes)
    }

    /// A thumbnail's encoded bytes.
    pub fn thumbnail(bytes: Vec<u8>) -> ThumbnailImage {
        ThumbnailImage(bytes)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::OriginalPhoto {}
    impl Sealed for super::RedactedImage {}
    impl Sealed for super::ThumbnailImage {}
    impl Sealed for super::ContinuousFootage {}
    impl Sealed for super::MotionFootage {}
    impl Sealed for super::EventFootage {}
}

/// Pixels the vault may keep; the category is the type's.
pub trait Evidence: sealed::Sealed {
    /// The data category every value of this type is stored under.
    const CATEGORY: DataCategory;

    /// The bytes, for sealing (the vault is the only caller).
    fn into_bytes(self) -> Vec<u8>;

    /// The size in bytes.
    fn len(&self) -> usize;

    /// Whether there are no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

macro_rules! evidence {
    ($t:ident, $category:expr) => {
        impl Evidence for $t {
            const CATEGORY: DataCategory = $category;
            fn into_bytes(self) -> Vec<u8> {
                self.0
            }
            fn len(&self) -> usize {
                self.0.len()
            }
        }
    };
}
evidence!(OriginalPhoto, DataCategory::Original);
evidence!(RedactedImage, DataCategory::Redacted);
evidence!(ThumbnailImage, DataCategory::Thumbnail);
evidence!(ContinuousFootage, DataCategory::FootageContinuous);
evidence!(MotionFootage, DataCategory::FootageMotion);
evidence!(EventFootage, DataCategory::FootageEvent);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_category_is_the_types_and_debug_shows_no_bytes() {
        assert_eq!(OriginalPhoto::CATEGORY, DataCategory::Original);
        assert_eq!(RedactedImage::CATEGORY, DataCategory::Redacted);
        assert_eq!(ThumbnailImage::CATEGORY, DataCategory::Thumbnail);
        let p = OriginalPhoto::received(vec![0x42; 3]);
        assert_eq!(format!("{p:?}"), "OriginalPhoto(3 bytes)");
        assert_eq!(p.into_bytes(), vec![0x42; 3]);
    }
}
