//! Chain verification: valid chains of every key type, and each failure
//! with its typed reason.

use std::time::{Duration, SystemTime};

use gm_pki::{
    quick, verify_chain, Certificate, CertificateAuthority, IssueRequest, KeyAlgorithm, KeyPair,
    Profile, Purpose, SignatureAlgorithm, SubjectAltName, VerifyError, VerifyOptions,
};

const DAY: Duration = Duration::from_secs(86_400);

fn root(alg: KeyAlgorithm, name: &str) -> CertificateAuthority {
    CertificateAuthority::init(
        &name.parse().unwrap(),
        3650,
        KeyPair::generate(alg).unwrap(),
    )
    .unwrap()
}

fn leaf_req(profile: Profile, host: &str) -> (IssueRequest, KeyPair) {
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let req = IssueRequest::new(
        format!("CN={host},O=Test,C=CN").parse().unwrap(),
        key.public_key().clone(),
        profile,
    )
    .san(SubjectAltName::for_host(host).unwrap());
    (req, key)
}

fn server_opts(name: &str) -> VerifyOptions {
    VerifyOptions {
        name: Some(name.into()),
        purpose: Purpose::ServerAuth,
        ..Default::default()
    }
}

#[test]
fn valid_chains_of_every_key_type() {
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let pki = quick::self_signed_chain(alg, "svc.example.cn", Profile::TlsServer).unwrap();
        for name in ["svc.example.cn", "localhost", "127.0.0.1"] {
            let chain = verify_chain(
                &pki.leaf,
                std::slice::from_ref(&pki.intermediate),
                std::slice::from_ref(&pki.root),
                &server_opts(name),
            )
            .unwrap_or_else(|e| panic!("{alg} {name}: {e}"));
            assert_eq!(chain.certificates.len(), 3);
            assert_eq!(chain.certificates[0], pki.leaf);
            assert_eq!(chain.certificates[1], pki.intermediate);
            assert_eq!(chain.certificates[2], pki.root);
        }
    }
}

#[test]
fn mixed_algorithms_chain() {
    // An RSA root over an SM2 intermediate over a P-256 leaf.
    let rsa = root(KeyAlgorithm::Rsa2048, "CN=RSA Root,C=CN");
    let sm2 = rsa
        .new_intermediate(
            &"CN=SM2 Sub,C=CN".parse().unwrap(),
            1000,
            KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
        )
        .unwrap();
    let key = KeyPair::generate(KeyAlgorithm::P256).unwrap();
    let leaf = sm2
        .issue(
            &IssueRequest::new(
                "CN=mixed.example".parse().unwrap(),
                key.public_key().clone(),
                Profile::TlsServer,
            )
            .days(30),
        )
        .unwrap();
    assert!(leaf.signature_algorithm().is_sm2());
    assert_eq!(
        sm2.certificate().signature_algorithm(),
        SignatureAlgorithm::RsaSha256
    );
    verify_chain(
        &leaf,
        &[sm2.certificate().clone()],
        &[rsa.certificate().clone()],
        &server_opts("mixed.example"),
    )
    .unwrap();
}

#[test]
fn expired() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let now = SystemTime::now();
    let (req, _) = leaf_req(Profile::TlsServer, "old.example");
    let cert = ca.issue(&req.validity(now - 30 * DAY, now - DAY)).unwrap();
    let err = verify_chain(
        &cert,
        &[],
        &[ca.certificate().clone()],
        &server_opts("old.example"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::Expired { subject, .. } if subject.contains("old.example")),
        "{err}"
    );
    assert_eq!(err.code(), "expired");
    assert!(cert.days_left(now) < 0);

    // A valid certificate checked at a time after its end.
    let (req, _) = leaf_req(Profile::TlsServer, "new.example");
    let cert = ca.issue(&req.days(10)).unwrap();
    let opts = VerifyOptions {
        time: Some(now + 20 * DAY),
        ..server_opts("new.example")
    };
    let err = verify_chain(&cert, &[], &[ca.certificate().clone()], &opts).unwrap_err();
    assert_eq!(err.code(), "expired", "{err}");
}

