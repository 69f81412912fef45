//! This edge's side of the fleet: enrolment ([`enrol`]), the hub link
//! ([`link`]), delivery of the outbox ([`delivery`]), model updates from
//! the hub ([`model_sync`]), its metrics ([`metrics`]) and the egress report
//! ([`report`]).

pub mod delivery;
mod enrol;
pub mod link;
pub mod model_sync;
mod report;
mod state;

pub use report::egress_report;

use crate::cli::EdgeCommand;
use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;

/// Runs a `lensguard edge` subcommand.
pub fn run(cmd: EdgeCommand) -> anyhow::Result<ExitCode> {
    let runtime = crate::common::runtime::multi_thread()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        EdgeCommand::Enroll {
            hub,
            token,
            data_dir,
        } => {
            crate::data_dir::create(&data_dir)?;
            let link = runtime.block_on(enrol::enroll(&hub, &token, &data_dir))?;
            writeln!(
                out,
                "enrolled with {} as edge {}\nfrom its next start, `lensguard serve --data-dir {}` delivers to the hub",
                link.url,
                link.edge_id,
                data_dir.display()
            )?;
        }
        EdgeCommand::Status { data_dir } => {
            crate::data_dir::require(&data_dir)?;
            let link = link::HubLink::load(&data_dir)?;
            let stats = runtime.block_on(async {
                let db = lensguard_store::db::Db::open(&data_dir.join("lensguard.db"))
                    .await
                    .context("cannot open the database")?;
                db.outbox_stats().await.context("cannot read the outbox")
            })?;
            match &link {
                Some(l) => {
                    let delivery = state::load(&l.dir).unwrap_or_default();
                    let revoked = if delivery.revoked {
                        " REVOKED by the hub: it refuses this edge's certificate; enrol again"
                    } else {
                        ""
                    };
                    writeln!(out, "hub: {} (edge {}){revoked}", l.url, l.edge_id)?;
                    match (&delivery.failing_since, &delivery.last_error) {
                        (Some(since), Some(why)) => {
                            writeln!(out, "delivery: FAILING since {since}: {why}")?;
                        }
                        _ => {
                            let recovered = delivery
                                .recovered_at
                                .as_ref()
                                .map_or(String::new(), |t| format!(" (recovered {t})"));
                            writeln!(
                                out,
                                "delivery: no failure recorded by the service{recovered}"
                            )?;
                        }
                    }
                }
                None => writeln!(out, "hub: none (not enrolled; nothing is queued or sent)")?,
            }
            let age = stats.oldest_created_at.map_or("-".to_owned(), |t| {
                format!("{} s", time::OffsetDateTime::now_utc().unix_timestamp() - t)
            });
            writeln!(
                out,
                "outbox: {} records, {} bytes, oldest {age}, last sequence {}",
                stats.depth, stats.bytes, stats.last_seq
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
