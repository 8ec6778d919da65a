//! In-memory handshakes: every suite x group x key type that must work, and
//! the combinations that must fail.

mod common;

use std::sync::Arc;

use common::{connect, connect_dual, exchange, pki, pump, roots, Failure};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::PrivateKeyDer;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::version::{TLS12, TLS13};
use rustls::{
    ClientConfig, HandshakeKind, NamedGroup, ProtocolVersion, ServerConfig, SignatureScheme,
    SupportedCipherSuite,
};
use rustls_gm::client::{verify_negotiated, ClientBuilder};
use rustls_gm::codepoints::{CURVE_SM2, SM2SIG_SM3, TLS_SM4_GCM_SM3};
use rustls_gm::server::{gm_client_verifier, sm4_ticketer, DualStack, Policy, Stack};
use rustls_gm::suites::{TLS13_SM4_CCM_SM3, TLS13_SM4_GCM_SM3};
use rustls_gm::{Error, KeyError, StrictViolation};

const SM_SUITES: [SupportedCipherSuite; 2] = [TLS13_SM4_GCM_SM3, TLS13_SM4_CCM_SM3];

fn gm_provider_with(suite: SupportedCipherSuite) -> Arc<CryptoProvider> {
    let mut p = rustls_gm::provider();
    p.cipher_suites = vec![suite];
    Arc::new(p)
}

/// A GM-only client offering exactly `suite`.
fn gm_client(suite: SupportedCipherSuite) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder_with_provider(gm_provider_with(suite))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_root_certificates(pki().sm2_server.roots())
            .with_no_client_auth(),
    )
}

fn gm_server_with_key(
    suites: Vec<SupportedCipherSuite>,
    key: PrivateKeyDer<'static>,
) -> Arc<ServerConfig> {
    let mut p = rustls_gm::provider();
    p.cipher_suites = suites;
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(p))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki().sm2_server.chain.clone(), key)
            .unwrap(),
    )
}

fn standard_client(versions: &[&'static rustls::SupportedProtocolVersion]) -> Arc<ClientConfig> {
    let p = pki();
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots(&[&p.rsa_server.ca, &p.ecdsa_server.ca]))
            .with_no_client_auth(),
    )
}

fn all_roots() -> rustls::RootCertStore {
    let p = pki();
    roots(&[&p.sm2_server.ca, &p.rsa_server.ca, &p.ecdsa_server.ca])
}

fn gm_pref_client() -> Arc<ClientConfig> {
    Arc::new(ClientBuilder::new(all_roots()).build().unwrap())
}

fn dual(policy: Policy) -> DualStack {
    let p = pki();
    DualStack::builder()
        .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .policy(policy)
        .build()
        .unwrap()
}

fn assert_gm(client: &rustls::ClientConnection, suite: rustls::CipherSuite) {
    assert_eq!(client.negotiated_cipher_suite().unwrap().suite(), suite);
    assert_eq!(client.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    assert_eq!(
        client.negotiated_key_exchange_group().unwrap().name(),
        CURVE_SM2
    );
    verify_negotiated(client).unwrap();
}

#[test]
fn every_sm_suite_with_pkcs8_and_sec1_keys() {
    let p = pki();
    for suite in SM_SUITES {
        for key in [p.sm2_server.key(), p.sm2_server_sec1.clone_key()] {
            let server = gm_server_with_key(SM_SUITES.to_vec(), key);
            let (mut c, mut s) = connect(&gm_client(suite), &server).unwrap();
            assert_gm(&c, suite.suite());
            assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
            assert_eq!(
                c.peer_certificates().unwrap()[0],
                p.sm2_server.chain[0],
                "the SM2 certificate was presented"
            );
            exchange(&mut c, &mut s);
        }
    }
}

#[test]
fn server_suite_order_is_respected_when_client_offers_both() {
    for server_first in SM_SUITES {
        let other: Vec<_> = SM_SUITES
            .iter()
            .copied()
            .filter(|s| s.suite() != server_first.suite())
            .collect();
        let mut p = rustls_gm::provider();
        p.cipher_suites = [vec![server_first], other].concat();
        let mut config = ServerConfig::builder_with_provider(Arc::new(p))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki().sm2_server.chain.clone(), pki().sm2_server.key())
            .unwrap();
        config.ignore_client_order = true;
        let client = Arc::new(
            ClientConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_root_certificates(pki().sm2_server.roots())
                .with_no_client_auth(),
        );
        let (c, _) = connect(&client, &Arc::new(config)).unwrap();
        assert_gm(&c, server_first.suite());
    }
}

