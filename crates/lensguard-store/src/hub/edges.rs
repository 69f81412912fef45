//! Enrolled edges, one-time enrolment tokens, revocation, and the operators'
//! bearer tokens for the hub's query API.
//!
//! An enrolment token is `(id, secret)`; the hub stores the secret's SHA-256,
//! its expiry and, once used, when and by which edge. Redeeming it and
//! recording the new edge happen in one transaction whose first statement is
//! the conditional `UPDATE ... WHERE used_at IS NULL`, so of two edges racing
//! with one token (even on two hub processes) exactly one is enrolled.

use super::{HubDb, digest, random_secret};
use crate::Error;
use sqlx::Row;

/// An edge the hub knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The id the hub gave it (the common name of its certificate).
    pub id: String,
    /// The name the operator gave it when issuing the enrolment token.
    pub name: String,
    /// When it enrolled.
    pub enrolled_at: i64,
    /// SHA-256 of its client certificate (DER), hex: the only certificate
    /// accepted for it.
    pub cert_sha256: String,
    /// Its audit log's Ed25519 public key, hex.
    pub audit_key: String,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// When its audit history was found rewritten (rollback or fork).
    pub flagged_at: Option<i64>,
    /// Why it was flagged.
    pub flag_reason: Option<String>,
    /// The size of its last accepted audit checkpoint.
    pub checkpoint_size: i64,
    /// That checkpoint's Merkle root, hex (none before the first).
    pub checkpoint_root: Option<String>,
    /// When it last delivered.
    pub last_seen: Option<i64>,
}

/// An issued enrolment token; the secret is shown once.
#[derive(Debug, Clone)]
pub struct EnrolmentToken {
    /// Its id.
    pub id: String,
    /// Its secret (64 hex digits).
    pub secret: String,
    /// When it stops working.
    pub expires_at: i64,
}

/// An edge being enrolled.
#[derive(Debug, Clone, Copy)]
pub struct NewEdge<'a> {
    /// Its new id.
    pub id: &'a str,
    /// SHA-256 of the certificate issued to it, hex.
    pub cert_sha256: &'a str,
    /// Its audit log's public key, hex.
    pub audit_key: &'a str,
}

const EDGE_COLUMNS: &str = "id, name, enrolled_at, cert_sha256, audit_key, revoked_at, flagged_at, \
     flag_reason, checkpoint_size, checkpoint_root, last_seen";

fn row_to_edge(r: &sqlx::any::AnyRow) -> Result<Edge, Error> {
    Ok(Edge {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        enrolled_at: r.try_get("enrolled_at")?,
        cert_sha256: r.try_get("cert_sha256")?,
        audit_key: r.try_get("audit_key")?,
        revoked_at: r.try_get("revoked_at")?,
        flagged_at: r.try_get("flagged_at")?,
        flag_reason: r.try_get("flag_reason")?,
        checkpoint_size: r.try_get("checkpoint_size")?,
        checkpoint_root: r.try_get("checkpoint_root")?,
        last_seen: r.try_get("last_seen")?,
    })
}

impl HubDb {
    /// Issues a one-time enrolment token for an edge to be called `name`,
    /// valid for `ttl_seconds`.
    pub async fn issue_enrolment(
        &self,
        name: &str,
        ttl_seconds: i64,
        now: i64,
    ) -> Result<EnrolmentToken, Error> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = random_secret()?;
        let expires_at = now.saturating_add(ttl_seconds);
        sqlx::query(
            "INSERT INTO hub_enrolment_tokens (id, secret_sha256, edge_name, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(digest(&secret))
        .bind(name)
        .bind(now)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(EnrolmentToken {
            id,
            secret,
            expires_at,
        })
    }

    /// Whether token `(id, secret)` could be redeemed now (checked before a
    /// certificate is signed; [`HubDb::redeem_enrolment`] decides).
    pub async fn enrolment_usable(&self, id: &str, secret: &str, now: i64) -> Result<bool, Error> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM hub_enrolment_tokens
             WHERE id = $1 AND secret_sha256 = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(id)
        .bind(digest(secret))
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(n == 1)
    }

    /// Uses token `(id, secret)` and records `edge`, atomically. `Ok(None)`
    /// when the token is unknown, wrong, used or expired (nothing recorded).
    pub async fn redeem_enrolment(
        &self,
        id: &str,
        secret: &str,
        edge: NewEdge<'_>,
        now: i64,
    ) -> Result<Option<Edge>, Error> {
        let mut tx = self.pool().begin().await?;
        let won = sqlx::query(
            "UPDATE hub_enrolment_tokens SET used_at = $1, edge_id = $2
             WHERE id = $3 AND secret_sha256 = $4 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(edge.id)
        .bind(id)
        .bind(digest(secret))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if won != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let name: String =
            sqlx::query_scalar("SELECT edge_name FROM hub_enrolment_tokens WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO hub_edges (id, name, enrolled_at, cert_sha256, audit_key, checkpoint_size)
             VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(edge.id)
        .bind(&name)
        .bind(now)
        .bind(edge.cert_sha256)
        .bind(edge.audit_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.edge(edge.id).await
    }

    /// The edge with id `id`.
    pub async fn edge(&self, id: &str) -> Result<Option<Edge>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {EDGE_COLUMNS} FROM hub_edges WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(row_to_edge).transpose()
    }

    /// The edge whose certificate has SHA-256 `cert_sha256` (hex).
    pub async fn edge_by_cert(&self, cert_sha256: &str) -> Result<Option<Edge>, Error> {
        let row = sqlx::query(&format!(
            "SELECT {EDGE_COLUMNS} FROM hub_edges WHERE cert_sha256 = $1"
        ))
        .bind(cert_sha256)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(row_to_edge).transpose()
    }

    /// Every edge, by enrolment time.
    pub async fn edges(&self) -> Result<Vec<Edge>, Error> {
        let rows = sqlx::query(&format!(
            "SELECT {EDGE_COLUMNS} FROM hub_edges ORDER BY enrolled_at, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row_to_edge).collect()
    }

    /// Revokes edge `id` (its certificate stops working on the next request);
    /// `false` when there is no such edge or it was already revoked.
    pub async fn revoke_edge(&self, id: &str, now: i64) -> Result<bool, Error> {
        Ok(
            sqlx::query(
                "UPDATE hub_edges SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?
            .rows_affected()
                == 1,
        )
    }

    /// Issues an operator token called `name` for the query API and
    /// `/metrics`; returns `(id, secret)`.
    pub async fn issue_operator_token(
        &self,
        name: &str,
        now: i64,
    ) -> Result<(String, String), Error> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = random_secret()?;
        sqlx::query(
            "INSERT INTO hub_operator_tokens (id, name, secret_sha256, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(name)
        .bind(digest(&secret))
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok((id, secret))
    }

    /// The name of the unrevoked operator token `(id, secret)`, if it is one.
    pub async fn check_operator_token(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<Option<String>, Error> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT name, secret_sha256 FROM hub_operator_tokens WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(name, stored)| {
            super::same_digest(&stored, &digest(secret)).then_some(name)
        }))
    }
}
