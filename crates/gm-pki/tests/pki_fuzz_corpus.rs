//! Replays the seed corpora of the `pki_certificate`, `pki_csr` and
//! `pki_key` fuzz targets (fuzz/corpus/<target>/) through the same checks,
//! with truncations and single-byte mutations, so `cargo test` covers them
//! without nightly.

mod pki_fuzz_checks;

use std::path::PathBuf;

type Check = fn(&[u8]);

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read corpus file"))
        .collect()
}

fn replay(target: &str, check: Check) -> usize {
    let files = corpus(target);
    for data in &files {
        check(data);
        for len in (0..data.len()).step_by(13) {
            check(&data[..len]);
        }
    }
    files.len()
}

fn mutate(target: &str, check: Check, stride: usize) {
    for data in corpus(target) {
        for i in (0..data.len()).step_by(stride) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut m = data.clone();
                m[i] ^= flip;
                check(&m);
            }
        }
    }
}

#[test]
fn certificate_corpus() {
    assert!(replay("pki_certificate", pki_fuzz_checks::certificate) >= 10);
}

#[test]
fn csr_corpus() {
    assert!(replay("pki_csr", pki_fuzz_checks::csr) >= 6);
}

#[test]
fn key_corpus() {
    assert!(replay("pki_key", pki_fuzz_checks::key_and_text) >= 8);
}

#[test]
fn mutated_certificates_never_panic() {
    mutate("pki_certificate", pki_fuzz_checks::certificate, 5);
}

#[test]
fn mutated_csrs_never_panic() {
    mutate("pki_csr", pki_fuzz_checks::csr, 3);
}

#[test]
fn mutated_keys_never_panic() {
    mutate("pki_key", pki_fuzz_checks::key_and_text, 7);
}

/// Regenerates our own seeds (the OpenSSL-made ones, `openssl-*`, were
/// written with the commands in tests/pki_openssl.rs). Run with
/// `cargo test -p gm-pki --test pki_fuzz_corpus -- --ignored regenerate`.
#[test]
#[ignore]
fn regenerate_seeds() {
    use gm_pki::{quick, Csr, KeyAlgorithm, KeyPair, Profile};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let put = |target: &str, name: &str, data: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let pki = quick::self_signed_chain(alg, "seed.example.cn", Profile::TlsServer).unwrap();
        put(
            "pki_certificate",
            &format!("{alg}-root.pem"),
            pki.root.to_pem().as_bytes(),
        );
        put(
            "pki_certificate",
            &format!("{alg}-leaf.der"),
            pki.leaf.to_der(),
        );
        put(
            "pki_certificate",
            &format!("{alg}-chain.pem"),
            pki.leaf_chain_pem().as_bytes(),
        );
        let csr = Csr::new(
            &pki.leaf_key,
            &"CN=seed.example.cn,O=种子,C=CN".parse().unwrap(),
            &[
                "DNS:seed.example.cn".parse().unwrap(),
                "IP:10.0.0.1".parse().unwrap(),
            ],
        )
        .unwrap();
        put("pki_csr", &format!("{alg}.pem"), csr.to_pem().as_bytes());
        put("pki_csr", &format!("{alg}.der"), csr.to_der());
        put(
            "pki_key",
            &format!("{alg}-pkcs8.pem"),
            pki.leaf_key.to_pkcs8_pem().unwrap().as_bytes(),
        );
    }
    let (_, enc, _) = quick::sm2_dual_chain("dual.example.cn").unwrap();
    put("pki_certificate", "sm2-enc.pem", enc.to_pem().as_bytes());
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let bare = Csr::new(&key, &"/C=CN/CN=bare".parse().unwrap(), &[]).unwrap();
    put("pki_csr", "sm2-no-sans.der", bare.to_der());
    // Encrypted keys with few iterations (mutations are replayed many times).
    let sm2 = key.sm2().unwrap();
    let gm = gm_sm2::Pbes2Params {
        iterations: 16,
        ..gm_sm2::Pbes2Params::gm()
    };
    put(
        "pki_key",
        "sm2-gmssl-enc.der",
        &sm2.to_encrypted_pkcs8_der(b"password", &gm).unwrap(),
    );
    let os = gm_sm2::Pbes2Params {
        iterations: 16,
        ..gm_sm2::Pbes2Params::openssl()
    };
    put(
        "pki_key",
        "sm2-openssl-enc.pem",
        sm2.to_encrypted_pkcs8_pem(b"password", &os)
            .unwrap()
            .as_bytes(),
    );
    put("pki_key", "sm2-sec1.pem", sm2.to_sec1_pem().as_bytes());
    put(
        "pki_key",
        "sm2-spki.pem",
        key.public_key().to_pem().as_bytes(),
    );
    put(
        "pki_key",
        "name-rfc4514.txt",
        "CN=a\\,b,OU=x,O=测试,C=CN".as_bytes(),
    );
    put(
        "pki_key",
        "name-openssl.txt",
        b"/C=CN/ST=BJ/L=BJ/O=Example/OU=IT/CN=www.example.cn/emailAddress=a@b.cn",
    );
    put("pki_key", "san-ip6.txt", b"IP:2001:db8::1");
}