#[test]
fn dual_stack_picks_gm_for_gm_clients() {
    let server = dual(Policy::PreferGm);
    for client in [
        gm_pref_client(),
        Arc::new(ClientBuilder::new(all_roots()).gm_only().build().unwrap()),
        gm_client(TLS13_SM4_GCM_SM3),
        gm_client(TLS13_SM4_CCM_SM3),
    ] {
        let (mut c, mut s, stack) = connect_dual(&client, &server).unwrap();
        assert_eq!(stack, Stack::Gm);
        assert!(rustls_gm::suites::is_sm_suite(
            c.negotiated_cipher_suite().unwrap().suite()
        ));
        assert_eq!(c.negotiated_key_exchange_group().unwrap().name(), CURVE_SM2);
        assert_eq!(c.peer_certificates().unwrap()[0], pki().sm2_server.chain[0]);
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
        exchange(&mut c, &mut s);
    }
}

#[test]
fn dual_stack_picks_standard_for_everyone_else() {
    let p = pki();
    for (identity, name) in [(&p.rsa_server, "RSA"), (&p.ecdsa_server, "ECDSA")] {
        let server = DualStack::builder()
            .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
            .standard_identity(identity.chain.clone(), identity.key())
            .build()
            .unwrap();
        for (versions, want) in [
            (&[&TLS13, &TLS12][..], ProtocolVersion::TLSv1_3),
            (&[&TLS13][..], ProtocolVersion::TLSv1_3),
            (&[&TLS12][..], ProtocolVersion::TLSv1_2),
        ] {
            let (mut c, mut s, stack) = connect_dual(&standard_client(versions), &server).unwrap();
            assert_eq!(stack, Stack::Standard, "{name}");
            assert_eq!(c.protocol_version(), Some(want), "{name}");
            assert!(!rustls_gm::suites::is_sm_suite(
                c.negotiated_cipher_suite().unwrap().suite()
            ));
            assert_ne!(c.negotiated_key_exchange_group().unwrap().name(), CURVE_SM2);
            assert_eq!(c.peer_certificates().unwrap()[0], identity.chain[0]);
            exchange(&mut c, &mut s);
        }
    }
}

#[test]
fn gm_preferring_client_reaches_standard_servers_without_hrr() {
    // StandardOnly dual stack, and a plain aws-lc-rs server.
    let p = pki();
    let plain = Arc::new(
        ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(p.rsa_server.chain.clone(), p.rsa_server.key())
            .unwrap(),
    );
    let (mut c, mut s) = connect(&gm_pref_client(), &plain).unwrap();
    assert_eq!(
        c.negotiated_key_exchange_group().unwrap().name(),
        NamedGroup::X25519
    );
    assert_eq!(
        c.handshake_kind(),
        Some(HandshakeKind::Full),
        "the X25519 share avoided a HelloRetryRequest"
    );
    verify_negotiated(&c).unwrap();
    exchange(&mut c, &mut s);

    let server = DualStack::builder()
        .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .policy(Policy::StandardOnly)
        .build()
        .unwrap();
    let (c, _, stack) = connect_dual(&gm_pref_client(), &server).unwrap();
    assert_eq!(stack, Stack::Standard);
    assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
    assert!(!rustls_gm::suites::is_sm_suite(
        c.negotiated_cipher_suite().unwrap().suite()
    ));
}

/// A client that offers SM suites and sm2sig_sm3 but only X25519/P-256.
fn sm_suites_without_curve_sm2() -> Arc<ClientConfig> {
    let mut p = rustls_gm::fallback_provider();
    p.kx_groups.retain(|g| g.name() != CURVE_SM2);
    Arc::new(
        ClientConfig::builder_with_provider(Arc::new(p))
            .with_protocol_versions(&[&TLS13, &TLS12])
            .unwrap()
            .with_root_certificates(all_roots())
            .with_no_client_auth(),
    )
}

