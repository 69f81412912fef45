//! The layout of a case bundle and its manifest, shared by the exporter
//! and the verifier.
//!
//! ```text
//! BUNDLE/
//!   README.md                 how to check it (for the recipient)
//!   manifest.json             the case, its items, what each file is
//!   media/...                 redacted photos (JPEG) and footage (MP4), each with a C2PA manifest
//!   events/<id>.json          camera events' records (no pixels)
//!   audit/entries.jsonl       every audit entry that names the case or an item
//!   receipts/deletions.jsonl  the deletion receipts among them
//!   keys/                     copies of the installation's public keys (see below)
//!   MANIFEST.sha256           SHA-256 of every file above, `sha256sum -c` format
//!   audit/export.json         the `case.export` entry naming MANIFEST.sha256's digest
//!   audit/checkpoint.json     the signed checkpoint everything is proven against
//!   audit/proofs.jsonl        inclusion proofs of every entry (and the export entry)
//! ```
//!
//! Invariants: `MANIFEST.sha256` lists every file except itself and the
//! three written after the export entry was recorded (`audit/export.json`,
//! `audit/checkpoint.json`, `audit/proofs.jsonl`), which prove themselves
//! against the signed checkpoint. The export entry's target names the
//! case and `sha256:` of `MANIFEST.sha256`, so one signed checkpoint covers
//! every byte of the bundle. The copies in `keys/` are a convenience: a
//! verification is only as strong as the keys it was given out of band.

use serde::{Deserialize, Serialize};

/// The manifest's format name.
pub const FORMAT: &str = "lensguard-case-bundle/v1";
/// The SHA-256 list.
pub const SUMS: &str = "MANIFEST.sha256";
/// The manifest.
pub const MANIFEST: &str = "manifest.json";
/// The audit entries.
pub const ENTRIES: &str = "audit/entries.jsonl";
/// The deletion receipts.
pub const RECEIPTS: &str = "receipts/deletions.jsonl";
/// The export entry.
pub const EXPORT_ENTRY: &str = "audit/export.json";
/// The signed checkpoint.
pub const CHECKPOINT: &str = "audit/checkpoint.json";
/// The inclusion proofs.
pub const PROOFS: &str = "audit/proofs.jsonl";
/// The audit log's public key (hex), a copy.
pub const AUDIT_KEY: &str = "keys/audit-public-key.hex";
/// The C2PA signer's certificate chain, a copy.
pub const C2PA_CHAIN: &str = "keys/c2pa-chain.pem";
/// The C2PA trust anchor, a copy (when the installation made it).
pub const C2PA_ANCHOR: &str = "keys/c2pa-ca.pem";
/// The recipient's guide.
pub const README: &str = "README.md";

/// Files not listed in [`SUMS`].
pub const PROVEN_AFTER: [&str; 4] = [SUMS, EXPORT_ENTRY, CHECKPOINT, PROOFS];

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The case.
    pub case: CaseInfo,
    /// When the bundle was written (RFC 3339).
    pub exported_at: String,
    /// Who exported it.
    pub exported_by: String,
    /// Every item of the case, with what became of it.
    pub items: Vec<ItemRecord>,
    /// Audit entries in [`ENTRIES`].
    pub audit_entries: u64,
    /// Deletion receipts in [`RECEIPTS`].
    pub deletion_receipts: u64,
    /// The audit log's key id.
    pub audit_key_id: String,
}

/// The case, as the recipient sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who opened it.
    pub owner: String,
    /// When (RFC 3339).
    pub opened_at: String,
    /// When it was closed, if it was (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

/// What became of one item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ItemRecord {
    /// `inspection`, `event` or `segment`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// `exported`, `deleted` (its receipts are in the bundle) or
    /// `withheld` (kept, but nothing of it may leave; `note` says why).
    pub status: String,
    /// Why, for `withheld` (and anything else worth saying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The files made for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
}

/// One file made for an item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRecord {
    /// Its path in the bundle.
    pub path: String,
    /// Its media type.
    pub media_type: String,
    /// Whether it carries a C2PA manifest.
    pub c2pa: bool,
    /// The sealed original it was made from, when one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_sha256: Option<String>,
}

/// A line of [`ENTRIES`] and [`RECEIPTS`], and [`EXPORT_ENTRY`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryLine {
    /// Its position in the log.
    pub seq: u64,
    /// The exact entry JSON the log holds (its leaf hash is over these bytes).
    pub entry: String,
}

/// A line of [`PROOFS`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProofLine {
    /// The entry's position.
    pub seq: u64,
    /// Its inclusion proof against [`CHECKPOINT`], hex hashes.
    pub proof: Vec<String>,
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref())
}

/// Whether an audit action records a deletion (a receipt).
pub fn is_deletion(action: &str) -> bool {
    action.starts_with("retention.") && action.ends_with("delete") || action == "erasure.delete"
}