#[test]
fn expired_intermediate_is_named() {
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    // Leaf valid one year, intermediate five: check in six years.
    let opts = VerifyOptions {
        time: Some(SystemTime::now() + 6 * 365 * DAY),
        ..server_opts("svc.example.cn")
    };
    let err = verify_chain(
        &pki.leaf,
        std::slice::from_ref(&pki.intermediate),
        std::slice::from_ref(&pki.root),
        &opts,
    )
    .unwrap_err();
    // The leaf is expired first.
    assert!(
        matches!(&err, VerifyError::Expired { subject, .. } if subject.contains("svc.example.cn")),
        "{err}"
    );
}

#[test]
fn not_yet_valid() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let now = SystemTime::now();
    let (req, _) = leaf_req(Profile::TlsServer, "future.example");
    let cert = ca.issue(&req.validity(now + DAY, now + 30 * DAY)).unwrap();
    let err = verify_chain(
        &cert,
        &[],
        &[ca.certificate().clone()],
        &server_opts("future.example"),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::NotYetValid { .. }), "{err}");
    assert_eq!(err.code(), "not_yet_valid");
}

#[test]
fn unknown_issuer() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root A,C=CN");
    let other = root(KeyAlgorithm::Sm2, "CN=Root B,C=CN");
    let (req, _) = leaf_req(Profile::TlsServer, "a.example");
    let cert = ca.issue(&req).unwrap();
    let err = verify_chain(
        &cert,
        &[],
        &[other.certificate().clone()],
        &server_opts("a.example"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnknownIssuer { issuer, .. } if issuer.contains("Root A")),
        "{err}"
    );
}

#[test]
fn missing_intermediate_is_unknown_issuer() {
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    let err = verify_chain(
        &pki.leaf,
        &[],
        std::slice::from_ref(&pki.root),
        &server_opts("svc.example.cn"),
    )
    .unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnknownIssuer { issuer, .. } if issuer.contains("intermediate")),
        "{err}"
    );
}

#[test]
fn wrong_issuer_same_name_other_key() {
    // Two CAs with the same name: the certificate names the right issuer
    // but was signed by the impostor's key.
    let real = root(KeyAlgorithm::Sm2, "CN=Same Name Root,C=CN");
    let impostor = root(KeyAlgorithm::Sm2, "CN=Same Name Root,C=CN");
    let (req, _) = leaf_req(Profile::TlsServer, "x.example");
    let cert = impostor.issue(&req).unwrap();
    let err = verify_chain(
        &cert,
        &[],
        &[real.certificate().clone()],
        &server_opts("x.example"),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::WrongIssuer { .. }), "{err}");
    assert_eq!(err.code(), "wrong_issuer");
    // With the right root it verifies.
    verify_chain(
        &cert,
        &[],
        &[impostor.certificate().clone()],
        &server_opts("x.example"),
    )
    .unwrap();
}

/// Flips one bit at `offset` from the end of the DER and re-parses.
fn tamper(cert: &Certificate, from_end: usize) -> Certificate {
    let mut der = cert.to_der().to_vec();
    let i = der.len() - from_end;
    der[i] ^= 0x01;
    Certificate::from_der(&der).expect("still parses")
}

#[test]
fn tampered_signature() {
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::Rsa2048, KeyAlgorithm::P256] {
        let ca = root(alg, "CN=Root,C=CN");
        let (req, _) = leaf_req(Profile::TlsServer, "t.example");
        let cert = ca.issue(&req).unwrap();
        // The last byte of the signature (s for SM2/ECDSA).
        let bad = tamper(&cert, 1);
        let err = verify_chain(
            &bad,
            &[],
            &[ca.certificate().clone()],
            &server_opts("t.example"),
        )
        .unwrap_err();
        assert!(
            matches!(err, VerifyError::BadSignature { .. }),
            "{alg}: {err}"
        );
        assert_eq!(err.code(), "bad_signature");
    }
}

#[test]
fn tampered_contents() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let (req, _) = leaf_req(Profile::TlsServer, "t.example");
    let cert = ca.issue(&req).unwrap();
    // Change the serial number (inside the TBSCertificate).
    let mut der = cert.to_der().to_vec();
    let serial = cert.serial().to_vec();
    let pos = der
        .windows(serial.len())
        .position(|w| w == serial.as_slice())
        .unwrap();
    der[pos + 5] ^= 0x10;
    let bad = Certificate::from_der(&der).unwrap();
    let err = verify_chain(
        &bad,
        &[],
        &[ca.certificate().clone()],
        &server_opts("t.example"),
    )
    .unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
}

