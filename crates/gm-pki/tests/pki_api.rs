//! Keys, names, CSRs, profiles and the CA directory.

use std::time::{Duration, SystemTime};

use gm_pki::{
    Certificate, CertificateAuthority, Csr, DistinguishedName, Error, IssueRequest, KeyAlgorithm,
    KeyPair, KeyUsage, Profile, PublicKeyAlgorithm, SignatureAlgorithm, SubjectAltName,
};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gm-pki-api-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn keys_round_trip_plain_and_encrypted() {
    for (alg, expect) in [
        (KeyAlgorithm::Sm2, PublicKeyAlgorithm::Sm2),
        (
            KeyAlgorithm::Rsa2048,
            PublicKeyAlgorithm::Rsa { bits: 2048 },
        ),
        (
            KeyAlgorithm::Rsa3072,
            PublicKeyAlgorithm::Rsa { bits: 3072 },
        ),
        (KeyAlgorithm::P256, PublicKeyAlgorithm::P256),
    ] {
        let key = KeyPair::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.public_key().algorithm(), &expect);
        let pem = key.to_pkcs8_pem().unwrap();
        assert_eq!(
            KeyPair::load(pem.as_bytes(), None).unwrap().public_key(),
            key.public_key()
        );
        let der = key.to_pkcs8_der().unwrap();
        assert_eq!(
            KeyPair::load(&der, None).unwrap().public_key(),
            key.public_key()
        );
        let enc = key.to_encrypted_pem(b"pw").unwrap();
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert_eq!(
            KeyPair::load(enc.as_bytes(), Some(b"pw"))
                .unwrap()
                .public_key(),
            key.public_key()
        );
        assert!(
            matches!(
                KeyPair::load(enc.as_bytes(), Some(b"nope")),
                Err(Error::WrongPassword)
            ),
            "{alg}"
        );
        assert!(
            matches!(
                KeyPair::load(enc.as_bytes(), None),
                Err(Error::PasswordRequired)
            ),
            "{alg}"
        );
        // Debug never shows key material.
        let dbg = format!("{key:?}");
        assert!(!dbg.contains(&pem[40..60]));
    }
}

#[test]
fn gmssl_style_encrypted_sm2_key_loads() {
    // PBKDF2-HMAC-SM3 + SM4-CBC, which the pkcs8 crate cannot parse.
    let sm2 = gm_sm2::PrivateKey::generate().unwrap();
    let pem = sm2
        .to_encrypted_pkcs8_pem(b"pw", &gm_sm2::Pbes2Params::gm())
        .unwrap();
    let key = KeyPair::load(pem.as_bytes(), Some(b"pw")).unwrap();
    assert_eq!(key.sm2().unwrap(), &sm2);
    let der = sm2
        .to_encrypted_pkcs8_der(b"pw", &gm_sm2::Pbes2Params::gm())
        .unwrap();
    assert_eq!(
        KeyPair::load(&der, Some(b"pw")).unwrap().sm2().unwrap(),
        &sm2
    );
    assert!(matches!(
        KeyPair::load(pem.as_bytes(), Some(b"x")),
        Err(Error::WrongPassword)
    ));
}

#[test]
fn key_algorithm_names() {
    for (s, a) in [
        ("sm2", KeyAlgorithm::Sm2),
        ("RSA", KeyAlgorithm::Rsa2048),
        ("p256", KeyAlgorithm::P256),
        ("rsa4096", KeyAlgorithm::Rsa4096),
    ] {
        assert_eq!(s.parse::<KeyAlgorithm>().unwrap(), a);
    }
    assert!("dsa".parse::<KeyAlgorithm>().is_err());
}

#[test]
fn names_and_sans() {
    let dn: DistinguishedName = "CN=张三,OU=研发部,O=某银行股份有限公司,L=Beijing,ST=Beijing,C=CN"
        .parse()
        .unwrap();
    assert_eq!(dn.common_name().as_deref(), Some("张三"));
    assert_eq!(
        dn.to_openssl_string(),
        "C = CN, ST = Beijing, L = Beijing, O = 某银行股份有限公司, OU = 研发部, CN = 张三"
    );
    let again = DistinguishedName::from_der(dn.to_der()).unwrap();
    assert_eq!(again.to_string(), dn.to_string());
    assert!(matches!(
        "C=China".parse::<DistinguishedName>(),
        Err(Error::InvalidName(_))
    ));
    assert!(matches!(
        "DNS:a b".parse::<SubjectAltName>(),
        Err(Error::InvalidSan(_))
    ));
}

