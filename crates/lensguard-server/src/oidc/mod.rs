//! Signing in through an OpenID provider, as a relying party: discovery,
//! the authorization request (code flow with PKCE S256, `state` and
//! `nonce`), the code exchange, and ID token validation by `openidconnect`.
//!
//! Invariants:
//! - Discovery is read at the first sign-in and kept; the issuer it names
//!   must equal the configured one (`openidconnect` checks it).
//! - An ID token is accepted only when its signature verifies with a key of
//!   the provider's JWKS under one of the configured asymmetric algorithms
//!   (never `none`, never HMAC: the verifier holds no shared secret), its
//!   `iss` and `aud` are the provider and this client, it has not expired
//!   (with the configured skew), its `iat` is neither in the future nor
//!   older than [`MAX_TOKEN_AGE`] (with the skew), and its `nonce` is the
//!   one this flow sent.
//! - An unknown `kid` fetches the JWKS again, at most once per the
//!   provider's `jwks_refetch` interval, so a rotated key is accepted and a
//!   flood of forged kids costs one fetch per interval.
//! - Nothing here decides who may come in: [`Person`] is what the provider
//!   said; roles are the caller's business.

pub mod http;

use http::ProviderHttp;
use lensguard_core::config::sso::ProviderConfig;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IdTokenVerifier, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, SignatureVerificationError, TokenResponse as _,
};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The oldest `iat` accepted (beyond the clock skew).
pub const MAX_TOKEN_AGE: Duration = Duration::from_secs(600);
/// The deadline of each call to a provider.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Claims outside the standard set (groups, under a configurable name).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);
impl AdditionalClaims for OtherClaims {}

type IdToken = openidconnect::IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// Why a sign-in through a provider was refused (for the audit log; the
/// browser is told only that sign-in failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Discovery or the keys could not be read: try again later.
    Unreachable(String),
    /// The provider refused the code (reused, expired, wrong PKCE verifier).
    Exchange(String),
    /// The ID token is invalid.
    Token(TokenFault, String),
}

/// What was wrong with an ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFault {
    /// Missing or not a JWT.
    Malformed,
    /// `alg` is none, HMAC or not configured.
    Algorithm,
    /// No key of the provider has its `kid`, even after a refetch.
    UnknownKey,
    /// The signature does not verify.
    Signature,
    /// `iss` is not the provider.
    Issuer,
    /// `aud` does not name this client.
    Audience,
    /// Expired, or `iat` in the future or too old.
    Expired,
    /// `nonce` is not this flow's.
    Nonce,
    /// Anything else the validation refused.
    Other,
}

impl Refusal {
    /// One line for the audit log.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Unreachable(why) => format!("provider unreachable: {why}"),
            Refusal::Exchange(why) => format!("code exchange refused: {why}"),
            Refusal::Token(fault, why) => format!("ID token refused ({fault:?}): {why}"),
        }
    }
}

fn classify(e: &ClaimsVerificationError) -> TokenFault {
    use ClaimsVerificationError as C;
    use SignatureVerificationError as S;
    match e {
        C::Expired(_) | C::InvalidAuthTime(_) => TokenFault::Expired,
        C::InvalidAudience(_) => TokenFault::Audience,
        C::InvalidIssuer(_) => TokenFault::Issuer,
        C::InvalidNonce(_) => TokenFault::Nonce,
        C::SignatureVerification(S::NoMatchingKey | S::AmbiguousKeyId(_)) => TokenFault::UnknownKey,
        C::SignatureVerification(
            S::DisallowedAlg(_) | S::UnsupportedAlg(_) | S::NoSignature | S::InvalidKey(_),
        ) => TokenFault::Algorithm,
        C::SignatureVerification(_) => TokenFault::Signature,
        _ => TokenFault::Other,
    }
}

/// A person as the provider vouched for them in a valid ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// `sub`.
    pub subject: String,
    /// The configured user name claim, when present and a string.
    pub username: Option<String>,
    /// The configured groups claim (strings only; absent: none).
    pub groups: Vec<String>,
    /// `amr` values.
    pub amr: Vec<String>,
    /// `acr`, if any.
    pub acr: Option<String>,
}

/// A started authorization: where to send the browser and what the
/// callback must match.
pub struct Authorization {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// `state`.
    pub state: String,
    /// `nonce`.
    pub nonce: String,
    /// The PKCE verifier (the challenge went in the URL).
    pub verifier: String,
}

struct Discovered {
    metadata: CoreProviderMetadata,
    jwks: CoreJsonWebKeySet,
    fetched: Instant,
}

/// One configured provider.
pub struct Provider {
    /// Its configuration.
    pub config: ProviderConfig,
    secret: ClientSecret,
    http: ProviderHttp,
    discovered: tokio::sync::Mutex<Option<Discovered>>,
}

impl Provider {
    /// The provider of `config`; reads its client secret file.
    pub fn new(config: ProviderConfig) -> anyhow::Result<Provider> {
        use anyhow::Context;
        let secret = std::fs::read_to_string(&config.client_secret_file).with_context(|| {
            format!(
                "sso provider {}: cannot read client_secret_file {}",
                config.name,
                config.client_secret_file.display()
            )
        })?;
        let secret = secret.trim().to_owned();
        if secret.is_empty() {
            anyhow::bail!(
                "sso provider {}: {} is empty",
                config.name,
                config.client_secret_file.display()
            );
        }
        let http = ProviderHttp::new(config.ca_file.as_deref(), CALL_TIMEOUT)
            .with_context(|| format!("sso provider {}", config.name))?;
        Ok(Provider {
            config,
            secret: ClientSecret::new(secret),
            http,
            discovered: tokio::sync::Mutex::new(None),
        })
    }