#[test]
fn wrong_sm2_id_is_detected() {
    // A CA that signs with the empty ID (what OpenSSL 3.0 does without
    // -sigopt distid:...), checked with the default ID.
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let ca = CertificateAuthority::init_with_sm2_id(
        &"CN=Empty ID Root,C=CN".parse().unwrap(),
        3650,
        key,
        b"",
    )
    .unwrap();
    let (req, _) = leaf_req(Profile::TlsServer, "id.example");
    let cert = ca.issue(&req).unwrap();
    let err = verify_chain(
        &cert,
        &[],
        &[ca.certificate().clone()],
        &server_opts("id.example"),
    )
    .unwrap_err();
    match &err {
        VerifyError::WrongSm2Id {
            expected, actual, ..
        } => {
            assert_eq!(expected, "1234567812345678");
            assert_eq!(actual, "");
        }
        other => panic!("expected WrongSm2Id, got {other}"),
    }
    assert_eq!(err.code(), "wrong_sm2_id");

    // Verified with the right ID it is fine.
    let opts = VerifyOptions {
        sm2_id: Vec::new(),
        ..server_opts("id.example")
    };
    verify_chain(&cert, &[], &[ca.certificate().clone()], &opts).unwrap();
}

#[test]
fn custom_sm2_id() {
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let ca = CertificateAuthority::init_with_sm2_id(
        &"CN=Custom ID Root,C=CN".parse().unwrap(),
        3650,
        key,
        b"ALICE123@YAHOO.COM",
    )
    .unwrap();
    assert_eq!(ca.sm2_id(), b"ALICE123@YAHOO.COM");
    let (req, _) = leaf_req(Profile::TlsServer, "c.example");
    let cert = ca.issue(&req).unwrap();
    let roots = [ca.certificate().clone()];
    // Not one of the IDs tried by default: a plain bad signature.
    let err = verify_chain(&cert, &[], &roots, &server_opts("c.example")).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }), "{err}");
    // Told to try it, the verifier names it.
    let mut opts = server_opts("c.example");
    opts.alternate_sm2_ids.push(b"ALICE123@YAHOO.COM".to_vec());
    let err = verify_chain(&cert, &[], &roots, &opts).unwrap_err();
    assert!(
        matches!(&err, VerifyError::WrongSm2Id { actual, .. } if actual == "ALICE123@YAHOO.COM"),
        "{err}"
    );
    // Configured for it, it verifies.
    let opts = VerifyOptions {
        sm2_id: b"ALICE123@YAHOO.COM".to_vec(),
        ..server_opts("c.example")
    };
    verify_chain(&cert, &[], &roots, &opts).unwrap();
}

#[test]
fn name_mismatch() {
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    for name in ["other.example.cn", "10.9.9.9", "example.cn"] {
        let err = verify_chain(
            &pki.leaf,
            std::slice::from_ref(&pki.intermediate),
            std::slice::from_ref(&pki.root),
            &server_opts(name),
        )
        .unwrap_err();
        match &err {
            VerifyError::NameMismatch { name: n, presented } => {
                assert_eq!(n, name);
                assert!(
                    presented.contains(&"DNS:svc.example.cn".to_owned()),
                    "{presented:?}"
                );
            }
            other => panic!("{name}: expected NameMismatch, got {other}"),
        }
    }
}

#[test]
fn wildcard_names() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let key = KeyPair::generate(KeyAlgorithm::Sm2).unwrap();
    let cert = ca
        .issue(
            &IssueRequest::new(
                "CN=*.example.cn".parse().unwrap(),
                key.public_key().clone(),
                Profile::TlsServer,
            )
            .san("DNS:*.example.cn".parse().unwrap()),
        )
        .unwrap();
    let roots = [ca.certificate().clone()];
    verify_chain(&cert, &[], &roots, &server_opts("www.example.cn")).unwrap();
    let err = verify_chain(&cert, &[], &roots, &server_opts("a.b.example.cn")).unwrap_err();
    assert_eq!(err.code(), "name_mismatch");
}

#[test]
fn encryption_certificate_is_not_for_tls_authentication() {
    let (pki, enc, _enc_key) = quick::sm2_dual_chain("dual.example.cn").unwrap();
    let inter = [pki.intermediate.clone()];
    let roots = [pki.root.clone()];
    // The signing certificate (no EKU, digitalSignature) is fine for TLS.
    verify_chain(&pki.leaf, &inter, &roots, &server_opts("dual.example.cn")).unwrap();
    // The encryption certificate is not.
    let err = verify_chain(&enc, &inter, &roots, &server_opts("dual.example.cn")).unwrap_err();
    assert!(
        matches!(err, VerifyError::KeyUsageNotAllowed { .. }),
        "{err}"
    );
    assert_eq!(err.code(), "key_usage");
    // As a plain chain it verifies.
    verify_chain(&enc, &inter, &roots, &VerifyOptions::default()).unwrap();
}

