//! What an attacker with write access to a data directory does to its audit
//! log: edit entries and recompute every chain hash after them, so the file
//! is self-consistent again. Written from the format in
//! `lensguard_store::audit` (leaf `SHA-256(0x00 || entry JSON)`, chain
//! `SHA-256(previous || leaf)`), independently of the store's code.

use sha2::{Digest, Sha256};
use std::path::Path;

/// Rewrites the `log.jsonl` at `path` with `edit(index, entry JSON)` applied
/// to every entry and the chain recomputed; returns the new leaf hashes.
///
/// # Panics
/// When the file cannot be read or written, or a line is not `<hash> <json>`.
#[allow(clippy::expect_used)] // a test helper fails loudly by design
pub fn rewrite_audit_log(path: &Path, edit: impl Fn(usize, String) -> String) -> Vec<[u8; 32]> {
    let text = std::fs::read_to_string(path).expect("read the audit log");
    let mut prev = [0u8; 32];
    let mut leaves = Vec::new();
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let body = edit(i, line.get(65..).expect("<hash> <entry>").to_owned());
        let leaf: [u8; 32] = Sha256::new()
            .chain_update([0u8])
            .chain_update(body.as_bytes())
            .finalize()
            .into();
        let chain: [u8; 32] = Sha256::new()
            .chain_update(prev)
            .chain_update(leaf)
            .finalize()
            .into();
        out.push_str(&hex::encode(chain));
        out.push(' ');
        out.push_str(&body);
        out.push('\n');
        prev = chain;
        leaves.push(leaf);
    }
    std::fs::write(path, out).expect("write the audit log");
    leaves
}
