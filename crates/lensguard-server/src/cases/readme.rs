//! The README a case bundle's recipient reads first.

use super::bundle::{self, Manifest};

/// The README for `m`.
pub fn text(m: &Manifest) -> String {
    let mut items = String::new();
    for i in &m.items {
        items.push_str(&format!("- {} `{}`: {}", i.kind, i.id, i.status));
        if let Some(note) = &i.note {
            items.push_str(&format!(" ({note})"));
        }
        items.push('\n');
        for f in &i.files {
            items.push_str(&format!("  - `{}` ({})\n", f.path, f.media_type));
        }
    }
    format!(
        r#"# Evidence bundle: case "{name}"

Exported by lensguard on {at} by {by}. Case `{id}`, opened {opened} by {owner}.

Everything here was redacted before it left: faces hidden in every picture,
the cameras' privacy masks filled, metadata removed. The originals stay
sealed in the installation; each file below names its original by SHA-256
only.

## What is in it

{items}
- `{entries}`: the {n_entries} audit log entries that name this case or its
  items (every access, addition and export), each as the log holds it.
- `{receipts}`: the {n_receipts} deletion receipts among them.
- `{manifest}`: the case and its items as data.
- `{sums}`: the SHA-256 of every file except itself and the three below.
- `{export}`, `{checkpoint}`, `{proofs}`: the audit entry that recorded this
  export (it names the SHA-256 of `{sums}`), the installation's signed
  checkpoint of its audit log, and the inclusion proof of every entry in it.
- `keys/`: copies of the installation's public keys. Check against keys you
  received from the installation another way; a copy proves nothing by
  itself.

## Checking it with standard tools

1. Every file is as exported:

       sha256sum -c {sums}

2. `{sums}` is the one the installation exported: its digest

       sha256sum {sums}

   must be the `manifest:sha256:` value in `{export}`.
3. Each photo and clip carries a C2PA manifest signed by the installation's
   evidence certificate. Any C2PA reader shows it, for example the
   `c2pa-python` package or `c2patool FILE`; configure the installation's
   CA certificate (`keys/c2pa-ca.pem`, or the one you were given) as a
   trust anchor, with extended key usage {eku} allowed. The manifest names
   the original's SHA-256, what was hidden, and by which model.

Steps 1 to 3 do not check the audit proofs or the checkpoint's signature.

## Checking everything

    lensguard case verify THIS-FOLDER --audit-key HEX --trust-anchor CA.pem

checks, offline, the checkpoint's Ed25519 signature (audit key id
`{key_id}`), that the export entry and every audit entry are in the signed
log (RFC 6962 inclusion proofs), that the export entry names this case and
`{sums}`, every file's SHA-256, that no file was added or removed, each
media file's C2PA manifest against the trust anchor, and that it names this
case, its item and its original as `{manifest}` does.
"#,
        name = m.case.name,
        at = m.exported_at,
        by = m.exported_by,
        id = m.case.id,
        opened = m.case.opened_at,
        owner = m.case.owner,
        entries = bundle::ENTRIES,
        n_entries = m.audit_entries,
        receipts = bundle::RECEIPTS,
        n_receipts = m.deletion_receipts,
        manifest = bundle::MANIFEST,
        sums = bundle::SUMS,
        export = bundle::EXPORT_ENTRY,
        checkpoint = bundle::CHECKPOINT,
        proofs = bundle::PROOFS,
        eku = super::signing::DOCUMENT_SIGNING,
        key_id = m.audit_key_id,
    )
}
