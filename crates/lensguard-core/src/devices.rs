//! Device scopes: which devices' inspections and evidence a credential may
//! read.
//!
//! A scope is a list of patterns: a device id (`van-12`) or a prefix ending
//! in `*` (`van-*`). A credential without a scope reads every device; one
//! with a scope reads only inspections whose device id one of its patterns
//! matches (an inspection submitted without a device id matches none).
//!
//! Invariant: a pattern is 1 to 128 characters of `A-Z a-z 0-9 . _ : -`
//! (the device id alphabet), optionally followed by one `*`, so it can be
//! stored space-separated and shown in a terminal as it is.

use std::fmt;

/// A credential's device patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceScope {
    patterns: Vec<String>,
}

/// Whether `c` may appear in a device id.
fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')
}

impl DeviceScope {
    /// The scope of `patterns`; an error names the first bad one.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<DeviceScope, String> {
        if patterns.is_empty() {
            return Err("a device scope needs at least one device id or prefix*".to_owned());
        }
        let mut out = Vec::with_capacity(patterns.len());
        for p in patterns {
            let p = p.as_ref();
            let stem = p.strip_suffix('*').unwrap_or(p);
            let ok = (p.ends_with('*') || !stem.is_empty())
                && stem.len() <= 128
                && stem.chars().all(id_char);
            if !ok {
                return Err(format!(
                    "{:?} is not a device id or prefix* (1 to 128 of A-Z a-z 0-9 . _ : -, then an optional *)",
                    crate::text::printable(p)
                ));
            }
            out.push(p.to_owned());
        }
        out.sort();
        out.dedup();
        Ok(DeviceScope { patterns: out })
    }

    /// The scope stored as `text` (patterns separated by spaces).
    pub fn parse(text: &str) -> Result<DeviceScope, String> {
        DeviceScope::new(&text.split_whitespace().collect::<Vec<_>>())
    }

    /// The patterns.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the scope lets its holder read what device `device` sent.
    pub fn permits(&self, device: Option<&str>) -> bool {
        let Some(device) = device else {
            return false;
        };
        self.patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => device.starts_with(prefix),
            None => device == p,
        })
    }

    /// Whether every device this scope permits, `wider` permits too (so a
    /// credential with `wider` may hand this scope out).
    pub fn within(&self, wider: &DeviceScope) -> bool {
        self.patterns.iter().all(|p| {
            wider.patterns.iter().any(|w| match w.strip_suffix('*') {
                Some(prefix) => p.starts_with(prefix),
                None => p == w,
            })
        })
    }
}

impl fmt::Display for DeviceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.patterns.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_ids_and_prefixes_and_nest() {
        let vans = DeviceScope::new(&["van-*", "depot-3"]).expect("valid");
        assert!(vans.permits(Some("van-12")));
        assert!(vans.permits(Some("depot-3")));
        assert!(!vans.permits(Some("depot-31")));
        assert!(!vans.permits(Some("truck-1")));
        assert!(!vans.permits(None), "no device id, no match");
        let one = DeviceScope::new(&["van-1*"]).expect("valid");
        assert!(one.within(&vans));
        assert!(!vans.within(&one));
        assert!(!DeviceScope::new(&["*"]).expect("all").within(&vans));
        assert!(DeviceScope::new(&["van-12"]).expect("one").within(&vans));
        assert_eq!(
            DeviceScope::parse(&vans.to_string()).expect("round trip"),
            vans
        );
        for bad in ["", "van 1", "van-*-x*", "a\u{1b}[2J", "**"] {
            assert!(DeviceScope::new(&[bad]).is_err(), "{bad:?}");
        }
        assert!(DeviceScope::new::<&str>(&[]).is_err());
    }
}
