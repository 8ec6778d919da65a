//! Key formats: detection, both AlgorithmIdentifier forms, encrypted
//! PKCS#8 (GmSSL and OpenSSL profiles), and the errors for what is not
//! supported. Fixtures are the fuzz seeds in fuzz/corpus/sm2_private_key
//! and sm2_public_key (generated with `openssl` 3.0; the encrypted ones use
//! the password "password").

use std::path::PathBuf;

use gm_sm2::{Error, Pbes2Cipher, Pbes2Params, Pbkdf2Prf, PrivateKey, PublicKey};

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(dir)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn private(name: &str) -> Vec<u8> {
    fixture("sm2_private_key", name)
}

fn public(name: &str) -> Vec<u8> {
    fixture("sm2_public_key", name)
}

const PW: Option<&[u8]> = Some(b"password");

#[test]
fn every_form_of_the_same_key_loads() {
    let key = PrivateKey::load(&private("genpkey.pem"), None).unwrap();
    for name in [
        "pkcs8.der",
        "sec1.der",
        "sec1-sm2-label.pem",
        "sec1-ours.pem",
        "pkcs8-sm2-oid-alg.der",
    ] {
        assert_eq!(
            PrivateKey::load(&private(name), None).unwrap(),
            key,
            "{name}"
        );
    }
    for name in [
        "enc-aes256-sha256.pem",
        "enc-sm4-sha256.der",
        "enc-gmssl-sm3-sm4.pem",
    ] {
        assert_eq!(PrivateKey::load(&private(name), PW).unwrap(), key, "{name}");
        assert_eq!(
            PrivateKey::load(&private(name), Some(b"Password")),
            Err(Error::WrongPassword),
            "{name}"
        );
        assert_eq!(
            PrivateKey::load(&private(name), None),
            Err(Error::PasswordRequired),
            "{name}"
        );
    }
    // A password given for an unencrypted key is ignored.
    assert_eq!(PrivateKey::load(&private("pkcs8.der"), PW).unwrap(), key);
    // The public key, in all its forms, including the SM2-OID algorithm form
    // and a compressed point.
    for name in [
        "pub.pem",
        "pub.der",
        "spki-sm2-oid-alg.der",
        "pub-compressed.pem",
    ] {
        assert_eq!(
            &PublicKey::load(&public(name)).unwrap(),
            key.public_key(),
            "{name}"
        );
    }
    // ecparam -genkey: SM2 PARAMETERS block before the key.
    PrivateKey::load(&private("ecparam.pem"), None).unwrap();
}

