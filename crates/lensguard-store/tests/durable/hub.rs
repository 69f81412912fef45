//! The hub's storage, one suite run on both backends: SQLite (a file) and a
//! real PostgreSQL server started for the run. Each scenario gets a fresh
//! database. What must hold on both: a record delivered any number of times
//! (even by two hub processes at once) is stored once; an enrolment token
//! enrols exactly one edge; a revoked edge stays revoked; an edge's audit
//! history may only grow (rollback and fork flag it); queries filter by
//! edge, device, verdict, kind and time; a hub user's TOTP code opens one
//! session, and sessions end when idle, disabled or forged.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use lensguard_core::Sensitive;
use lensguard_core::access::Role;
use lensguard_store::audit::{AuditEvent, AuditLog, AuditOptions};
use lensguard_store::db::{KeyCheck, LoginRefusal, NewUser, SessionTerms};
use lensguard_store::hub::{
    CheckpointOutcome, CheckpointUpdate, HubDb, IngestRecord, NewEdge, RecordFilter,
};
use lensguard_store::secrets::InstallationSecrets;
use std::future::Future;
use std::pin::Pin;

const NOW: i64 = 1_800_000_000;

/// Opens a fresh, empty hub database.
type Fresh<'a> = &'a dyn Fn(&str) -> Pin<Box<dyn Future<Output = HubDb> + 'a>>;

fn record(seq: i64, device: &str, verdict: &str) -> IngestRecord {
    let id = format!("insp-{seq}");
    IngestRecord {
        seq,
        created_at: NOW + seq,
        kind: "inspection".into(),
        manifest: "site@3".into(),
        inspection_id: Some(id.clone()),
        device_id: Some(device.into()),
        verdict: Some(verdict.into()),
        payload: format!("{{\"id\":\"{id}\",\"verdict\":\"{verdict}\"}}"),
    }
}

async fn enrolled(db: &HubDb, name: &str, audit_key: &str) -> String {
    let token = db.issue_enrolment(name, 3600, NOW).await.unwrap();
    let id = format!("edge-{name}");
    let edge = db
        .redeem_enrolment(
            &token.id,
            &token.secret,
            NewEdge {
                id: &id,
                cert_sha256: "00",
                audit_key,
            },
            NOW,
        )
        .await
        .unwrap()
        .expect("enrolled");
    assert_eq!(edge.name, name);
    id
}

async fn delivered_twice_is_stored_once(fresh: Fresh<'_>) {
    let db = fresh("dedupe").await;
    let edge = enrolled(&db, "dock-1", "").await;
    let batch: Vec<_> = (1..=250).map(|s| record(s, "van-1", "pass")).collect();
    let first = db.ingest(&edge, &batch, NOW).await.unwrap();
    assert_eq!(
        (first.stored, first.duplicates, first.acknowledged_through),
        (250, 0, 250)
    );
    // The acknowledgement was lost: the edge sends the same batch again,
    // then an overlapping one.
    let again = db.ingest(&edge, &batch, NOW).await.unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 250));
    let overlap: Vec<_> = (200..=300).map(|s| record(s, "van-1", "pass")).collect();
    let third = db.ingest(&edge, &overlap, NOW).await.unwrap();
    assert_eq!(
        (third.stored, third.duplicates, third.acknowledged_through),
        (50, 51, 300)
    );
    let counts = db.record_counts(&edge).await.unwrap();
    assert_eq!(
        (counts.records, counts.inspections, counts.seq_range),
        (300, 300, Some((1, 300)))
    );
    assert_eq!(db.last_seq(&edge).await.unwrap(), 300);
}

async fn two_hub_processes_store_one_copy(fresh: Fresh<'_>) {
    let a = fresh("two-hubs").await;
    let b = fresh("two-hubs").await;
    let edge = enrolled(&a, "dock-2", "").await;
    let batch: Vec<_> = (1..=400).map(|s| record(s, "van-2", "fail")).collect();
    let (x, y) = tokio::join!(a.ingest(&edge, &batch, NOW), b.ingest(&edge, &batch, NOW));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.stored + y.stored, 400, "{x:?} {y:?}");
    assert_eq!(x.duplicates + y.duplicates, 400, "{x:?} {y:?}");
    assert_eq!(a.record_counts(&edge).await.unwrap().records, 400);
}