#[test]
fn csr_round_trip_and_tamper() {
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let sans = [
        "DNS:a.example.cn".parse().unwrap(),
        "IP:::1".parse().unwrap(),
    ];
    let csr = Csr::new(&key, &"CN=a.example.cn,C=CN".parse().unwrap(), &sans).unwrap();
    let back = Csr::load(csr.to_pem().as_bytes()).unwrap();
    back.verify().unwrap();
    assert_eq!(back.subject_alt_names(), &sans);
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(
        back.signature_algorithm(),
        SignatureAlgorithm::Sm2Sm3 { null_params: false }
    );
    let der = Csr::load(csr.to_der()).unwrap();
    assert_eq!(der.to_der(), csr.to_der());

    // A different SM2 ID does not verify with the default one.
    let other = Csr::new_with_sm2_id(&key, &"CN=x".parse().unwrap(), &[], b"other").unwrap();
    assert!(matches!(other.verify(), Err(Error::CsrSignatureInvalid(_))));
    other.verify_with_sm2_id(b"other").unwrap();

    // Tampered: flip a bit in the subject.
    let mut bytes = csr.to_der().to_vec();
    let pos = bytes.windows(4).position(|w| w == b"a.ex").unwrap();
    bytes[pos] ^= 0x20;
    let bad = Csr::from_der(&bytes).unwrap();
    assert!(matches!(bad.verify(), Err(Error::CsrSignatureInvalid(_))));
    let ca = CertificateAuthority::init(
        &"CN=Root,C=CN".parse().unwrap(),
        365,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        ca.issue_csr(&bad, Profile::TlsServer, 30),
        Err(Error::CsrSignatureInvalid(_))
    ));
    ca.issue_csr(&csr, Profile::TlsServer, 30).unwrap();
}