#[test]
fn round_trips_through_every_writer() {
    let key = PrivateKey::generate().unwrap();
    let pk = key.public_key();
    assert_eq!(PrivateKey::load(&key.to_pkcs8_der(), None).unwrap(), key);
    assert_eq!(
        PrivateKey::load(key.to_pkcs8_pem().as_bytes(), None).unwrap(),
        key
    );
    assert_eq!(PrivateKey::load(&key.to_sec1_der(), None).unwrap(), key);
    assert_eq!(
        PrivateKey::load(key.to_sec1_pem().as_bytes(), None).unwrap(),
        key
    );
    assert_eq!(&PublicKey::load(&pk.to_spki_der()).unwrap(), pk);
    assert_eq!(&PublicKey::load(pk.to_spki_pem().as_bytes()).unwrap(), pk);
    assert_eq!(
        &PublicKey::from_sec1_bytes(&pk.to_sec1_bytes()).unwrap(),
        pk
    );
    assert_eq!(PrivateKey::from_bytes(&key.to_bytes()[..]).unwrap(), key);
    for prf in [
        Pbkdf2Prf::HmacSm3,
        Pbkdf2Prf::HmacSha256,
        Pbkdf2Prf::HmacSha1,
        Pbkdf2Prf::HmacSha512,
    ] {
        for cipher in [
            Pbes2Cipher::Sm4Cbc,
            Pbes2Cipher::Aes128Cbc,
            Pbes2Cipher::Aes192Cbc,
            Pbes2Cipher::Aes256Cbc,
        ] {
            let params = Pbes2Params {
                prf,
                cipher,
                iterations: 10,
            };
            let der = key.to_encrypted_pkcs8_der(b"pw", &params).unwrap();
            assert_eq!(
                PrivateKey::load(&der, Some(b"pw")).unwrap(),
                key,
                "{params:?}"
            );
            let pem = key.to_encrypted_pkcs8_pem(b"pw", &params).unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            assert_eq!(PrivateKey::load(pem.as_bytes(), Some(b"pw")).unwrap(), key);
        }
    }
    assert!(key
        .to_pkcs8_pem()
        .starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(key
        .to_sec1_pem()
        .starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert!(pk.to_spki_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let zero_iterations = Pbes2Params {
        iterations: 0,
        ..Pbes2Params::gm()
    };
    assert!(key.to_encrypted_pkcs8_der(b"pw", &zero_iterations).is_err());
}

#[test]
fn unsupported_things_are_named() {
    let unsupported = |name: &str| match PrivateKey::load(&private(name), PW) {
        Err(Error::UnsupportedAlgorithm { what, oid }) => format!("{what}: {oid}"),
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(
        unsupported("p256.pem"),
        "elliptic curve: 1.2.840.10045.3.1.7 (prime256v1 (NIST P-256))"
    );
    assert_eq!(
        unsupported("enc-des3.pem"),
        "PBES2 encryption scheme: 1.2.840.113549.3.7 (des-ede3-cbc)"
    );
    assert_eq!(
        unsupported("enc-scrypt.pem"),
        "PBES2 key derivation function: 1.3.6.1.4.1.11591.4.11 (scrypt)"
    );
    assert!(unsupported("enc-pbes1.pem")
        .starts_with("key encryption scheme (only PBES2): 1.2.840.113549.1.12.1.3"));
    assert!(unsupported("explicit-params.pem").contains("explicit ECParameters"));
    match PublicKey::load(&public("p256-pub.pem")) {
        Err(Error::UnsupportedAlgorithm {
            what: "elliptic curve",
            oid,
        }) => {
            assert!(oid.starts_with("1.2.840.10045.3.1.7"))
        }
        other => panic!("{other:?}"),
    }
    match PrivateKey::load(&private("legacy-encrypted.pem"), PW) {
        Err(Error::Pem(why)) => assert!(why.contains("Proc-Type"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_input_gets_typed_errors() {
    assert!(matches!(
        PrivateKey::load(&private("truncated.der"), None),
        Err(Error::Der {
            field: "private key",
            reason: "truncated value"
        })
    ));
    assert!(matches!(
        PrivateKey::load(b"", None),
        Err(Error::UnrecognizedFormat(_))
    ));
    assert!(matches!(
        PrivateKey::load(b"garbage", None),
        Err(Error::UnrecognizedFormat(_))
    ));
    assert!(matches!(
        PrivateKey::load(&public("pub.der"), None),
        Err(Error::UnrecognizedFormat(m)) if m.contains("public key")
    ));
    assert!(
        matches!(PrivateKey::load(&public("pub.pem"), None), Err(Error::Pem(m)) if m.contains("no private key"))
    );
    assert!(matches!(
        PublicKey::load(&private("genpkey.pem")),
        Err(Error::Pem(_))
    ));
    // Two keys in one PEM are ambiguous.
    let two = [private("genpkey.pem"), private("sec1-ours.pem")].concat();
    assert!(
        matches!(PrivateKey::load(&two, None), Err(Error::Pem(m)) if m.contains("more than one"))
    );
    // A certificate (or other block) next to the key is skipped.
    let mut with_cert = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec();
    with_cert.extend(private("genpkey.pem"));
    PrivateKey::load(&with_cert, None).unwrap();
    // Bad base64 inside a block.
    let bad = b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
    assert!(matches!(PrivateKey::load(bad, None), Err(Error::Pem(_))));
    // Trailing byte after the DER.
    let mut der = private("pkcs8.der");
    der.push(0);
    assert!(matches!(
        PrivateKey::load(&der, None),
        Err(Error::Der {
            reason: "unexpected trailing data",
            ..
        })
    ));
}

#[test]
fn sec1_public_key_must_match() {
    let a = PrivateKey::generate().unwrap();
    let b = PrivateKey::generate().unwrap();
    let mut sec1 = a.to_sec1_der().to_vec();
    let pa = a.public_key().to_sec1_bytes();
    let pb = b.public_key().to_sec1_bytes();
    let pos = sec1.windows(65).position(|w| w == pa).unwrap();
    sec1[pos..pos + 65].copy_from_slice(&pb);
    assert_eq!(PrivateKey::load(&sec1, None), Err(Error::KeyMismatch));
}

#[test]
fn debug_never_prints_secrets() {
    let key = PrivateKey::generate().unwrap();
    let d = hex::encode(&key.to_bytes()[..]);
    let signer = gm_sm2::SigningKey::new(&key, gm_sm2::DEFAULT_ID).unwrap();
    for text in [
        format!("{key:?}"),
        format!("{signer:?}"),
        format!("{:#?}", key),
    ] {
        assert!(!text.to_lowercase().contains(&d), "{text}");
        assert!(!text.contains(&d[..16]), "{text}");
    }
}