#[test]
fn client_certificate_is_not_a_server_certificate() {
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let (req, _) = leaf_req(Profile::TlsClient, "client.example");
    let cert = ca.issue(&req).unwrap();
    let roots = [ca.certificate().clone()];
    let err = verify_chain(&cert, &[], &roots, &server_opts("client.example")).unwrap_err();
    assert!(
        matches!(&err, VerifyError::KeyUsageNotAllowed { detail, .. } if detail.contains("serverAuth")),
        "{err}"
    );
    let opts = VerifyOptions {
        purpose: Purpose::ClientAuth,
        ..Default::default()
    };
    verify_chain(&cert, &[], &roots, &opts).unwrap();
}

#[test]
fn ca_as_end_entity() {
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    let err = verify_chain(
        &pki.intermediate,
        &[],
        std::slice::from_ref(&pki.root),
        &VerifyOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, VerifyError::CaUsedAsEndEntity { .. }),
        "{err}"
    );
}

#[test]
fn intermediate_cannot_issue_cas() {
    let pki = quick::sm2_chain("svc.example.cn").unwrap();
    let err = pki
        .intermediate_ca
        .new_intermediate(
            &"CN=Too Deep,C=CN".parse().unwrap(),
            100,
            KeyPair::generate(KeyAlgorithm::Sm2).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, gm_pki::Error::Profile(_)), "{err}");
}

#[test]
fn null_parameters_are_accepted() {
    // Re-sign a certificate with SM2-with-SM3 carrying NULL parameters, as
    // CFCA writes them.
    let ca = root(KeyAlgorithm::Sm2, "CN=Root,C=CN");
    let (req, _) = leaf_req(Profile::TlsServer, "null.example");
    let cert = ca.issue(&req).unwrap();
    const NO_PARAMS: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75,
    ];
    const NULL_PARAMS: &[u8] = &[
        0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
    ];
    let tbs = cert.tbs_der();
    assert!(
        tbs.windows(NO_PARAMS.len()).any(|w| w == NO_PARAMS),
        "written without parameters"
    );
    assert!(!cert
        .to_der()
        .windows(NULL_PARAMS.len())
        .any(|w| w == NULL_PARAMS));
    let tbs_content = strip_header(tbs);
    let pos = tbs_content
        .windows(NO_PARAMS.len())
        .position(|w| w == NO_PARAMS)
        .unwrap();
    let mut content = tbs_content[..pos].to_vec();
    content.extend_from_slice(NULL_PARAMS);
    content.extend_from_slice(&tbs_content[pos + NO_PARAMS.len()..]);
    let new_tbs = tlv(0x30, &content);
    let sig = ca.key().sign(&new_tbs, gm_sm2::DEFAULT_ID).unwrap();
    let mut bits = vec![0u8];
    bits.extend_from_slice(&sig);
    let der = tlv(
        0x30,
        &[new_tbs, NULL_PARAMS.to_vec(), tlv(0x03, &bits)].concat(),
    );
    let cfca_style = Certificate::from_der(&der).unwrap();
    assert_eq!(
        cfca_style.signature_algorithm(),
        SignatureAlgorithm::Sm2Sm3 { null_params: true }
    );
    verify_chain(
        &cfca_style,
        &[],
        &[ca.certificate().clone()],
        &server_opts("null.example"),
    )
    .unwrap();
}

fn strip_header(der: &[u8]) -> &[u8] {
    let l = der[1];
    if l < 0x80 {
        &der[2..]
    } else {
        &der[2 + usize::from(l & 0x7f)..]
    }
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

#[test]
fn error_messages_are_specific() {
    let err = VerifyError::WrongSm2Id {
        subject: "CN=a".into(),
        expected: "1234567812345678".into(),
        actual: "".into(),
    };
    assert!(err.to_string().contains("wrong SM2 ID"));
    let err = VerifyError::NameMismatch {
        name: "x".into(),
        presented: vec![],
    };
    assert!(err.to_string().contains("name mismatch"));
}
