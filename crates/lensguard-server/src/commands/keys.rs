//! `lensguard keys`: API keys in a data directory, each change audited first
//! (see [`super::local`]; through the API while the service runs).

use super::local::{Local, open, open_or_create, read_db};
use crate::cli::KeysCommand;
use anyhow::{Context, bail};
use lensguard_core::access::Scope;
use lensguard_store::audit::Outcome;
use lensguard_store::db::NewKey;
use std::io::Write;
use std::process::ExitCode;

/// Refuses (and records the refused attempt) unless `id` is an active key.
async fn require_active(local: &Local, action: &str, id: &str) -> anyhow::Result<()> {
    let active = local
        .db
        .get_key(id)
        .await?
        .is_some_and(|k| k.revoked_at.is_none());
    if !active {
        let target = format!("key:{id}");
        local.record(
            action,
            &target,
            Outcome::Failure,
            Some("no active key".to_owned()),
        )?;
        bail!("no active key {id}");
    }
    Ok(())
}

fn print_token(
    out: &mut impl Write,
    token: &lensguard_core::Sensitive<String>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "token (shown once, store it safely): {}",
        token.expose()
    )
}

/// Seconds since the epoch as RFC 3339 (UTC).
fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    super::local::block_on(run_async(cmd))?
}

async fn run_async(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    let mut out = std::io::stdout().lock();
    match cmd {
        KeysCommand::Create {
            data,
            name,
            scopes,
            allowed_cidrs,
            expires_in_days,
            devices,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| s.parse::<Scope>())
                .collect::<Result<Vec<_>, _>>()?;
            let allowed_cidrs = allowed_cidrs
                .iter()
                .map(|c| {
                    c.parse()
                        .with_context(|| format!("{c:?} is not a network such as 10.0.0.0/8"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let new = NewKey {
                name,
                scopes,
                allowed_cidrs,
                expires_at: expires_in_days.map(|d| now + time::Duration::days(i64::from(d))),
                owner: None,
                devices: super::device_scope(&devices)?,
            };
            let local = open_or_create(&data.data_dir).await?;
            let scopes_text: Vec<&str> = new.scopes.iter().map(|s| s.as_str()).collect();
            let reason = format!(
                "scopes {}{}",
                scopes_text.join(" "),
                local.audit.devices_note(new.devices.as_ref())
            );
            local.record(
                "keys.create",
                &format!("name:{}", new.name),
                Outcome::Success,
                Some(reason),
            )?;
            let issued = local.db.create_key(&new, now).await?;
            writeln!(
                out,
                "created key {} ({})",
                issued.id,
                scopes_text.join(", ")
            )?;
            print_token(&mut out, &issued.token)?;
        }
        KeysCommand::List { data } => {
            let db = read_db(&data.data_dir).await?;
            let keys = db.list_keys().await?;
            if keys.is_empty() {
                eprintln!(
                    "no API keys in {} (create one with `lensguard keys create`)",
                    data.data_dir.display()
                );
            }
            for k in keys {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expires_at.is_some_and(|e| e <= now.unix_timestamp()) {
                    "expired"
                } else {
                    "active"
                };
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                let cidrs: Vec<String> = k.allowed_cidrs.iter().map(ToString::to_string).collect();
                let expires = k.expires_at.map_or("never".to_owned(), rfc3339);
                // The previous secret of a rotation, while its overlap lasts.
                let overlap = k
                    .previous_valid_until
                    .filter(|&t| k.revoked_at.is_none() && t > now.unix_timestamp())
                    .map_or(String::new(), |t| {
                        format!(" previous-secret-until={}", rfc3339(t))
                    });
                writeln!(
                    out,
                    "{}  {:<8} {:<24} scopes={} networks={} devices={} expires={expires} owner={}{overlap}",
                    k.id,
                    state,
                    // Stored text is shown with control characters escaped.
                    lensguard_core::text::printable(&k.name),
                    scopes.join(","),
                    if cidrs.is_empty() {
                        "any".to_owned()
                    } else {
                        cidrs.join(",")
                    },
                    k.devices
                        .as_ref()
                        .map_or("all".to_owned(), |d| d.patterns().join(",")),
                    k.owner
                        .as_deref()
                        .map_or("local".to_owned(), |u| format!("user:{u}"))
                )?;
            }
        }
        KeysCommand::Rotate {
            data,
            id,
            overlap_hours,
        } => {
            let local = open(&data.data_dir).await?;
            require_active(&local, "keys.rotate", &id).await?;
            local.record(
                "keys.rotate",
                &format!("key:{id}"),
                Outcome::Success,
                Some(format!("overlap {overlap_hours} h")),
            )?;
            let Some(issued) = local
                .db
                .rotate_key(&id, time::Duration::hours(i64::from(overlap_hours)), now)
                .await?
            else {
                bail!("no active key {id}");
            };
            writeln!(
                out,
                "rotated key {}; the old secret works for {overlap_hours} more hours",
                issued.id
            )?;
            print_token(&mut out, &issued.token)?;
        }
        KeysCommand::Revoke { data, id } => {
            let local = open(&data.data_dir).await?;
            require_active(&local, "keys.revoke", &id).await?;
            local.record("keys.revoke", &format!("key:{id}"), Outcome::Success, None)?;
            if !local.db.revoke_key(&id, now).await? {
                bail!("no active key {id}");
            }
            writeln!(out, "revoked key {id}")?;
        }
        KeysCommand::RotateKek { vault, resume } => {
            let local = open(&vault.data.data_dir).await?;
            let v = local.vault(vault.config.as_deref()).await?;
            let cli = lensguard_store::vault::Caller::named("system:cli");
            if !resume {
                for started in v.rotate_kek(&cli, now).await? {
                    writeln!(out, "started KEK {started}")?;
                }
            }
            let pending = v.pending_rewrap().await?;
            let bar = indicatif::ProgressBar::new(pending);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "re-wrapping data keys {bar:40} {pos}/{len} ({eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let report = v.rewrap_all(&cli, |n| bar.set_position(n)).await?;
            bar.finish_and_clear();
            writeln!(out, "{report}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
