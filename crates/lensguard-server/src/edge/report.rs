//! `lensguard egress report`: what left this edge, from the egress receipts
//! in its audit log (which is verified first: a report over an altered log
//! is refused).
//!
//! Per destination: the manifests its records were projected through,
//! batches sent (those carrying only an audit checkpoint included), records
//! sent (a record sent twice after a lost acknowledgement counts in both),
//! distinct records (by outbox sequence number), bytes, first and last time. Reconcile the
//! distinct records with what the hub holds for this edge
//! (`lensguard hub edges`), and the manifests with the policy's egress
//! manifest (`lensguard policy inventory`).

use crate::cli::EgressCommand;
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(Default, serde::Serialize)]
struct Line {
    destination: String,
    manifests: String,
    batches: u64,
    records_sent: u64,
    distinct_records: u64,
    bytes: u64,
    first: String,
    last: String,
    #[serde(skip)]
    seqs: std::collections::BTreeSet<(i64, i64)>,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Distinct sequence numbers covered by a set of `[first, last]` ranges.
fn covered(ranges: &std::collections::BTreeSet<(i64, i64)>) -> u64 {
    let mut total = 0u64;
    let mut reach = i64::MIN;
    for &(a, b) in ranges {
        if b < a || b <= reach {
            continue;
        }
        let start = a.max(reach.saturating_add(1));
        total += (b - start + 1) as u64;
        reach = b;
    }
    total
}

/// Runs `lensguard egress report`.
pub fn egress_report(cmd: EgressCommand) -> anyhow::Result<ExitCode> {
    let EgressCommand::Report {
        data_dir,
        from,
        to,
        json,
    } = cmd;
    let parse = |s: &Option<String>, name: &str| -> anyhow::Result<Option<time::OffsetDateTime>> {
        s.as_deref()
            .map(|v| {
                time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
                    .with_context(|| format!("--{name} must be an RFC 3339 time"))
            })
            .transpose()
    };
    let (from, to) = (parse(&from, "from")?, parse(&to, "to")?);
    crate::data_dir::require(&data_dir)?;
    let dir = data_dir.join("audit");
    lensguard_store::audit::verify::verify_dir(&dir, None, &[])
        .context("the audit log does not verify; no report over it")?;
    let mut lines: BTreeMap<String, Line> = BTreeMap::new();
    let mut manifests: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    lensguard_store::audit::for_each_entry(&dir, |entry| {
        let Some(r) = &entry.event.egress else {
            return;
        };
        let t = entry.event.time;
        if from.is_some_and(|f| t < f) || to.is_some_and(|x| t >= x) {
            return;
        }
        manifests
            .entry(r.destination.clone())
            .or_default()
            .extend(r.manifests.iter().cloned());
        let line = lines.entry(r.destination.clone()).or_insert_with(|| Line {
            destination: r.destination.clone(),
            first: rfc3339(t),
            ..Default::default()
        });
        line.batches += 1;
        line.records_sent += r.records;
        line.bytes += r.bytes;
        line.last = rfc3339(t);
        if r.records > 0 {
            line.seqs.insert((r.first_seq, r.last_seq));
        }
    })?;
    let mut out = std::io::stdout().lock();
    let mut lines: Vec<Line> = lines.into_values().collect();
    for l in &mut lines {
        l.distinct_records = covered(&l.seqs);
        l.manifests = manifests
            .get(&l.destination)
            .map(|m| m.iter().cloned().collect::<Vec<_>>().join(","))
            .unwrap_or_default();
    }
    if json {
        for l in &lines {
            writeln!(out, "{}", serde_json::to_string(l)?)?;
        }
    } else if lines.is_empty() {
        writeln!(
            out,
            "no egress receipts in this range: nothing left this edge"
        )?;
    } else {
        for l in &lines {
            writeln!(
                out,
                "{}\n  manifests {}  batches {}  records sent {}  distinct records {}  bytes {}  {} .. {}",
                l.destination,
                if l.manifests.is_empty() {
                    "-"
                } else {
                    &l.manifests
                },
                l.batches,
                l.records_sent,
                l.distinct_records,
                l.bytes,
                l.first,
                l.last
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn resent_records_count_once() {
        let ranges = [(1, 10), (5, 12), (11, 11), (20, 20), (3, 4)]
            .into_iter()
            .collect();
        assert_eq!(covered(&ranges), 13);
        assert_eq!(covered(&Default::default()), 0);
    }
}
