//! The console's static files, compiled into the binary: its own style
//! sheet and script, and the vendored libraries (htmx 2.0.11, uPlot 1.6.32),
//! each pinned by version. Pages load them with Subresource Integrity
//! (`integrity="sha384-..."`), computed here from the very bytes served;
//! `scripts/check-vendored-js` compares the vendored files with the packages
//! published on npm (see `assets/console/vendor/README.md`).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha384};
use std::sync::LazyLock;

/// One static file.
pub struct Asset {
    /// Its name under `/console/assets/`.
    pub name: &'static str,
    /// Its media type.
    pub kind: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Every file the console serves.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "console.css",
        kind: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/console/console.css"),
    },
    Asset {
        name: "favicon.svg",
        kind: "image/svg+xml",
        bytes: include_bytes!("../../assets/console/favicon.svg"),
    },
    Asset {
        name: "console.js",
        kind: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/console.js"),
    },
    Asset {
        name: "htmx-2.0.11.min.js",
        kind: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/vendor/htmx-2.0.11.min.js"),
    },
    Asset {
        name: "uPlot-1.6.32.iife.min.js",
        kind: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/console/vendor/uPlot-1.6.32.iife.min.js"),
    },
    Asset {
        name: "uPlot-1.6.32.min.css",
        kind: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/console/vendor/uPlot-1.6.32.min.css"),
    },
];

/// `sha384-<base64>` of each asset, in [`ASSETS`] order.
static INTEGRITY: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| {
            let digest = Sha384::digest(a.bytes);
            format!(
                "sha384-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect()
});

/// The Subresource Integrity value of asset `name` (empty if there is none).
pub fn integrity(name: &str) -> &'static str {
    ASSETS
        .iter()
        .position(|a| a.name == name)
        .and_then(|i| INTEGRITY.get(i))
        .map_or("", String::as_str)
}

/// `GET /console/assets/{name}`: immutable (the names carry versions or
/// change with the binary), cacheable by the browser only.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_an_integrity_value_of_its_bytes() {
        for a in ASSETS {
            let sri = integrity(a.name);
            assert!(
                sri.starts_with("sha384-") && sri.len() == 7 + 64,
                "{}",
                a.name
            );
        }
        assert_eq!(integrity("missing.js"), "");
    }

    #[test]
    fn the_vendored_files_served_are_the_pinned_ones() {
        let pins = include_str!("../../assets/console/vendor/PINS");
        let mut checked = 0;
        for line in pins
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, _, file, pinned] = fields[..] else {
                panic!("malformed PINS line: {line}");
            };
            assert_eq!(integrity(file), pinned, "{file}");
            checked += 1;
        }
        assert_eq!(checked, 3);
    }
}
