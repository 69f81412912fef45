//! `lensguard models keys|publish|rollback|refresh-timestamp`: the
//! publisher's side of model updates, on the hub or a signing host. These
//! commands touch only the repository and key directories they are given;
//! what they print is what a release note or a site needs (versions,
//! fingerprints).

use crate::cli::models::{KeysCommand, RepoArgs, RotatedRole};
use crate::model_updates::publish::{self, Lifetimes};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use tough::schema::RoleType;

pub async fn keys(cmd: KeysCommand, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    match cmd {
        KeysCommand::Init {
            repo,
            root_keys,
            root_count,
            root_threshold,
        } => {
            let made = crate::model_updates::keys::init(
                &repo.repo,
                &repo.keys,
                &root_keys,
                root_count,
                root_threshold,
                Lifetimes::default(),
                now,
            )
            .await?;
            writeln!(
                out,
                "made {root_count} root keys in {} (threshold {root_threshold}; keep them offline)\n\
                 made the targets, snapshot and timestamp keys in {}\n\
                 root version 1: {}\nfingerprint sha256:{}\n\
                 give sites this fingerprint over another channel; they install the root with `lensguard models trust`",
                root_keys.display(),
                repo.keys.display(),
                made.root.display(),
                made.fingerprint
            )?;
        }
        KeysCommand::Rotate {
            role,
            repo,
            root_keys,
        } => {
            let (role, named) = match role {
                RotatedRole::Targets => (RoleType::Targets, "targets"),
                RotatedRole::Snapshot => (RoleType::Snapshot, "snapshot"),
                RotatedRole::Timestamp => (RoleType::Timestamp, "timestamp"),
            };
            let done = crate::model_updates::keys::rotate(
                &repo.repo,
                &repo.keys,
                &root_keys,
                role,
                Lifetimes::default(),
                now,
            )
            .await?;
            writeln!(
                out,
                "root version {} names the new {named} key (the old one is in {}/revoked); {}\nfingerprint of the new root sha256:{}",
                done.version,
                repo.keys.display(),
                if done.resigned {
                    "the metadata is signed anew"
                } else {
                    "nothing was published yet, so there was no other metadata to sign"
                },
                done.fingerprint
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn publish(
    bundle: &Path,
    repo: &RepoArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let done = publish::publish(
        &repo.repo,
        &repo.keys,
        bundle,
        Lifetimes::default(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    writeln!(
        out,
        "published {}; targets v{}, snapshot v{}, timestamp v{}",
        done.manifest.label(),
        done.versions.targets,
        done.versions.snapshot,
        done.versions.timestamp
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn rollback(
    name: &str,
    version: &str,
    repo: &RepoArgs,
    out: &mut impl Write,
) -> anyhow::Result<ExitCode> {
    let done = publish::rollback(
        &repo.repo,
        &repo.keys,
        name,
        version,
        Lifetimes::default(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    writeln!(
        out,
        "{name} points at {} again; targets v{}, snapshot v{}, timestamp v{}",
        done.manifest.version,
        done.versions.targets,
        done.versions.snapshot,
        done.versions.timestamp
    )?;
    Ok(ExitCode::SUCCESS)
}

pub async fn refresh_timestamp(repo: &RepoArgs, out: &mut impl Write) -> anyhow::Result<ExitCode> {
    let version = publish::refresh_timestamp(
        &repo.repo,
        &repo.keys,
        Lifetimes::default(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    writeln!(out, "timestamp v{version} signed")?;
    Ok(ExitCode::SUCCESS)
}
