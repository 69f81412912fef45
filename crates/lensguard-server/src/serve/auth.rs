//! Authentication and authorization as an extractor: a handler that takes
//! `Auth<S>` runs only for a caller holding scope `S`.
//!
//! Credentials: `Authorization: Bearer` with an API key (`lg_<id>_<secret>`) or a
//! user session (`lgs_<id>_<secret>`, whose scopes are the user's role). Missing,
//! unknown, revoked or expired credentials answer 401; valid credentials without
//! the scope, or a key used from outside its network allowlist, answer 403. Every
//! refusal is audited first; if the audit log cannot take it, the answer is 503
//! instead (fail closed). The client address is the TCP peer, or, when the peer is
//! a configured trusted proxy, the nearest untrusted `X-Forwarded-For` hop.
//! Each credential gets a token bucket (`http.rate_limit_per_second`, `rate_limit_burst`);
//! past it the answer is 429 with `Retry-After`, before the scope check (rate-limit
//! refusals are not written to the audit log, so a flood cannot flood it).

use super::http::{RequestId, audit_unavailable, error, too_many_requests};
use super::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use lensguard_core::access::{Granted, authorize, needs::Needs};
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::db::{KeyCheck, SESSION_PREFIX};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};

/// Who is calling, and proof they hold `S`.
pub struct Auth<S: Needs> {
    /// The capability.
    pub granted: Granted<S>,
    /// The request's context, for audit events.
    pub ctx: RequestCtx,
}

/// Request facts every audit event carries.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The request id.
    pub request_id: String,
    /// The client address.
    pub ip: IpAddr,
}

