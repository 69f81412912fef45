//! Opening, filling and closing evidence cases, each change audited before
//! it is made. The tables and reads: [`crate::db`]'s `cases` module.
//!
//! Opening a case places its legal hold (kind `case`), so whatever is
//! added is held from that moment; closing lifts it. A closed case takes
//! no more evidence. Each added item is its own audit entry
//! (`case.add`, target `case:ID KIND:ITEM`), so an export can prove every
//! addition with an inclusion proof.

use super::{Caller, Vault};
use crate::Error;
use crate::audit::Outcome;
use crate::db::CaseItem;

impl Vault {
    /// Opens a case named `name` for `reason`, owned by `caller`, and
    /// places its hold (audited first); returns its id.
    pub async fn open_case(
        &self,
        name: &str,
        reason: &str,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<String, Error> {
        if name.trim().is_empty() || reason.trim().is_empty() {
            return Err(Error::Rejected(
                "a case needs a name and a reason".to_owned(),
            ));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let event = caller
            .event("case.open", now)
            .target(format!("case:{id}"))
            .outcome(
                Outcome::Success,
                Some(format!("reason {}", self.audit.pseudonym(reason))),
            );
        self.audit.append_async(event).await?;
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO cases (id, name, reason, owner, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(name.trim())
        .bind(reason.trim())
        .bind(&caller.actor)
        .bind(now.unix_timestamp())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO legal_holds (id, kind, value, reason, created_at, created_by)
             VALUES (?, 'case', ?, ?, ?, ?)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&id)
        .bind(format!("case {}", name.trim()))
        .bind(now.unix_timestamp())
        .bind(&caller.actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds `items` to open case `case_id` (each audited first); returns how
    /// many were new to the case. Every item must exist now: nothing is
    /// added when one does not.
    pub async fn add_to_case(
        &self,
        case_id: &str,
        items: &[CaseItem],
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<usize, Error> {
        let case = self.open_case_row(case_id).await?;
        for item in items {
            if !self.db.item_exists(item).await? {
                return Err(Error::NotFound(format!(
                    "{} {} (nothing was added to case {})",
                    item.kind.as_str(),
                    item.id,
                    case.id
                )));
            }
        }
        let mut added = 0;
        for item in items {
            let present: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM case_items WHERE case_id = ? AND kind = ? AND item_id = ?",
            )
            .bind(case_id)
            .bind(item.kind.as_str())
            .bind(&item.id)
            .fetch_one(self.db.pool())
            .await?;
            if present > 0 {
                continue;
            }
            let event = caller.event("case.add", now).target(format!(
                "case:{case_id} {}:{}",
                item.kind.as_str(),
                item.id
            ));
            self.audit.append_async(event).await?;
            sqlx::query(
                "INSERT INTO case_items (case_id, kind, item_id, added_at, added_by) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(case_id)
            .bind(item.kind.as_str())
            .bind(&item.id)
            .bind(now.unix_timestamp())
            .bind(&caller.actor)
            .execute(self.db.pool())
            .await?;
            added += 1;
        }
        Ok(added)
    }

    /// Closes open case `case_id` and lifts its hold (audited first): its
    /// evidence is kept again only as long as its retention says.
    pub async fn close_case(
        &self,
        case_id: &str,
        caller: &Caller,
        now: time::OffsetDateTime,
    ) -> Result<(), Error> {
        self.open_case_row(case_id).await?;
        let event = caller
            .event("case.close", now)
            .target(format!("case:{case_id}"));
        self.audit.append_async(event).await?;
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("UPDATE cases SET closed_at = ?, closed_by = ? WHERE id = ?")
            .bind(now.unix_timestamp())
            .bind(&caller.actor)
            .bind(case_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE legal_holds SET lifted_at = ?, lifted_by = ?
             WHERE kind = 'case' AND value = ? AND lifted_at IS NULL",
        )
        .bind(now.unix_timestamp())
        .bind(&caller.actor)
        .bind(case_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn open_case_row(&self, case_id: &str) -> Result<crate::db::Case, Error> {
        match self.db.get_case(case_id).await? {
            None => Err(Error::NotFound(format!("case {case_id}"))),
            Some(c) if c.closed_at.is_some() => Err(Error::Conflict(format!(
                "case {case_id} is closed; open a new case"
            ))),
            Some(c) => Ok(c),
        }
    }
}
