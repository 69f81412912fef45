//! Reading what edges delivered: by edge, device, verdict, kind and time,
//! oldest first, in pages continued after the last `(created_at, edge, seq)`.

use super::HubDb;
use crate::Error;
use sqlx::Row;

/// Which records to read.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only from this edge.
    pub edge: Option<String>,
    /// Only about this device.
    pub device: Option<String>,
    /// Only with this verdict.
    pub verdict: Option<String>,
    /// Only of this kind.
    pub kind: Option<String>,
    /// Written at or after (seconds since the epoch).
    pub from: Option<i64>,
    /// Written before.
    pub to: Option<i64>,
    /// Continue after this `(created_at, edge id, seq)`.
    pub after: Option<(i64, String, i64)>,
}

/// A record as the hub holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The delivering edge.
    pub edge_id: String,
    /// Its outbox sequence number.
    pub seq: i64,
    /// What it is.
    pub kind: String,
    /// When the edge wrote it.
    pub created_at: i64,
    /// When the hub stored it.
    pub received_at: i64,
    /// The egress manifest it was projected through.
    pub manifest: String,
    /// The record, JSON.
    pub payload: String,
}

/// Counts over an edge's records (for reconciliation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts {
    /// Rows held.
    pub records: u64,
    /// Distinct inspections they describe.
    pub inspections: u64,
    /// Lowest and highest sequence numbers held.
    pub seq_range: Option<(i64, i64)>,
}

/// What left one edge under one kind and egress manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressSummary {
    /// The records' kind (`inspection`, `deletion_receipt`, ...).
    pub kind: String,
    /// The egress manifest they were projected through (`policy@revision`).
    pub manifest: String,
    /// Records held.
    pub records: i64,
    /// The oldest and newest, by when the edge wrote them.
    pub first_at: i64,
    /// The newest.
    pub last_at: i64,
    /// The fields the newest of them carries (`a.b` for nested ones).
    pub fields: Vec<String>,
}

fn field_names(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = v {
        for (k, v) in map {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                field_names(&name, v, out);
            } else {
                out.push(name);
            }
        }
    }
}

impl HubDb {
    /// What the hub holds from `edge_id`, by kind and egress manifest, with
    /// the fields that left under each.
    pub async fn egress_of(&self, edge_id: &str) -> Result<Vec<EgressSummary>, Error> {
        let groups: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT kind, manifest, COUNT(*), MIN(created_at), MAX(created_at)
             FROM hub_records WHERE edge_id = $1 GROUP BY kind, manifest ORDER BY kind, manifest",
        )
        .bind(edge_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(groups.len());
        for (kind, manifest, records, first_at, last_at) in groups {
            let newest: Option<String> = sqlx::query_scalar(
                "SELECT payload FROM hub_records WHERE edge_id = $1 AND kind = $2 AND manifest = $3
                 ORDER BY seq DESC LIMIT 1",
            )
            .bind(edge_id)
            .bind(&kind)
            .bind(&manifest)
            .fetch_optional(self.pool())
            .await?;
            let mut fields = Vec::new();
            if let Some(v) = newest.and_then(|p| serde_json::from_str::<serde_json::Value>(&p).ok())
            {
                field_names("", &v["data"], &mut fields);
            }
            out.push(EgressSummary {
                kind,
                manifest,
                records,
                first_at,
                last_at,
                fields,
            });
        }
        Ok(out)
    }

    /// Up to `limit` records matching `filter`, oldest first.
    pub async fn records(
        &self,
        filter: &RecordFilter,
        limit: u32,
    ) -> Result<Vec<StoredRecord>, Error> {
        let mut clauses = Vec::new();
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        let text_filters = [
            ("edge_id", &filter.edge),
            ("device_id", &filter.device),
            ("verdict", &filter.verdict),
            ("kind", &filter.kind),
        ];
        for (column, value) in &text_filters {
            if value.is_some() {
                clauses.push(format!("{column} = {}", next()));
            }
        }
        if filter.from.is_some() {
            clauses.push(format!("created_at >= {}", next()));
        }
        if filter.to.is_some() {
            clauses.push(format!("created_at < {}", next()));
        }
        if filter.after.is_some() {
            let (a, b, c) = (next(), next(), next());
            clauses.push(format!(
                "(created_at > {a} OR (created_at = {a} AND (edge_id > {b} OR (edge_id = {b} AND seq > {c}))))"
            ));
        }
        let limit_param = next();
        let sql = format!(
            "SELECT edge_id, seq, kind, created_at, received_at, manifest, payload FROM hub_records {} \
             ORDER BY created_at, edge_id, seq LIMIT {limit_param}",
            if clauses.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", clauses.join(" AND "))
            }
        );
        let mut q = sqlx::query(&sql);
        for (_, value) in text_filters {
            if let Some(v) = value {
                q = q.bind(v.clone());
            }
        }
        if let Some(t) = filter.from {
            q = q.bind(t);
        }
        if let Some(t) = filter.to {
            q = q.bind(t);
        }
        if let Some((t, edge, seq)) = &filter.after {
            q = q.bind(*t).bind(edge.clone()).bind(*seq);
        }
        q = q.bind(i64::from(limit));
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(StoredRecord {
                    edge_id: r.try_get("edge_id")?,
                    seq: r.try_get("seq")?,
                    kind: r.try_get("kind")?,
                    created_at: r.try_get("created_at")?,
                    received_at: r.try_get("received_at")?,
                    manifest: r.try_get("manifest")?,
                    payload: r.try_get("payload")?,
                })
            })
            .collect()
    }

    /// How many records and distinct inspections the hub holds from `edge_id`.
    pub async fn record_counts(&self, edge_id: &str) -> Result<RecordCounts, Error> {
        let (records, inspections, lo, hi): (i64, i64, Option<i64>, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), COUNT(DISTINCT inspection_id), MIN(seq), MAX(seq)
             FROM hub_records WHERE edge_id = $1",
        )
        .bind(edge_id)
        .fetch_one(self.pool())
        .await?;
        Ok(RecordCounts {
            records: records as u64,
            inspections: inspections as u64,
            seq_range: lo.zip(hi),
        })
    }
}