async fn an_enrolment_token_enrols_one_edge(fresh: Fresh<'_>) {
    let db = fresh("tokens").await;
    let token = db.issue_enrolment("gate", 600, NOW).await.unwrap();
    assert!(
        db.enrolment_usable(&token.id, &token.secret, NOW)
            .await
            .unwrap()
    );
    assert!(!db.enrolment_usable(&token.id, "wrong", NOW).await.unwrap());
    let wrong = db
        .redeem_enrolment(
            &token.id,
            "f".repeat(64).as_str(),
            NewEdge {
                id: "x",
                cert_sha256: "1",
                audit_key: "",
            },
            NOW,
        )
        .await
        .unwrap();
    assert!(wrong.is_none(), "a wrong secret enrols nobody");
    let race = |id: &'static str| {
        db.redeem_enrolment(
            &token.id,
            &token.secret,
            NewEdge {
                id,
                cert_sha256: "2",
                audit_key: "",
            },
            NOW + 1,
        )
    };
    let (p, q) = tokio::join!(race("p"), race("q"));
    let winners = [p.unwrap(), q.unwrap()].into_iter().flatten().count();
    assert_eq!(winners, 1, "one token, one edge");
    assert_eq!(db.edges().await.unwrap().len(), 1);
    let late = db.issue_enrolment("late", 60, NOW).await.unwrap();
    let expired = db
        .redeem_enrolment(
            &late.id,
            &late.secret,
            NewEdge {
                id: "late",
                cert_sha256: "3",
                audit_key: "",
            },
            NOW + 61,
        )
        .await
        .unwrap();
    assert!(expired.is_none(), "an expired token enrols nobody");
    // Revocation sticks and is reported once.
    let id = db.edges().await.unwrap()[0].id.clone();
    assert!(db.revoke_edge(&id, NOW + 5).await.unwrap());
    assert!(!db.revoke_edge(&id, NOW + 6).await.unwrap());
    assert_eq!(
        db.edge(&id).await.unwrap().unwrap().revoked_at,
        Some(NOW + 5)
    );
    // Operator tokens: the secret is checked, a wrong one gets nothing.
    let (tid, secret) = db.issue_operator_token("ops", NOW).await.unwrap();
    assert_eq!(
        db.check_operator_token(&tid, &secret)
            .await
            .unwrap()
            .as_deref(),
        Some("ops")
    );
    assert_eq!(db.check_operator_token(&tid, "nope").await.unwrap(), None);
}

fn grow(log: &AuditLog, n: usize, what: &str) {
    for i in 0..n {
        log.append(AuditEvent::new(
            time::OffsetDateTime::now_utc(),
            "system",
            format!("{what}.{i}"),
        ))
        .unwrap();
    }
}

