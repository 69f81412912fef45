//! The intake: the one way a photo enters lensguard, whatever its source
//! (the HTTP upload, a watched folder, later camera frames).
//!
//! Camera events come in through [`Intake::record_event`] (`events`):
//! audited, stored with their outbox record, no pixels.
//!
//! A source calls [`Intake::admit`] before it reads the photo (a full
//! outbox refuses here, so no body is read for nothing; an earlier answer
//! under the same idempotency key is looked up), then [`Intake::submit`]
//! with the bytes and its metadata. The intake does everything a
//! submission does: takes a decoding turn, runs the pipeline
//! ([`lensguard_vision::pipeline::run`]), audits the submission under the
//! source's identity, seals what the policy keeps in the vault, and stores
//! the result with its outbox record in one transaction. It answers with a
//! typed [`Accepted`] or an [`IntakeError`] that says what the source must
//! do; it never builds an HTTP response (the HTTP source maps the error in
//! `serve/inspections.rs`, in one place).
//!
//! Invariants, held for every source:
//! - nothing is stored or sealed before the submission is audited, and an
//!   audit log that cannot take the entry leaves no change at all;
//! - what is kept is sealed before the result is recorded; the original's
//!   bytes are dropped unless the policy keeps them;
//! - the outbox receives only the report projected through the policy's
//!   egress manifest, in the same transaction as the result;
//! - a submission under an idempotency key already used by the same actor
//!   runs no second inspection.

mod decode_queue;
mod events;
mod evidence;
mod footage;
mod meta;
mod outbox;

pub use decode_queue::{Busy, DecodeQueue};
pub use events::CameraEvent;
pub use footage::SegmentOutcome;
pub use meta::{Location, SubmissionMeta};
pub use outbox::Outbox;

use bytes::Bytes;
use lensguard_core::report::Verdict;
use lensguard_core::{InspectionReport, Limits, Policy};
use lensguard_store::audit::{AuditEvent, AuditLog, Outcome};
use lensguard_store::db::{Db, IdempotentOriginal, NewInspection, NewOutboxRecord};
use lensguard_store::vault::Vault;
use lensguard_vision::derive::Detectors;
use serde::Serialize;
use std::sync::{Arc, RwLock};

/// Everything a submission touches, shared by every source.
pub struct Intake {
    /// The embedded database.
    pub db: Db,
    /// The audit log.
    pub audit: Arc<AuditLog>,
    /// The evidence vault.
    pub vault: Arc<Vault>,
    /// The policy in force (replaced by `PUT /v1/policy`).
    policy: RwLock<Arc<Policy>>,
    /// Limits on untrusted sizes.
    pub limits: Limits,
    /// The face and text detectors (each loaded, or why not).
    pub detectors: Arc<Detectors>,
    /// Turns to decode photos.
    pub decodes: DecodeQueue,
    /// What goes to the hub.
    pub outbox: Outbox,
}

/// Who sends a submission, as the audit log records it.
pub struct Origin {
    /// The actor (`key:ID`, `user:ID`, `source:NAME`).
    pub actor: String,
    /// The audit entry for this submission, with its actor, the action
    /// `inspections.submit` and whatever the source knows (client address,
    /// request id); the intake adds the target and the outcome.
    pub event: AuditEvent,
    /// How the source waits for a decoding turn.
    pub turns: Turns,
    /// Whether an undecodable photo is stored as an inspection with the
    /// `error` verdict (sources nobody answers: a watched folder), or only
    /// answered (the HTTP upload answers 422 and stores nothing).
    pub record_undecodable: bool,
}

/// How a source waits for a decoding turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turns {
    /// Wait in the bounded queue; refuse with [`IntakeError::Busy`] when it
    /// is full (a client is waiting and can retry).
    QueueOrRefuse,
    /// Wait until a turn is free (one submission at a time per source).
    Wait,
}

/// A photo and what its source says about it.
pub struct Submission {
    /// The bytes, as read within `Limits::max_file_bytes`.
    pub photo: Bytes,
    /// Its metadata.
    pub meta: SubmissionMeta,
    /// The inspection's id, when the source fixed it beforehand (a watched
    /// folder records it durably before processing); else a new one.
    pub id: Option<String>,
    /// The policy to judge by, when the source names its own.
    pub policy: Option<Arc<Policy>>,
}