#[test]
fn sm_suite_without_curve_sm2_never_runs_sm4_over_x25519() {
    // GmOnly: refused.
    let err = connect_dual(&sm_suites_without_curve_sm2(), &dual(Policy::GmOnly)).unwrap_err();
    assert!(
        matches!(err, Failure::Server(rustls::Error::PeerIncompatible(_))),
        "{err:?}"
    );

    // PreferGm: the standard stack, so AES over X25519 with the RSA cert.
    let (c, _, stack) =
        connect_dual(&sm_suites_without_curve_sm2(), &dual(Policy::PreferGm)).unwrap();
    assert_eq!(stack, Stack::Standard);
    assert!(!rustls_gm::suites::is_sm_suite(
        c.negotiated_cipher_suite().unwrap().suite()
    ));
    assert_eq!(c.peer_certificates().unwrap()[0], pki().rsa_server.chain[0]);
}

#[test]
fn sm_suite_without_sm2sig_goes_standard() {
    let mut p = rustls_gm::fallback_provider();
    p.signature_verification_algorithms =
        aws_lc_rs::default_provider().signature_verification_algorithms;
    let client = Arc::new(
        ClientConfig::builder_with_provider(Arc::new(p))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_root_certificates(all_roots())
            .with_no_client_auth(),
    );
    let (c, _, stack) = connect_dual(&client, &dual(Policy::PreferGm)).unwrap();
    assert_eq!(stack, Stack::Standard);
    assert!(!rustls_gm::suites::is_sm_suite(
        c.negotiated_cipher_suite().unwrap().suite()
    ));
    assert!(connect_dual(&client, &dual(Policy::GmOnly)).is_err());
}

#[test]
fn gm_only_refuses_standard_clients_and_standard_only_refuses_gm_only_clients() {
    let err = connect_dual(&standard_client(&[&TLS13, &TLS12]), &dual(Policy::GmOnly)).unwrap_err();
    assert!(matches!(err, Failure::Server(_)), "{err:?}");
    let gm_only = Arc::new(ClientBuilder::new(all_roots()).gm_only().build().unwrap());
    let err = connect_dual(&gm_only, &dual(Policy::StandardOnly)).unwrap_err();
    assert!(matches!(err, Failure::Server(_)), "{err:?}");
}

#[test]
fn hello_retry_request_to_curve_sm2() {
    // SM suites first, but X25519 first in the groups: the first key share is
    // X25519, the GM stack (curveSM2 only) asks for a retry.
    let x25519_first = || {
        let mut p = rustls_gm::fallback_provider();
        p.kx_groups = vec![aws_lc_rs::kx_group::X25519, rustls_gm::kx_group::CURVE_SM2];
        Arc::new(
            ClientConfig::builder_with_provider(Arc::new(p))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_root_certificates(all_roots())
                .with_no_client_auth(),
        )
    };
    for policy in [Policy::PreferGm, Policy::GmOnly] {
        let client = x25519_first();
        let (mut c, mut s, stack) = connect_dual(&client, &dual(policy)).unwrap();
        assert_eq!(stack, Stack::Gm);
        assert_eq!(
            c.handshake_kind(),
            Some(HandshakeKind::FullWithHelloRetryRequest)
        );
        assert_gm(&c, TLS_SM4_GCM_SM3);
        exchange(&mut c, &mut s);
        // rustls remembers the group: the next connection (to a server that
        // cannot resume this session) sends a curveSM2 share straight away.
        let (c, _, _) = connect_dual(&client, &dual(policy)).unwrap();
        assert_eq!(c.handshake_kind(), Some(HandshakeKind::Full));
        assert_gm(&c, TLS_SM4_GCM_SM3);
    }
    // Also against a plain GM server config, for both suites.
    for suite in SM_SUITES {
        let mut p = rustls_gm::fallback_provider();
        p.cipher_suites = vec![suite];
        p.kx_groups = vec![aws_lc_rs::kx_group::X25519, rustls_gm::kx_group::CURVE_SM2];
        let client = Arc::new(
            ClientConfig::builder_with_provider(Arc::new(p))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_root_certificates(all_roots())
                .with_no_client_auth(),
        );
        let server = gm_server_with_key(SM_SUITES.to_vec(), pki().sm2_server.key());
        let (c, _) = connect(&client, &server).unwrap();
        assert_eq!(
            c.handshake_kind(),
            Some(HandshakeKind::FullWithHelloRetryRequest)
        );
        assert_gm(&c, suite.suite());
    }
}