#[test]
fn profiles_set_the_right_extensions() {
    let ca = CertificateAuthority::init(
        &"CN=Root,C=CN".parse().unwrap(),
        3650,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    let root = ca.certificate();
    assert_eq!(root.basic_constraints(), Some((true, None)));
    assert_eq!(
        root.key_usage(),
        Some(KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN)
    );
    assert!(root.is_self_issued());
    assert_eq!(root.subject_key_id(), root.authority_key_id());
    assert_eq!(root.version(), 3);

    let cases = [
        (
            Profile::IntermediateCa,
            Some((true, Some(0))),
            KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_CERT_SIGN | KeyUsage::CRL_SIGN,
            vec![],
        ),
        (
            Profile::TlsServer,
            Some((false, None)),
            KeyUsage::DIGITAL_SIGNATURE,
            vec!["serverAuth"],
        ),
        (
            Profile::TlsClient,
            Some((false, None)),
            KeyUsage::DIGITAL_SIGNATURE,
            vec!["clientAuth"],
        ),
        (
            Profile::GmSign,
            Some((false, None)),
            KeyUsage::DIGITAL_SIGNATURE | KeyUsage::NON_REPUDIATION,
            vec![],
        ),
        (
            Profile::GmEnc,
            Some((false, None)),
            KeyUsage::KEY_ENCIPHERMENT | KeyUsage::DATA_ENCIPHERMENT | KeyUsage::KEY_AGREEMENT,
            vec![],
        ),
    ];
    for (profile, bc, ku, eku) in cases {
        let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
        let cert = ca
            .issue(
                &IssueRequest::new(
                    "CN=host.example.cn,C=CN".parse().unwrap(),
                    key.public_key().clone(),
                    profile,
                )
                .san("DNS:host.example.cn".parse().unwrap()),
            )
            .unwrap();
        assert_eq!(cert.basic_constraints(), bc, "{profile}");
        assert_eq!(cert.key_usage(), Some(ku), "{profile}");
        let info = cert.info(SystemTime::now());
        assert_eq!(info.ext_key_usage, eku, "{profile}");
        assert_eq!(info.sans, vec!["DNS:host.example.cn"], "{profile}");
        assert_eq!(cert.authority_key_id(), root.subject_key_id(), "{profile}");
        assert_eq!(
            cert.subject_key_id().unwrap(),
            key.public_key().key_identifier().to_vec()
        );
        assert!(cert.matches_key(&key));
    }
    // RSA server certificates also allow keyEncipherment.
    let rsa = KeyPair::generate(KeyAlgorithm::Rsa2048).unwrap();
    let cert = ca
        .issue(&IssueRequest::new(
            "CN=rsa.example.cn".parse().unwrap(),
            rsa.public_key().clone(),
            Profile::TlsServer,
        ))
        .unwrap();
    assert_eq!(
        cert.key_usage(),
        Some(KeyUsage::DIGITAL_SIGNATURE | KeyUsage::KEY_ENCIPHERMENT)
    );
    // ... and the CN became the SAN.
    assert_eq!(
        cert.subject_alt_names(),
        vec![SubjectAltName::Dns("rsa.example.cn".into())]
    );
}

#[test]
fn serials_are_random_positive_16_bytes() {
    let ca = CertificateAuthority::init(
        &"CN=Root,C=CN".parse().unwrap(),
        365,
        KeyPair::generate(KeyAlgorithm::P256).unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate(KeyAlgorithm::P256).unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let cert = ca
            .issue(
                &IssueRequest::new(
                    "CN=s.example".parse().unwrap(),
                    key.public_key().clone(),
                    Profile::TlsClient,
                )
                .days(30),
            )
            .unwrap();
        let s = cert.serial();
        assert_eq!(s.len(), 16);
        assert!(s[0] & 0x80 == 0 && s[0] != 0);
        assert!(seen.insert(s.to_vec()));
    }
}

#[test]
fn sm2_signature_algorithm_has_no_parameters() {
    let pki = gm_pki::quick::sm2_chain("a.example.cn").unwrap();
    let der = pki.leaf.to_der();
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75,
    ];
    assert_eq!(
        der.windows(alg.len()).filter(|w| *w == alg).count(),
        2,
        "inner and outer"
    );
    // SPKI: id-ecPublicKey + SM2 curve.
    let spki = [
        0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf,
        0x55, 0x01, 0x82, 0x2d,
    ];
    assert!(der.windows(spki.len()).any(|w| w == spki));
}