/// What [`Intake::admit`] found before the photo was read.
pub struct Admitted {
    key: Option<String>,
    original: Option<IdempotentOriginal>,
}

/// A submission taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Inspected and stored now (for an undecodable photo from a source
    /// that records it, `verdict` is `error`).
    Stored {
        /// The inspection's id.
        id: String,
        /// The verdict.
        verdict: Verdict,
        /// The stored result (JSON).
        report: String,
    },
    /// The same request was taken before under the same idempotency key;
    /// nothing was run or stored again.
    Replayed {
        /// The inspection's id.
        id: String,
        /// The stored result (JSON).
        report: String,
    },
}

/// Why a submission was not taken, and what the source must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeError {
    /// The audit log cannot take the entry: nothing was changed. Retry
    /// after the log's volume is fixed.
    AuditUnavailable,
    /// The database cannot be read or written: nothing was stored. Retry.
    DatabaseUnavailable,
    /// The vault cannot seal (its keys unreachable): nothing was stored.
    /// Retry when the keys are back.
    VaultUnavailable,
    /// The outbox holds as many records as this edge queues; nothing was
    /// stored. Retry after the hub has taken some.
    OutboxFull {
        /// Records waiting.
        depth: u64,
    },
    /// Every decoding turn is taken and the queue is full (audited). Retry
    /// in a second.
    Busy(Busy),
    /// The photo cannot be decoded (audited; stored only for sources that
    /// record undecodable photos, which get [`Accepted::Stored`] instead).
    /// Do not retry the same bytes.
    Undecodable {
        /// The reason code (`truncated`, `decode_budget_exceeded`, ...).
        code: String,
        /// What the decoder said.
        message: String,
    },
    /// The idempotency key was used by this actor for a different request
    /// (audited). Send a new key.
    KeyReused,
    /// The result could not be stored after the photo was inspected and
    /// audited. Retry.
    StorageFailed,
    /// The inspection itself failed unexpectedly. Retry once; report it.
    Internal,
}

/// A submission after the pipeline ran (or could not).
struct Inspected {
    outcome: lensguard_vision::pipeline::Outcome,
    /// The photo's bytes, when they were read whole.
    photo: Option<Bytes>,
    now: time::OffsetDateTime,
}

#[derive(Serialize)]
struct WithId<'a> {
    id: &'a str,
    #[serde(flatten)]
    report: &'a InspectionReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    submission: Option<&'a SubmissionMeta>,
}

