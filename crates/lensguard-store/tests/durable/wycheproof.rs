//! AES-256-GCM known answers and forgeries from Project Wycheproof, through
//! the evidence vault's own seal and open wrappers.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use lensguard_store::vault::envelope::{open_in_place, seal_in_place};

/// AES-256-GCM known answers and forgeries from Project Wycheproof (through
/// the `wycheproof` crate, Apache-2.0), run through the vault's own seal and
/// open wrappers.
#[test]
fn wycheproof_aes_256_gcm_vectors() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).expect("vectors");
    let mut ran = 0;
    for group in set.test_groups {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for t in group.tests {
            let nonce: [u8; 12] = t.nonce[..].try_into().expect("96-bit nonce");
            let mut buf = t.pt.to_vec();
            let tag = seal_in_place(&t.key, nonce, &t.aad, &mut buf).expect("seal");
            let mut sealed = t.ct.to_vec();
            sealed.extend_from_slice(&t.tag);
            let opened = open_in_place(&t.key, &nonce, &t.aad, &mut sealed);
            if t.result.must_fail() {
                assert!(opened.is_err(), "tcId {} must be rejected", t.tc_id);
                assert!(
                    buf != t.ct[..] || tag[..] != t.tag[..],
                    "tcId {}: an invalid vector was produced by sealing",
                    t.tc_id
                );
            } else {
                assert_eq!(buf, &t.ct[..], "tcId {} ciphertext", t.tc_id);
                assert_eq!(&tag[..], &t.tag[..], "tcId {} tag", t.tc_id);
                let n = opened.unwrap_or_else(|e| panic!("tcId {}: {e}", t.tc_id));
                assert_eq!(&sealed[..n], &t.pt[..], "tcId {} plaintext", t.tc_id);
            }
            ran += 1;
        }
    }
    assert!(ran > 50, "only {ran} vectors ran");
}
