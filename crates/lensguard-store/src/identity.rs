//! What every identity store shares, whichever database holds its users
//! (the edge's SQLite [`crate::db`], the hub's SQLite or PostgreSQL
//! [`crate::hub`]): login names and password rules, argon2id password
//! hashes, TOTP secrets and codes, session tokens, and why a login was
//! refused.
//!
//! Invariants:
//! - Passwords are stored only as argon2id PHC strings (RustCrypto defaults:
//!   19 MiB, 2 passes, 1 lane, random 16-byte salt); verification runs off the
//!   async runtime, and an unknown name costs the same as a wrong password
//!   ([`verify_decoy`]).
//! - A TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) is accepted for the
//!   current step and one step either side, and only for a step later than
//!   the last one used ([`matching_step`]); the store spends the step in the
//!   same statement that checks it, so a code works once.
//! - TOTP secrets are sealed by the installation's key, bound to the user id
//!   ([`totp_context`]).
//! - Session tokens are `lgs_<id>_<secret>`: the id is public (12 hex
//!   digits), only the secret's SHA-256 is stored.

use crate::Error;
use crate::secrets::random_bytes;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use aws_lc_rs::constant_time::verify_slices_are_equal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lensguard_core::Sensitive;
use std::sync::OnceLock;
use totp_rs::{Algorithm, TOTP};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 12;
/// Longest password accepted (bounds the hashing work an attacker can ask for).
pub const MAX_PASSWORD: usize = 1024;
/// Seconds per TOTP step.
pub const TOTP_STEP: i64 = 30;
/// Every session token starts with this.
pub const SESSION_PREFIX: &str = "lgs_";

/// Why a login was refused. Clients are told only "invalid credentials"; the
/// audit log gets the detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefusal {
    /// No user by that name.
    UnknownUser,
    /// The password is wrong.
    WrongPassword(String),
    /// The user is disabled.
    Disabled(String),
    /// The TOTP code is wrong or out of its window.
    WrongCode(String),
    /// The TOTP code was right but already used.
    ReusedCode(String),
}

impl LoginRefusal {
    /// The user id, when the name was known.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            LoginRefusal::UnknownUser => None,
            LoginRefusal::WrongPassword(id)
            | LoginRefusal::Disabled(id)
            | LoginRefusal::WrongCode(id)
            | LoginRefusal::ReusedCode(id) => Some(id),
        }
    }

    /// For the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            LoginRefusal::UnknownUser => "unknown user",
            LoginRefusal::WrongPassword(_) => "wrong password",
            LoginRefusal::Disabled(_) => "user disabled",
            LoginRefusal::WrongCode(_) => "wrong TOTP code",
            LoginRefusal::ReusedCode(_) => "TOTP code already used",
        }
    }
}

/// Checks a login name.
pub fn check_username(name: &str) -> Result<(), Error> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Rejected(
            "a user name is 1-64 characters of a-z, 0-9, '.', '_', '-' and '@'".to_owned(),
        ))
    }
}

