//! The one error type of `lensguard-store`.

/// Errors from durable storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system refused a read, write or sync.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Another process holds the audit log open for writing.
    #[error("the audit log in {0} is in use by another lensguard process")]
    Locked(String),
    /// The audit log cannot record (a write or sync failed, now or earlier:
    /// it refuses further appends until reopened, as its tail on disk is
    /// unknown). The action the entry describes must not happen: answer
    /// `audit_unavailable`, change nothing.
    #[error("the audit log cannot record: {0}")]
    AuditUnavailable(String),
    /// The log on disk does not verify; see the message for the first bad entry.
    #[error("{0}")]
    Tampered(#[from] crate::audit::verify::Finding),
    /// The log does not extend a checkpoint kept elsewhere (the database's
    /// anchor): its history was rewritten, truncated or re-signed. Restore
    /// the audit folder from a backup and investigate; nothing was written.
    #[error(
        "the audit log does not extend the checkpoint kept outside it ({size} entries, signed \
         {time}): {finding} (nothing was written; restore the audit folder from a backup and \
         investigate)"
    )]
    NotExtending {
        /// Entries the trusted checkpoint covers.
        size: u64,
        /// When it was signed.
        time: time::OffsetDateTime,
        /// What verification found.
        finding: crate::audit::verify::Finding,
    },
    /// The database refused a query.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Sealed evidence failed its integrity check: altered, truncated, or
    /// moved between objects, categories or key versions.
    #[error("integrity check failed: {0}")]
    Integrity(String),
    /// The key-encryption keys cannot be reached (HSM missing, wrong PIN,
    /// key destroyed, wrong master key): new evidence must be refused.
    #[error("vault keys unavailable: {0}")]
    KeyUnavailable(String),
    /// The outbox is at its bound; nothing was written.
    #[error("the outbox is full ({depth} records, {bytes} bytes waiting for the hub)")]
    OutboxFull {
        /// Records waiting.
        depth: u64,
        /// Payload bytes waiting.
        bytes: u64,
    },
    /// No such object.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller's input is not acceptable (a name, a password, a reason,
    /// a proof range, an id); the message says what to change. Nothing was
    /// changed. Over HTTP: 400 or 422, with the message.
    #[error("{0}")]
    Rejected(String),
    /// The request conflicts with what is stored (a user name that exists,
    /// an id already taken). Nothing was changed. Over HTTP: 409.
    #[error("{0}")]
    Conflict(String),
    /// Stored data is unreadable or inconsistent (an unknown category or
    /// role in the database, a damaged key file, an unreadable checkpoint).
    /// Restore from a backup and investigate; never shown to an API client.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// The configuration, or a file it names, does not fit (a malformed
    /// master key, a signing key other than the log's, an unknown database
    /// URL, a database from a newer lensguard). Fix the configuration.
    #[error("{0}")]
    Misconfigured(String),
    /// A system or cryptographic primitive failed (the random generator,
    /// sealing, password hashing). Retry; report it if it persists. Never
    /// shown to an API client.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl Error {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}