/// A server that wrongly pairs SM suites with an RSA certificate (one config
/// over the fallback provider: exactly what the dual stack avoids).
fn misconfigured_sm_rsa_server() -> Arc<ServerConfig> {
    let p = pki();
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls_gm::fallback_provider()))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(p.rsa_server.chain.clone(), p.rsa_server.key())
            .unwrap(),
    )
}

#[test]
fn strict_client_refuses_sm_suite_with_rsa_key() {
    let err = connect(&gm_pref_client(), &misconfigured_sm_rsa_server()).unwrap_err();
    match &err {
        Failure::Client(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(e))) => {
            assert!(e.to_string().contains("non-SM2"), "{e}");
        }
        other => panic!("unexpected {other:?}"),
    }

    // The same server with strictness off: the handshake completes with an
    // SM suite and the RSA certificate, and the post-handshake check flags it.
    let lax = Arc::new(
        ClientBuilder::new(all_roots())
            .strict(false)
            .build()
            .unwrap(),
    );
    let (c, _) = connect(&lax, &misconfigured_sm_rsa_server()).unwrap();
    assert!(rustls_gm::suites::is_sm_suite(
        c.negotiated_cipher_suite().unwrap().suite()
    ));
    assert!(matches!(
        verify_negotiated(&c),
        Err(Error::Strict(StrictViolation::SmSuiteWithNonSm2Key))
    ));

    // And the strict client still talks AES to that server when SM is off the table.
    let (c, _) = connect(&standard_client(&[&TLS13]), &misconfigured_sm_rsa_server()).unwrap();
    verify_negotiated(&c).unwrap();
}

#[test]
fn sm4_over_x25519_is_flagged() {
    // A server with SM suites and the SM2 certificate but only X25519.
    let p = pki();
    let mut provider = rustls_gm::provider();
    provider.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    let server = Arc::new(
        ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(p.sm2_server.chain.clone(), p.sm2_server.key())
            .unwrap(),
    );
    let (c, _) = connect(&gm_pref_client(), &server).unwrap();
    assert!(rustls_gm::suites::is_sm_suite(
        c.negotiated_cipher_suite().unwrap().suite()
    ));
    assert!(matches!(
        verify_negotiated(&c),
        Err(Error::Strict(StrictViolation::SmSuiteWithoutCurveSm2 {
            group: NamedGroup::X25519
        }))
    ));
}

/// An SM2 key that signs CertificateVerify with a chosen identifier.
#[derive(Debug)]
struct Sm2KeyWithId(Arc<gm_sm2::SigningKey>);

#[derive(Debug)]
struct Sm2SignerWithId(Arc<gm_sm2::SigningKey>);

impl SigningKey for Sm2KeyWithId {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered.contains(&SM2SIG_SM3).then(|| {
            Box::new(Sm2SignerWithId(Arc::clone(&self.0))) as Box<dyn rustls::sign::Signer>
        })
    }
    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::Unknown(0x08)
    }
}

impl rustls::sign::Signer for Sm2SignerWithId {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        Ok(self.0.sign_message(message).unwrap().to_der())
    }
    fn scheme(&self) -> SignatureScheme {
        SM2SIG_SM3
    }
}

fn server_signing_with_id(id: &str) -> Arc<ServerConfig> {
    let p = pki();
    let sk = gm_sm2::PrivateKey::load(p.sm2_server.key.secret_der(), None).unwrap();
    let key = Sm2KeyWithId(Arc::new(
        gm_sm2::SigningKey::new(&sk, id.as_bytes()).unwrap(),
    ));
    let certified = CertifiedKey::new(p.sm2_server.chain.clone(), Arc::new(key));
    Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified))),
    )
}

#[test]
fn certificate_verify_must_use_the_tls13_identifier() {
    // Positive control: an independent signer with the RFC 8998 identifier.
    let (c, _) = connect(
        &gm_client(TLS13_SM4_GCM_SM3),
        &server_signing_with_id("TLSv1.3+GM+Cipher+Suite"),
    )
    .unwrap();
    assert_gm(&c, TLS_SM4_GCM_SM3);

    // The certificate identifier (or any other) in CertificateVerify fails.
    for wrong in ["1234567812345678", "", "TLSv1.3+GM+Cipher+Suite "] {
        let err = connect(
            &gm_client(TLS13_SM4_GCM_SM3),
            &server_signing_with_id(wrong),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Failure::Client(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::BadSignature
                ))
            ),
            "{wrong:?}: {err:?}"
        );
    }
}

