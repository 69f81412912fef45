//! `lensguard hub`: the fleet hub.
//!
//! Its data directory holds the hub CA and server certificate
//! ([`crate::fleet::ca`]) and, by default, the SQLite database; with
//! `--database postgres://...` the state lives in PostgreSQL and several hub
//! processes can serve it. The service ([`api`]) takes edges' batches over
//! mutual TLS and answers operators' queries with a bearer token.

mod api;
mod console;
mod identity;
mod metrics;
mod models;
mod models_api;
mod operator_api;

use crate::cli::{HubCommand, HubDirArgs, HubUsersCommand};
use crate::fleet::ca::{CaFiles, HubCa};
use crate::fleet::token::EnrolmentToken;
use anyhow::{Context, bail};
use lensguard_store::hub::HubDb;
use std::io::Write;
use std::process::ExitCode;

/// Prefix of operator tokens: `lghub.<id>.<secret>`.
pub const OPERATOR_PREFIX: &str = "lghub";

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    crate::common::runtime::multi_thread()
}

fn database_url(dir: &HubDirArgs) -> String {
    dir.database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.data_dir.join("hub.db").display()))
}

/// Refuses a directory `lensguard hub init` did not set up (its CA, and its
/// SQLite database unless `--database` names another), naming the path, so a
/// mistyped `--data-dir` creates nothing and reports nothing as done.
fn require_initialised(dir: &HubDirArgs) -> anyhow::Result<()> {
    crate::data_dir::private_files();
    let ca = CaFiles::in_dir(&dir.data_dir).cert;
    let db = dir.data_dir.join("hub.db");
    if !ca.is_file() || (dir.database.is_none() && !db.is_file()) {
        bail!(
            "{} is not an initialised hub data directory (no {}); run `lensguard hub init \
             --data-dir {} --name HOST` first, or pass --data-dir with the hub's directory; \
             nothing was done",
            dir.data_dir.display(),
            if ca.is_file() { "hub.db" } else { "ca.pem" },
            dir.data_dir.display()
        );
    }
    Ok(())
}

/// Opens the hub database of an initialised hub directory.
async fn open_db(dir: &HubDirArgs) -> anyhow::Result<HubDb> {
    require_initialised(dir)?;
    open_or_create_db(dir).await
}

