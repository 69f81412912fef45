//! Mutual TLS for API clients: with `[tls] client_ca_file`, only clients
//! presenting a certificate from that CA get past the handshake; a client with
//! no certificate, or one from another CA, gets no answer at all.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers fail loudly by design

use crate::common::{Server, create_key};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::path::Path;
use std::sync::Arc;

/// A CA (its PEM) and a client certificate it signed (DER, key).
fn ca_and_client(name: &str) -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} client CA"));
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec!["camera-7".to_owned()]).expect("params");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf_key = KeyPair::generate().expect("key");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    (
        ca_cert.pem(),
        leaf_cert.der().clone(),
        PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key der"),
    )
}

/// GET /v1/inspections with `token`, presenting `client` if given. `Err` when
/// the connection fails (handshake refused or closed before an answer).
fn get(
    server: &Server,
    data_dir: &Path,
    token: &str,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Result<u16, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_file_iter(data_dir.join("tls/cert.pem"))
        .expect("cert")
    {
        roots.add(cert.expect("pem")).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(vec![cert], key)
            .expect("client cert"),
        None => builder.with_no_client_auth(),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let req = hyper::Request::get("/v1/inspections")
            .header("host", "localhost")
            .header("authorization", format!("Bearer {token}"))
            .body(Empty::<Bytes>::new())
            .expect("request");
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let _ = res.into_body().collect().await;
        Ok(status)
    })
}

#[test]
fn only_clients_with_a_certificate_from_the_trusted_ca_get_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (ca_pem, cert, key) = ca_and_client("fleet");
    let (_, stranger_cert, stranger_key) = ca_and_client("other");
    let ca_file = dir.path().join("client-ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write CA");
    let token = create_key(&data, &["inspections:read"], &[]);
    let server = Server::start_with_config(
        &data,
        &format!(
            "[tls]\nclient_ca_file = {:?}\n",
            ca_file.to_str().expect("utf8")
        ),
    );
    assert!(
        server
            .wait_for_line("security: ")
            .contains("client-certificates=required"),
        "announced at start"
    );
    assert_eq!(get(&server, &data, &token, Some((cert, key))), Ok(200));
    let none = get(&server, &data, &token, None);
    assert!(none.is_err(), "no certificate: {none:?}");
    let stranger = get(&server, &data, &token, Some((stranger_cert, stranger_key)));
    assert!(stranger.is_err(), "another CA: {stranger:?}");
}
