//! The console's cookies, on the edge and on the hub: the session cookie and
//! the browser cookie that binds the sign-in form's token. Both are
//! `__Host-` cookies (`Secure; Path=/`, no `Domain`), `HttpOnly` and
//! `SameSite=Strict`.

use axum::http::{HeaderMap, HeaderValue, header};

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
