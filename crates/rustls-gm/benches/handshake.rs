//! Handshakes per second and bulk throughput, in memory (no sockets: the
//! bytes are pumped between a rustls `ClientConnection` and
//! `ServerConnection`), for
//!
//! * GM: `TLS_SM4_GCM_SM3` + curveSM2 + an SM2 certificate
//!   ([`rustls_gm::provider()`]), and
//! * standard: aws-lc-rs `TLS13_AES_128_GCM_SHA256` + X25519 + an ECDSA
//!   P-256 certificate,
//!
//! in the same run. Both use a leaf + intermediate chain below a root made
//! with gm-pki, TLS 1.3, no client certificate, no resumption (every
//! handshake is a full one) and no session tickets.
//!
//! `cargo bench -p rustls-gm --bench handshake`

#![allow(missing_docs)]

use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gm_pki::{quick, KeyAlgorithm, Profile};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::version::TLS13;
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig,
    ServerConnection, SideData,
};

/// Size of one application-data write (one full TLS record).
const RECORD: usize = 16 * 1024;
/// Records per bulk iteration (1 MiB).
const RECORDS_PER_ITER: usize = 64;

/// A client and a server configuration that only fit each other.
struct Pair {
    name: &'static str,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    suite: rustls::CipherSuite,
    group: rustls::NamedGroup,
}

fn pair(
    name: &'static str,
    provider: CryptoProvider,
    alg: KeyAlgorithm,
    suite: rustls::CipherSuite,
    group: rustls::NamedGroup,
) -> Pair {
    let chain = quick::self_signed_chain(alg, "localhost", Profile::TlsServer).expect("test PKI");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(chain.leaf_chain_pem().as_bytes())
            .collect::<Result<_, _>>()
            .expect("chain PEM");
    let key_pem = chain.leaf_key.to_pkcs8_pem().expect("key PEM");
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(chain.root.to_der().to_vec()))
        .expect("root");

    let provider = Arc::new(provider);
    let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&TLS13])
        .expect("server versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
    server.send_tls13_tickets = 0;
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])
        .expect("client versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::disabled();
    Pair {
        name,
        client: Arc::new(client),
        server: Arc::new(server),
        suite,
        group,
    }
}

fn gm_pair() -> Pair {
    let mut p = rustls_gm::provider();
    p.cipher_suites = vec![rustls_gm::suites::TLS13_SM4_GCM_SM3];
    p.kx_groups = vec![rustls_gm::kx_group::CURVE_SM2];
    pair(
        "gm_sm4gcm_sm3_curvesm2_sm2",
        p,
        KeyAlgorithm::Sm2,
        rustls_gm::codepoints::TLS_SM4_GCM_SM3,
        rustls_gm::codepoints::CURVE_SM2,
    )
}

fn standard_pair() -> Pair {
    let mut p = aws_lc_rs::default_provider();
    p.cipher_suites = vec![aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256];
    p.kx_groups = vec![aws_lc_rs::kx_group::X25519];
    pair(
        "awslc_aes128gcm_sha256_x25519_p256",
        p,
        KeyAlgorithm::P256,
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
        rustls::NamedGroup::X25519,
    )
}

/// Moves every pending TLS byte from `from` to `to` and processes it.
fn transfer<A: SideData, B: SideData>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
    buf: &mut Vec<u8>,
) -> usize {
    buf.clear();
    while from.wants_write() {
        from.write_tls(buf).expect("write_tls");
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).expect("read_tls");
        to.process_new_packets().expect("process_new_packets");
    }
    buf.len()
}

/// A full handshake, in memory.
fn handshake(pair: &Pair, buf: &mut Vec<u8>) -> (ClientConnection, ServerConnection) {
    let mut client = ClientConnection::new(
        Arc::clone(&pair.client),
        ServerName::try_from("localhost").expect("name"),
    )
    .expect("client");
    let mut server = ServerConnection::new(Arc::clone(&pair.server)).expect("server");
    loop {
        let moved =
            transfer(&mut client, &mut server, buf) + transfer(&mut server, &mut client, buf);
        if moved == 0 {
            break;
        }
    }
    assert!(!client.is_handshaking() && !server.is_handshaking());
    (client, server)
}

/// Sends `RECORDS_PER_ITER` full records client -> server and reads them.
fn bulk(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    data: &[u8],
    out: &mut [u8],
    buf: &mut Vec<u8>,
) {
    for _ in 0..RECORDS_PER_ITER {
        client.writer().write_all(data).expect("write");
        transfer(client, server, buf);
        server.reader().read_exact(out).expect("read");
    }
}

fn check(pair: &Pair) {
    let mut buf = Vec::new();
    let (client, server) = handshake(pair, &mut buf);
    for (side, suite, group) in [
        (
            "client",
            client.negotiated_cipher_suite(),
            client.negotiated_key_exchange_group(),
        ),
        (
            "server",
            server.negotiated_cipher_suite(),
            server.negotiated_key_exchange_group(),
        ),
    ] {
        assert_eq!(suite.map(|s| s.suite()), Some(pair.suite), "{side}");
        assert_eq!(group.map(|g| g.name()), Some(pair.group), "{side}");
    }
    assert!(client.peer_certificates().is_some());
}

fn benches(c: &mut Criterion) {
    let pairs = [gm_pair(), standard_pair()];
    for p in &pairs {
        check(p);
    }

    let mut g = c.benchmark_group("full_handshake");
    g.throughput(Throughput::Elements(1));
    for p in &pairs {
        let mut buf = Vec::with_capacity(8192);
        g.bench_function(p.name, |b| {
            b.iter(|| black_box(handshake(p, &mut buf)));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("bulk_16k_records");
    g.throughput(Throughput::Bytes((RECORD * RECORDS_PER_ITER) as u64));
    for p in &pairs {
        let mut buf = Vec::with_capacity(RECORD + 1024);
        let (mut client, mut server) = handshake(p, &mut buf);
        let data = vec![0x5au8; RECORD];
        let mut out = vec![0u8; RECORD];
        g.bench_function(p.name, |b| {
            b.iter(|| {
                bulk(&mut client, &mut server, &data, &mut out, &mut buf);
                black_box(&out);
            });
        });
        assert_eq!(out, data);
    }
    g.finish();
}

criterion_group! {
    name = handshake_benches;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(handshake_benches);