#[test]
fn untrusted_sm2_chain_is_refused() {
    let p = pki();
    let server = Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                p.sm2_other_ca_server.chain.clone(),
                p.sm2_other_ca_server.key(),
            )
            .unwrap(),
    );
    let err = connect(&gm_client(TLS13_SM4_GCM_SM3), &server).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Client(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{err:?}"
    );
}

#[test]
fn tampered_records_are_rejected() {
    use std::io::Write as _;
    for suite in SM_SUITES {
        let server = gm_server_with_key(SM_SUITES.to_vec(), pki().sm2_server.key());
        // Application data: flip each of a few bytes of the first record.
        for pos in [5usize, 6, 20, 30] {
            let (mut c, mut s) = connect(&gm_client(suite), &server).unwrap();
            // Drain post-handshake messages (tickets) first.
            pump(&mut c, &mut s).unwrap();
            c.writer().write_all(b"attack at dawn").unwrap();
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            let at = pos.min(buf.len() - 1);
            buf[at] ^= 0x01;
            s.read_tls(&mut &buf[..]).unwrap();
            assert!(
                matches!(s.process_new_packets(), Err(rustls::Error::DecryptError)),
                "{suite:?} byte {pos}"
            );
        }
        // Encrypted handshake flight from the server: flip a byte past the ServerHello.
        let mut c = common::new_client(&gm_client(suite));
        let mut s = rustls::ServerConnection::new(Arc::clone(&server)).unwrap();
        common::transfer(&mut c, &mut s).unwrap();
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let last = buf.len() - 3;
        buf[last] ^= 0x40;
        c.read_tls(&mut &buf[..]).unwrap();
        assert!(
            matches!(c.process_new_packets(), Err(rustls::Error::DecryptError)),
            "{suite:?}"
        );
    }
}

#[test]
fn mutual_tls_with_sm2_client_certificates() {
    let p = pki();
    let client = Arc::new(
        ClientBuilder::new(all_roots())
            .client_auth(p.sm2_client.chain.clone(), p.sm2_client.key())
            .build()
            .unwrap(),
    );
    let server = DualStack::builder()
        .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .gm_client_auth(gm_client_verifier(p.sm2_client.roots()).unwrap())
        .standard_client_auth(
            WebPkiClientVerifier::builder_with_provider(
                Arc::new(p.rsa_client.roots()),
                Arc::new(aws_lc_rs::default_provider()),
            )
            .build()
            .unwrap(),
        )
        .build()
        .unwrap();
    let (mut c, mut s, stack) = connect_dual(&client, &server).unwrap();
    assert_eq!(stack, Stack::Gm);
    assert_eq!(s.peer_certificates().unwrap()[0], p.sm2_client.chain[0]);
    exchange(&mut c, &mut s);

    // GM-only client with an SM2 certificate against a plain GM server, both suites.
    for suite in SM_SUITES {
        let client = Arc::new(
            ClientConfig::builder_with_provider(gm_provider_with(suite))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_root_certificates(p.sm2_server.roots())
                .with_client_auth_cert(p.sm2_client.chain.clone(), p.sm2_client.key())
                .unwrap(),
        );
        let server = Arc::new(
            ServerConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_client_cert_verifier(gm_client_verifier(p.sm2_client.roots()).unwrap())
                .with_single_cert(p.sm2_server.chain.clone(), p.sm2_server.key())
                .unwrap(),
        );
        let (c, s) = connect(&client, &server).unwrap();
        assert_gm(&c, suite.suite());
        assert_eq!(s.peer_certificates().unwrap()[0], p.sm2_client.chain[0]);
    }

    // No client certificate: refused by the GM stack.
    let err = connect_dual(&gm_pref_client(), &server).unwrap_err();
    assert!(
        matches!(err, Failure::Server(rustls::Error::NoCertificatesPresented)),
        "{err:?}"
    );

    // An RSA client certificate on the standard stack still works.
    let client = Arc::new(
        ClientConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(p.rsa_server.roots())
            .with_client_auth_cert(p.rsa_client.chain.clone(), p.rsa_client.key())
            .unwrap(),
    );
    let (_, s, stack) = connect_dual(&client, &server).unwrap();
    assert_eq!(stack, Stack::Standard);
    assert_eq!(s.peer_certificates().unwrap()[0], p.rsa_client.chain[0]);
}

