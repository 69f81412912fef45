//! Writing a case bundle (layout: [`super::bundle`]).
//!
//! Order, so that one signed checkpoint proves every byte: redact and sign
//! the media, copy the audit entries that name the case or an item, write
//! the manifest, README and `MANIFEST.sha256`; then record `case.export`
//! naming that file's digest, sign a checkpoint, and write the proofs. The
//! bundle is written into a temporary folder beside `out` and renamed into
//! place last: a failed export leaves no partial bundle (its audit entry
//! stays, saying an export was started).
//!
//! Fail closed: footage is only exported redacted; without the face
//! detector nothing is written. An item that cannot leave redacted (H.265
//! footage, a camera whose privacy masks are unknown) is listed as
//! `withheld` with why; one already deleted, as `deleted` with its receipts.

use super::bundle::{self, EntryLine, FileRecord, ItemRecord, Manifest, ProofLine};
use super::provenance::{self, EvidenceAssertion};
use super::signing::EvidenceSigner;
use crate::common::time_text::rfc3339;
use anyhow::{Context, bail};
use lensguard_core::config::cameras::Polygon;
use lensguard_core::policy::{DataCategory, Policy};
use lensguard_store::audit::{AuditEvent, AuditLog};
use lensguard_store::db::{Case, CaseItem, CaseItemKind, Db};
use lensguard_store::vault::{Caller, Vault};
use lensguard_vision::derive::Detectors;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an export needs.
pub struct ExportContext<'a> {
    /// The database.
    pub db: &'a Db,
    /// The vault.
    pub vault: &'a Vault,
    /// The audit log (held for writing).
    pub audit: &'a AuditLog,
    /// Its folder, read for the entries to include.
    pub audit_dir: &'a Path,
    /// Who signs the media.
    pub signer: &'a EvidenceSigner,
    /// The detectors (faces, for footage).
    pub detectors: &'a Detectors,
    /// The policy footage is redacted under.
    pub policy: &'a Policy,
    /// A camera's privacy masks; `None` when the camera is not configured.
    pub masks: &'a (dyn Fn(&str) -> Option<Vec<Polygon>> + Sync),
    /// The largest picture decoded.
    pub max_pixels: u64,
    /// Who exports.
    pub caller: &'a Caller,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The bundle.
    pub dir: PathBuf,
    /// Items by status (`exported`, `deleted`, `withheld`).
    pub items: BTreeMap<String, usize>,
    /// Media files written.
    pub media: usize,
    /// Audit entries included.
    pub entries: u64,
    /// SHA-256 of `MANIFEST.sha256`.
    pub manifest_sha256: String,
}

/// The model card behind a model name, as a C2PA manifest names it.
fn describe_model(name: &str) -> String {
    use lensguard_vision::models::{CENTERFACE, CENTERFACE_DYNAMIC, PP_OCR_V4_DET};
    [CENTERFACE, CENTERFACE_DYNAMIC, PP_OCR_V4_DET]
        .into_iter()
        .find(|c| c.name == name)
        .map_or_else(
            || name.to_owned(),
            |c| format!("{} ({}, sha256 {})", c.name, c.package, c.sha256),
        )
}

/// The models a stored report says answered.
fn report_models(report: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(report).ok()?;
    let names: Vec<String> = v["detections"]["models"]
        .as_array()?
        .iter()
        .filter_map(|m| m["model"].as_str().map(describe_model))
        .collect();
    (!names.is_empty()).then(|| names.join("; "))
}

struct Writer {
    dir: PathBuf,
}

