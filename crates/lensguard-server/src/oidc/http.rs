//! The HTTP client `openidconnect` calls for discovery, keys and the token
//! exchange: [`HttpsClient`] (HTTPS only, deadlines, answers up to 1 MiB),
//! one connection per call, with the provider's TLS roots.

use crate::common::https_client::{ClientError, HttpsClient};
use openidconnect::{HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Duration;

/// The TLS settings and deadline of one provider's calls.
#[derive(Clone)]
pub struct ProviderHttp {
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

impl ProviderHttp {
    /// Calls verified against `ca_file` when given, else the system's roots.
    pub fn new(ca_file: Option<&std::path::Path>, timeout: Duration) -> anyhow::Result<Self> {
        use anyhow::Context;
        let mut roots = rustls::RootCertStore::empty();
        match ca_file {
            Some(path) => {
                for c in crate::common::tls::read_certs(path)? {
                    roots
                        .add(c)
                        .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    anyhow::bail!(
                        "no system CA certificates were found; set ca_file for the provider"
                    );
                }
            }
        }
        let tls = crate::common::tls::client_builder()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ProviderHttp {
            tls: Arc::new(tls),
            timeout,
        })
    }

    /// Sends one request to the provider.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, ClientError> {
        let (parts, body) = request.into_parts();
        let origin = match (parts.uri.scheme_str(), parts.uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => return Err(ClientError::Url(format!("{} is not absolute", parts.uri))),
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut client = HttpsClient::new(
            "the identity provider",
            &origin,
            (*self.tls).clone(),
            self.timeout,
        )?;
        let (status, headers, body) = client
            .exchange(parts.method, &path, parts.headers, body)
            .await?;
        let mut response = HttpResponse::new(body.to_vec());
        *response.status_mut() =
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
        *response.headers_mut() = headers;
        Ok(response)
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = ClientError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, ClientError>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