    /// The origins the browser is sent to for this provider: the issuer's,
    /// and the authorization endpoint's once discovery was read.
    pub fn origins(&self) -> Vec<String> {
        let mut out = vec![origin(&self.config.issuer)];
        if let Ok(slot) = self.discovered.try_lock()
            && let Some(d) = slot.as_ref()
        {
            out.push(origin(d.metadata.authorization_endpoint().as_str()));
        }
        out
    }

    /// The discovery document and keys, read once.
    async fn metadata(&self) -> Result<(CoreProviderMetadata, CoreJsonWebKeySet), Refusal> {
        let mut slot = self.discovered.lock().await;
        if let Some(d) = slot.as_ref() {
            return Ok((d.metadata.clone(), d.jwks.clone()));
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Refusal::Unreachable(format!("issuer URL: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| Refusal::Unreachable(format!("discovery: {}", error_chain(&e))))?;
        let jwks = metadata.jwks().clone();
        *slot = Some(Discovered {
            metadata: metadata.clone(),
            jwks: jwks.clone(),
            fetched: Instant::now(),
        });
        Ok((metadata, jwks))
    }

    /// Fetches the keys again unless they were fetched within the refetch
    /// interval; `None` when it was too soon.
    async fn refetch_keys(&self) -> Result<Option<CoreJsonWebKeySet>, Refusal> {
        let mut slot = self.discovered.lock().await;
        let Some(d) = slot.as_mut() else {
            return Ok(None);
        };
        if d.fetched.elapsed() < self.config.jwks_refetch {
            return Ok(None);
        }
        let jwks = CoreJsonWebKeySet::fetch_async(d.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| Refusal::Unreachable(format!("keys: {}", error_chain(&e))))?;
        d.jwks = jwks.clone();
        d.fetched = Instant::now();
        Ok(Some(jwks))
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        Refusal,
    > {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone())
            .map_err(|e| Refusal::Unreachable(format!("redirect URL: {e}")))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(self.secret.clone()),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: a fresh `state`, `nonce` and PKCE pair.
    pub async fn authorize(&self) -> Result<Authorization, Refusal> {
        let (metadata, _) = self.metadata().await?;
        let client = self.client(metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.config.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Redeems `code` with the flow's PKCE `verifier` and validates the ID
    /// token against the flow's `nonce`.
    pub async fn redeem(&self, code: &str, verifier: &str, nonce: &str) -> Result<Person, Refusal> {
        let (metadata, jwks) = self.metadata().await?;
        let client = self.client(metadata)?;
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| Refusal::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| Refusal::Exchange(error_chain(&e)))?;
        let raw = answer
            .id_token()
            .ok_or_else(|| {
                Refusal::Token(TokenFault::Malformed, "no id_token in the answer".into())
            })?
            .to_string();
        let token: IdToken = raw
            .parse()
            .map_err(|e| Refusal::Token(TokenFault::Malformed, format!("{e}")))?;
        let nonce = Nonce::new(nonce.to_owned());
        match self.verify(&token, &nonce, jwks) {
            Err(Refusal::Token(TokenFault::UnknownKey, why)) => match self.refetch_keys().await? {
                Some(fresh) => self.verify(&token, &nonce, fresh),
                None => Err(Refusal::Token(
                    TokenFault::UnknownKey,
                    format!("{why}; the keys were fetched too recently to fetch again"),
                )),
            },
            other => other,
        }
    }

    fn verify(
        &self,
        token: &IdToken,
        nonce: &Nonce,
        jwks: CoreJsonWebKeySet,
    ) -> Result<Person, Refusal> {
        let skew = chrono::Duration::from_std(self.config.clock_skew).unwrap_or_default();
        let max_age = chrono::Duration::from_std(MAX_TOKEN_AGE).unwrap_or_default();
        let algorithms: Vec<CoreJwsSigningAlgorithm> = self
            .config
            .algorithms
            .iter()
            .filter_map(|a| serde_json::from_value(serde_json::Value::String(a.clone())).ok())
            .collect();
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| Refusal::Unreachable(format!("issuer URL: {e}")))?;
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new(self.config.client_id.clone()),
            issuer,
            jwks,
        )
        .set_allowed_algs(algorithms)
        .set_time_fn(move || chrono::Utc::now() - skew)
        .set_issue_time_verifier_fn(move |iat| {
            let now = chrono::Utc::now();
            if iat > now + skew {
                Err(format!("issued in the future ({iat})"))
            } else if iat < now - max_age - skew {
                Err(format!("issued too long ago ({iat})"))
            } else {
                Ok(())
            }
        });
        let claims = token
            .claims(&verifier, nonce)
            .map_err(|e| Refusal::Token(classify(&e), e.to_string()))?;
        let other = &claims.additional_claims().0;
        let text = |name: &str| -> Option<String> {
            match name {
                "preferred_username" => claims.preferred_username().map(|u| u.to_string()),
                "email" => claims.email().map(|e| e.to_string()),
                "sub" => Some(claims.subject().to_string()),
                other_name => other
                    .get(other_name)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            }
        };
        let groups = other
            .get(&self.config.groups_claim)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Person {
            subject: claims.subject().to_string(),
            username: text(&self.config.username_claim),
            groups,
            amr: claims
                .auth_method_refs()
                .map(|v| v.iter().map(|a| a.to_string()).collect())
                .unwrap_or_default(),
            acr: claims.auth_context_ref().map(|a| a.to_string()),
        })
    }
}

/// `scheme://host[:port]` of `url`.
fn origin(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => String::new(),
    }
}

/// An error with its sources, on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(300).collect()
}