impl Writer {
    fn put(&self, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Writes `bytes` (a `media_type` file) at `path` with a signed C2PA
    /// manifest recording `what`.
    fn signed(
        &self,
        path: String,
        media_type: &str,
        bytes: &[u8],
        what: &EvidenceAssertion,
        signer: &(dyn c2pa::Signer + Send + Sync),
    ) -> anyhow::Result<FileRecord> {
        let signed = provenance::sign(bytes, media_type, &path, what, signer)?;
        self.put(&path, &signed)?;
        Ok(FileRecord {
            path,
            media_type: media_type.to_owned(),
            c2pa: true,
            original_sha256: what.original_sha256.clone(),
        })
    }
}

/// Exports case `case_id` into the new folder `out`, calling `progress`
/// after each item.
pub async fn export(
    case_id: &str,
    out: &Path,
    cx: &ExportContext<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Exported> {
    let Some(case) = cx.db.get_case(case_id).await? else {
        bail!("there is no case {case_id}; nothing was exported");
    };
    let items = cx.db.case_items(case_id).await?;
    if items.is_empty() {
        bail!("case {case_id} holds no evidence; nothing was exported (add some first)");
    }
    if out.exists() {
        bail!("{} exists; give a new folder for the bundle", out.display());
    }
    let needs_faces = items.iter().any(|i| i.item.kind == CaseItemKind::Segment);
    if needs_faces && cx.detectors.faces.is_err() {
        bail!(
            "the face detector is not loaded, so footage cannot leave redacted; nothing was exported (fetch the models)"
        );
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_owned());
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let result = write_bundle(&case, &items, &tmp, cx, progress).await;
    match result {
        Ok(mut done) => {
            std::fs::rename(&tmp, out)
                .with_context(|| format!("cannot move the bundle to {}", out.display()))?;
            done.dir = out.to_owned();
            Ok(done)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

async fn write_bundle(
    case: &Case,
    items: &[lensguard_store::db::StoredCaseItem],
    dir: &Path,
    cx: &ExportContext<'_>,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<Exported> {
    let w = Writer {
        dir: dir.to_owned(),
    };
    let signer = cx.signer.c2pa()?;
    let mut records = Vec::new();
    let mut media = 0;
    let total = items.len() as u64;
    for (n, stored) in items.iter().enumerate() {
        let record = export_item(&case.id, &stored.item, &w, cx, signer.as_ref()).await?;
        media += record.files.iter().filter(|f| f.c2pa).count();
        records.push(record);
        progress(n as u64 + 1, total);
    }

    // Every entry so far that names the case or an item.
    let mut needles: Vec<&str> = items.iter().map(|i| i.item.id.as_str()).collect();
    needles.push(&case.id);
    let raw = lensguard_store::audit::entries_from(cx.audit_dir, 0, usize::MAX)?;
    let mut entries = Vec::new();
    let mut receipts = Vec::new();
    for r in raw {
        if needles.iter().any(|n| r.json.contains(n)) {
            let line = EntryLine {
                seq: r.entry.seq,
                entry: r.json,
            };
            if bundle::is_deletion(&r.entry.event.action) {
                receipts.push(line.clone());
            }
            entries.push(line);
        }
    }
    for record in &mut records {
        if record.status == "deleted" && !receipts.iter().any(|r| r.entry.contains(&record.id)) {
            record.note = Some(
                "no deletion receipt names it: it was deleted by a path that records none, or before receipts named it"
                    .to_owned(),
            );
        }
    }
    w.put(bundle::ENTRIES, &jsonl(&entries)?)?;
    w.put(bundle::RECEIPTS, &jsonl(&receipts)?)?;

    let public_key = cx.audit.public_key().to_vec();
    w.put(
        bundle::AUDIT_KEY,
        format!("{}\n", hex::encode(&public_key)).as_bytes(),
    )?;
    w.put(bundle::C2PA_CHAIN, cx.signer.chain_pem().as_bytes())?;
    if let Some(anchor) = &cx.signer.anchor {
        let pem =
            std::fs::read(anchor).with_context(|| format!("cannot read {}", anchor.display()))?;
        w.put(bundle::C2PA_ANCHOR, &pem)?;
    }
    let now = time::OffsetDateTime::now_utc();
    let manifest = Manifest {
        format: bundle::FORMAT.to_owned(),
        case: bundle::CaseInfo {
            id: case.id.clone(),
            name: case.name.clone(),
            owner: case.owner.clone(),
            opened_at: rfc3339(case.created_at),
            closed_at: case.closed_at.map(rfc3339),
        },
        exported_at: rfc3339(now.unix_timestamp()),
        exported_by: cx.caller.actor.clone(),
        items: records,
        audit_entries: entries.len() as u64,
        deletion_receipts: receipts.len() as u64,
        audit_key_id: lensguard_store::audit::key_id(&public_key),
    };
    w.put(bundle::MANIFEST, &serde_json::to_vec_pretty(&manifest)?)?;
    w.put(bundle::README, super::readme::text(&manifest).as_bytes())?;
    let sums = sha256_list(dir)?;
    w.put(bundle::SUMS, sums.as_bytes())?;
    let digest = bundle::sha256_hex(sums.as_bytes());

    // Record the export, sign a checkpoint over it, prove everything.
    let mut event = AuditEvent::new(now, cx.caller.actor.clone(), "case.export").target(format!(
        "case:{} manifest:sha256:{digest} items:{} entries:{}",
        case.id,
        items.len(),
        entries.len()
    ));
    event.source_ip = cx.caller.source_ip.clone();
    event.request_id = cx.caller.request_id.clone();
    let receipt = cx.audit.append_async(event).await?;
    let checkpoint = cx.audit.checkpoint()?;
    let export_line = lensguard_store::audit::entries_from(cx.audit_dir, 0, usize::MAX)?
        .into_iter()
        .find(|r| r.entry.seq == receipt.seq)
        .context("the export's audit entry cannot be read back")?;
    let export_line = EntryLine {
        seq: export_line.entry.seq,
        entry: export_line.json,
    };
    let mut proofs = Vec::new();
    for line in entries.iter().chain(std::iter::once(&export_line)) {
        let proof = cx
            .audit
            .inclusion_proof(line.seq, checkpoint.size)
            .with_context(|| format!("no inclusion proof for audit entry {}", line.seq))?;
        proofs.push(ProofLine {
            seq: line.seq,
            proof: proof.iter().map(hex::encode).collect(),
        });
    }
    w.put(
        bundle::EXPORT_ENTRY,
        &serde_json::to_vec_pretty(&export_line)?,
    )?;
    w.put(bundle::CHECKPOINT, &serde_json::to_vec_pretty(&checkpoint)?)?;
    w.put(bundle::PROOFS, &jsonl(&proofs)?)?;
    let mut by_status = BTreeMap::new();
    for r in &manifest.items {
        *by_status.entry(r.status.clone()).or_insert(0) += 1;
    }
    Ok(Exported {
        dir: dir.to_owned(),
        items: by_status,
        media,
        entries: entries.len() as u64,
        manifest_sha256: digest,
    })
}

fn jsonl<T: serde::Serialize>(lines: &[T]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut out, l)?;
        out.push(b'\n');
    }
    Ok(out)
}

/// `sha256sum` lines for every file under `dir` (sorted, relative paths).
pub fn sha256_list(dir: &Path) -> anyhow::Result<String> {
    let mut out = String::new();
    for rel in files_under(dir)? {
        if bundle::PROVEN_AFTER.contains(&rel.as_str()) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&rel))?;
        out.push_str(&format!("{}  {rel}\n", bundle::sha256_hex(&bytes)));
    }
    Ok(out)
}

/// Every file under `dir`, as sorted relative paths with `/`.
pub fn files_under(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap_or(entry.path())
                .to_string_lossy()
                .replace('\\', "/");
            out.push(rel);
        }
    }
    out.sort();
    Ok(out)
}

