//! A new second factor, shown once: the TOTP secret and its QR code, drawn
//! on the server as SVG (the secret never leaves in a URL or to another
//! service).

use super::frame::Chrome;
use askama::Template;

/// A TOTP secret shown once, with its QR code.
#[derive(Template)]
#[template(path = "console/enrolled.html")]
pub struct EnrolledPage<'a> {
    pub chrome: Chrome,
    pub username: &'a str,
    pub secret: &'a str,
    pub qr_svg: String,
    pub next: &'a str,
}

/// The QR code of `uri` as an inline SVG element (drawn by the server: the
/// secret never leaves in a URL or to another service).
pub fn qr_svg(uri: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Drop the XML declaration; the element is embedded in the page.
    match svg.find("<svg") {
        Some(at) => svg[at..].replacen(
            "<svg",
            "<svg role=\"img\" aria-label=\"QR code of the TOTP secret\"",
            1,
        ),
        None => String::new(),
    }
}