impl Intake {
    /// An intake over these parts, judging by `policy` until it is replaced.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        db: Db,
        audit: Arc<AuditLog>,
        vault: Arc<Vault>,
        policy: Policy,
        limits: Limits,
        detectors: Arc<Detectors>,
        decodes: DecodeQueue,
        outbox: Outbox,
    ) -> Intake {
        Intake {
            db,
            audit,
            vault,
            policy: RwLock::new(Arc::new(policy)),
            limits,
            detectors,
            decodes,
            outbox,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        // A writer cannot panic while holding the lock (it only swaps an Arc).
        match self.policy.read() {
            Ok(p) => Arc::clone(&p),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Puts `policy` in force for the next submission.
    pub fn set_policy(&self, policy: Policy) {
        let mut slot = match self.policy.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(policy);
    }

    async fn audit(&self, event: AuditEvent) -> Result<(), IntakeError> {
        crate::common::audit_alert::append(&self.audit, event)
            .await
            .map_err(|_| IntakeError::AuditUnavailable)
    }

    /// Before the photo is read: looks up an earlier answer under
    /// `idempotency_key` and refuses when the outbox is full (a replay
    /// stores nothing, so a full outbox does not refuse it).
    pub async fn admit(
        &self,
        actor: &str,
        idempotency_key: Option<String>,
    ) -> Result<Admitted, IntakeError> {
        let original = match &idempotency_key {
            Some(k) => self
                .db
                .find_idempotent(actor, k)
                .await
                .map_err(|_| IntakeError::DatabaseUnavailable)?,
            None => None,
        };
        if original.is_none() {
            self.outbox.admit(&self.db).await?;
        }
        Ok(Admitted {
            key: idempotency_key,
            original,
        })
    }

    /// Inspects, audits, keeps and records one submission. A photo larger
    /// than `Limits::max_file_bytes` is not inspected: it gets the `error`
    /// verdict `file_too_large` (stored for sources that record undecodable
    /// files).
    pub async fn submit(
        &self,
        admitted: Admitted,
        origin: Origin,
        submission: Submission,
    ) -> Result<Accepted, IntakeError> {
        let Submission {
            photo,
            meta,
            id,
            policy,
        } = submission;
        let Admitted { key, original } = admitted;
        // The entry a replay found only at the insert is recorded under.
        let replay_event = origin.event.clone();
        let digest = request_digest(&photo, &meta);
        if let Some(original) = original {
            return self.replay(origin, original, &digest).await;
        }
        let policy = policy.unwrap_or_else(|| self.policy());
        let now = time::OffsetDateTime::now_utc();
        let inspected = if photo.len() as u64 > self.limits.max_file_bytes {
            // Only a source that read past the limit gets here (the HTTP
            // upload refuses with 413 first): none of the bytes are kept.
            let report = InspectionReport::error(
                lensguard_core::report::ReasonCode::FileTooLarge,
                format!(
                    "the file is larger than {} bytes",
                    self.limits.max_file_bytes
                ),
                policy.reference(),
            );
            Inspected {
                outcome: lensguard_vision::pipeline::Outcome {
                    report,
                    derivative: None,
                    thumbnail: None,
                },
                photo: None,
                now,
            }
        } else {
            self.inspect(&origin, photo, &policy, now).await?
        };
        self.conclude(
            key,
            origin,
            replay_event,
            meta,
            id,
            policy,
            digest,
            inspected,
        )
        .await
    }

    /// Runs the pipeline in a decoding turn.
    async fn inspect(
        &self,
        origin: &Origin,
        photo: Bytes,
        policy: &Arc<Policy>,
        now: time::OffsetDateTime,
    ) -> Result<Inspected, IntakeError> {
        let turn = match origin.turns {
            Turns::QueueOrRefuse => self.decodes.turn().await,
            Turns::Wait => self.decodes.turn_when_free().await,
        };
        let turn = match turn {
            Ok(turn) => turn,
            Err(busy) => {
                let event = origin.event.clone().outcome(
                    Outcome::Failure,
                    Some(format!(
                        "busy: {} inspections running, {} waiting",
                        busy.running, busy.waiting
                    )),
                );
                self.audit(event).await?;
                return Err(IntakeError::Busy(busy));
            }
        };
        let limits = self.limits;
        let detectors = Arc::clone(&self.detectors);
        let worker_policy = Arc::clone(policy);
        let (outcome, photo) = tokio::task::spawn_blocking(move || {
            let o = lensguard_vision::pipeline::run(
                &photo,
                &worker_policy,
                &limits,
                now,
                &detectors,
                true,
            );
            drop(turn);
            (o, photo)
        })
        .await
        .map_err(|_| IntakeError::Internal)?;
        Ok(Inspected {
            outcome,
            photo: Some(photo),
            now,
        })
    }

    /// Audits, keeps and records an inspected submission.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        &self,
        key: Option<String>,
        origin: Origin,
        replay_event: AuditEvent,
        meta: SubmissionMeta,
        id: Option<String>,
        policy: Arc<Policy>,
        digest: String,
        inspected: Inspected,
    ) -> Result<Accepted, IntakeError> {
        let Inspected {
            outcome,
            photo,
            now,
        } = inspected;
        let lensguard_vision::pipeline::Outcome {
            report,
            derivative,
            thumbnail,
        } = outcome;
        // A source that fixed the id may be resuming after a crash that
        // came after the evidence was sealed: what is sealed is not sealed twice.
        let resumed = id.is_some();
        let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let device = meta.device_id.as_deref().map_or(String::new(), |d| {
            format!("; device {}", self.audit.pseudonym(d))
        });
        let event = origin.event.target(format!("inspection:{id}"));
        if report.verdict == Verdict::Error {
            let first = report.reasons.first();
            let code = first.map_or("corrupt".to_owned(), |r| r.code.to_string());
            let message = first.map_or(String::new(), |r| r.message.clone());
            self.audit(event.outcome(
                Outcome::Failure,
                Some(format!("undecodable: {code}{device}")),
            ))
            .await?;
            if !origin.record_undecodable {
                return Err(IntakeError::Undecodable { code, message });
            }
        } else {
            self.audit(event.outcome(
                Outcome::Success,
                Some(format!("verdict {}{device}", report.verdict)),
            ))
            .await?;
        }
        crate::common::crash_point::hit("intake.audited");
        let body = serde_json::to_string(&WithId {
            id: &id,
            report: &report,
            submission: (!meta.is_empty()).then_some(&meta),
        })
        .map_err(|_| IntakeError::Internal)?;
        // What the policy keeps, sealed in the vault before the result is
        // recorded; the original's bytes are dropped here otherwise.
        let kept = evidence::Kept {
            original: photo,
            redacted: derivative,
            thumbnail,
        };
        let owner = evidence::Owner {
            inspection_id: &id,
            device_id: meta.device_id.as_deref(),
            verdict: report.verdict,
            resumed,
        };
        evidence::keep(self, &policy, owner, kept, now).await?;
        crate::common::crash_point::hit("intake.sealed");
        let rule = policy.data.result;
        let (_, expires_at) = self
            .vault
            .expiry(now, rule.keep_days)
            .await
            .map_err(|_| IntakeError::DatabaseUnavailable)?;
        let policy_ref = format!("{}@{}", policy.name, policy.revision);
        let queued = self
            .outbox
            .queue_for_hub
            .then(|| outbox::record(&policy, &body));
        let stored = self
            .db
            .insert_inspection(
                &NewInspection {
                    id: &id,
                    actor: &origin.actor,
                    idempotency_key: key.as_deref(),
                    request_sha256: key.is_some().then_some(digest.as_str()),
                    device_id: meta.device_id.as_deref(),
                    verdict: report.verdict.as_str(),
                    report: &body,
                    expires_at,
                    policy: &policy_ref,
                    outbox: queued.as_ref().map(|record| NewOutboxRecord {
                        record,
                        limits: self.outbox.limits,
                    }),
                },
                now,
            )
            .await;
        match stored {
            Ok(Ok(())) => {
                self.outbox.wake.notify_one();
                Ok(Accepted::Stored {
                    id,
                    verdict: report.verdict,
                    report: body,
                })
            }
            Ok(Err(original)) => {
                let origin = Origin {
                    event: replay_event,
                    ..origin
                };
                self.replay(origin, original, &digest).await
            }
            Err(e) => Err(self.not_stored(e)),
        }
    }

    /// What a failed insert (with its outbox record) means for the source.
    fn not_stored(&self, e: lensguard_store::Error) -> IntakeError {
        match e {
            lensguard_store::Error::OutboxFull { depth, .. } => {
                self.outbox.metrics.refused_full.inc();
                IntakeError::OutboxFull { depth }
            }
            _ => IntakeError::StorageFailed,
        }
    }

    /// The answer to a submission whose idempotency key was used before:
    /// the original result when the request is the same, else
    /// [`IntakeError::KeyReused`] (audited).
    async fn replay(
        &self,
        origin: Origin,
        original: IdempotentOriginal,
        digest: &str,
    ) -> Result<Accepted, IntakeError> {
        let id = original.inspection.id.clone();
        if original.same_request(digest) {
            return Ok(Accepted::Replayed {
                id,
                report: original.inspection.report,
            });
        }
        let event = origin.event.target(format!("inspection:{id}")).outcome(
            Outcome::Failure,
            Some("Idempotency-Key reused with a different request".to_owned()),
        );
        self.audit(event).await?;
        Err(IntakeError::KeyReused)
    }
}

/// SHA-256 (hex) of what a submission asks for: the photo's bytes and its
/// metadata, so a retake sent under the same idempotency key differs.
fn request_digest(photo: &[u8], meta: &SubmissionMeta) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(b"lensguard-submission/v1\n");
    ctx.update(&(photo.len() as u64).to_be_bytes());
    ctx.update(photo);
    ctx.update(serde_json::to_string(meta).unwrap_or_default().as_bytes());
    hex::encode(ctx.finish().as_ref())
}
