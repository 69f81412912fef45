//! What the edge's console and the hub's console share: the frame of every
//! page ([`frame`]), the static files ([`assets`]), the cookies
//! ([`cookies`]), the form checks ([`csrf`]), a new second factor's page
//! ([`enrolment`]), the sign-in and users pages ([`sign_in`], [`users`])
//! and the response headers every console page carries
//! ([`policy_headers`]). Neutral: nothing here knows which service serves
//! it.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod enrolment;
pub mod frame;
pub mod sign_in;
pub mod users;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

/// How a session's client is recorded: its address and user agent (at most
/// 160 characters of the agent).
pub fn client_label(ip: std::net::IpAddr, headers: &axum::http::HeaderMap) -> String {
    let agent: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(160)
        .collect();
    format!("{ip} {agent}")
}

/// [`CSP`] with `form-action` widened to `origins` as well: the sign-in
/// page, whose provider buttons post here and are redirected on to an
/// identity provider (browsers hold redirects after a form to
/// `form-action` too). Origins that are not plain `https://host[:port]` are
/// left out.
pub fn csp_with_form_targets(origins: &[String]) -> HeaderValue {
    let mut targets = vec!["'self'".to_owned()];
    for o in origins {
        let plain = o.strip_prefix("https://").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
        if plain && !targets.contains(o) {
            targets.push(o.clone());
        }
    }
    let csp = CSP.replace(
        "form-action 'self'",
        &format!("form-action {}", targets.join(" ")),
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(CSP))
}

/// Adds the console's Content-Security-Policy (unless the page set its own,
/// [`csp_with_form_targets`]), framing refusal and referrer policy.
pub async fn policy_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Same-origin requests carry the page as referrer and their real Origin
    // (with `no-referrer`, a browser sends `Origin: null` on form posts);
    // nothing leaks to other sites.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_widen_only_form_action_and_only_with_plain_origins() {
        let csp = csp_with_form_targets(&[
            "https://idp.example:8443".to_owned(),
            "https://evil.example; script-src *".to_owned(),
            "http://plain.example".to_owned(),
        ]);
        let csp = csp.to_str().unwrap();
        assert!(
            csp.contains("form-action 'self' https://idp.example:8443;"),
            "{csp}"
        );
        assert!(
            !csp.contains("evil") && !csp.contains("plain.example"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"), "{csp}");
    }
}
