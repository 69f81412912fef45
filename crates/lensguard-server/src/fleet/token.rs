//! The enrolment token as an operator copies it: `lgenroll.<id>.<secret>.<ca>`
//! where `<ca>` is the SHA-256 of the hub CA certificate (DER), hex. The hub
//! sees only `<id>.<secret>`; the edge uses `<ca>` to pin the hub on first
//! contact, so a token copied onto an edge is all it needs to trust the right
//! hub and nothing else.

/// The prefix of every enrolment token.
pub const PREFIX: &str = "lgenroll";

/// A parsed enrolment token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentToken {
    /// The token's id.
    pub id: String,
    /// Its secret.
    pub secret: String,
    /// The hub CA's SHA-256, 32 bytes.
    pub ca_sha256: [u8; 32],
}

impl EnrolmentToken {
    /// The text form.
    pub fn render(&self) -> String {
        format!(
            "{PREFIX}.{}.{}.{}",
            self.id,
            self.secret,
            hex::encode(self.ca_sha256)
        )
    }

    /// Parses the text form.
    pub fn parse(text: &str) -> Result<EnrolmentToken, String> {
        let bad = || {
            "an enrolment token looks like lgenroll.<id>.<secret>.<ca-sha256>; copy it whole from `lensguard hub enroll`".to_owned()
        };
        let mut parts = text.trim().split('.');
        let (Some(PREFIX), Some(id), Some(secret), Some(ca), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let hexish = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hexish(id, 32) || !hexish(secret, 64) || !hexish(ca, 64) {
            return Err(bad());
        }
        let ca_sha256 = hex::decode(ca)
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(bad)?;
        Ok(EnrolmentToken {
            id: id.to_owned(),
            secret: secret.to_owned(),
            ca_sha256,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_malformed_ones_are_refused() {
        let t = EnrolmentToken {
            id: "a".repeat(32),
            secret: "b".repeat(64),
            ca_sha256: [7; 32],
        };
        assert_eq!(EnrolmentToken::parse(&t.render()), Ok(t.clone()));
        let text = t.render();
        for bad in [
            "",
            "lgenroll",
            &text[..text.len() - 1],
            &text.replace("lgenroll", "lgenrol"),
            &format!("{text}.x"),
            &text.replace('a', "z"),
        ] {
            assert!(EnrolmentToken::parse(bad).is_err(), "{bad}");
        }
    }
}
