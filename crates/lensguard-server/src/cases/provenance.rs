//! C2PA manifests on exported media: what was done to them, signed; and
//! reading them back.
//!
//! Each exported file carries one manifest with:
//! - an ingredient for the original it was made from, named by the
//!   original's SHA-256 only (`instance_id` `lensguard:sha256:HEX`), with no
//!   thumbnail and no data: the original stays sealed;
//! - actions `c2pa.opened` (that ingredient) and `c2pa.redacted` (what was
//!   hidden, by which model), or `c2pa.created` for a camera snapshot whose
//!   picture was never kept;
//! - the assertion [`ASSERTION`] tying it to the case and item, which
//!   `lensguard case verify` checks against the bundle's manifest.
//!
//! Reading never fetches anything (no remote manifests, no OCSP); trust is
//! decided by the anchors the caller gives.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// The label of lensguard's own assertion.
pub const ASSERTION: &str = "org.lensguard.evidence";

/// What lensguard records about one exported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAssertion {
    /// The case it was exported for.
    pub case: String,
    /// `inspection`, `event` or `segment`.
    pub item_kind: String,
    /// The item's id.
    pub item: String,
    /// SHA-256 of the sealed original it was made from, when one is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_sha256: Option<String>,
    /// What was hidden and how (`faces blurred`, `privacy masks filled`).
    pub redaction: Vec<String>,
    /// The model that found what was hidden: name, package and SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The policy it was redacted under (`name@revision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

fn settings(anchors_pem: Option<&str>) -> anyhow::Result<c2pa::settings::Settings> {
    let mut toml = String::from(
        "[verify]\nremote_manifest_fetch = false\nocsp_fetch = false\n[builder]\n[builder.thumbnail]\nenabled = false\n",
    );
    if let Some(anchors) = anchors_pem {
        toml.push_str(&format!(
            "[trust]\nuser_anchors = '''\n{anchors}'''\ntrust_config = '''\n{}\n'''\n",
            super::signing::DOCUMENT_SIGNING
        ));
    }
    c2pa::settings::Settings::new()
        .with_toml(&toml)
        .context("C2PA settings")
}

/// `bytes` (a `format` file) with a signed manifest recording `what`.
pub fn sign(
    bytes: &[u8],
    format: &str,
    title: &str,
    what: &EvidenceAssertion,
    signer: &dyn c2pa::Signer,
) -> anyhow::Result<Vec<u8>> {
    let context = c2pa::Context::new()
        .with_settings(settings(None)?)
        .context("C2PA context")?
        .into_shared();
    let hidden = what.redaction.join(", ");
    let agent = serde_json::json!({
        "name": "lensguard",
        "version": env!("CARGO_PKG_VERSION"),
    });
    let mut actions = Vec::new();
    let mut ingredients = Vec::new();
    match &what.original_sha256 {
        Some(sha) => {
            ingredients.push(serde_json::json!({
                "title": format!("sealed original sha256:{sha}"),
                "format": format,
                "relationship": "parentOf",
                "label": "original",
                "instance_id": format!("lensguard:sha256:{sha}"),
            }));
            actions.push(serde_json::json!({
                "action": "c2pa.opened",
                "softwareAgent": agent,
                "parameters": {"ingredientIds": ["original"]},
            }));
        }
        None => actions.push(serde_json::json!({
            "action": "c2pa.created",
            "softwareAgent": agent,
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
        })),
    }
    actions.push(serde_json::json!({
        "action": "c2pa.redacted",
        "softwareAgent": agent,
        "reason": "c2pa.PII.present",
        "description": match &what.model {
            Some(m) => format!("{hidden}; found by {m}"),
            None => hidden,
        },
    }));
    let definition = serde_json::json!({
        "title": title,
        "format": format,
        "claim_generator_info": [agent],
        "ingredients": ingredients,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            {"label": ASSERTION, "data": what},
        ],
    });
    let mut builder = c2pa::Builder::from_shared_context(&context)
        .with_definition(definition.to_string())
        .context("C2PA manifest")?;
    let mut out = Cursor::new(Vec::new());
    builder
        .sign(signer, format, &mut Cursor::new(bytes), &mut out)
        .with_context(|| format!("cannot sign {title}"))?;
    let out = out.into_inner();
    // Nothing leaves with a manifest that does not validate (trust aside:
    // the recipient decides that with their anchor).
    let found = check(&out, format, None)?;
    let failed: Vec<&String> = found
        .failures
        .iter()
        .filter(|f| !f.starts_with("signingCredential.untrusted"))
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "the C2PA manifest signed for {title} does not validate ({}): the signing certificate must meet the C2PA profile (ES256 key, digitalSignature, documentSigning or emailProtection usage, an organisation in its subject)",
            failed
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(out)
}

/// What a C2PA reader found in a file.
#[derive(Debug, Clone)]
pub struct C2paFinding {
    /// `Trusted` (valid, and signed by a certificate that chains to the
    /// anchors), `Valid` (valid, signer not trusted) or `Invalid`.
    pub state: String,
    /// The failure codes, with their explanations.
    pub failures: Vec<String>,
    /// lensguard's assertion, when the active manifest has one.
    pub assertion: Option<EvidenceAssertion>,
}

/// Reads and validates the manifest in `bytes`; trust is decided against
/// `anchors_pem` (none: no signer is trusted).
pub fn check(bytes: &[u8], format: &str, anchors_pem: Option<&str>) -> anyhow::Result<C2paFinding> {
    let context = c2pa::Context::new()
        .with_settings(settings(anchors_pem)?)
        .context("C2PA context")?
        .into_shared();
    let reader = c2pa::Reader::from_shared_context(&context)
        .with_stream(format, Cursor::new(bytes))
        .context("no readable C2PA manifest")?;
    let failures = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
        .map(|m| {
            m.failure()
                .iter()
                .map(|s| {
                    format!(
                        "{}{}",
                        s.code(),
                        s.explanation()
                            .map(|e| format!(" ({e})"))
                            .unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let assertion = reader
        .active_manifest()
        .and_then(|m| m.find_assertion::<EvidenceAssertion>(ASSERTION).ok());
    Ok(C2paFinding {
        state: format!("{:?}", reader.validation_state()),
        failures,
        assertion,
    })
}