fn resume_twice(client: &Arc<ClientConfig>, server: &DualStack) -> Vec<HandshakeKind> {
    let mut kinds = Vec::new();
    for _ in 0..3 {
        let (mut c, mut s, stack) = connect_dual(client, server).unwrap();
        assert_eq!(stack, Stack::Gm);
        exchange(&mut c, &mut s); // also delivers the NewSessionTicket messages
        assert_gm(&c, c.negotiated_cipher_suite().unwrap().suite());
        kinds.push(c.handshake_kind().unwrap());
    }
    kinds
}

#[test]
fn resumption_with_tickets_and_with_session_ids() {
    let p = pki();
    for suite in SM_SUITES {
        for stateless in [true, false] {
            let server = DualStack::builder()
                .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
                .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
                .configure(move |_, config| {
                    if stateless {
                        config.ticketer = sm4_ticketer().unwrap();
                        config.session_storage =
                            Arc::new(rustls::server::NoServerSessionStorage {});
                    }
                })
                .build()
                .unwrap();
            let client = gm_client(suite);
            assert_eq!(
                resume_twice(&client, &server),
                [
                    HandshakeKind::Full,
                    HandshakeKind::Resumed,
                    HandshakeKind::Resumed
                ],
                "{suite:?} stateless={stateless}"
            );
        }
    }
    // A GM-preferring (fallback) client resumes too.
    let server = dual(Policy::PreferGm);
    assert_eq!(
        resume_twice(&gm_pref_client(), &server),
        [
            HandshakeKind::Full,
            HandshakeKind::Resumed,
            HandshakeKind::Resumed
        ]
    );
}

#[test]
fn key_loading_errors_are_typed() {
    let p = pki();
    // Not SM2.
    assert_eq!(
        rustls_gm::load_sm2_key(&p.rsa_server.key).unwrap_err(),
        KeyError::NotSm2
    );
    assert_eq!(
        rustls_gm::load_sm2_key(&p.ecdsa_server.key).unwrap_err(),
        KeyError::NotSm2
    );
    // Garbage.
    let junk = PrivateKeyDer::Pkcs8(vec![0x30, 0x03, 0x02, 0x01, 0x00].into());
    assert!(matches!(
        rustls_gm::load_sm2_key(&junk),
        Err(KeyError::Malformed(_))
    ));
    let junk = PrivateKeyDer::Sec1(vec![0x30, 0x00].into());
    assert!(matches!(
        rustls_gm::load_sm2_key(&junk),
        Err(KeyError::Malformed(_))
    ));
    // SEC1 with a public key that belongs to another SM2 key.
    let PrivateKeyDer::Sec1(sec1) = &p.sm2_server_sec1 else {
        unreachable!()
    };
    let mut bytes = sec1.secret_sec1_der().to_vec();
    let other = rustls_gm::load_sm2_key(&p.sm2_client.key).unwrap();
    let other_spki = other.public_key().unwrap();
    let n = bytes.len();
    bytes[n - 64..].copy_from_slice(&other_spki.as_ref()[other_spki.as_ref().len() - 64..]);
    assert_eq!(
        rustls_gm::load_sm2_key(&PrivateKeyDer::Sec1(bytes.into())).unwrap_err(),
        KeyError::PublicKeyMismatch
    );
    // Both SM2 forms load, and give the same public key.
    let a = rustls_gm::load_sm2_key(&p.sm2_server.key).unwrap();
    let b = rustls_gm::load_sm2_key(&p.sm2_server_sec1).unwrap();
    assert_eq!(
        a.public_key().unwrap().as_ref(),
        b.public_key().unwrap().as_ref()
    );
    assert!(a
        .choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
        .is_none());
    assert_eq!(a.choose_scheme(&[SM2SIG_SM3]).unwrap().scheme(), SM2SIG_SM3);

    // The GM-only provider refuses an RSA key with a clear error...
    let err = rustls_gm::provider()
        .key_provider
        .load_private_key(p.rsa_server.key())
        .unwrap_err();
    assert!(err.to_string().contains("not an SM2 key"), "{err}");
    // ... the fallback provider hands it to aws-lc-rs.
    let rsa = rustls_gm::fallback_provider()
        .key_provider
        .load_private_key(p.rsa_server.key())
        .unwrap();
    assert_eq!(rsa.algorithm(), rustls::SignatureAlgorithm::RSA);
}

