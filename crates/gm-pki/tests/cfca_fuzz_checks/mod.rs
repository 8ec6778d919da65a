//! The checks behind the `cfca_sm2file`, `cfca_escrow`, `cfca_dual_csr` and
//! `rotate_config` fuzz targets (fuzz/fuzz_targets/), shared with the corpus
//! replay tests (cfca_fuzz_corpus.rs). Each takes arbitrary bytes and
//! panics only on a bug: a parser panic, or a round trip that does not
//! hold.
#![allow(dead_code)]

use gm_pki::cfca::sm2file::{RawSm2File, Sm2File};
use gm_pki::cfca::{DualCsr, EscrowedKey};

/// The temporary key of the gmsm escrow fixtures (so that corpus seeds
/// built for it decrypt and reach the key-pair checks).
const TEMP_KEY: [u8; 32] = [
    0xca, 0xce, 0xce, 0x36, 0xca, 0xc2, 0x4a, 0xab, 0x94, 0xe5, 0x2b, 0xcd, 0x5c, 0x0f, 0x55, 0x2c,
    0x95, 0x02, 0x8f, 0x28, 0x56, 0x05, 0x31, 0x35, 0xa1, 0xe4, 0x75, 0x10, 0xb4, 0xc3, 0x07, 0xba,
];

/// `.sm2` files: structure, then decryption with the seeds' password.
pub fn sm2_file(data: &[u8]) {
    let Ok(raw) = RawSm2File::parse(data) else {
        return;
    };
    assert!(!raw.encrypted_key().is_empty() && raw.encrypted_key().len() % 16 == 0);
    // Re-parsing the structure from DER is stable.
    if let Ok(file) = raw.decrypt(b"123456") {
        let again = file.to_der(b"123456").expect("encode");
        let back = Sm2File::parse(&again, b"123456").expect("round trip");
        assert_eq!(back.private_key(), file.private_key());
        assert_eq!(back.certificate_der(), file.certificate_der());
    }
    let _ = raw.decrypt(b"");
}

/// Escrow envelopes: parse, re-encode, decrypt with the fixture key.
pub fn escrow(data: &[u8]) {
    let Ok(env) = EscrowedKey::parse(data) else {
        return;
    };
    let der = env.to_der();
    assert_eq!(EscrowedKey::parse_der(&der).expect("DER round trip"), env);
    assert_eq!(
        EscrowedKey::parse(env.to_text().as_bytes()).expect("text round trip"),
        env
    );
    let temp = gm_sm2::PrivateKey::from_bytes(&TEMP_KEY).expect("fixture key");
    if let Ok(key) = env.decrypt(&temp) {
        // A decrypted key always re-seals and decrypts to itself.
        let sealed = EscrowedKey::seal(&key, temp.public_key()).expect("seal");
        assert_eq!(sealed.decrypt(&temp).expect("decrypt"), key);
    }
}

/// Dual-key CSRs: verified and unverified parsing agree.
pub fn dual_csr(data: &[u8]) {
    let unverified = DualCsr::parse_unverified(data);
    if let Ok(csr) = DualCsr::parse(data) {
        let u = unverified.expect("verified implies parsable");
        assert_eq!(u, csr);
        let again = DualCsr::parse(csr.to_der()).expect("DER round trip");
        assert_eq!(again, csr);
    }
}

/// Rotation configuration files.
pub fn rotate_config(data: &[u8]) {
    if let Ok(cfg) = gm_pki::rotate::Config::parse(data, std::path::Path::new("/nonexistent")) {
        assert!(!cfg.certs.is_empty());
        for c in &cfg.certs {
            assert!(c.cert.is_absolute() && c.key.is_absolute());
            assert!(cfg.get(&c.name).is_ok());
        }
    }
}
