//! RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.
//!
//! - leaf hash: `SHA-256(0x00 || data)`; interior node: `SHA-256(0x01 || left || right)`;
//!   the empty tree's root is `SHA-256("")`;
//! - [`inclusion_proof`] is `PATH(m, D[n])` and [`consistency_proof`] is
//!   `PROOF(m, D[n])` of RFC 6962 section 2.1, computed from stored leaf hashes;
//! - [`verify_inclusion`] and [`verify_consistency`] are the algorithms of RFC 9162
//!   sections 2.1.3.2 and 2.1.4.2, which check a proof with nothing but hashes;
//! - [`Levels`] keeps every aligned perfect-subtree root of a growing tree, so any
//!   root or proof up to the current size costs O(log^2 n) hashes;
//! - [`Frontier`] keeps only the roots of the perfect subtrees, so the current root
//!   costs O(log n) memory and time per append (for streaming verification).
//!
//! Written here rather than taken from a crate because the log needs roots over
//! leaf hashes streamed from disk and proofs over stored hashes; the tests
//! cross-check every root and proof byte for byte against the `ct-merkle` crate.

use aws_lc_rs::digest::{Context, SHA256, digest};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Why a proof was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The index or sizes are impossible (index past the tree, old tree larger).
    #[error("the index or tree sizes are out of range")]
    OutOfRange,
    /// The proof has the wrong number of hashes for these sizes.
    #[error("the proof has the wrong length")]
    WrongLength,
    /// The proof does not lead to the expected root.
    #[error("the proof does not match the root")]
    Mismatch,
}

fn to_hash(d: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&d[..32]);
    h
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut c = Context::new(&SHA256);
    c.update(&[0x00]);
    c.update(data);
    to_hash(c.finish().as_ref())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut c = Context::new(&SHA256);
    c.update(&[0x01]);
    c.update(left);
    c.update(right);
    to_hash(c.finish().as_ref())
}

/// The root of the empty tree, `SHA-256("")`.
pub fn empty_root() -> Hash {
    to_hash(digest(&SHA256, b"").as_ref())
}

/// Largest power of two strictly below `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `MTH(D[n])` over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    Levels::from_leaves(leaves)
        .root(leaves.len() as u64)
        .unwrap_or_else(empty_root)
}

/// `PATH(index, D[n])`: the audit path of leaf `index` (`None` if out of range).
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    Levels::from_leaves(leaves).inclusion_proof(index as u64, leaves.len() as u64)
}

/// `PROOF(old_size, D[n])`: proof that the tree of the first `old_size` leaves is a
/// prefix of the tree of all of them (`None` unless `0 < old_size <= n`).
pub fn consistency_proof(leaves: &[Hash], old_size: usize) -> Option<Vec<Hash>> {
    Levels::from_leaves(leaves).consistency_proof(old_size as u64, leaves.len() as u64)
}

/// Every aligned perfect subtree root of a growing tree: `levels[k][j]` is the root
/// of leaves `j * 2^k .. (j + 1) * 2^k`. Because RFC 6962 always splits at the
/// largest power of two, every subtree the proofs need is either one of these or
/// splits into them, so roots and proofs of any tree size up to the current one cost
/// O(log^2 n) hashes. Appends cost O(1) amortised; memory is two hashes per leaf.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    levels: Vec<Vec<Hash>>,
}

impl Levels {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over `leaves`.
    pub fn from_leaves(leaves: &[Hash]) -> Self {
        let mut l = Levels::new();
        for h in leaves {
            l.push(*h);
        }
        l
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hash at `index`.
    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels
            .first()?
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut k = 0;
        loop {
            if self.levels.len() == k {
                self.levels.push(Vec::new());
            }
            let level = &mut self.levels[k];
            level.push(node);
            if !level.len().is_multiple_of(2) {
                break;
            }
            node = node_hash(&level[level.len() - 2], &level[level.len() - 1]);
            k += 1;
        }
    }

    /// Root of leaves `a..b`, where `a..b` is a subtree the RFC 6962 recursion visits.
    fn subtree(&self, a: u64, b: u64) -> Hash {
        let n = b - a;
        if n.is_power_of_two() && a.is_multiple_of(n) {
            let k = n.trailing_zeros() as usize;
            return self.levels[k][(a >> k) as usize];
        }
        let k = split(n as usize) as u64;
        node_hash(&self.subtree(a, a + k), &self.subtree(a + k, b))
    }

    /// Root of the tree of the first `size` leaves (`None` if `size` is 0 or too big).
    pub fn root(&self, size: u64) -> Option<Hash> {
        (size > 0 && size <= self.len()).then(|| self.subtree(0, size))
    }

    /// `PATH(index, D[size])`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.len() {
            return None;
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Some(out)
    }

    fn path(&self, m: u64, a: u64, b: u64, out: &mut Vec<Hash>) {
        let n = b - a;
        if n <= 1 {
            return;
        }
        let k = split(n as usize) as u64;
        if m < k {
            self.path(m, a, a + k, out);
            out.push(self.subtree(a + k, b));
        } else {
            self.path(m - k, a + k, b, out);
            out.push(self.subtree(a, a + k));
        }
    }

    /// `PROOF(old_size, D[new_size])`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Option<Vec<Hash>> {
        if old_size == 0 || old_size > new_size || new_size > self.len() {
            return None;
        }
        let mut out = Vec::new();
        self.subproof(old_size, 0, new_size, true, &mut out);
        Some(out)
    }

    fn subproof(&self, m: u64, a: u64, b: u64, complete: bool, out: &mut Vec<Hash>) {
        let n = b - a;
        if m == n {
            if !complete {
                out.push(self.subtree(a, b));
            }
            return;
        }
        let k = split(n as usize) as u64;
        if m <= k {
            self.subproof(m, a, a + k, complete, out);
            out.push(self.subtree(a + k, b));
        } else {
            self.subproof(m - k, a + k, b, false, out);
            out.push(self.subtree(a, a + k));
        }
    }
}

/// RFC 9162 2.1.3.2: does `proof` show `leaf` at `index` in the tree of `size`
/// leaves with root `root`?
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange);
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r == root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// RFC 9162 2.1.4.2: does `proof` show the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`?
/// Equal sizes need an empty proof and equal roots; an empty old tree is a prefix of
/// everything.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OutOfRange);
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength)
        };
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength);
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongLength);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr == old_root && &sr == new_root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// The roots of the perfect subtrees of a growing tree, largest first: enough to
/// compute the current root after each append without keeping the leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    /// `(height, root)` of each perfect subtree, heights strictly decreasing.
    stack: Vec<(u32, Hash)>,
    size: u64,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(h, left)) = self.stack.last() {
            if h != node.0 {
                break;
            }
            self.stack.pop();
            node = (h + 1, node_hash(&left, &node.1));
        }
        self.stack.push(node);
        self.size += 1;
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut acc)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            acc = node_hash(left, &acc);
        }
        acc
    }
}

#[cfg(test)]
mod tests;