#[test]
fn dual_stack_configuration_errors() {
    let p = pki();
    let e = DualStack::builder()
        .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    let e = DualStack::builder()
        .gm_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Key {
                source: KeyError::NotSm2,
                ..
            }
        ),
        "{e}"
    );
    let e = DualStack::builder()
        .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .standard_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
    // A certificate that does not match the key.
    let e = DualStack::builder()
        .gm_identity(p.sm2_client.chain.clone(), p.sm2_server.key())
        .policy(Policy::GmOnly)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Rustls { .. }), "{e}");
    // A hook may not swap the certificate resolver.
    let e = DualStack::builder()
        .gm_identity(p.sm2_server.chain.clone(), p.sm2_server.key())
        .standard_identity(p.rsa_server.chain.clone(), p.rsa_server.key())
        .configure(|_, c| {
            c.cert_resolver = Arc::new(rustls::server::ResolvesServerCertUsingSni::new())
        })
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

/// Minimal DER helpers for rewriting a certificate.
fn der_split(data: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = data[0];
    let (len, hdr) = match data[1] {
        n if n < 0x80 => (n as usize, 2),
        0x81 => (data[2] as usize, 3),
        0x82 => (((data[2] as usize) << 8) | data[3] as usize, 4),
        _ => panic!("unexpected DER length"),
    };
    (tag, &data[hdr..hdr + len], &data[hdr + len..])
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// Re-issues the SM2 server certificate with the CFCA form of the
/// SM2-with-SM3 AlgorithmIdentifier (explicit NULL parameters), signed by
/// the SM2 CA with the certificate identifier.
fn sm2_server_cert_with_null_params(
    corrupt_signature: bool,
) -> rustls::pki_types::CertificateDer<'static> {
    use rustls::pki_types::pem::PemObject as _;
    const SM2_SM3: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
    let null_alg = der_tlv(0x30, &[SM2_SM3, &[0x05, 0x00]].concat());

    let p = pki();
    let (_, cert, _) = der_split(p.sm2_server.chain[0].as_ref());
    let (_, tbs, _) = der_split(cert);
    let mut fields = Vec::new();
    let mut rest = tbs;
    while !rest.is_empty() {
        let (tag, content, next) = der_split(rest);
        let whole = &rest[..rest.len() - next.len()];
        if tag == 0x30 && content == SM2_SM3 {
            fields.push(null_alg.clone());
        } else {
            fields.push(whole.to_vec());
        }
        rest = next;
    }
    let new_tbs = der_tlv(0x30, &fields.concat());
    assert_ne!(
        new_tbs,
        der_tlv(0x30, tbs),
        "the TBS signature algorithm was rewritten"
    );

    let ca_key = PrivateKeyDer::from_pem_file(p.dir.join("sm2-ca.key")).unwrap();
    let ca = gm_sm2::PrivateKey::load(ca_key.secret_der(), None).unwrap();
    let signer = gm_sm2::SigningKey::new(&ca, gm_sm2::DEFAULT_ID).unwrap();
    let mut sig = signer.sign_message(&new_tbs).unwrap().to_der();
    if corrupt_signature {
        let n = sig.len();
        sig[n - 1] ^= 1;
    }
    let bits = [&[0u8][..], &sig].concat();
    let cert = der_tlv(0x30, &[new_tbs, null_alg, der_tlv(0x03, &bits)].concat());
    cert.into()
}

