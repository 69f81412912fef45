//! `lensguard audit verify`, `lensguard audit export` and `lensguard audit prove`.

use crate::cli::{AuditCommand, ExportFormatArg};
use anyhow::{Context, bail};
use lensguard_store::Error as StoreError;
use lensguard_store::audit::verify::{Summary, verify_dir, verify_export};
use lensguard_store::audit::{ExportFormat, export};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify {
            data,
            export,
            public_key,
        } => {
            let key = public_key.as_deref().map(parse_key).transpose()?;
            let result = match &export {
                Some(file) => {
                    let f = std::fs::File::open(file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    verify_export(f, key.as_deref())
                }
                None => {
                    let dir = audit_dir(&data.data_dir)?;
                    verify_dir(&dir, key.as_deref())
                }
            };
            match result {
                Ok(s) => {
                    print_summary(&s)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(StoreError::Tampered(finding)) => {
                    eprintln!("{finding}");
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
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

fn parse_key(hex_key: &str) -> anyhow::Result<Vec<u8>> {
    let key = hex::decode(hex_key.trim()).context("--public-key must be 64 hexadecimal digits")?;
    if key.len() != 32 {
        bail!("--public-key must be 64 hexadecimal digits (an Ed25519 public key)");
    }
    Ok(key)
}

fn parse_time(s: &str) -> anyhow::Result<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("{s:?} is not an RFC 3339 time (2026-11-21T12:00:00Z)"))
}

fn print_summary(s: &Summary) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "ok: {} entries, {} signed checkpoint{}, root {}{}",
        s.entries,
        s.checkpoints,
        if s.checkpoints == 1 { "" } else { "s" },
        s.root,
        if s.key_id.is_empty() {
            String::new()
        } else {
            format!(", key {}", s.key_id)
        }
    )?;
    if s.unsigned_entries > 0 {
        writeln!(
            out,
            "note: the {} newest entries are not yet covered by a signed checkpoint",
            s.unsigned_entries
        )?;
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
