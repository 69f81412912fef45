//! The audit log (appends, SIGKILL mid-append, tampering), keys and users,
//! the evidence vault, the database upgrade and the outbox, in one test
//! binary (one link instead of eleven): PKCS#11 on SoftHSMv2, SIGKILL during
//! the re-wrap job, Wycheproof vectors, a schema-4 upgrade, and the outbox's
//! transactions, bounds and crash safety (and against a model); the hub's storage on SQLite and
//! PostgreSQL.

mod audit_crash;
mod audit_log;
mod audit_tamper;
mod db_keys;
mod db_scim;
mod db_sso;
mod db_upgrade;
mod db_users;
mod hub;
mod outbox;
mod outbox_model;
mod pkcs11;
mod rewrap_crash;
mod wycheproof;
