//! `lensguard users`: users in a data directory, each change audited first (see
//! [`super::local`]; through the API while the service runs).
//!
//! Passwords come from a file or standard input, never from a flag (flags are
//! visible to every local user in the process list).

use super::local::{Local, open, open_or_create, read_db};
use crate::cli::{PasswordSource, UsersCommand};
use anyhow::bail;
use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_store::audit::Outcome;
use lensguard_store::db::{NewUser, User};
use std::io::Write;
use std::process::ExitCode;

fn read_password(source: &PasswordSource) -> anyhow::Result<Sensitive<String>> {
    source.read()
}

fn role(name: &str) -> anyhow::Result<Role> {
    Ok(name.parse::<Role>()?)
}

/// Finds an active user by name or id; records the refused attempt otherwise.
async fn find(local: &Local, action: &str, who: &str) -> anyhow::Result<User> {
    let found = match local.db.find_user(who).await? {
        Some(u) => Some(u),
        None => local.db.get_user(who).await?,
    };
    match found {
        Some(u) if u.disabled_at.is_none() => Ok(u),
        _ => {
            // `who` may be a typed name: the log keeps its pseudonym.
            local.record(
                action,
                &format!("user:{}", local.audit.pseudonym(who)),
                Outcome::Failure,
                Some("no active user".to_owned()),
            )?;
            bail!("no active user {who}")
        }
    }
}

/// Refuses to leave no active owner.
async fn keep_an_owner(local: &Local, user: &User, action: &str) -> anyhow::Result<()> {
    if user.role != Role::Owner {
        return Ok(());
    }
    if local.db.active_owners().await? > 1 {
        return Ok(());
    }
    let target = format!("user:{}", user.id);
    let why = "the last owner must stay an active owner".to_owned();
    local.record(action, &target, Outcome::Failure, Some(why.clone()))?;
    bail!("{why}")
}

pub fn run(cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    super::local::block_on(run_async(cmd))?
}

async fn run_async(cmd: UsersCommand) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    let mut out = std::io::stdout().lock();
    match cmd {
        UsersCommand::Create {
            data,
            username,
            role: role_name,
            password,
            devices,
        } => {
            let role = role(&role_name)?;
            let devices = super::device_scope(&devices)?;
            lensguard_store::db::check_username(&username)?;
            let password = read_password(&password)?;
            let local = open_or_create(&data.data_dir).await?;
            if local.db.find_user(&username).await?.is_some() {
                bail!("a user named {username} already exists");
            }
            let target = format!("username:{}", local.audit.pseudonym(&username));
            local.record(
                "users.create",
                &target,
                Outcome::Success,
                Some(format!(
                    "role {role}{}",
                    local.audit.devices_note(devices.as_ref())
                )),
            )?;
            let new = NewUser {
                username,
                role,
                password,
                devices,
            };
            let e = local.db.create_user(new, &local.secrets, now).await?;
            crate::output::enrolment(&mut out, "user", &e)?;
        }
        UsersCommand::List { data } => {
            let users = read_db(&data.data_dir).await?.list_users().await?;
            if users.is_empty() {
                eprintln!(
                    "no users in {} (create the first owner with `lensguard users create`)",
                    data.data_dir.display()
                );
            }
            crate::output::users(&mut out, &users)?;
        }
        UsersCommand::SetRole {
            data,
            user,
            role: role_name,
        } => {
            let role = role(&role_name)?;
            let local = open(&data.data_dir).await?;
            let found = find(&local, "users.role", &user).await?;
            if role != Role::Owner {
                keep_an_owner(&local, &found, "users.role").await?;
            }
            let target = format!("user:{}", found.id);
            let reason = Some(format!("{} -> {role}", found.role));
            local.record("users.role", &target, Outcome::Success, reason)?;
            if !local.db.set_role(&found.id, role, now).await? {
                bail!("no active user {user}");
            }
            writeln!(out, "{} is now {role}", found.username)?;
        }
        UsersCommand::SetPassword {
            data,
            user,
            password,
        } => {
            let password = read_password(&password)?;
            let local = open_or_create(&data.data_dir).await?;
            let found = find(&local, "users.password", &user).await?;
            let target = format!("user:{}", found.id);
            local.record("users.password", &target, Outcome::Success, None)?;
            if !local.db.set_password(&found.id, password, now).await? {
                bail!("no active user {user}");
            }
            writeln!(out, "new password set for {}", found.username)?;
        }
        UsersCommand::Disable { data, user } => {
            let local = open(&data.data_dir).await?;
            let found = find(&local, "users.disable", &user).await?;
            keep_an_owner(&local, &found, "users.disable").await?;
            let target = format!("user:{}", found.id);
            local.record("users.disable", &target, Outcome::Success, None)?;
            if !local.db.disable_user(&found.id, now).await? {
                bail!("no active user {user}");
            }
            writeln!(out, "disabled {}; their sessions ended", found.username)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