async fn open_or_create_db(dir: &HubDirArgs) -> anyhow::Result<HubDb> {
    let url = database_url(dir);
    HubDb::open(&url).await.with_context(|| {
        format!(
            "cannot open the hub database {}",
            url.split('@').next_back().unwrap_or(&url)
        )
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs a `lensguard hub` subcommand.
pub fn run(cmd: HubCommand) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        HubCommand::Init {
            dir,
            names,
            renew_server,
        } => {
            crate::data_dir::create(&dir.data_dir)?;
            let files = CaFiles::in_dir(&dir.data_dir);
            let ca = if renew_server {
                HubCa::load(&files)?
            } else {
                HubCa::create(&files)?
            };
            ca.issue_server(&files, &names)?;
            runtime()?.block_on(async { open_or_create_db(&dir).await.map(|_| ()) })?;
            writeln!(
                out,
                "hub CA: {}\nCA SHA-256: {}\nserver certificate for: {}\nnext: lensguard hub serve --data-dir {}",
                files.cert.display(),
                hex::encode(ca.sha256),
                names.join(", "),
                dir.data_dir.display()
            )?;
        }
        HubCommand::Serve {
            dir,
            listen,
            console_idle_minutes,
            console_session_hours,
        } => {
            require_initialised(&dir)?;
            let sessions = console::SessionLimits {
                idle: time::Duration::minutes(i64::from(console_idle_minutes)),
                lifetime: time::Duration::hours(i64::from(console_session_hours)),
            };
            return api::serve(&dir, &listen, &database_url(&dir), sessions);
        }
        HubCommand::Enroll {
            dir,
            name,
            valid_hours,
        } => {
            if name.trim().is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
                bail!("--name is 1-128 characters, no control characters");
            }
            require_initialised(&dir)?;
            let ca = HubCa::load(&CaFiles::in_dir(&dir.data_dir))?;
            let issued = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                db.issue_enrolment(&name, i64::from(valid_hours) * 3600, now())
                    .await
                    .context("cannot store the enrolment token")
            })?;
            let token = EnrolmentToken {
                id: issued.id,
                secret: issued.secret,
                ca_sha256: ca.sha256,
            };
            writeln!(out, "{}", token.render())?;
            eprintln!(
                "one-time enrolment token for edge {name:?}, valid {valid_hours} h; on the edge:\n  lensguard edge enroll --hub https://HUB:PORT --token <token>"
            );
        }
        HubCommand::Revoke { dir, edge } => {
            let revoked = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                db.revoke_edge(&edge, now()).await.context("cannot revoke")
            })?;
            if !revoked {
                bail!("no unrevoked edge {edge:?} (see `lensguard hub edges`)");
            }
            writeln!(out, "revoked edge {edge}; its next request is refused")?;
        }
        HubCommand::Edges { dir, json } => {
            let rows = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                let mut rows = Vec::new();
                for e in db.edges().await? {
                    let counts = db.record_counts(&e.id).await?;
                    rows.push((e, counts));
                }
                anyhow::Ok(rows)
            })?;
            for (e, counts) in rows {
                let state = match (e.revoked_at, &e.flag_reason) {
                    (Some(_), _) => "revoked".to_owned(),
                    (None, Some(reason)) => format!("FLAGGED: {reason}"),
                    (None, None) => "ok".to_owned(),
                };
                if json {
                    let v = serde_json::json!({
                        "id": e.id, "name": e.name, "enrolled_at": e.enrolled_at,
                        "revoked_at": e.revoked_at, "flagged_at": e.flagged_at,
                        "flag_reason": e.flag_reason, "checkpoint_size": e.checkpoint_size,
                        "last_seen": e.last_seen, "records": counts.records,
                    });
                    writeln!(out, "{v}")?;
                } else {
                    writeln!(
                        out,
                        "{}  {:<20} records {:>8}  audit entries {:>7}  {}",
                        e.id,
                        lensguard_core::text::printable(&e.name),
                        counts.records,
                        e.checkpoint_size,
                        lensguard_core::text::printable(&state)
                    )?;
                }
            }
        }
        HubCommand::Checkpoints { dir, edge } => {
            let checkpoints = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                if db.edge(&edge).await?.is_none() {
                    bail!("no edge {edge:?} (see `lensguard hub edges`)");
                }
                db.checkpoints(&edge)
                    .await
                    .context("cannot read checkpoints")
            })?;
            if checkpoints.is_empty() {
                bail!("edge {edge} has delivered no audit checkpoint yet; nothing to print");
            }
            for cp in &checkpoints {
                writeln!(out, "{}", serde_json::to_string(cp)?)?;
            }
            eprintln!(
                "{} checkpoints of edge {edge}; on the edge: lensguard audit verify --trusted-checkpoint FILE",
                checkpoints.len()
            );
        }
        HubCommand::Users(cmd) => return users(cmd, &mut out),
        HubCommand::Models(cmd) => return models::run(cmd, &mut out),
        HubCommand::Token { dir, name } => {
            let (id, secret) = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                db.issue_operator_token(&name, now())
                    .await
                    .context("cannot store the token")
            })?;
            writeln!(out, "{OPERATOR_PREFIX}.{id}.{secret}")?;
            eprintln!("operator token {name:?}: send it as `Authorization: Bearer <token>`");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lensguard hub users ...`: each creation audited first in the hub's log.
fn users(cmd: HubUsersCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    match cmd {
        HubUsersCommand::Create {
            dir,
            username,
            role,
            password,
        } => {
            let role: lensguard_core::access::Role = role.parse()?;
            lensguard_store::db::check_username(&username)?;
            let password = password.read()?;
            require_initialised(&dir)?;
            let made = runtime()?.block_on(async {
                let db = open_db(&dir).await?;
                let ids = identity::HubIdentity::open(&dir.data_dir)?;
                let target = format!("username:{}", ids.audit.pseudonym(&username));
                let event = lensguard_store::audit::AuditEvent::new(
                    time::OffsetDateTime::now_utc(),
                    "cli:hub",
                    "users.create",
                )
                .target(target)
                .outcome(
                    lensguard_store::audit::Outcome::Success,
                    Some(format!("role {role}")),
                );
                ids.record(event)
                    .await
                    .map_err(|()| anyhow::anyhow!("the hub's audit log cannot record it"))?;
                let new = lensguard_store::db::NewUser {
                    username,
                    role,
                    password,
                    devices: None,
                };
                anyhow::Ok(db.create_user(new, &ids.secrets, now()).await?)
            })?;
            crate::output::enrolment(out, "hub user", &made)?;
        }
        HubUsersCommand::List { dir } => {
            let all = runtime()?.block_on(async {
                open_db(&dir)
                    .await?
                    .users()
                    .await
                    .map_err(anyhow::Error::from)
            })?;
            if all.is_empty() {
                bail!(
                    "no hub users in {} (create the first owner with `lensguard hub users create --role owner`)",
                    dir.data_dir.display()
                );
            }
            crate::output::users(out, &all)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
