//! What the `pki_certificate`, `pki_csr` and `pki_key` fuzz targets check,
//! shared with the corpus replay test (`cargo test -p gm-pki --test
//! pki_fuzz_corpus`). Each check parses arbitrary bytes and, when they
//! parse, exercises every accessor; a panic anywhere is a bug.

#![allow(dead_code)]

use std::time::SystemTime;

use gm_pki::{
    verify_chain, Certificate, Csr, DistinguishedName, KeyPair, SubjectAltName, VerifyOptions,
};

/// Certificate parsing (PEM bundles and DER), display, JSON summary and
/// chain verification against itself.
pub fn certificate(data: &[u8]) {
    let Ok(certs) = Certificate::load_all(data) else {
        return;
    };
    let now = SystemTime::now();
    for c in &certs {
        let _ = c.to_text(now);
        let _ = serde_json::to_string(&c.info(now));
        let _ = (c.subject().to_string(), c.issuer().to_openssl_string());
        let _ = (c.key_usage(), c.extended_key_usage(), c.basic_constraints());
        let _ = (
            c.subject_key_id(),
            c.authority_key_id(),
            c.subject_alt_names(),
        );
        let _ = c.days_left(now);
        let again = Certificate::from_der(c.to_der()).expect("a parsed certificate re-parses");
        assert_eq!(&again, c);
        let pem = Certificate::load(c.to_pem().as_bytes()).expect("PEM round trip");
        assert_eq!(&pem, c);
        // Self-verification and verification against the others: any
        // answer, no panic.
        let _ = verify_chain(
            c,
            &certs,
            std::slice::from_ref(c),
            &VerifyOptions::default(),
        );
        let opts = VerifyOptions {
            name: Some("example.cn".into()),
            purpose: gm_pki::Purpose::ServerAuth,
            ..Default::default()
        };
        let _ = verify_chain(c, &certs, &certs, &opts);
    }
}

/// CSR parsing, signature checks and accessors.
pub fn csr(data: &[u8]) {
    let Ok(csr) = Csr::load(data) else {
        return;
    };
    let _ = csr.verify();
    let _ = csr.verify_proof_of_possession();
    let _ = (
        csr.subject().to_string(),
        csr.subject_alt_names(),
        csr.signature_algorithm(),
    );
    let again = Csr::from_der(csr.to_der()).expect("a parsed CSR re-parses");
    assert_eq!(again.to_der(), csr.to_der());
    let _ = Csr::load(csr.to_pem().as_bytes()).expect("PEM round trip");
}

/// Private keys (with a password, so encrypted keys are decrypted), and
/// names and SANs from text.
pub fn key_and_text(data: &[u8]) {
    if let Ok(k) = KeyPair::load(data, Some(b"password")) {
        let _ = k.to_pkcs8_der();
        let _ = k.public_key().to_pem();
    }
    let _ = gm_pki::PublicKeyInfo::load(data);
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(dn) = s.parse::<DistinguishedName>() {
            let back = DistinguishedName::from_der(dn.to_der()).expect("our DER re-parses");
            assert_eq!(back.to_der(), dn.to_der());
            let _ = back.to_string().parse::<DistinguishedName>();
        }
        let _ = s.parse::<SubjectAltName>();
    }
}