#[test]
fn certificates_with_null_algorithm_parameters_verify() {
    // Negative control: without the NULL-parameters form registered, webpki
    // does not recognise the signature algorithm.
    let mut without = rustls_gm::provider();
    without.signature_verification_algorithms = rustls::crypto::WebPkiSupportedAlgorithms {
        all: {
            static ONLY_PLAIN: [&dyn rustls::pki_types::SignatureVerificationAlgorithm; 1] =
                [rustls_gm::verify::SM2_SM3_CERT];
            &ONLY_PLAIN
        },
        mapping: without.signature_verification_algorithms.mapping,
    };
    let client = Arc::new(
        ClientConfig::builder_with_provider(Arc::new(without))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_root_certificates(pki().sm2_server.roots())
            .with_no_client_auth(),
    );
    let server = Arc::new(
        ServerConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![sm2_server_cert_with_null_params(false)],
                pki().sm2_server.key(),
            )
            .unwrap(),
    );
    let err = connect(&client, &server).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Client(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnsupportedSignatureAlgorithmContext { .. }
            ))
        ),
        "{err:?}"
    );

    let p = pki();
    let server_with = |cert| {
        Arc::new(
            ServerConfig::builder_with_provider(Arc::new(rustls_gm::provider()))
                .with_protocol_versions(&[&TLS13])
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![cert], p.sm2_server.key())
                .unwrap(),
        )
    };
    let (c, _) = connect(
        &gm_client(TLS13_SM4_GCM_SM3),
        &server_with(sm2_server_cert_with_null_params(false)),
    )
    .unwrap();
    assert_gm(&c, TLS_SM4_GCM_SM3);
    let err = connect(
        &gm_client(TLS13_SM4_GCM_SM3),
        &server_with(sm2_server_cert_with_null_params(true)),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Client(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadSignature
            ))
        ),
        "{err:?}"
    );
}

/// A client-side curveSM2 that sends a point that is not on the curve.
#[derive(Debug)]
struct BadCurveSm2Share;

struct BadShare([u8; 65]);

impl rustls::crypto::SupportedKxGroup for BadCurveSm2Share {
    fn start(&self) -> Result<Box<dyn rustls::crypto::ActiveKeyExchange>, rustls::Error> {
        let mut point = [0x11u8; 65];
        point[0] = 0x04;
        Ok(Box::new(BadShare(point)))
    }
    fn name(&self) -> NamedGroup {
        CURVE_SM2
    }
}

impl rustls::crypto::ActiveKeyExchange for BadShare {
    fn complete(
        self: Box<Self>,
        _peer: &[u8],
    ) -> Result<rustls::crypto::SharedSecret, rustls::Error> {
        Err(rustls::Error::General("unused".into()))
    }
    fn pub_key(&self) -> &[u8] {
        &self.0
    }
    fn group(&self) -> NamedGroup {
        CURVE_SM2
    }
}

#[test]
fn invalid_curve_sm2_key_share_is_refused() {
    let mut provider = rustls_gm::provider();
    provider.kx_groups = vec![&BadCurveSm2Share];
    let client = Arc::new(
        ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(&[&TLS13])
            .unwrap()
            .with_root_certificates(pki().sm2_server.roots())
            .with_no_client_auth(),
    );
    let err = connect_dual(&client, &dual(Policy::PreferGm)).unwrap_err();
    assert!(
        matches!(
            err,
            Failure::Server(rustls::Error::PeerMisbehaved(
                rustls::PeerMisbehaved::InvalidKeyShare
            ))
        ),
        "{err:?}"
    );
}

#[test]
fn encrypted_and_pem_key_files() {
    let p = pki();
    // OpenSSL 3 encrypted PKCS#8 (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC).
    let out = std::process::Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:s3cret",
            "-in",
        ])
        .arg(&p.sm2_server.key_path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let pem = out.stdout;
    assert_eq!(
        rustls_gm::private_key_from_pem(&pem).unwrap_err(),
        KeyError::Encrypted
    );
    assert_eq!(
        rustls_gm::decrypt_sm2_private_key(&pem, b"wrong").unwrap_err(),
        KeyError::WrongPassword
    );
    let key = rustls_gm::decrypt_sm2_private_key(&pem, b"s3cret").unwrap();
    let server = gm_server_with_key(SM_SUITES.to_vec(), key);
    let (c, _) = connect(&gm_client(TLS13_SM4_GCM_SM3), &server).unwrap();
    assert_gm(&c, TLS_SM4_GCM_SM3);

    // Plain PEM files of each kind.
    let pkcs8 = std::fs::read(&p.sm2_server.key_path).unwrap();
    assert!(matches!(
        rustls_gm::private_key_from_pem(&pkcs8).unwrap(),
        PrivateKeyDer::Pkcs8(_)
    ));
    let rsa = std::fs::read(&p.rsa_server.key_path).unwrap();
    assert!(rustls_gm::private_key_from_pem(&rsa).is_ok());
}
