//! Checking a case bundle offline (layout and invariants: [`super::bundle`]).
//!
//! Every check runs, whatever failed before it, and each says what it
//! found; [`Verdict::ok`] only when all passed. What could not be checked
//! (keys taken from the bundle itself) is said in [`Verdict::unchecked`].

use super::bundle::{self, EntryLine, Manifest, ProofLine};
use super::provenance;
use lensguard_store::audit::Checkpoint;
use lensguard_store::audit::merkle::{Hash, leaf_hash, verify_inclusion};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One check and what it found.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Problems found (none: passed).
    pub problems: Vec<String>,
    /// What it covered, for the report.
    pub covered: String,
}

/// The result of verifying a bundle.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Every check.
    pub checks: Vec<Check>,
    /// What could not be checked, and why.
    pub unchecked: Vec<String>,
}

impl Verdict {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.problems.is_empty())
    }
}

/// The keys a bundle is checked against.
pub struct Keys {
    /// The audit log's Ed25519 public key (32 bytes); `None`: the bundle's copy.
    pub audit_key: Option<Vec<u8>>,
    /// The C2PA trust anchors (PEM); `None`: the bundle's copy.
    pub anchors: Option<String>,
}

fn read(dir: &Path, rel: &str) -> Result<Vec<u8>, String> {
    std::fs::read(dir.join(rel)).map_err(|e| format!("{rel}: cannot read ({e})"))
}

fn lines<T: serde::de::DeserializeOwned>(dir: &Path, rel: &str) -> Result<Vec<T>, String> {
    let bytes = read(dir, rel)?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{rel}: not UTF-8"))?;
    text.lines()
        .enumerate()
        .map(|(n, l)| serde_json::from_str(l).map_err(|e| format!("{rel} line {}: {e}", n + 1)))
        .collect()
}

fn hash(hex_str: &str) -> Option<Hash> {
    hex::decode(hex_str).ok()?.try_into().ok()
}