fn withheld(item: &CaseItem, why: impl Into<String>) -> ItemRecord {
    ItemRecord {
        kind: item.kind.as_str().to_owned(),
        id: item.id.clone(),
        status: "withheld".to_owned(),
        note: Some(why.into()),
        files: Vec::new(),
    }
}

async fn export_item(
    case: &str,
    item: &CaseItem,
    w: &Writer,
    cx: &ExportContext<'_>,
    signer: &(dyn c2pa::Signer + Send + Sync),
) -> anyhow::Result<ItemRecord> {
    let mut record = ItemRecord {
        kind: item.kind.as_str().to_owned(),
        id: item.id.clone(),
        status: "exported".to_owned(),
        note: None,
        files: Vec::new(),
    };
    if !cx.db.item_exists(item).await? {
        record.status = "deleted".to_owned();
        return Ok(record);
    }
    let assertion =
        |original_sha256: Option<String>, redaction: Vec<&str>, model, policy| EvidenceAssertion {
            case: case.to_owned(),
            item_kind: item.kind.as_str().to_owned(),
            item: item.id.clone(),
            original_sha256,
            redaction: redaction.into_iter().map(str::to_owned).collect(),
            model,
            policy,
        };
    match item.kind {
        CaseItemKind::Inspection => {
            let Some(redacted) = cx.vault.find(&item.id, DataCategory::Redacted).await? else {
                return Ok(withheld(
                    item,
                    "no redacted photo is kept for it (the policy kept none, or redaction was withheld); its original never leaves",
                ));
            };
            let bytes = cx.vault.get(&redacted.id, cx.caller).await?;
            let original = cx
                .vault
                .find(&item.id, DataCategory::Original)
                .await?
                .map(|o| o.content_sha256);
            let model = match cx.db.get_inspection(&item.id).await? {
                Some(i) => report_models(&i.report),
                None => None,
            };
            let what = assertion(
                original.clone(),
                vec![
                    "faces and printed text hidden as the policy says",
                    "metadata removed",
                ],
                model,
                Some(redacted.policy.clone()),
            );
            let path = format!("media/inspection-{}.jpg", item.id);
            record
                .files
                .push(w.signed(path, "image/jpeg", &bytes, &what, signer)?);
        }
        CaseItemKind::Event => {
            let Some(event) = cx.db.get_camera_event(&item.id).await? else {
                record.status = "deleted".to_owned();
                return Ok(record);
            };
            let path = format!("events/{}.json", item.id);
            w.put(&path, event.event.as_bytes())?;
            record.files.push(FileRecord {
                path,
                media_type: "application/json".to_owned(),
                c2pa: false,
                original_sha256: None,
            });
            let key = format!("event:{}", item.id);
            if let Some(snapshot) = cx.vault.find(&key, DataCategory::Redacted).await? {
                let bytes = cx.vault.get(&snapshot.id, cx.caller).await?;
                let what = assertion(
                    None,
                    vec!["faces blurred", "privacy masks filled", "metadata removed"],
                    Some(describe_model("centerface")),
                    Some(snapshot.policy.clone()),
                );
                let path = format!("media/event-{}.jpg", item.id);
                record
                    .files
                    .push(w.signed(path, "image/jpeg", &bytes, &what, signer)?);
            }
        }
        CaseItemKind::Segment => {
            let Some(segment) = cx.db.get_segment(&item.id).await? else {
                record.status = "deleted".to_owned();
                return Ok(record);
            };
            if segment.codec != "h264" {
                return Ok(withheld(
                    item,
                    format!(
                        "{} footage cannot be redacted here (only H.264 is decoded); its original never leaves",
                        segment.codec
                    ),
                ));
            }
            let Some(masks) = (cx.masks)(&segment.camera) else {
                return Ok(withheld(
                    item,
                    format!(
                        "camera {} is not in the configuration, so its privacy masks are unknown",
                        segment.camera
                    ),
                ));
            };
            let info = cx.vault.info(&item.id).await?;
            let original = cx.vault.get(&item.id, cx.caller).await?;
            let original_sha = bundle::sha256_hex(&original);
            if info
                .as_ref()
                .is_some_and(|i| i.content_sha256 != original_sha)
            {
                bail!(
                    "segment {} does not match the digest it was sealed with",
                    item.id
                );
            }
            // Decoding and detection take seconds: off the service's
            // async workers (the CLI's runtime has a single thread).
            let redact = || {
                crate::footage_redaction::redact(
                    &original,
                    masks,
                    cx.policy,
                    cx.detectors,
                    cx.max_pixels,
                )
            };
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            let redacted = if multi_thread {
                tokio::task::block_in_place(redact)
            } else {
                redact()
            }
            .with_context(|| format!("segment {} cannot be redacted", item.id))?;
            let model = cx
                .detectors
                .faces
                .as_ref()
                .ok()
                .map(|f| describe_model(&f.model_run().model));
            let what = assertion(
                Some(original_sha.clone()),
                vec![
                    "faces blurred in every picture (tracked between looks)",
                    "privacy masks filled",
                    "audio and metadata removed",
                ],
                model,
                Some(format!("{}@{}", cx.policy.name, cx.policy.revision)),
            );
            let path = format!("media/segment-{}.mp4", item.id);
            record
                .files
                .push(w.signed(path, "video/mp4", &redacted.file, &what, signer)?);
        }
    }
    Ok(record)
}
