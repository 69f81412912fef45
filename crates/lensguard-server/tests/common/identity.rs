//! Users, TOTP codes, sessions and JSON calls for the service tests.

use super::{Reply, Server, send, text};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// The TOTP code an authenticator shows `steps` steps from now.
pub fn totp_code(secret_base32: &str, steps: i64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        None,
        String::new(),
    );
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + steps * 30;
    totp.generate(u64::try_from(now).expect("after 1970"))
}

/// Runs `lensguard ARGS --data-dir DIR` with `input` on standard input;
/// fails the test unless it succeeds, and returns its standard output.
pub fn lensguard_with_input(data_dir: &Path, args: &[&str], input: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lensguard"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lensguard runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write standard input");
    let out = child.wait_with_output().expect("lensguard runs");
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Runs `lensguard users create` (password on standard input); returns the TOTP secret.
pub fn create_user(data_dir: &Path, name: &str, role: &str) -> String {
    create_user_with(data_dir, name, role, &[])
}

/// [`create_user`] with `extra` arguments (`--device van-*`).
pub fn create_user_with(data_dir: &Path, name: &str, role: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "users",
        "create",
        "--username",
        name,
        "--role",
        role,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    lensguard_with_input(data_dir, &args, &format!("{PASSWORD}\n"))
        .lines()
        .find_map(|l| l.strip_prefix("TOTP secret (shown once; add it to an authenticator app): "))
        .expect("TOTP secret line")
        .to_owned()
}

/// A JSON request with an optional bearer token; `Value::Null` sends no body.
pub fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &serde_json::Value,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a));
    }
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    send(server, method, path, &headers, bytes)
}

/// The body as JSON.
pub fn json(reply: &Reply) -> serde_json::Value {
    serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("not JSON: {}", reply.body))
}

/// Logs in with the code `steps` from now; returns the reply.
pub fn login_at(server: &Server, name: &str, secret: &str, steps: i64) -> Reply {
    let body = serde_json::json!({"username": name, "password": PASSWORD, "totp": totp_code(secret, steps)});
    call(server, "POST", "/v1/sessions", None, &body)
}

/// Logs in and returns the session token.
pub fn login(server: &Server, name: &str, secret: &str) -> String {
    let reply = login_at(server, name, secret, 0);
    assert_eq!(reply.status, 201, "login {name}: {}", reply.body);
    json(&reply)["token"].as_str().expect("token").to_owned()
}
