//! Authentication and authorization as an extractor: a handler that takes
//! `Auth<S>` runs only for a caller holding scope `S`.
//!
//! Credentials: `Authorization: Bearer lg_<id>_<secret>`. Missing, unknown,
//! revoked or expired credentials answer 401; a valid key without the scope, or
//! used from outside its network allowlist, answers 403. Every refusal is audited
//! first; if the audit log cannot take it, the answer is 503 instead (fail closed).
//! The client address is the TCP peer (forwarded headers are not trusted).
//! Each key gets a token bucket (`http.rate_limit_per_second`, `rate_limit_burst`);
//! past it the answer is 429 with `Retry-After`, before the scope check (rate-limit
//! refusals are not written to the audit log, so a flood cannot flood it).

use super::http::{RequestId, audit_unavailable, error};
use super::state::AppState;
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use lensguard_core::access::{Granted, authorize, needs::Needs};
use lensguard_store::audit::{AuditEvent, Outcome};
use lensguard_store::db::KeyCheck;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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

fn context(parts: &Parts) -> RequestCtx {
    RequestCtx {
        request_id: parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl<S: Needs> axum::extract::FromRequestParts<AppState> for Auth<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let ctx = context(parts);
        let rid = RequestId(ctx.request_id.clone());
        let action = format!("auth.{}", S::SCOPE.map_or("any", |s| s.as_str()));
        // Every refusal goes through here: audited first, 503 if it cannot be.
        let refuse = |r: Refusal| {
            let outcome = r.outcome();
            let event = ctx
                .event(r.actor.clone(), &action)
                .outcome(outcome, Some(r.message.clone()));
            let rid = rid.clone();
            async move {
                match state.audit(event).await {
                    Ok(()) => error(r.status, r.code(), r.message, &rid),
                    Err(_) => audit_unavailable(&rid),
                }
            }
        };
        let Some(token) = bearer(parts) else {
            let missing = "missing credentials (Authorization: Bearer <API key>)";
            return Err(refuse(Refusal::unauthenticated(missing, "anonymous")).await);
        };
        let now = time::OffsetDateTime::now_utc();
        let principal = match state.db.authenticate_key(token, ctx.ip, now).await {
            Ok(KeyCheck::Valid(p)) => p,
            Ok(KeyCheck::Invalid) => {
                return Err(
                    refuse(Refusal::unauthenticated("invalid credentials", "anonymous")).await,
                );
            }
            Ok(KeyCheck::Revoked(id)) => {
                let r = Refusal::unauthenticated("this API key was revoked", &format!("key:{id}"));
                return Err(refuse(r).await);
            }
            Ok(KeyCheck::Expired(id)) => {
                let r = Refusal::unauthenticated("this API key has expired", &format!("key:{id}"));
                return Err(refuse(r).await);
            }
            Ok(KeyCheck::NetworkNotAllowed(id)) => {
                let message = format!("this API key may not be used from {}", ctx.ip);
                return Err(refuse(Refusal::forbidden(message, format!("key:{id}"))).await);
            }
            Err(_) => {
                return Err(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "credentials cannot be checked right now",
                    &rid,
                ));
            }
        };
        if let Err(not_until) = state.rate.check_key(&principal.actor.to_string()) {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests for this API key",
                &rid,
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&seconds.max(1).to_string()) {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return Err(r);
        }
        match authorize::<S>(principal) {
            Ok(granted) => Ok(Auth { granted, ctx }),
            Err(denied) => {
                let message = format!("this API key lacks the scope {}", denied.needed);
                Err(refuse(Refusal::forbidden(message, denied.actor.to_string())).await)
            }
        }
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
