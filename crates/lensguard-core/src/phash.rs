//! The 64-bit perceptual hash and the duplicate index.
//!
//! A [`PerceptualHash`] is the DCT hash of a 32x32 greyscale thumbnail (the
//! classic pHash, as `imagehash.phash` computes it): bit *i* is set when the
//! *i*-th lowest-frequency coefficient lies above their median. Two photos of the
//! same scene, re-encoded or slightly resized, stay within a few bits; unrelated
//! photos sit near 32 bits apart.
//!
//! [`HashIndex`] remembers hashes with an id of the caller's choosing and finds the
//! closest earlier one within a Hamming distance. It stores hashes only, never
//! pixels, so the service can keep one per tenant for as long as policy allows.
//! Look-ups scan all entries (one XOR and popcount each, about a nanosecond):
//! a million remembered photos cost about a millisecond.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A 64-bit perceptual hash, printed and serialised as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
#[schemars(with = "String")]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// Number of differing bits (Hamming distance), 0 to 64. Symmetric.
    pub fn distance(self, other: PerceptualHash) -> u32 {
        (self.0 ^ other.0).count_ones()
    }
}

impl fmt::Display for PerceptualHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for PerceptualHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PerceptualHash({self})")
    }
}

/// A hash string that is not 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a perceptual hash is 16 hexadecimal digits")]
pub struct ParseHashError;

impl FromStr for PerceptualHash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(ParseHashError);
        }
        u64::from_str_radix(s, 16)
            .map(PerceptualHash)
            .map_err(|_| ParseHashError)
    }
}

impl Serialize for PerceptualHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PerceptualHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The closest remembered hash found by [`HashIndex::nearest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashMatch<Id> {
    /// The id the matching hash was inserted with.
    pub id: Id,
    /// The remembered hash.
    pub hash: PerceptualHash,
    /// Hamming distance between the query and the remembered hash.
    pub distance: u32,
}

/// Remembers perceptual hashes (never pixels) and finds near duplicates.
#[derive(Debug, Clone, Default)]
pub struct HashIndex<Id> {
    entries: Vec<(PerceptualHash, Id)>,
}

impl<Id: Clone> HashIndex<Id> {
    /// An empty index.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Remembers `hash` under `id`.
    pub fn insert(&mut self, id: Id, hash: PerceptualHash) {
        self.entries.push((hash, id));
    }

    /// Number of remembered hashes.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is remembered yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The remembered hash closest to `hash` with distance at most `max_distance`;
    /// on a tie, the one inserted first.
    pub fn nearest(&self, hash: PerceptualHash, max_distance: u32) -> Option<HashMatch<Id>> {
        let mut best: Option<(u32, usize)> = None;
        for (i, (h, _)) in self.entries.iter().enumerate() {
            let d = h.distance(hash);
            if d <= max_distance && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, i));
                if d == 0 {
                    break;
                }
            }
        }
        best.map(|(distance, i)| {
            let (hash, id) = &self.entries[i];
            HashMatch {
                id: id.clone(),
                hash: *hash,
                distance,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn distance_is_a_metric(a: u64, b: u64, c: u64) {
            let (a, b, c) = (PerceptualHash(a), PerceptualHash(b), PerceptualHash(c));
            prop_assert_eq!(a.distance(b), b.distance(a));
            prop_assert_eq!(a.distance(a), 0);
            prop_assert!(a.distance(c) <= a.distance(b) + b.distance(c));
            prop_assert!(a.distance(b) <= 64);
        }

        #[test]
        fn hex_round_trips(a: u64) {
            let h = PerceptualHash(a);
            prop_assert_eq!(h.to_string().parse::<PerceptualHash>(), Ok(h));
        }
    }

    #[test]
    fn nearest_finds_closest_within_distance_and_prefers_earliest() {
        let mut index = HashIndex::new();
        index.insert("a", PerceptualHash(0b1111));
        index.insert("b", PerceptualHash(0b0111));
        index.insert("c", PerceptualHash(0b0111));
        let m = index.nearest(PerceptualHash(0b0011), 3).expect("match");
        assert_eq!((m.id, m.distance), ("b", 1));
        assert!(index.nearest(PerceptualHash(u64::MAX << 8), 3).is_none());
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn bad_hex_is_refused() {
        assert!("xyz".parse::<PerceptualHash>().is_err());
        assert!("000000000000000g".parse::<PerceptualHash>().is_err());
    }
}