impl RequestCtx {
    /// An audit event for this request.
    pub fn event(&self, actor: impl Into<String>, action: &str) -> AuditEvent {
        AuditEvent {
            source_ip: Some(self.ip.to_string()),
            request_id: Some(self.request_id.clone()),
            ..AuditEvent::new(time::OffsetDateTime::now_utc(), actor, action)
        }
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` address that is not itself a
/// trusted proxy (addresses to its left could be written by anyone).
fn client_ip(parts: &Parts, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for value in parts.headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        for item in text.split(',') {
            match item.trim().parse::<IpAddr>() {
                Ok(ip) => hops.push(ip),
                // A malformed list is not evidence of anything: use the peer.
                Err(_) => return peer,
            }
        }
    }
    hops.into_iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .unwrap_or(peer)
}

/// The request's id and client address.
pub fn context(parts: &Parts, state: &AppState) -> RequestCtx {
    RequestCtx {
        request_id: parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        ip: client_ip(parts, &state.trusted_proxies),
    }
}

/// The bearer token, if the request has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Public routes take this to get the request's context.
impl axum::extract::FromRequestParts<AppState> for RequestCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(context(parts, state))
    }
}

impl<S: Needs> axum::extract::FromRequestParts<AppState> for Auth<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let token = bearer(parts).map(str::to_owned);
        let rid = RequestId(context(parts, state).request_id);
        gate::<S>(parts, state, token.as_deref())
            .await
            .map_err(|refused| refused.json(&rid))
    }
}

/// A request the gate refused, after the refusal was audited (or could not
/// be: then it is the 503 `audit_unavailable`).
#[derive(Debug)]
pub struct Refused {
    /// 401, 403, 429 or 503.
    pub status: StatusCode,
    /// The error code the API answers.
    pub code: &'static str,
    /// What the caller is told.
    pub message: String,
    /// For a 429: seconds to wait.
    pub retry_after: Option<u64>,
}

impl Refused {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Refused {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    fn too_many(message: impl Into<String>, wait: u64) -> Self {
        Refused {
            retry_after: Some(wait),
            ..Refused::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }

    /// The API's JSON answer.
    pub fn json(self, rid: &RequestId) -> Response {
        match self.retry_after {
            Some(wait) => too_many_requests(&self.message, wait, rid),
            None => error(self.status, self.code, self.message, rid),
        }
    }
}

/// The one check every API route and console page passes through: `token`
/// (a key or a session, however the request carried it) is authenticated,
/// rate-limited, and must hold `S`. Every refusal is audited first (503 if it
/// cannot be), and past the per-address bound only counted (429).
pub async fn gate<S: Needs>(
    parts: &Parts,
    state: &AppState,
    token: Option<&str>,
) -> Result<Auth<S>, Refused> {
    let ctx = context(parts, state);
    let action = format!("auth.{}", S::SCOPE.map_or("any", |s| s.as_str()));
    let refuse = |r: Refusal| {
        let admitted = state.refusals.admit(ctx.ip);
        let outcome = r.outcome();
        let event = ctx
            .event(r.actor.clone(), &action)
            .outcome(outcome, Some(r.message.clone()));
        async move {
            if let Err(wait) = admitted {
                return Refused::too_many("too many refused requests from this address", wait);
            }
            match state.audit(event).await {
                Ok(()) => Refused::new(r.status, r.code(), r.message),
                Err(_) => Refused::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "audit_unavailable",
                    "the audit log cannot record this request",
                ),
            }
        }
    };
    let Some(token) = token else {
        let missing = "missing credentials (Authorization: Bearer <API key or session token>)";
        return Err(refuse(Refusal::unauthenticated(missing, "anonymous")).await);
    };
    let now = time::OffsetDateTime::now_utc();
    let session = token.starts_with(SESSION_PREFIX);
    let (kind, label) = if session {
        ("session", "session")
    } else {
        ("API key", "key")
    };
    let checked = if session {
        state.db.authenticate_session(token, now).await
    } else {
        state.db.authenticate_key(token, ctx.ip, now).await
    };
    let principal = match checked {
        Ok(KeyCheck::Valid(p)) => p,
        Ok(KeyCheck::Invalid) => {
            return Err(refuse(Refusal::unauthenticated("invalid credentials", "anonymous")).await);
        }
        Ok(KeyCheck::Revoked(id)) => {
            let message = format!("this {kind} was revoked");
            let r = Refusal::unauthenticated(&message, &format!("{label}:{id}"));
            return Err(refuse(r).await);
        }
        Ok(KeyCheck::Expired(id)) => {
            let message = format!("this {kind} has expired");
            let r = Refusal::unauthenticated(&message, &format!("{label}:{id}"));
            return Err(refuse(r).await);
        }
        Ok(KeyCheck::OwnerDisabled(id)) => {
            let message = "this API key's owner is disabled";
            let r = Refusal::unauthenticated(message, &format!("key:{id}"));
            return Err(refuse(r).await);
        }
        Ok(KeyCheck::NetworkNotAllowed(id)) => {
            let message = format!("this API key may not be used from {}", ctx.ip);
            return Err(refuse(Refusal::forbidden(message, format!("key:{id}"))).await);
        }
        Err(_) => {
            return Err(Refused::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "credentials cannot be checked right now",
            ));
        }
    };
    if let Err(not_until) = state.rate.check_key(&principal.actor.to_string()) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(Refused::too_many(
            format!("too many requests for this {kind}"),
            seconds,
        ));
    }
    match authorize::<S>(principal) {
        Ok(granted) => {
            if let Some(slot) = parts.extensions.get::<CallerSlot>() {
                let _ = slot.0.set(Caller {
                    actor: granted.principal().actor.to_string(),
                    ctx: ctx.clone(),
                });
            }
            Ok(Auth { granted, ctx })
        }
        Err(denied) => {
            let message = format!("this {kind} lacks the scope {}", denied.needed);
            Err(refuse(Refusal::forbidden(message, denied.actor.to_string())).await)
        }
    }
}

/// Records a successful read by an authenticated caller before it is
/// answered (every route that reads data does; `GET /metrics` alone does not,
/// see docs/service.md); `Err` is the 503 to send when the
/// audit log cannot take it.
pub async fn audit_read<S: lensguard_core::access::needs::Needs>(
    state: &AppState,
    auth: &Auth<S>,
    action: &str,
    target: String,
    reason: Option<String>,
) -> Result<(), Response> {
    let actor = auth.granted.principal().actor.to_string();
    let event = auth
        .ctx
        .event(actor, action)
        .target(target)
        .outcome(Outcome::Success, reason);
    state
        .audit(event)
        .await
        .map_err(|_| audit_unavailable(&RequestId(auth.ctx.request_id.clone())))
}

/// An authenticated caller, as the audit log names them.
#[derive(Debug, Clone)]
struct Caller {
    actor: String,
    ctx: RequestCtx,
}

/// Where [`Auth`] leaves the caller for [`audit_body_refusals`].
#[derive(Debug, Clone, Default)]
struct CallerSlot(Arc<OnceLock<Caller>>);

/// Refusals of a request's body (413 too large, 415 wrong media type) come
/// after the caller was authenticated, from the handler or the body limit;
/// this middleware records each one for an authenticated caller before the
/// answer leaves (`request.refused`, outcome `failure`, with the status,
/// method and route), and answers 503 instead when the audit log cannot take
/// it. Refusals to callers without valid credentials are the 401s above.
pub async fn audit_body_refusals(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let what = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    let status = response.status();
    if status != StatusCode::PAYLOAD_TOO_LARGE && status != StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return response;
    }
    let Some(caller) = slot.0.get() else {
        return response;
    };
    let event = caller
        .ctx
        .event(caller.actor.clone(), "request.refused")
        .target(what)
        .outcome(Outcome::Failure, Some(format!("answered {status}")));
    match state.audit(event).await {
        Ok(()) => response,
        Err(_) => audit_unavailable(&RequestId(caller.ctx.request_id.clone())),
    }
}

/// Why a request is refused: 401 (who are you?) or 403 (not you, not this).
struct Refusal {
    status: StatusCode,
    message: String,
    actor: String,
}

impl Refusal {
    fn unauthenticated(message: &str, actor: &str) -> Self {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            message: message.to_owned(),
            actor: actor.to_owned(),
        }
    }

    fn forbidden(message: String, actor: String) -> Self {
        Refusal {
            status: StatusCode::FORBIDDEN,
            message,
            actor,
        }
    }

    fn code(&self) -> &'static str {
        if self.status == StatusCode::UNAUTHORIZED {
            "unauthenticated"
        } else {
            "forbidden"
        }
    }

    /// Failed authentication is a `failure`; a known caller refused is `denied`.
    fn outcome(&self) -> Outcome {
        if self.status == StatusCode::UNAUTHORIZED {
            Outcome::Failure
        } else {
            Outcome::Denied
        }
    }
}

/// Whether `principal` may read what `device` sent: its device scope
/// permits it, or it has none. Outside the scope an inspection is answered
/// as if it did not exist.
pub fn may_read_device(
    principal: &lensguard_core::access::Principal,
    device: Option<&str>,
) -> bool {
    principal
        .devices
        .as_ref()
        .is_none_or(|scope| scope.permits(device))
}