#[test]
fn validity_rules() {
    let ca = CertificateAuthority::init(
        &"CN=Root,C=CN".parse().unwrap(),
        30,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let req = IssueRequest::new(
        "CN=v.example".parse().unwrap(),
        key.public_key().clone(),
        Profile::TlsServer,
    );
    assert!(matches!(
        ca.issue(&req.clone().days(365)),
        Err(Error::InvalidValidity(_))
    ));
    let now = SystemTime::now();
    assert!(matches!(
        ca.issue(&req.clone().validity(now, now)),
        Err(Error::InvalidValidity(_))
    ));
    let cert = ca.issue(&req.clone().days(10)).unwrap();
    assert_eq!(cert.days_left(now), 10);
    assert_eq!(cert.days_left(now + Duration::from_secs(3600)), 9);
    assert_eq!(cert.days_left(now + Duration::from_secs(11 * 86_400)), -1);
    // A server certificate needs a host name somewhere.
    let no_host = IssueRequest::new(
        "CN=Not A Host,C=CN".parse().unwrap(),
        key.public_key().clone(),
        Profile::TlsServer,
    )
    .days(5);
    assert!(matches!(ca.issue(&no_host), Err(Error::Profile(_))));
    // No second root from issue().
    let root_req = IssueRequest::new(
        "CN=R2".parse().unwrap(),
        key.public_key().clone(),
        Profile::RootCa,
    )
    .days(5);
    assert!(matches!(ca.issue(&root_req), Err(Error::Profile(_))));
}

#[test]
fn times_after_2049_use_generalized_time() {
    let ca = CertificateAuthority::init(
        &"CN=Long Root,C=CN".parse().unwrap(),
        40 * 365,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    let text = ca.certificate().to_text(SystemTime::now());
    assert!(text.contains("Not After : "));
    let info = ca.certificate().info(SystemTime::now());
    assert!(info.not_after.starts_with("20"));
    assert!(info.days_left >= 40 * 365 - 1);
    // Round-trips through DER.
    Certificate::from_der(ca.certificate().to_der()).unwrap();
}

#[test]
fn ca_directory_save_and_load() {
    let dir = scratch("cadir");
    let ca_dir = dir.join("ca");
    let ca = CertificateAuthority::init(
        &"CN=Dir Root,C=CN".parse().unwrap(),
        365,
        KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap()
    .with_sm2_id(b"1234567812345678");
    ca.save(&ca_dir, None, false).unwrap();
    assert!(matches!(
        ca.save(&ca_dir, None, false),
        Err(Error::AlreadyExists(_))
    ));
    ca.save(&ca_dir, None, true).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ca_dir.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let loaded = CertificateAuthority::load(&ca_dir).unwrap();
    assert_eq!(loaded.certificate(), ca.certificate());
    assert_eq!(loaded.sm2_id(), b"1234567812345678");

    // An intermediate with an encrypted key.
    let sub = loaded
        .new_intermediate(
            &"CN=Dir Sub,C=CN".parse().unwrap(),
            100,
            KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
        )
        .unwrap();
    let sub_dir = dir.join("sub");
    sub.save(&sub_dir, Some(b"pw"), false).unwrap();
    assert!(matches!(
        CertificateAuthority::load(&sub_dir),
        Err(Error::PasswordRequired)
    ));
    let sub2 = CertificateAuthority::load_with_password(&sub_dir, Some(b"pw")).unwrap();
    assert_eq!(sub2.chain(), &[ca.certificate().clone()]);

    // A root saved over the intermediate with force: the old chain goes
    // too, or it would be loaded above the new root. Without force nothing
    // is touched.
    assert!(matches!(
        ca.save(&sub_dir, None, false),
        Err(Error::AlreadyExists(_))
    ));
    assert_eq!(
        CertificateAuthority::load_with_password(&sub_dir, Some(b"pw"))
            .unwrap()
            .certificate(),
        sub.certificate()
    );
    ca.save(&sub_dir, None, true).unwrap();
    let replaced = CertificateAuthority::load(&sub_dir).unwrap();
    assert_eq!(replaced.certificate(), ca.certificate());
    assert!(replaced.chain().is_empty());

    // Key and certificate must match.
    let other = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    assert!(matches!(
        CertificateAuthority::from_parts(ca.certificate().clone(), other, vec![]),
        Err(Error::KeyMismatch)
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn certificate_text_and_json() {
    let pki = gm_pki::quick::sm2_chain("svc.example.cn").unwrap();
    let now = SystemTime::now();
    let text = pki.leaf.to_text(now);
    for needle in [
        "Version: 3 (0x2)",
        "Signature Algorithm: SM2-with-SM3",
        "Public Key Algorithm: SM2",
        "X509v3 Key Usage: critical",
        "Digital Signature",
        "DNS:svc.example.cn, DNS:localhost, IP:127.0.0.1",
        "days left",
    ] {
        assert!(text.contains(needle), "{needle} missing in\n{text}");
    }
    let json = serde_json::to_value(pki.leaf.info(now)).unwrap();
    for field in [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "days_left",
        "key_alg",
        "sig_alg",
        "sans",
        "key_usage",
        "is_ca",
    ] {
        assert!(json.get(field).is_some(), "{field}");
    }
    assert_eq!(json["key_alg"], "SM2");
    assert_eq!(json["sig_alg"], "SM2-with-SM3");
    assert_eq!(json["is_ca"], false);
    // A PEM bundle loads in order.
    let all = Certificate::load_all(pki.leaf_chain_pem().as_bytes()).unwrap();
    assert_eq!(all, vec![pki.leaf.clone(), pki.intermediate.clone()]);
}

#[test]
fn hostile_kdf_parameters_are_rejected_before_any_work() {
    // scrypt with N = 0 makes the pkcs5 crate panic; N = 2^40 would take
    // terabytes. Both are refused up front.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/pki_key/scrypt-cost-zero.der");
    let data = std::fs::read(path).unwrap();
    let err = KeyPair::load(&data, Some(b"password")).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    assert!(err.to_string().contains("scrypt"), "{err}");
}