async fn rewritten_history_flags_the_edge(fresh: Fresh<'_>) {
    let db = fresh("checkpoints").await;
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(&dir.path().join("a"), AuditOptions::default()).unwrap();
    let edge = enrolled(&db, "yard", &hex::encode(log.public_key())).await;
    grow(&log, 5, "first");
    let c5 = log.checkpoint().unwrap();
    let accepted = db
        .accept_checkpoint(
            &edge,
            CheckpointUpdate {
                checkpoint: &c5,
                from_size: 0,
                proof: &[],
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(accepted, CheckpointOutcome::Accepted(c5.size));
    grow(&log, 7, "second");
    let c12 = log.checkpoint().unwrap();
    let proof = log.consistency_proof(c5.size, c12.size).unwrap();
    // A proof from a size the hub does not hold changes nothing.
    let stale = db
        .accept_checkpoint(
            &edge,
            CheckpointUpdate {
                checkpoint: &c12,
                from_size: 1,
                proof: &proof,
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(stale, CheckpointOutcome::Stale(c5.size));
    let ok = db
        .accept_checkpoint(
            &edge,
            CheckpointUpdate {
                checkpoint: &c12,
                from_size: c5.size,
                proof: &proof,
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(ok, CheckpointOutcome::Accepted(c12.size));
    assert!(db.edge(&edge).await.unwrap().unwrap().flagged_at.is_none());

    // Rollback: an older (validly signed) checkpoint.
    let rolled = db
        .accept_checkpoint(
            &edge,
            CheckpointUpdate {
                checkpoint: &c5,
                from_size: c12.size,
                proof: &[],
            },
            NOW,
        )
        .await
        .unwrap();
    assert!(
        matches!(&rolled, CheckpointOutcome::Flagged(r) if r.starts_with("rollback")),
        "{rolled:?}"
    );

    // Fork: the same signing key over a different history.
    let db = fresh("checkpoints-fork").await;
    let edge = enrolled(&db, "yard", &hex::encode(log.public_key())).await;
    db.accept_checkpoint(
        &edge,
        CheckpointUpdate {
            checkpoint: &c12,
            from_size: 0,
            proof: &[],
        },
        NOW,
    )
    .await
    .unwrap();
    drop(log);
    let forked_dir = dir.path().join("b");
    std::fs::create_dir_all(&forked_dir).unwrap();
    std::fs::copy(
        dir.path().join("a/signing.key"),
        forked_dir.join("signing.key"),
    )
    .unwrap();
    let forked = AuditLog::open(&forked_dir, AuditOptions::default()).unwrap();
    grow(&forked, 20, "rewritten");
    let f20 = forked.checkpoint().unwrap();
    let proof = forked.consistency_proof(c12.size, f20.size).unwrap();
    let fork = db
        .accept_checkpoint(
            &edge,
            CheckpointUpdate {
                checkpoint: &f20,
                from_size: c12.size,
                proof: &proof,
            },
            NOW,
        )
        .await
        .unwrap();
    assert!(
        matches!(&fork, CheckpointOutcome::Flagged(r) if r.starts_with("fork")),
        "{fork:?}"
    );
    let flagged = db.edge(&edge).await.unwrap().unwrap();
    assert!(flagged.flagged_at.is_some());
    assert_eq!(
        flagged.checkpoint_size as u64, c12.size,
        "a fork does not move the stored checkpoint"
    );
}

async fn queries_filter_and_page(fresh: Fresh<'_>) {
    let db = fresh("queries").await;
    let a = enrolled(&db, "north", "").await;
    let b = enrolled(&db, "south", "").await;
    let batch_a: Vec<_> = (1..=30)
        .map(|s| {
            record(
                s,
                if s % 2 == 0 { "cam-even" } else { "cam-odd" },
                if s % 3 == 0 { "fail" } else { "pass" },
            )
        })
        .collect();
    let batch_b: Vec<_> = (1..=10).map(|s| record(s, "cam-b", "retry")).collect();
    db.ingest(&a, &batch_a, NOW).await.unwrap();
    db.ingest(&b, &batch_b, NOW).await.unwrap();
    let q = |f: RecordFilter| {
        let db = db.clone();
        async move { db.records(&f, 1000).await.unwrap() }
    };
    assert_eq!(q(RecordFilter::default()).await.len(), 40);
    assert_eq!(
        q(RecordFilter {
            edge: Some(b.clone()),
            ..Default::default()
        })
        .await
        .len(),
        10
    );
    assert_eq!(
        q(RecordFilter {
            device: Some("cam-even".into()),
            ..Default::default()
        })
        .await
        .len(),
        15
    );
    assert_eq!(
        q(RecordFilter {
            verdict: Some("fail".into()),
            ..Default::default()
        })
        .await
        .len(),
        10
    );
    let window = q(RecordFilter {
        from: Some(NOW + 5),
        to: Some(NOW + 8),
        edge: Some(a.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        window.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![5, 6, 7]
    );
    // Paging visits every record once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = db
            .records(
                &RecordFilter {
                    after: after.clone(),
                    ..Default::default()
                },
                7,
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page
            .last()
            .map(|r| (r.created_at, r.edge_id.clone(), r.seq));
        seen.extend(page.into_iter().map(|r| (r.edge_id, r.seq)));
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!((seen.len(), unique.len()), (40, 40));
}

/// The TOTP code of base32 `secret` at `at` (RFC 6238: SHA-1, 6 digits, 30 s).
fn code(secret: &str, at: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    let t =
        totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into()).unwrap();
    t.generate(u64::try_from(at).unwrap())
}

fn terms(idle: Option<i64>) -> SessionTerms {
    SessionTerms {
        lifetime: time::Duration::hours(12),
        idle: idle.map(time::Duration::seconds),
        client: "test".to_owned(),
        via: None,
    }
}

async fn hub_users_sign_in_once_per_code_and_sessions_end(fresh: Fresh<'_>) {
    let db = fresh("hub-users").await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = InstallationSecrets::load_or_create(dir.path()).unwrap();
    let now = NOW;
    let made = db
        .create_user(
            NewUser {
                username: "ana".into(),
                role: Role::Admin,
                password: Sensitive::new("correct horse battery".into()),
                devices: None,
            },
            &secrets,
            now,
        )
        .await
        .unwrap();
    let secret = made.secret_base32.expose().clone();
    let pw = || Sensitive::new("correct horse battery".to_owned());
    // Wrong password, wrong code, unknown name: refused with the reason.
    let wrong = db
        .check_login(
            "ana",
            Sensitive::new("nope nope nope".into()),
            "000000",
            &secrets,
            now,
        )
        .await
        .unwrap();
    assert!(matches!(wrong, Err(LoginRefusal::WrongPassword(_))));
    let bad_code = db
        .check_login("ana", pw(), "000000", &secrets, now)
        .await
        .unwrap();
    assert!(matches!(bad_code, Err(LoginRefusal::WrongCode(_))));
    let nobody = db
        .check_login("bob", pw(), "000000", &secrets, now)
        .await
        .unwrap();
    assert_eq!(nobody, Err(LoginRefusal::UnknownUser));
    // The right code opens one session; the same code again does not.
    let login = db
        .check_login("ana", pw(), &code(&secret, now), &secrets, now)
        .await
        .unwrap()
        .expect("valid");
    let session = db
        .open_login_session(&login, &terms(Some(60)), now)
        .await
        .unwrap()
        .expect("opened");
    let again = db
        .check_login("ana", pw(), &code(&secret, now), &secrets, now)
        .await
        .unwrap();
    assert!(
        matches!(again, Err(LoginRefusal::ReusedCode(_))),
        "{again:?}"
    );
    let token = session.token.expose().clone();
    let check = db.authenticate_session(&token, now + 30).await.unwrap();
    assert!(matches!(check, KeyCheck::Valid(ref p) if p.role == Some(Role::Admin)));
    // Idle past its limit: expired.
    let idle = db
        .authenticate_session(&token, now + 30 + 61)
        .await
        .unwrap();
    assert!(matches!(idle, KeyCheck::Expired(_)), "{idle:?}");
    // A tampered secret is invalid.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert!(matches!(
        db.authenticate_session(&forged, now).await.unwrap(),
        KeyCheck::Invalid
    ));
    // Disabling ends the session at once.
    let later = now + 120;
    let login = db
        .check_login("ana", pw(), &code(&secret, later), &secrets, later)
        .await
        .unwrap()
        .expect("valid");
    let s2 = db
        .open_login_session(&login, &terms(None), later)
        .await
        .unwrap()
        .expect("opened");
    assert!(db.disable_user(&made.user.id, later).await.unwrap());
    assert!(matches!(
        db.authenticate_session(s2.token.expose(), later)
            .await
            .unwrap(),
        KeyCheck::Revoked(_)
    ));
    assert_eq!(db.active_owners().await.unwrap(), 0);
}

async fn suite(fresh: Fresh<'_>) {
    delivered_twice_is_stored_once(fresh).await;
    two_hub_processes_store_one_copy(fresh).await;
    an_enrolment_token_enrols_one_edge(fresh).await;
    rewritten_history_flags_the_edge(fresh).await;
    queries_filter_and_page(fresh).await;
    hub_users_sign_in_once_per_code_and_sessions_end(fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_storage_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let fresh = move |name: &str| -> Pin<Box<dyn Future<Output = HubDb>>> {
        let url = format!("sqlite://{}", root.join(format!("{name}.db")).display());
        Box::pin(async move { HubDb::open(&url).await.expect("open sqlite hub db") })
    };
    suite(&fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_storage_on_postgres() {
    let Some(server) = lensguard_testkit::postgres::Postgres::start() else {
        return;
    };
    let server = std::sync::Arc::new(server);
    let made = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let fresh = |name: &str| -> Pin<Box<dyn Future<Output = HubDb>>> {
        let db_name = name.replace('-', "_");
        let url = if made.lock().unwrap().insert(db_name.clone()) {
            server.create_database(&db_name)
        } else {
            server.url(&db_name)
        };
        Box::pin(async move { HubDb::open(&url).await.expect("open postgres hub db") })
    };
    suite(&fresh).await;
}
