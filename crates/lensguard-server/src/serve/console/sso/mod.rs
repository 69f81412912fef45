//! Signing in to the console through the organisation's OpenID providers.
//!
//! The flow: the sign-in page's provider button posts here (CSRF-checked);
//! [`start`] keeps a [`Pending`] sign-in under its `state` and sends the
//! browser to the provider with a `SameSite=Lax` flow cookie ([`FLOW_COOKIE`]);
//! [`callback`] takes the pending sign-in out (once), checks that the flow
//! cookie is the one it was started with, redeems the code with the PKCE
//! verifier, validates the ID token ([`crate::oidc`]), finds or creates the
//! person's user (just in time, or SCIM-provisioned only), checks the second
//! factor their role needs, audits, and opens a session that carries the
//! provider and subject. A TOTP step-up ([`step_up`]) comes between when the
//! provider's assertion is not what proves the second factor.
//!
//! Invariants:
//! - A `state` works once and for [`FLOW_TTL`]; at most [`MAX_PENDING`]
//!   sign-ins wait at a time (the oldest go first).
//! - Every refusal is audited (`auth.login`, failure, with the provider and
//!   why) before the browser hears that sign-in failed, and says no more to
//!   the browser than that.
//! - Sessions opened here last at most `[sso] session_hours`.
//! - The session cookie is set on a page of this origin that then moves on
//!   (a `SameSite=Strict` cookie is not sent on a redirect chain that began
//!   at the provider).

mod flow;
mod step_up;

pub use flow::{callback, start};
pub use step_up::{step_up_form, step_up_submit};

use super::page::Visitor;
use super::render::{self, Chrome};
use crate::oidc::Provider;
use lensguard_core::Sensitive;
use lensguard_core::config::sso::SsoConfig;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The cookie that binds a sign-in to the browser that started it.
pub const FLOW_COOKIE: &str = "__Host-lensguard-sso";
/// How long a started sign-in may take.
pub const FLOW_TTL: Duration = Duration::from_secs(600);
/// The most sign-ins waiting at once.
pub const MAX_PENDING: usize = 10_000;

/// A sign-in sent to a provider, waiting for its callback.
struct Pending {
    provider: String,
    flow: String,
    nonce: String,
    verifier: String,
    next: String,
    started: Instant,
}

/// A person the provider vouched for, waiting for their TOTP code.
#[derive(Clone)]
struct StepUp {
    user_id: String,
    provider: String,
    subject: String,
    next: String,
    started: Instant,
    /// A first-time TOTP secret and its `otpauth://` URI, kept while this
    /// step-up lasts so the form shows the same one when reloaded.
    enrolment: Option<(Sensitive<String>, Sensitive<String>)>,
}

/// Single sign-on: the configuration, the providers and the sign-ins under
/// way.
pub struct SsoState {
    /// `[sso]`.
    pub config: SsoConfig,
    providers: Vec<Arc<Provider>>,
    pending: Mutex<HashMap<String, Pending>>,
    step_ups: Mutex<HashMap<String, StepUp>>,
}

impl SsoState {
    /// The state of `config`; reads every provider's client secret.
    pub fn new(config: SsoConfig) -> anyhow::Result<SsoState> {
        let providers = config
            .providers
            .iter()
            .map(|p| Provider::new(p.clone()).map(Arc::new))
            .collect::<anyhow::Result<_>>()?;
        Ok(SsoState {
            config,
            providers,
            pending: Mutex::new(HashMap::new()),
            step_ups: Mutex::new(HashMap::new()),
        })
    }

    /// `(name, label)` of every provider, for the sign-in page.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.config.name.clone(), p.config.label.clone()))
            .collect()
    }

    /// Where the sign-in page's provider buttons may lead.
    pub fn form_targets(&self) -> Vec<String> {
        self.providers.iter().flat_map(|p| p.origins()).collect()
    }

    fn provider(&self, name: &str) -> Option<Arc<Provider>> {
        self.providers
            .iter()
            .find(|p| p.config.name == name)
            .cloned()
    }

    fn keep(&self, state: String, pending: Pending) {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, p| p.started.elapsed() < FLOW_TTL);
        if map.len() >= MAX_PENDING
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, p)| p.started)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(state, pending);
    }

    fn take(&self, state: &str) -> Option<Pending> {
        let mut map = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(state).filter(|p| p.started.elapsed() < FLOW_TTL)
    }

    fn keep_step_up(&self, flow: String, step_up: StepUp) {
        let mut map = self.step_ups.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.started.elapsed() < FLOW_TTL);
        if map.len() < MAX_PENDING {
            map.insert(flow, step_up);
        }
    }

    fn step_up(&self, flow: &str) -> Option<StepUp> {
        let map = self.step_ups.lock().unwrap_or_else(|p| p.into_inner());
        map.get(flow)
            .filter(|s| s.started.elapsed() < FLOW_TTL)
            .cloned()
    }

    fn remember_enrolment(&self, flow: &str, secret: Sensitive<String>, uri: Sensitive<String>) {
        let mut map = self.step_ups.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = map.get_mut(flow) {
            s.enrolment = Some((secret, uri));
        }
    }

    fn end_step_up(&self, flow: &str) {
        let mut map = self.step_ups.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(flow);
    }

    fn lifetime(&self) -> time::Duration {
        time::Duration::try_from(self.config.session_lifetime).unwrap_or(time::Duration::HOUR)
    }
}

/// The frame of a page for someone not signed in.
fn chrome(visitor: &Visitor) -> Chrome {
    Chrome {
        csrf: visitor.csrf.clone(),
        ..Chrome::default()
    }
}

/// 403: a form the CSRF checks refused (`why`).
fn form_refused(visitor: &Visitor, why: &str) -> axum::response::Response {
    visitor.with_cookie(render::error_page(
        &chrome(visitor),
        axum::http::StatusCode::FORBIDDEN,
        "Form refused",
        &format!("{why}. Reload the page and send the form again."),
    ))
}

/// `Set-Cookie` for the flow cookie (`SameSite=Lax`: it must come back on
/// the provider's redirect); `None` deletes it.
fn flow_cookie(value: Option<&str>) -> axum::http::HeaderValue {
    let text = match value {
        Some(v) => format!(
            "{FLOW_COOKIE}={v}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={}",
            FLOW_TTL.as_secs()
        ),
        None => format!("{FLOW_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0"),
    };
    axum::http::HeaderValue::from_str(&text)
        .unwrap_or_else(|_| axum::http::HeaderValue::from_static("x=; Max-Age=0"))
}
