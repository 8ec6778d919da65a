//! `gmkit speed tls13-{handshake,bulk}-{gm,aws-lc}`: full TLS 1.3
//! handshakes per second, and application data throughput in full 16 KiB
//! records, in memory (a rustls client and server pumping bytes to each
//! other, both in this thread), for
//!
//! * `-gm`: TLS_SM4_GCM_SM3 + curveSM2 + an SM2 chain (rustls-gm's
//!   provider), and
//! * `-aws-lc`: TLS13_AES_128_GCM_SHA256 + X25519 + an ECDSA P-256 chain
//!   (rustls's aws-lc-rs provider), the baseline of issue #6, measured in
//!   the same run.
//!
//! Every measurement first checks that the expected suite and group were
//! negotiated, so a configuration mistake cannot measure something else.
//!
//! Both use a leaf + intermediate chain below a root (so the client checks
//! two certificate signatures and CertificateVerify), no client
//! certificate, no resumption and no tickets: every handshake is full.

use std::io::{Read as _, Write as _};
use std::sync::Arc;

use gm_pki::{quick, KeyAlgorithm, Profile};
use rustls::crypto::{aws_lc_rs, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::version::TLS13;
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, RootCertStore, ServerConfig,
    ServerConnection, SideData,
};

use std::hint::black_box;

use crate::speed::{rate_checked, Measurement, SpeedError};

/// A client and a server configuration that fit each other, and what they
/// must negotiate.
pub struct Pair {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    suite: rustls::CipherSuite,
    group: rustls::NamedGroup,
    name: ServerName<'static>,
}

/// Size of one application-data write (one full TLS record).
pub const RECORD: usize = 16 * 1024;

fn setup(msg: impl std::fmt::Display) -> SpeedError {
    SpeedError::Backend(format!("TLS set-up failed: {msg}"))
}

/// The configurations for `provider`, restricted to one suite and one
/// group (which the pair must then negotiate), with a fresh `alg`
/// certificate chain for "localhost".
fn pair(provider: CryptoProvider, alg: KeyAlgorithm) -> Result<Pair, SpeedError> {
    let (Some(suite), Some(group)) = (provider.cipher_suites.first(), provider.kx_groups.first())
    else {
        return Err(setup("the provider has no cipher suite or no group"));
    };
    let (suite, group) = (suite.suite(), group.name());
    let chain = quick::self_signed_chain(alg, "localhost", Profile::TlsServer).map_err(setup)?;
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(chain.leaf_chain_pem().as_bytes())
            .collect::<Result<_, _>>()
            .map_err(setup)?;
    let key_pem = chain.leaf_key.to_pkcs8_pem().map_err(setup)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(setup)?;
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(chain.root.to_der().to_vec()))
        .map_err(setup)?;
    let provider = Arc::new(provider);
    let mut server = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&TLS13])
        .map_err(setup)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(setup)?;
    server.send_tls13_tickets = 0;
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])
        .map_err(setup)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = rustls::client::Resumption::disabled();
    Ok(Pair {
        client: Arc::new(client),
        server: Arc::new(server),
        suite,
        group,
        name: ServerName::try_from("localhost").map_err(setup)?,
    })
}

/// The configuration pair measured by `algorithm` (`tls13-handshake-*` or
/// `tls13-bulk-*`), and its label.
pub fn pair_for(algorithm: &str) -> Result<(Pair, &'static str), SpeedError> {
    let stack = algorithm
        .strip_prefix("tls13-handshake-")
        .or_else(|| algorithm.strip_prefix("tls13-bulk-"));
    match stack {
        Some("gm") => {
            let mut p = rustls_gm::provider();
            p.cipher_suites = vec![rustls_gm::suites::TLS13_SM4_GCM_SM3];
            p.kx_groups = vec![rustls_gm::kx_group::CURVE_SM2];
            Ok((pair(p, KeyAlgorithm::Sm2)?, "sm4gcm-sm3/curvesm2/sm2"))
        }
        Some("aws-lc") => {
            let mut p = aws_lc_rs::default_provider();
            p.cipher_suites = vec![aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256];
            p.kx_groups = vec![aws_lc_rs::kx_group::X25519];
            Ok((pair(p, KeyAlgorithm::P256)?, "aes128gcm/x25519/p256"))
        }
        _ => Err(SpeedError::UnknownAlgorithm(algorithm.to_string())),
    }
}

