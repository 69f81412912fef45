//! One HTTPS peer (the hub, an identity provider): HTTP/1.1, one request at
//! a time over a kept-alive connection that is re-opened when it breaks.
//! Every step has a deadline (connect, handshake, whole exchange), and
//! answers are read up to 1 MiB, so a peer that stalls or floods cannot hold
//! the caller. Only `https://` URLs are accepted.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
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
    #[error("cannot reach {peer}: {why}")]
    Connect {
        /// Whom (`the hub`, `the identity provider`).
        peer: &'static str,
        /// Why.
        why: String,
    },
    /// The connection broke or stalled during the exchange.
    #[error("the exchange with {peer} failed: {why}")]
    Exchange {
        /// Whom.
        peer: &'static str,
        /// Why.
        why: String,
    },
}

/// A client for one HTTPS peer.
pub struct HttpsClient {
    peer: &'static str,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    max_answer: usize,
    conn: Option<SendRequest<Full<Bytes>>>,
}

/// `(host, port)` of an `https://` URL.
pub fn parse_url(url: &str) -> Result<(String, u16), ClientError> {
    let uri: Uri = url
        .parse()
        .map_err(|e| ClientError::Url(format!("{url:?} is not a URL: {e}")))?;
    if uri.scheme_str() != Some("https") {
        return Err(ClientError::Url(format!(
            "the URL must be https://, not {url:?}"
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

impl HttpsClient {
    /// A client for `peer` (named in errors) at `url` with TLS settings
    /// `config`.
    pub fn new(
        peer: &'static str,
        url: &str,
        config: rustls::ClientConfig,
        timeout: Duration,
    ) -> Result<HttpsClient, ClientError> {
        let (host, port) = parse_url(url)?;
        let server_name = ServerName::try_from(host.clone())
            .map_err(|e| ClientError::Url(format!("{host:?}: {e}")))?;
        Ok(HttpsClient {
            peer,
            host,
            port,
            server_name,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout,
            max_answer: MAX_ANSWER,
            conn: None,
        })
    }

    /// The same client reading answers of up to `bytes` (1 MiB unless
    /// raised: model files are larger).
    pub fn with_max_answer(mut self, bytes: usize) -> HttpsClient {
        self.max_answer = bytes;
        self
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
        .map_err(|_| self.connect_error("connection timed out".into()))?
        .map_err(|e| self.connect_error(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio::time::timeout(
            self.timeout,
            self.tls.connect(self.server_name.clone(), tcp),
        )
        .await
        .map_err(|_| self.connect_error("TLS handshake timed out".into()))?
        .map_err(|e| self.connect_error(format!("TLS: {e}")))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| self.connect_error(e.to_string()))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn connect_error(&self, why: String) -> ClientError {
        ClientError::Connect {
            peer: self.peer,
            why,
        }
    }

    fn exchange_error(&self, why: String) -> ClientError {
        ClientError::Exchange {
            peer: self.peer,
            why,
        }
    }

    /// Sends one request with a JSON body, if any; returns the status and
    /// the body.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        json: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), ClientError> {
        let mut headers = HeaderMap::new();
        if json.is_some() {
            headers.insert(
                HeaderName::from_static("content-type"),
                HeaderValue::from_static("application/json"),
            );
        }
        let (status, _, body) = self
            .exchange(method, path, headers, json.unwrap_or_default())
            .await?;
        Ok((status, body))
    }

    /// Sends one request with `headers` (the `host` header is added);
    /// returns the status, the answer's headers and its body.
    pub async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Result<(u16, HeaderMap, Bytes), ClientError> {
        let timeout = self.timeout;
        let max_answer = self.max_answer;
        let exchange = async {
            let mut sender = match self.conn.take() {
                Some(s) if !s.is_closed() => s,
                _ => self.connect().await?,
            };
            sender
                .ready()
                .await
                .map_err(|e| self.exchange_error(e.to_string()))?;
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", self.authority())
                .body(Full::new(Bytes::from(body)))
                .map_err(|e| self.exchange_error(e.to_string()))?;
            request.headers_mut().extend(headers);
            let answer = sender
                .send_request(request)
                .await
                .map_err(|e| self.exchange_error(e.to_string()))?;
            let status = answer.status().as_u16();
            let (parts, body) = answer.into_parts();
            let body = Limited::new(body, max_answer)
                .collect()
                .await
                .map_err(|e| self.exchange_error(e.to_string()))?
                .to_bytes();
            self.conn = Some(sender);
            Ok((status, parts.headers, body))
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
                Err(self.exchange_error(format!("no answer within {} s", timeout.as_secs())))
            }
        }
    }
}
