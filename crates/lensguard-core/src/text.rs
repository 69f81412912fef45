//! Free text from people (key names, reasons) on its way in and out.
//!
//! Names and reasons are refused at the API and the command line when they
//! hold a control character ([`has_control`]): an escape sequence in a key's
//! name would otherwise reach an operator's terminal through `keys list`,
//! and a newline would split a listing line. Anything printed from stored
//! data goes through [`printable`] as well, so text stored before the check,
//! or by another path, still cannot steer a terminal.

use std::borrow::Cow;

/// Whether `text` holds a control character (C0, DEL or C1: ESC, newline,
/// carriage return, backspace, ...).
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `text` with every control character written as a visible `\u{..}`
/// escape; text without one is returned as it is.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !has_control(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_and_shown_escaped() {
        let attack = "cam\u{1b}[2J\u{1b}[Hall keys revoked\nkey 2\r\u{7f}\u{9b}";
        assert!(has_control(attack));
        let shown = printable(attack);
        assert!(!has_control(&shown), "{shown}");
        assert_eq!(
            shown,
            "cam\\u{1b}[2J\\u{1b}[Hall keys revoked\\u{a}key 2\\u{d}\\u{7f}\\u{9b}"
        );
        assert!(!has_control("order #4711 — Zürich"));
        assert!(matches!(printable("line 3"), Cow::Borrowed("line 3")));
    }
}