/// Verifies the bundle in `dir` against `keys`.
pub fn verify(dir: &Path, keys: &Keys) -> Verdict {
    let mut v = Verdict::default();
    let mut check = |name: &'static str, covered: String, problems: Vec<String>| {
        v.checks.push(Check {
            name,
            problems,
            covered,
        });
    };

    // Keys.
    let mut unchecked = Vec::new();
    let audit_key = match &keys.audit_key {
        Some(k) => Some(k.clone()),
        None => {
            unchecked.push(format!(
                "the checkpoint was checked with the bundle's own copy of the audit key ({}): this proves the bundle is intact, not that this installation made it; give --audit-key",
                bundle::AUDIT_KEY
            ));
            read(dir, bundle::AUDIT_KEY)
                .ok()
                .and_then(|b| hex::decode(String::from_utf8_lossy(&b).trim()).ok())
        }
    };
    let anchors = match &keys.anchors {
        Some(a) => Some(a.clone()),
        None => match read(dir, bundle::C2PA_ANCHOR) {
            Ok(b) => {
                unchecked.push(format!(
                    "C2PA signatures were checked against the bundle's own CA copy ({}): give --trust-anchor with the certificate you received from the installation",
                    bundle::C2PA_ANCHOR
                ));
                Some(String::from_utf8_lossy(&b).into_owned())
            }
            Err(_) => {
                unchecked.push(
                    "no trust anchor was given and the bundle carries none (signed with a customer's certificate): no C2PA signer can be trusted; give --trust-anchor"
                        .to_owned(),
                );
                None
            }
        },
    };

    // 1. The checkpoint.
    let checkpoint: Option<Checkpoint> = read(dir, bundle::CHECKPOINT)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut problems = Vec::new();
    match (&checkpoint, &audit_key) {
        (None, _) => problems.push(format!("{} is missing or malformed", bundle::CHECKPOINT)),
        (Some(_), None) => problems.push("no audit public key to check it with".to_owned()),
        (Some(cp), Some(key)) if !cp.verify(key) => problems.push(format!(
            "its signature does not verify with audit key {}",
            lensguard_store::audit::key_id(key)
        )),
        _ => {}
    }
    let root = checkpoint.as_ref().and_then(Checkpoint::root_hash);
    let covered = checkpoint.as_ref().map_or_else(String::new, |c| {
        format!("{} entries, signed {}", c.size, c.time)
    });
    let checkpoint_ok = problems.is_empty();
    check("checkpoint signature", covered, problems);

    // Proofs, by entry.
    let proofs: BTreeMap<u64, Vec<Hash>> = lines::<ProofLine>(dir, bundle::PROOFS)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let hashes: Option<Vec<Hash>> = p.proof.iter().map(|h| hash(h)).collect();
            Some((p.seq, hashes?))
        })
        .collect();
    let proven = |line: &EntryLine| -> Result<(), String> {
        let (Some(cp), Some(root)) = (&checkpoint, &root) else {
            return Err("no checkpoint to prove it against".to_owned());
        };
        let proof = proofs
            .get(&line.seq)
            .ok_or_else(|| format!("entry {} has no inclusion proof", line.seq))?;
        verify_inclusion(
            &leaf_hash(line.entry.as_bytes()),
            line.seq,
            cp.size,
            proof,
            root,
        )
        .map_err(|e| format!("entry {} is not in the signed log ({e:?})", line.seq))
    };

    // 2. The export entry.
    let sums = read(dir, bundle::SUMS);
    let manifest: Result<Manifest, String> = read(dir, bundle::MANIFEST)
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", bundle::MANIFEST)));
    let mut problems = Vec::new();
    let export: Option<EntryLine> = read(dir, bundle::EXPORT_ENTRY)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match &export {
        None => problems.push(format!("{} is missing or malformed", bundle::EXPORT_ENTRY)),
        Some(line) => {
            if let Err(e) = proven(line) {
                problems.push(e);
            }
            let entry: serde_json::Value = serde_json::from_str(&line.entry).unwrap_or_default();
            if entry["action"] != "case.export" || entry["seq"].as_u64() != Some(line.seq) {
                problems.push("it is not the case.export entry it claims to be".to_owned());
            }
            let target = entry["target"].as_str().unwrap_or_default();
            match &sums {
                Ok(s) => {
                    let want = format!("manifest:sha256:{}", bundle::sha256_hex(s));
                    if !target.split(' ').any(|w| w == want) {
                        problems.push(format!(
                            "{} is not the file the installation exported (its digest is not the one the export entry names)",
                            bundle::SUMS
                        ));
                    }
                }
                Err(e) => problems.push(e.clone()),
            }
            if let Ok(m) = &manifest
                && !target.starts_with(&format!("case:{} ", m.case.id))
            {
                problems.push(format!("the export entry is for another case ({target})"));
            }
        }
    }
    check(
        "export entry",
        export
            .as_ref()
            .map_or_else(String::new, |l| format!("entry {}", l.seq)),
        problems,
    );

    // 3. Files.
    let mut problems = Vec::new();
    let mut listed = BTreeSet::new();
    if let Ok(s) = &sums {
        for (n, l) in String::from_utf8_lossy(s).lines().enumerate() {
            let Some((digest, rel)) = l.split_once("  ") else {
                problems.push(format!("{} line {} is malformed", bundle::SUMS, n + 1));
                continue;
            };
            listed.insert(rel.to_owned());
            match std::fs::read(dir.join(rel)) {
                Ok(bytes) if bundle::sha256_hex(&bytes) == digest => {}
                Ok(_) => problems.push(format!("{rel}: its SHA-256 is not the one listed")),
                Err(_) => problems.push(format!("{rel}: listed, but missing")),
            }
        }
    }
    match super::export::files_under(dir) {
        Ok(all) => {
            for rel in all {
                if !listed.contains(&rel) && !bundle::PROVEN_AFTER.contains(&rel.as_str()) {
                    problems.push(format!("{rel}: not listed in {}", bundle::SUMS));
                }
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    check("file digests", format!("{} files", listed.len()), problems);

    // 4. Audit entries and receipts.
    let mut problems = Vec::new();
    let entries = lines::<EntryLine>(dir, bundle::ENTRIES).unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    let mut seen = BTreeSet::new();
    for line in &entries {
        if !seen.insert(line.seq) {
            problems.push(format!("entry {} appears twice", line.seq));
        }
        if let Err(e) = proven(line) {
            problems.push(e);
        }
    }
    if let Ok(m) = &manifest
        && m.audit_entries != entries.len() as u64
    {
        problems.push(format!(
            "{} holds {} entries, the manifest says {}",
            bundle::ENTRIES,
            entries.len(),
            m.audit_entries
        ));
    }
    let by_seq: BTreeMap<u64, &str> = entries.iter().map(|l| (l.seq, l.entry.as_str())).collect();
    let receipts = lines::<EntryLine>(dir, bundle::RECEIPTS).unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });
    for r in &receipts {
        let action = serde_json::from_str::<serde_json::Value>(&r.entry)
            .ok()
            .and_then(|v| v["action"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if by_seq.get(&r.seq) != Some(&r.entry.as_str()) || !bundle::is_deletion(&action) {
            problems.push(format!(
                "receipt {} is not a deletion entry of {}",
                r.seq,
                bundle::ENTRIES
            ));
        }
    }
    if let Ok(m) = &manifest {
        for item in m
            .items
            .iter()
            .filter(|i| i.status == "deleted" && i.note.is_none())
        {
            if !receipts.iter().any(|r| r.entry.contains(&item.id)) {
                problems.push(format!(
                    "{} {} is deleted, but no receipt names it",
                    item.kind, item.id
                ));
            }
        }
    }
    check(
        "audit entries",
        format!(
            "{} entries, {} deletion receipts",
            entries.len(),
            receipts.len()
        ),
        problems,
    );

    // 5. Media.
    let mut problems = Vec::new();
    let mut media = 0;
    match &manifest {
        Err(e) => problems.push(e.clone()),
        Ok(m) => {
            for item in &m.items {
                for f in item.files.iter().filter(|f| f.c2pa) {
                    media += 1;
                    let bytes = match read(dir, &f.path) {
                        Ok(b) => b,
                        Err(e) => {
                            problems.push(e);
                            continue;
                        }
                    };
                    match provenance::check(&bytes, &f.media_type, anchors.as_deref()) {
                        Err(e) => problems.push(format!("{}: {e:#}", f.path)),
                        Ok(found) => {
                            if found.state != "Trusted" {
                                problems.push(format!(
                                    "{}: C2PA manifest {} ({})",
                                    f.path,
                                    found.state.to_lowercase(),
                                    found.failures.join("; ")
                                ));
                            }
                            match found.assertion {
                                Some(a)
                                    if a.case == m.case.id
                                        && a.item == item.id
                                        && a.item_kind == item.kind
                                        && a.original_sha256 == f.original_sha256 => {}
                                Some(_) => problems.push(format!(
                                    "{}: its C2PA manifest names another case, item or original",
                                    f.path
                                )),
                                None => problems.push(format!(
                                    "{}: its C2PA manifest has no {} assertion",
                                    f.path,
                                    provenance::ASSERTION
                                )),
                            }
                        }
                    }
                }
            }
        }
    }
    check("C2PA manifests", format!("{media} media files"), problems);
    if !checkpoint_ok {
        unchecked.push(
            "nothing proven against the checkpoint can be trusted while its signature fails"
                .to_owned(),
        );
    }
    v.unchecked = unchecked;
    v
}