/// Checks a password's length.
pub fn check_password(password: &str) -> Result<(), Error> {
    let n = password.chars().count();
    if n < MIN_PASSWORD {
        return Err(Error::Rejected(format!(
            "a password needs at least {MIN_PASSWORD} characters"
        )));
    }
    if password.len() > MAX_PASSWORD {
        return Err(Error::Rejected(format!(
            "a password has at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

pub(crate) async fn hash_password(password: Sensitive<String>) -> Result<String, Error> {
    let salt = SaltString::encode_b64(&random_bytes(16)?)
        .map_err(|e| Error::Internal(format!("salt: {e}")))?;
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing stopped: {e}")))?
}

/// A hash to verify against when the name is unknown, so that case costs the
/// same as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"lensguard-decoy!").ok();
        salt.and_then(|s| {
            argon2::Argon2::default()
                .hash_password(b"no such user, no such password", &s)
                .ok()
                .map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

async fn verify_password(password: Sensitive<String>, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.expose().as_bytes(), &h)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

pub(crate) fn totp(secret: Vec<u8>, username: &str) -> Result<TOTP, Error> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        TOTP_STEP as u64,
        secret,
        Some("lensguard".to_owned()),
        username.to_owned(),
    )
    .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

/// The step a valid, unused code belongs to: current step or one either side,
/// later than `last_used`.
pub(crate) fn matching_step(totp: &TOTP, code: &str, now: i64, last_used: i64) -> Option<i64> {
    let current = now.div_euclid(TOTP_STEP);
    (current - 1..=current + 1)
        .filter(|&step| step > last_used && step >= 0)
        .find(|&step| {
            let expected = totp.generate((step * TOTP_STEP) as u64);
            verify_slices_are_equal(expected.as_bytes(), code.trim().as_bytes()).is_ok()
        })
}

/// What a store read about the user a login names: enough to check both
/// factors.
pub(crate) struct StoredLogin {
    /// The user.
    pub user: crate::db::User,
    /// Their argon2id PHC string.
    pub phc: String,
    /// Their sealed TOTP secret.
    pub sealed_totp: Vec<u8>,
    /// The last TOTP step they used.
    pub last_step: i64,
}

/// Checks the password, the user's state and the TOTP code of a login, in
/// that order (`None`: no user by that name, which costs a password check
/// too). The code's step is spent by the store when it opens the session.
pub(crate) async fn check_factors(
    stored: Option<StoredLogin>,
    password: Sensitive<String>,
    code: &str,
    secrets: &crate::secrets::InstallationSecrets,
    now: i64,
) -> Result<Result<crate::db::VerifiedLogin, LoginRefusal>, Error> {
    let Some(stored) = stored else {
        verify_decoy(password).await;
        return Ok(Err(LoginRefusal::UnknownUser));
    };
    let user = stored.user;
    if !verify_password(password, stored.phc).await {
        return Ok(Err(LoginRefusal::WrongPassword(user.id)));
    }
    check_code(
        user,
        &stored.sealed_totp,
        stored.last_step,
        code,
        secrets,
        now,
    )
}

/// Checks the user's state and TOTP code: the second factor alone, for a
/// password login ([`check_factors`]) or a step-up after an identity
/// provider vouched for the person.
pub(crate) fn check_code(
    user: crate::db::User,
    sealed_totp: &[u8],
    last_step: i64,
    code: &str,
    secrets: &crate::secrets::InstallationSecrets,
    now: i64,
) -> Result<Result<crate::db::VerifiedLogin, LoginRefusal>, Error> {
    if user.disabled_at.is_some() {
        return Ok(Err(LoginRefusal::Disabled(user.id)));
    }
    let totp = totp(
        secrets.open(&totp_context(&user.id), sealed_totp)?,
        &user.username,
    )?;
    let Some(step) = matching_step(&totp, code, now, last_step) else {
        // A right code for an already used step is a replay; say so in the log.
        let replay = matching_step(&totp, code, now, i64::MIN).is_some();
        return Ok(Err(if replay {
            LoginRefusal::ReusedCode(user.id)
        } else {
            LoginRefusal::WrongCode(user.id)
        }));
    };
    Ok(Ok(crate::db::VerifiedLogin::new(user, step)))
}

/// Whether changing a role from `old` (as stored) to `new` takes away a
/// scope: then the user's sessions end with the change.
pub(crate) fn narrows(old: &str, new: lensguard_core::access::Role) -> bool {
    old.parse::<lensguard_core::access::Role>()
        .map_or(true, |old| {
            old.scopes().iter().any(|s| !new.scopes().contains(s))
        })
}

/// Verifies against a decoy hash: what a login for an unknown name costs.
async fn verify_decoy(password: Sensitive<String>) {
    verify_password(password, decoy_hash().to_owned()).await;
}

/// A new TOTP secret for `username`: its bytes (to seal) and the TOTP
/// (its base32 form and `otpauth://` URI, shown once).
pub(crate) fn new_totp(username: &str) -> Result<(Vec<u8>, TOTP), Error> {
    let secret = random_bytes(20)?;
    let t = totp(secret.clone(), username)?;
    Ok((secret, t))
}

/// A new user id (12 hex digits).
pub(crate) fn new_user_id() -> Result<String, Error> {
    Ok(hex::encode(random_bytes(6)?))
}

pub(crate) fn totp_context(user_id: &str) -> String {
    format!("totp:user:{user_id}")
}

/// A new session's secret part.
pub(crate) fn session_secret() -> Result<String, Error> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes(32)?))
}

/// A session token's `(id, secret)`, when it is well formed.
pub(crate) fn parse_session(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(SESSION_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty())
        .then_some((id, secret))
}

/// A session's id from its token, when the token is well formed.
pub fn session_id(token: &str) -> Option<&str> {
    parse_session(token).map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows, truncated to the 6 digits lensguard uses.
    #[test]
    fn totp_matches_the_rfc_6238_vectors() {
        let t = totp(b"12345678901234567890".to_vec(), "rfc").expect("totp");
        for (time, eight_digits) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.generate(time), eight_digits[2..], "t={time}");
        }
    }

    #[test]
    fn codes_match_one_step_either_side_and_only_after_the_last_used() {
        let t = totp(b"12345678901234567890".to_vec(), "rfc").expect("totp");
        let now = 1_111_111_111;
        let step = now / TOTP_STEP;
        let code = |s: i64| t.generate((s * TOTP_STEP) as u64);
        assert_eq!(matching_step(&t, &code(step), now, 0), Some(step));
        assert_eq!(matching_step(&t, &code(step - 1), now, 0), Some(step - 1));
        assert_eq!(matching_step(&t, &code(step + 1), now, 0), Some(step + 1));
        assert_eq!(matching_step(&t, &code(step - 2), now, 0), None);
        assert_eq!(matching_step(&t, &code(step + 2), now, 0), None);
        assert_eq!(matching_step(&t, &code(step), now, step), None, "spent");
        assert_eq!(matching_step(&t, "", now, 0), None);
        assert_eq!(matching_step(&t, "12345", now, 0), None);
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_username("alice@example.com").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("Alice").is_err());
        assert!(check_username("a:b").is_err());
        assert!(check_username(&"a".repeat(65)).is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD + 1)).is_err());
    }
}
