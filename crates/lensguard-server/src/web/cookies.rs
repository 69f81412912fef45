//! The console's cookies, on the edge and on the hub: the session cookie and
//! the browser cookie that binds the sign-in form's token. Both are
//! `__Host-` cookies (`Secure; Path=/`, no `Domain`), `HttpOnly` and
//! `SameSite=Strict`.

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The session cookie.
pub const SESSION_COOKIE: &str = "__Host-lensguard-session";
/// A random value per browser that binds the sign-in form's token.
pub const BROWSER_COOKIE: &str = "__Host-lensguard-browser";

/// The value of cookie `name`, if the request has it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for `name=value` with the console's attributes; `max_age`
/// `Some(0)` deletes it, `None` makes it end with the browser.
pub fn set_cookie(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

/// A browser not signed in yet: its binding for form tokens (a random
/// [`BROWSER_COOKIE`], set on its first visit) and whether the request came
/// from this origin. Its forms carry the token of the binding.
pub struct Browser {
    binding: String,
    new_cookie: Option<HeaderValue>,
    origin: Result<(), &'static str>,
}

impl Browser {
    /// The browser that sent `parts`.
    pub fn of(parts: &Parts) -> Browser {
        let existing = cookie(&parts.headers, BROWSER_COOKIE)
            .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        let (binding, new_cookie) = match existing {
            Some(b) => (b.to_owned(), None),
            None => {
                let b = hex::encode(uuid::Uuid::new_v4().as_bytes());
                let c = set_cookie(BROWSER_COOKIE, &b, None);
                (b, Some(c))
            }
        };
        Browser {
            binding,
            new_cookie,
            origin: super::csrf::same_origin(
                &parts.headers,
                parts.uri.authority().map(|a| a.as_str()),
            ),
        }
    }

    /// The token its forms carry.
    pub fn token(&self, key: &super::csrf::CsrfKey) -> String {
        key.token(&self.binding)
    }

    /// Whether a form from this browser may be acted on; `Err` says why not.
    pub fn check_form(
        &self,
        key: &super::csrf::CsrfKey,
        presented: &str,
    ) -> Result<(), &'static str> {
        self.origin?;
        if self.new_cookie.is_some() || !key.verify(&self.binding, presented) {
            return Err("the form's token is missing or is not this browser's");
        }
        Ok(())
    }

    /// `response` with the browser cookie set, when it is new.
    pub fn with_cookie(&self, mut response: Response) -> Response {
        if let Some(c) = &self.new_cookie {
            response.headers_mut().append(header::SET_COOKIE, c.clone());
        }
        response
    }
}

/// The redirect to sign in, back to this page afterwards (GET pages only);
/// `ended` clears the refused session cookie and says the session ended.
pub fn to_sign_in(parts: &Parts, ended: bool) -> Response {
    let mut query = Vec::new();
    if ended {
        query.push("ended=1".to_owned());
    }
    if parts.method == axum::http::Method::GET
        && let Some(pq) = parts.uri.path_and_query()
    {
        query.push(format!("next={}", super::frame::url_encode(pq.as_str())));
    }
    let target = if query.is_empty() {
        "/console/sign-in".to_owned()
    } else {
        format!("/console/sign-in?{}", query.join("&"))
    };
    let mut response = Redirect::to(&target).into_response();
    if ended {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    }
    response
}