/// An I/O error of the in-memory transport as a rustls error.
fn io_error(e: std::io::Error) -> rustls::Error {
    rustls::Error::General(e.to_string())
}

/// Moves every pending TLS byte from `from` to `to` and processes it.
fn transfer<A: SideData, B: SideData>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
    buf: &mut Vec<u8>,
) -> Result<usize, rustls::Error> {
    buf.clear();
    while from.wants_write() {
        from.write_tls(buf).map_err(io_error)?;
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).map_err(io_error)?;
        to.process_new_packets()?;
    }
    Ok(buf.len())
}

/// One full handshake, in memory.
pub fn handshake(
    pair: &Pair,
    buf: &mut Vec<u8>,
) -> Result<(ClientConnection, ServerConnection), rustls::Error> {
    let mut client = ClientConnection::new(Arc::clone(&pair.client), pair.name.clone())?;
    let mut server = ServerConnection::new(Arc::clone(&pair.server))?;
    loop {
        let moved =
            transfer(&mut client, &mut server, buf)? + transfer(&mut server, &mut client, buf)?;
        if moved == 0 {
            break;
        }
    }
    if client.is_handshaking() || server.is_handshaking() {
        return Err(rustls::Error::General("handshake did not complete".into()));
    }
    Ok((client, server))
}

/// One handshake whose negotiated suite and group on both sides are the
/// pair's, and whose client saw the server's certificates.
pub fn checked_handshake(
    pair: &Pair,
    buf: &mut Vec<u8>,
) -> Result<(ClientConnection, ServerConnection), rustls::Error> {
    let (client, server) = handshake(pair, buf)?;
    let negotiated = [
        (
            client.negotiated_cipher_suite(),
            client.negotiated_key_exchange_group(),
        ),
        (
            server.negotiated_cipher_suite(),
            server.negotiated_key_exchange_group(),
        ),
    ];
    for (suite, group) in negotiated {
        if suite.map(|s| s.suite()) != Some(pair.suite)
            || group.map(|g| g.name()) != Some(pair.group)
        {
            return Err(rustls::Error::General(format!(
                "negotiated {suite:?} / {:?}, expected {:?} / {:?}",
                group.map(|g| g.name()),
                pair.suite,
                pair.group
            )));
        }
    }
    if client.peer_certificates().is_none() {
        return Err(rustls::Error::General("no server certificate".into()));
    }
    Ok((client, server))
}

/// Sends one full record from client to server and reads it back out.
pub fn send_record(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    data: &[u8],
    out: &mut [u8],
    buf: &mut Vec<u8>,
) -> Result<(), rustls::Error> {
    client.writer().write_all(data).map_err(io_error)?;
    transfer(client, server, buf)?;
    server.reader().read_exact(out).map_err(io_error)?;
    Ok(())
}

/// One TLS row: full handshakes per second, or MB/s of application data in
/// 16 KiB records (client seal and server open, both in this thread). A
/// checked handshake comes first, so a broken configuration or a different
/// suite is an error before any timing.
pub fn measure(algorithm: &str, secs: f64) -> Result<Measurement, SpeedError> {
    let (pair, label) = pair_for(algorithm)?;
    let failed = |e: rustls::Error| SpeedError::Backend(format!("TLS {algorithm} failed: {e}"));
    let mut buf = Vec::new();
    let (mut client, mut server) = checked_handshake(&pair, &mut buf).map_err(failed)?;
    let (value, unit, size) = if algorithm.starts_with("tls13-handshake-") {
        let rate = rate_checked(secs, || {
            black_box(handshake(&pair, &mut buf)?);
            Ok(())
        })
        .map_err(failed)?;
        (rate, "handshakes/s", 0)
    } else {
        let data = vec![0x5au8; RECORD];
        let mut out = vec![0u8; RECORD];
        send_record(&mut client, &mut server, &data, &mut out, &mut buf).map_err(failed)?;
        if out != data {
            return Err(SpeedError::Backend(
                "TLS bulk: data came back changed".into(),
            ));
        }
        let records = rate_checked(secs, || {
            send_record(&mut client, &mut server, &data, &mut out, &mut buf)
        })
        .map_err(failed)?;
        (records * RECORD as f64 / 1e6, "MB/s", RECORD)
    };
    Ok(Measurement {
        algorithm: algorithm.to_string(),
        backend: label.into(),
        size,
        unit: unit.into(),
        value,
    })
}
