//! `lensguard edge enroll`: a new key, a CSR, the one-time token, and the
//! hub pinned by the CA fingerprint the token carries.

use super::link::{self, HubLink};
use crate::fleet::client::HubClient;
use crate::fleet::pinned::PinnedCa;
use crate::fleet::token::EnrolmentToken;
use crate::fleet::wire::{EnrolRequest, EnrolResponse};
use anyhow::{Context, bail};
use axum::http::Method;
use lensguard_store::audit::AuditEvent;
use std::path::Path;
use std::sync::Arc;

/// Enrols the edge of `data_dir` with the hub at `url`.
pub async fn enroll(url: &str, token: &str, data_dir: &Path) -> anyhow::Result<HubLink> {
    let token = EnrolmentToken::parse(token).map_err(anyhow::Error::msg)?;
    if HubLink::load(data_dir)?.is_some() {
        bail!(
            "this edge is already enrolled ({}); remove that folder to enrol again",
            link::dir(data_dir).display()
        );
    }
    // The audit log is opened first: enrolment is recorded, and an edge
    // whose service is running (holding the log) is told to stop it.
    let db = lensguard_store::db::Db::open(&data_dir.join(crate::data_dir::DATABASE))
        .await
        .context("cannot open this edge's database")?;
    let audit = crate::audit_open::open(data_dir, &db, None, Vec::new())
        .await
        .with_context(
            || "cannot open this edge's audit log (stop `lensguard serve` while enrolling)",
        )?;
    let key = rcgen::KeyPair::generate().context("cannot generate the edge key")?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "lensguard edge");
    let csr = params
        .serialize_request(&key)
        .context("cannot make the CSR")?
        .pem()?;
    let tls = crate::common::tls::client_builder()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedCa::new(token.ca_sha256)))
        .with_no_client_auth();
    let mut client = HubClient::new("the hub", url, tls, std::time::Duration::from_secs(30))?;
    let request = EnrolRequest {
        token: format!("{}.{}", token.id, token.secret),
        csr_pem: csr,
        audit_key: hex::encode(audit.public_key()),
    };
    let (status, body) = client
        .request(
            Method::POST,
            "/v1/enroll",
            Some(serde_json::to_vec(&request)?),
        )
        .await?;
    if status != 201 {
        bail!(
            "the hub refused the enrolment ({status}): {}",
            crate::fleet::client::hub_message(&body)
        );
    }
    let answer: EnrolResponse =
        serde_json::from_slice(&body).context("the hub's answer is malformed")?;
    if crate::fleet::ca::pem_sha256(&answer.ca_pem)? != token.ca_sha256 {
        bail!("the hub answered with a CA other than the one in the token; nothing was saved");
    }
    let dir = link::dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::common::durable::write_private(&dir.join("edge.key"), key.serialize_pem().as_bytes())?;
    crate::common::durable::write_public(&dir.join("edge.pem"), answer.certificate_pem.as_bytes())?;
    crate::common::durable::write_public(&dir.join("ca.pem"), answer.ca_pem.as_bytes())?;
    let link = HubLink {
        url: url.to_owned(),
        edge_id: answer.edge_id,
        enrolled_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)?,
        dir: dir.clone(),
    };
    // Written last: its presence means the link is complete.
    crate::common::durable::write_public(
        &dir.join("link.json"),
        serde_json::to_string_pretty(&link)?.as_bytes(),
    )?;
    audit
        .append(
            AuditEvent::new(time::OffsetDateTime::now_utc(), "system", "hub.enrol")
                .target(link.destination()),
        )
        .context("enrolled, but the audit log refused the record")?;
    Ok(link)
}
