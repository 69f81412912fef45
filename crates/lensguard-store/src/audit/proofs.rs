//! Proofs over the audit log's Merkle tree, from the live log or read-only from
//! a folder.
//!
//! [`TreeView`] is what both the running service ([`super::AuditLog`]) and the
//! offline reader ([`AuditTree`]) offer; [`inclusion`] and [`consistency`] build
//! the answers from it and check each proof against the roots before returning
//! it, so a proof handed out always verifies (RFC 9162 2.1.3.2 and 2.1.4.2).

use super::merkle::{Hash, Levels, verify_consistency, verify_inclusion};
use super::{AuditLog, Checkpoint};
use crate::Error;
use std::path::Path;

/// A Merkle tree over the log's entries.
pub trait TreeView {
    /// Entries in the tree.
    fn size(&self) -> u64;
    /// The leaf hash of entry `index`.
    fn leaf(&self, index: u64) -> Option<Hash>;
    /// The root of the first `size` entries.
    fn root(&self, size: u64) -> Option<Hash>;
    /// Inclusion proof of `index` in the tree of `size`.
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>>;
    /// Consistency proof from `old` to `new`.
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>>;
}

impl TreeView for AuditLog {
    fn size(&self) -> u64 {
        self.len()
    }
    fn leaf(&self, index: u64) -> Option<Hash> {
        AuditLog::leaf(self, index)
    }
    fn root(&self, size: u64) -> Option<Hash> {
        AuditLog::root(self, size)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        AuditLog::inclusion_proof(self, index, size)
    }
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        AuditLog::consistency_proof(self, old, new)
    }
}

/// The tree of a log folder, read without taking the writer's lock (the
/// service may be running). Reading checks the chain and checkpoints as
/// opening the log does.
pub struct AuditTree {
    levels: Levels,
    checkpoints: Vec<Checkpoint>,
}

impl AuditTree {
    /// Reads `dir` (`<data dir>/audit`).
    pub fn read(dir: &Path) -> Result<AuditTree, Error> {
        let scan = super::verify::scan(dir, None)?;
        Ok(AuditTree {
            levels: scan.levels,
            checkpoints: scan.checkpoints,
        })
    }

    /// The signed checkpoints.
    pub fn checkpoints(&self) -> &[Checkpoint] {
        &self.checkpoints
    }
}

impl TreeView for AuditTree {
    fn size(&self) -> u64 {
        self.levels.len()
    }
    fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.leaf(index)
    }
    fn root(&self, size: u64) -> Option<Hash> {
        self.levels.root(size)
    }
    fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        self.levels.inclusion_proof(index, size)
    }
    fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        self.levels.consistency_proof(old, new)
    }
}

/// An inclusion proof, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inclusion {
    /// Entry index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The entry's leaf hash.
    pub leaf: Hash,
    /// Root of the tree of `size`.
    pub root: Hash,
    /// Audit path, leaf to root.
    pub path: Vec<Hash>,
}

/// A consistency proof, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consistency {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
    /// Older root.
    pub from_root: Hash,
    /// Newer root.
    pub to_root: Hash,
    /// The proof.
    pub path: Vec<Hash>,
}

/// Proof that entry `index` is in the tree of `size` (default: all entries).
pub fn inclusion(tree: &impl TreeView, index: u64, size: Option<u64>) -> Result<Inclusion, Error> {
    let size = size.unwrap_or_else(|| tree.size());
    if size > tree.size() || index >= size {
        return Err(Error::Rejected(format!(
            "need index < size <= {} (the log's size), got index {index} size {size}",
            tree.size()
        )));
    }
    let missing = || Error::Corrupt(format!("no proof for entry {index} in {size}"));
    let leaf = tree.leaf(index).ok_or_else(missing)?;
    let root = tree.root(size).ok_or_else(missing)?;
    let path = tree.inclusion_proof(index, size).ok_or_else(missing)?;
    verify_inclusion(&leaf, index, size, &path, &root)
        .map_err(|e| Error::Corrupt(format!("the log's own proof does not verify: {e}")))?;
    Ok(Inclusion {
        index,
        size,
        leaf,
        root,
        path,
    })
}

/// Proof that the tree of `from` entries is a prefix of the tree of `to`
/// (default: all entries).
pub fn consistency(tree: &impl TreeView, from: u64, to: Option<u64>) -> Result<Consistency, Error> {
    let to = to.unwrap_or_else(|| tree.size());
    if to > tree.size() || from == 0 || from > to {
        return Err(Error::Rejected(format!(
            "need 0 < from <= to <= {} (the log's size), got from {from} to {to}",
            tree.size()
        )));
    }
    let missing = || Error::Corrupt(format!("no proof from {from} to {to}"));
    let from_root = tree.root(from).ok_or_else(missing)?;
    let to_root = tree.root(to).ok_or_else(missing)?;
    let path = tree.consistency_proof(from, to).ok_or_else(missing)?;
    verify_consistency(from, to, &from_root, &to_root, &path)
        .map_err(|e| Error::Corrupt(format!("the log's own proof does not verify: {e}")))?;
    Ok(Consistency {
        from,
        to,
        from_root,
        to_root,
        path,
    })
}
