//! `lensguard audit verify`, `lensguard audit export` and `lensguard audit prove`.

use crate::cli::{AuditCommand, ExportFormatArg};
use anyhow::{Context, bail};
use lensguard_store::Error as StoreError;
use lensguard_store::audit::verify::{Summary, verify_dir, verify_export};
use lensguard_store::audit::{Checkpoint, ExportFormat, export};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify {
            data,
            export,
            public_key,
            require_signer,
            trusted_checkpoint,
        } => {
            if require_signer && public_key.is_none() {
                bail!(
                    "--require-signer: give --public-key with the installation's public key \
                     (recorded out of band; `lensguard audit verify --data-dir DIR` prints it, \
                     GET /v1/audit/checkpoint answers it); nothing was verified"
                );
            }
            let key = public_key.as_deref().map(parse_key).transpose()?;
            let mut trusted = Vec::new();
            for file in &trusted_checkpoint {
                trusted.extend(read_checkpoints(file)?);
            }
            let result = match &export {
                Some(file) => {
                    let f = std::fs::File::open(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    verify_export(f, key.as_deref())
                }
                None => {
                    let dir = audit_dir(&data.data_dir)?;
                    verify_dir(&dir, key.as_deref(), &trusted)
                }
            };
            match result {
                Ok(s) => {
                    print_summary(&s, key.is_some())?;
                    print_signer(&s, key.is_some(), export.is_some())?;
                    if export.is_none() {
                        print_witnessed(&trusted)?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(StoreError::Tampered(finding)) => {
                    eprintln!("{finding}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        AuditCommand::Pseudonym { data, value } => {
            crate::data_dir::require(&data.data_dir)?;
            let key = data.data_dir.join(lensguard_store::secrets::FILE);
            if !key.is_file() {
                bail!(
                    "{} has no installation key ({}): its audit log holds no pseudonyms",
                    data.data_dir.display(),
                    key.display()
                );
            }
            let secrets =
                lensguard_store::secrets::InstallationSecrets::load_or_create(&data.data_dir)?;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                secrets.pseudonyms().pseudonym(&value)
            )?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Prove {
            data,
            index,
            size,
            from,
            to,
        } => {
            use crate::serve::audit_api::{ConsistencyProof, InclusionProof};
            use lensguard_store::audit::proofs::{AuditTree, consistency, inclusion};
            let tree = AuditTree::read(&audit_dir(&data.data_dir)?)?;
            let json = match (index, from) {
                (Some(i), _) => serde_json::to_string_pretty(&InclusionProof::from(&inclusion(
                    &tree, i, size,
                )?))?,
                (None, Some(f)) => serde_json::to_string_pretty(&ConsistencyProof::from(
                    &consistency(&tree, f, to)?,
                ))?,
                (None, None) => bail!("give --index N or --from N"),
            };
            writeln!(std::io::stdout().lock(), "{json}")?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export {
            data,
            format,
            from,
            to,
            output,
        } => {
            let dir = audit_dir(&data.data_dir)?;
            let from = from.as_deref().map(parse_time).transpose()?;
            let to = to.as_deref().map(parse_time).transpose()?;
            let format = match format {
                ExportFormatArg::Jsonl => ExportFormat::Jsonl,
                ExportFormatArg::Csv => ExportFormat::Csv,
            };
            let summary = match &output {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(
                        std::fs::File::create(path)
                            .with_context(|| format!("cannot create {}", path.display()))?,
                    );
                    let s = export(&dir, from, to, format, &mut file)?;
                    file.flush()?;
                    s
                }
                None => export(&dir, from, to, format, &mut std::io::stdout().lock())?,
            };
            eprintln!("exported {} entries", summary.entries);
            if summary.unsigned_entries > 0 {
                eprintln!(
                    "note: the {} newest entries are not covered by a signed checkpoint yet and were left out",
                    summary.unsigned_entries
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn audit_dir(data_dir: &Path) -> anyhow::Result<std::path::PathBuf> {
    let dir = data_dir.join("audit");
    if !dir.is_dir() {
        bail!(
            "no audit log in {} (expected the folder {})",
            data_dir.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// `--public-key`: 64 hex digits, or a file holding them or the JSON answer
/// of `GET /v1/audit/checkpoint` (its `public_key`).
fn parse_key(given: &str) -> anyhow::Result<Vec<u8>> {
    parse_key_for("--public-key", given)
}

/// An Ed25519 public key given to `flag`: 64 hex digits, or a file holding
/// them (or JSON with a `public_key` field).
pub(super) fn parse_key_for(flag: &str, given: &str) -> anyhow::Result<Vec<u8>> {
    let given = given.trim();
    let looks_hex = !given.is_empty() && given.bytes().all(|b| b.is_ascii_hexdigit());
    let text = if looks_hex {
        given.to_owned()
    } else {
        let path = Path::new(given);
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("{flag} {given:?} is neither 64 hexadecimal digits nor a readable file")
        })?;
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => v
                .get("public_key")
                .and_then(|k| k.as_str())
                .map(str::to_owned)
                .with_context(|| {
                    format!("{} is JSON without a \"public_key\" field", path.display())
                })?,
            Err(_) => text.trim().to_owned(),
        }
    };
    let text = text.trim();
    if text.len() == 16 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{flag} {text} looks like a key id (a fingerprint, 16 hex digits), which cannot \
             check a signature: give the whole public key (64 hex digits), printed by \
             `lensguard audit verify --data-dir DIR` after \"public key\" and answered by GET \
             /v1/audit/checkpoint as \"public_key\""
        );
    }
    let key = hex::decode(text)
        .ok()
        .filter(|k| k.len() == 32)
        .with_context(|| format!("{flag} must be an Ed25519 public key: 64 hexadecimal digits"))?;
    Ok(key)
}

/// The checkpoints in `path`: JSON lines of checkpoints (a `[audit]
/// checkpoint_file`, `lensguard hub checkpoints`), a SIEM receiver's file of
/// messages (`audit.checkpoint` lines, `syslog` or `json` format), or one
/// JSON object that is a checkpoint or the answer of `GET /v1/audit/checkpoint`.
fn read_checkpoints(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read --trusted-checkpoint {}", path.display()))?;
    let parse = |v: serde_json::Value| -> Option<Checkpoint> {
        let v = match v.get("checkpoint") {
            Some(inner) => inner.clone(),
            None => v,
        };
        serde_json::from_value(v).ok()
    };
    let found: Option<Vec<Checkpoint>> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => parse(v).map(|c| vec![c]),
        Err(_) if text.contains(" audit.checkpoint ") => {
            // A SIEM receiver's file (syslog or json format): the lines of
            // `audit.checkpoint` messages end with the checkpoint's JSON.
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(" audit.checkpoint "))
                .collect();
            let found: Vec<Checkpoint> = lines
                .iter()
                .filter_map(|l| {
                    let json = &l[l.find(" {")? + 1..];
                    serde_json::from_str(json).ok().and_then(parse)
                })
                .collect();
            if found.len() < lines.len() {
                eprintln!(
                    "note: {} of the {} audit.checkpoint messages in {} hold no readable checkpoint \
                     (cef format, or damaged) and were not checked",
                    lines.len() - found.len(),
                    lines.len(),
                    path.display()
                );
            }
            Some(found)
        }
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).ok().and_then(parse))
            .collect(),
    };
    match found {
        Some(cps) if !cps.is_empty() => Ok(cps),
        _ => bail!(
            "{} holds no signed checkpoint: give a file of checkpoint JSON lines (an [audit] \
             checkpoint_file, `lensguard hub checkpoints`) or a saved answer of GET \
             /v1/audit/checkpoint; nothing was verified",
            path.display()
        ),
    }
}

/// Says whether the log was checked against checkpoints kept elsewhere,
/// the only check that exposes a history re-signed with the log's own key.
fn print_witnessed(trusted: &[Checkpoint]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match trusted.iter().max_by_key(|c| c.size) {
        Some(newest) => writeln!(
            out,
            "witnessed: the log extends {} trusted checkpoint{} (the newest signs {} entries, {})",
            trusted.len(),
            if trusted.len() == 1 { "" } else { "s" },
            newest.size,
            newest.time
        ),
        None => writeln!(
            out,
            "witness not checked: pass --trusted-checkpoint FILE (checkpoints the hub, an \
             [audit] checkpoint_file or the SIEM receiver kept); whoever holds \
             audit/signing.key can re-sign a rewritten history that only a witness exposes"
        ),
    }
}

/// Says whose signatures were checked: a key given out of band, or only the
/// one the log or export carries (which a forger would have replaced too).
fn print_signer(s: &Summary, pinned: bool, export: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if !s.public_key.is_empty() {
        writeln!(out, "public key {} (key id {})", s.public_key, s.key_id)?;
    }
    if pinned {
        writeln!(out, "signer: checked against the given --public-key")
    } else if export {
        writeln!(
            out,
            "signer not checked: pass --public-key (the export was checked only against the \
             key it carries itself, which a forger would replace too)"
        )
    } else {
        writeln!(
            out,
            "signer not checked: pass --public-key (the log was checked only against its own \
             audit/signing.key, which whoever can write the data directory can replace)"
        )
    }
}

fn parse_time(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC 3339 time (2026-11-21T12:00:00Z)"))
}

/// The first line says `ok` only when the signer was checked against a key
/// given out of band; otherwise `consistent`.
fn print_summary(s: &Summary, pinned: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {} entries, {} signed checkpoint{}, root {}{}",
        if pinned { "ok" } else { "consistent" },
        s.entries,
        s.checkpoints,
        if s.checkpoints == 1 { "" } else { "s" },
        s.root,
        if s.key_id.is_empty() {
            String::new()
        } else {
            format!(", key id {}", s.key_id)
        }
    )?;
    if s.unsigned_entries > 0 {
        writeln!(
            out,
            "note: the {} newest entries are not yet covered by a signed checkpoint",
            s.unsigned_entries
        )?;
    }
    if !s.completeness.is_empty() {
        writeln!(out, "completeness: {}", s.completeness)?;
    }
    if s.torn_tail_bytes > 0 {
        writeln!(
            out,
            "note: {} bytes of an unacknowledged, interrupted append end the log; they are discarded when the log is next opened",
            s.torn_tail_bytes
        )?;
    }
    Ok(())
}
