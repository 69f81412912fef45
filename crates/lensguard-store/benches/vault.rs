//! Seal and open throughput of the evidence vault for 1 MiB objects, against
//! the raw AES-256-GCM speed of the same library (aws-lc-rs) measured in the
//! same run on the same buffer: the floor the envelope should stay within 80%
//! of. Seal is a fresh data key, wrapping it under the KEK, and sealing in
//! place; open is unwrapping and opening in place.
//!
//! `cargo bench -p lensguard-store --bench vault` (one thread; medians of 5
//! runs of 400 operations each).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use lensguard_core::policy::DataCategory;
use lensguard_store::db::Db;
use lensguard_store::vault::envelope::{self, Binding, HEAD_LEN};
use lensguard_store::vault::{DataKey, KeySource, Keyring, MasterKey};
use std::time::Instant;

const SIZE: usize = 1 << 20;
const OPS: usize = 400;
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn gbps(seconds: f64) -> f64 {
    (SIZE * OPS) as f64 / seconds / 1e9
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = rt
        .block_on(Db::open(&dir.path().join("bench.db")))
        .expect("db");
    let master = MasterKey::from_file(&dir.path().join("master.key"), true).expect("master");
    let keyring = rt
        .block_on(Keyring::open(
            db.pool_for_bench(),
            KeySource::MasterKey(master),
            0,
        ))
        .expect("keyring");
    let binding = Binding {
        id: [7; 16],
        category: DataCategory::Original,
    };
    let raw_key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9u8; 32]).expect("key"));
    let mut buf = vec![0x5a_u8; SIZE];

    let (mut raw_seal, mut raw_open, mut env_seal, mut env_open) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        // Raw AES-256-GCM: seal then open the same buffer in place.
        let (mut s, mut o) = (0.0, 0.0);
        for i in 0..OPS {
            let nonce = || {
                let mut n = [0u8; 12];
                n[..8].copy_from_slice(&(i as u64).to_le_bytes());
                Nonce::assume_unique_for_key(n)
            };
            let t = Instant::now();
            let tag = raw_key
                .seal_in_place_separate_tag(nonce(), Aad::from(&b"aad"[..]), &mut buf)
                .expect("seal");
            s += t.elapsed().as_secs_f64();
            buf.extend_from_slice(tag.as_ref());
            let t = Instant::now();
            let n = raw_key
                .open_in_place(nonce(), Aad::from(&b"aad"[..]), &mut buf)
                .expect("open")
                .len();
            o += t.elapsed().as_secs_f64();
            buf.truncate(n);
        }
        raw_seal.push(gbps(s));
        raw_open.push(gbps(o));

        // The envelope: fresh data key, wrap, seal; unwrap, open.
        let (mut s, mut o) = (0.0, 0.0);
        for _ in 0..OPS {
            let plain = std::mem::take(&mut buf);
            let t = Instant::now();
            let key = DataKey::generate().expect("data key");
            let wrapped = keyring.wrap(&binding, 1, &key).expect("wrap");
            let sealed = envelope::seal(&binding, &key, plain).expect("seal");
            s += t.elapsed().as_secs_f64();
            drop(key);
            let mut body = sealed.body;
            body.extend_from_slice(&sealed.tag);
            let head: [u8; HEAD_LEN] = sealed.head;
            let t = Instant::now();
            let key = keyring.unwrap(&binding, &wrapped).expect("unwrap");
            buf = envelope::open(&binding, &key, &head, body).expect("open");
            o += t.elapsed().as_secs_f64();
        }
        env_seal.push(gbps(s));
        env_open.push(gbps(o));
    }
    assert!(
        buf.iter().all(|&b| b == 0x5a),
        "round trips preserved the data"
    );
    let (rs, ro, es, eo) = (
        median(raw_seal),
        median(raw_open),
        median(env_seal),
        median(env_open),
    );
    // Durable storing of what one 1080p inspection keeps by default: a
    // redacted JPEG and a thumbnail (sizes as measured on the 1080p set).
    let vault = rt
        .block_on(async {
            let audit = std::sync::Arc::new(lensguard_store::audit::AuditLog::open(
                &dir.path().join("audit"),
                lensguard_store::audit::AuditOptions::default(),
            )?);
            let master = MasterKey::from_file(&dir.path().join("master.key"), false)?;
            lensguard_store::vault::Vault::open(
                &db,
                &dir.path().join("vault"),
                KeySource::MasterKey(master),
                audit,
                time::OffsetDateTime::now_utc(),
            )
            .await
        })
        .expect("vault");
    let mut puts = Vec::new();
    for _ in 0..50 {
        use lensguard_core::pixels::__from_redaction;
        use lensguard_store::vault::Sealable;
        let objects = [
            Sealable::from(__from_redaction::redacted(vec![0x33u8; 190 * 1024])),
            Sealable::from(__from_redaction::thumbnail(vec![0x33u8; 12 * 1024])),
        ]
        .into_iter()
        .map(|pixels| {
            let new = lensguard_store::vault::NewObject {
                inspection_id: "bench",
                device_id: None,
                keep_days: 7,
                policy: "bench@1",
            };
            (new, pixels)
        })
        .collect();
        let t = Instant::now();
        rt.block_on(vault.put_all(objects, time::OffsetDateTime::now_utc()))
            .expect("put");
        puts.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "durable put of one inspection's kept images (190 KiB + 12 KiB): median {:.2} ms",
        median(puts)
    );
    println!("1 MiB objects, one core, medians of {RUNS} x {OPS}:");
    println!("  raw AES-256-GCM (aws-lc-rs)  seal {rs:6.2} GB/s   open {ro:6.2} GB/s");
    println!(
        "  vault envelope               seal {es:6.2} GB/s   open {eo:6.2} GB/s   ({:.0}% / {:.0}% of raw; target >= 80%)",
        100.0 * es / rs,
        100.0 * eo / ro
    );
}
