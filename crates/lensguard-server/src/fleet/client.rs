//! The edge's HTTPS client for the hub: mutual TLS (or the pinned-CA
//! verifier during enrolment), HTTP/1.1, one request at a time over a
//! kept-alive connection that is re-opened when it breaks. Every step has a
//! deadline (connect, handshake, whole exchange), and answers are read up to
//! 1 MiB, so a hub that stalls or floods cannot hold the edge.

use axum::http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use std::sync::Arc;
use std::time::Duration;

const MAX_ANSWER: usize = 1024 * 1024;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hub's URL is unusable.
    #[error("{0}")]
    Url(String),
    /// No connection (refused, unreachable, timed out, TLS refused).
    #[error("cannot reach the hub: {0}")]
    Connect(String),
    /// The connection broke or stalled during the exchange.
    #[error("the exchange with the hub failed: {0}")]
    Exchange(String),
}

/// A client for one hub.
pub struct HubClient {
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    conn: Option<SendRequest<Full<Bytes>>>,
}

/// `(host, port)` of an `https://` URL.
pub fn parse_url(url: &str) -> Result<(String, u16), ClientError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| ClientError::Url(format!("{url:?} is not a URL: {e}")))?;
    if uri.scheme_str() != Some("https") {
        return Err(ClientError::Url(format!(
            "the hub URL must be https://, not {url:?}"
        )));
    }
    let host = uri
        .host()
        .ok_or_else(|| ClientError::Url(format!("{url:?} names no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok((host, uri.port_u16().unwrap_or(443)))
}

impl HubClient {
    /// A client for the hub at `url` with TLS settings `config`.
    pub fn new(
        url: &str,
        config: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<HubClient, ClientError> {
        let (host, port) = parse_url(url)?;
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| ClientError::Url(format!("{host:?}: {e}")))?;
        Ok(HubClient {
            host,
            port,
            server_name,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout,
            conn: None,
        })
    }

    /// `host:port`, with an IPv6 address in brackets.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let tcp = tokio::time::timeout(
            self.timeout,
            tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
        )
        .await
        .map_err(|_| ClientError::Connect("connection timed out".into()))?
        .map_err(|e| ClientError::Connect(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio::time::timeout(
            self.timeout,
            self.tls.connect(self.server_name.clone(), tcp),
        )
        .await
        .map_err(|_| ClientError::Connect("TLS handshake timed out".into()))?
        .map_err(|e| ClientError::Connect(format!("TLS: {e}")))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends one request; returns the status and the body.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        json: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), ClientError> {
        let timeout = self.timeout;
        let exchange = async {
            let mut sender = match self.conn.take() {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            sender
                .ready()
                .await
                .map_err(|e| ClientError::Exchange(e.to_string()))?;
            let mut builder = Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.authority());
            if json.is_some() {
                builder = builder.header("content-type", "application/json");
            }
            let request = builder
                .body(Full::new(Bytes::from(json.unwrap_or_default())))
                .map_err(|e| ClientError::Exchange(e.to_string()))?;
            let answer = sender
                .send_request(request)
                .await
                .map_err(|e| ClientError::Exchange(e.to_string()))?;
            let status = answer.status().as_u16();
            let body = Limited::new(answer.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| ClientError::Exchange(e.to_string()))?
                .to_bytes();
            self.conn = Some(sender);
            Ok((status, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => {
                if r.is_err() {
                    self.conn = None;
                }
                r
            }
            Err(_) => {
                self.conn = None;
                Err(ClientError::Exchange(format!(
                    "no answer within {} s",
                    timeout.as_secs()
                )))
            }
        }
    }
}

/// The `code` of a hub's JSON error, if the body is one.
pub fn hub_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

/// The `message` of a hub's JSON error, or the body as text when it is not
/// one (at most 200 characters: it is for a log line).
pub fn hub_message(body: &[u8]) -> String {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    message.chars().take(200).collect()
}

/// TLS settings for talking to the hub: its CA as the only root, and the
/// edge's client certificate.
pub fn mutual_tls(
    ca_pem: &std::path::Path,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<rustls::ClientConfig> {
    use anyhow::Context;
    let mut roots = rustls::RootCertStore::empty();
    for c in crate::common::tls::read_certs(ca_pem)? {
        roots.add(c).context("the hub CA certificate is unusable")?;
    }
    let chain = crate::common::tls::read_certs(cert)?;
    let key = crate::common::tls::read_key(key)?;
    crate::common::tls::client_builder()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("the edge certificate and key do not match")
}
