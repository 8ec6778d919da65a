//! GM-preferring clients.
//!
//! [`ClientBuilder`] makes a `ClientConfig` that lists the SM suites,
//! curveSM2 and `sm2sig_sm3` first and the aws-lc-rs suites, groups and
//! schemes after them, so it negotiates RFC 8998 with GM servers and TLS 1.3
//! or 1.2 with everyone else. Its first ClientHello carries a curveSM2 *and*
//! an X25519 key share, so ordinary servers need no HelloRetryRequest.
//!
//! It is **strict** by default: a server that answers with an SM suite but
//! an RSA/ECDSA certificate fails the handshake (checked when the server's
//! CertificateVerify arrives), and [`verify_negotiated`] (which
//! [`connect`] runs for you) also rejects an SM suite over a group other than
//! curveSM2.
//!
//! ```no_run
//! # async fn run(roots: rustls::RootCertStore, tcp: tokio::net::TcpStream) -> Result<(), rustls_gm::Error> {
//! use std::sync::Arc;
//! let config = rustls_gm::client::ClientBuilder::new(roots).build()?;
//! let name = rustls::pki_types::ServerName::try_from("example.cn").unwrap();
//! let tls = rustls_gm::client::connect(Arc::new(config), name, tcp).await?;
//! # drop(tls); Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{aws_lc_rs, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, CommonState, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

use crate::codepoints::{CURVE_SM2, SM2SIG_SM3};
use crate::error::{rustls_err, Error, StrictViolation};
use crate::suites::is_sm_suite;

/// Builds a GM-preferring (or GM-only) rustls `ClientConfig`.
#[must_use]
pub struct ClientBuilder {
    roots: RootCertStore,
    gm_only: bool,
    strict: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    alpn: Vec<Vec<u8>>,
    wrap_verifier: Option<VerifierWrapper>,
}

/// Wraps the certificate verifier [`ClientBuilder::build`] makes.
type VerifierWrapper =
    Box<dyn FnOnce(Arc<dyn ServerCertVerifier>) -> Arc<dyn ServerCertVerifier> + Send>;

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("roots", &self.roots.len())
            .field("gm_only", &self.gm_only)
            .field("strict", &self.strict)
            .field("client_auth", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A strict, GM-preferring client trusting `roots` (which may hold SM2,
    /// RSA and ECDSA trust anchors side by side).
    pub fn new(roots: RootCertStore) -> Self {
        Self {
            roots,
            gm_only: false,
            strict: true,
            identity: None,
            alpn: Vec::new(),
            wrap_verifier: None,
        }
    }

    /// Wraps the certificate verifier the builder makes (webpki over the
    /// provider's algorithms, behind the strict check when strict), e.g. to
    /// observe the server's handshake signature scheme. The wrapper must
    /// delegate every check to the verifier it is given.
    pub fn wrap_verifier(
        mut self,
        wrapper: impl FnOnce(Arc<dyn ServerCertVerifier>) -> Arc<dyn ServerCertVerifier>
            + Send
            + 'static,
    ) -> Self {
        self.wrap_verifier = Some(Box::new(wrapper));
        self
    }

    /// Offers only the SM suites, curveSM2 and `sm2sig_sm3`, TLS 1.3 only:
    /// servers without RFC 8998 fail the handshake.
    pub fn gm_only(mut self) -> Self {
        self.gm_only = true;
        self
    }

    /// Turns the strict check off: an SM suite with a non-SM2 server key is
    /// then accepted. Only for interoperating with misconfigured servers.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Presents a client certificate when asked: an SM2 chain and key for GM
    /// servers (mutual TLS with `sm2sig_sm3`), or an RSA/ECDSA one.
    pub fn client_auth(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.identity = Some((chain, key));
        self
    }

    /// ALPN protocols, most preferred first.
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// Builds the configuration.
    pub fn build(self) -> Result<ClientConfig, Error> {
        let (provider, versions): (CryptoProvider, &[&'static rustls::SupportedProtocolVersion]) =
            if self.gm_only {
                (crate::provider(), &[&rustls::version::TLS13])
            } else {
                (
                    gm_first_client_provider(),
                    &[&rustls::version::TLS13, &rustls::version::TLS12],
                )
            };
        let provider = Arc::new(provider);
        let webpki = WebPkiServerVerifier::builder_with_provider(
            Arc::new(self.roots),
            Arc::clone(&provider),
        )
        .build()
        .map_err(|e| Error::Rustls {
            context: "building the server certificate verifier",
            source: rustls::Error::General(e.to_string()),
        })?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.strict {
            Arc::new(StrictGmVerifier { inner: webpki })
        } else {
            webpki
        };
        let verifier = match self.wrap_verifier {
            Some(wrap) => wrap(verifier),
            None => verifier,
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(rustls_err("building the client config"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(rustls_err("installing the client certificate"))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        Ok(config)
    }
}

/// [`crate::fallback_provider`], with curveSM2 also carrying an X25519 key
/// share in the first ClientHello.
fn gm_first_client_provider() -> CryptoProvider {
    static CURVE_SM2_PLUS_X25519: crate::kx::CurveSm2WithX25519Share =
        crate::kx::CurveSm2WithX25519Share {
            x25519: aws_lc_rs::kx_group::X25519,
        };
    let mut provider = crate::fallback_provider();
    let mut groups: Vec<&'static dyn SupportedKxGroup> = vec![&CURVE_SM2_PLUS_X25519];
    groups.extend(
        provider
            .kx_groups
            .iter()
            .copied()
            .filter(|g| g.name() != CURVE_SM2),
    );
    provider.kx_groups = groups;
    provider
}

/// Rejects, during the handshake, a server that pairs an RFC 8998 suite with
/// a non-SM2 certificate or signs CertificateVerify with anything but
/// `sm2sig_sm3` under such a suite. Everything else is delegated to webpki.
#[derive(Debug)]
struct StrictGmVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

fn strict_error(v: StrictViolation) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(v))))
}

impl ServerCertVerifier for StrictGmVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The SM suites are TLS 1.3 only.
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The signed message ends with the transcript hash; if an SM3
        // transcript produced it, an RFC 8998 suite was negotiated.
        let sm_suite = message
            .len()
            .checked_sub(gm_sm3::DIGEST_LEN)
            .is_some_and(|at| crate::hash::is_last_sm3_transcript_hash(&message[at..]));
        if sm_suite && (dss.scheme != SM2SIG_SM3 || !crate::sm2::is_sm2_certificate(cert)) {
            return Err(strict_error(StrictViolation::SmSuiteWithNonSm2Key));
        }
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks a finished handshake against the strict GM policy: if an RFC 8998
/// suite was negotiated, the group must be curveSM2 and the server's
/// end-entity key SM2. Other suites pass.
///
/// [`connect`] calls this for you; call it yourself after the handshake when
/// driving a `rustls::ClientConnection` directly.
pub fn verify_negotiated(conn: &CommonState) -> Result<(), Error> {
    let Some(suite) = conn.negotiated_cipher_suite() else {
        return Err(Error::Strict(StrictViolation::NoPeerCertificate));
    };
    if !is_sm_suite(suite.suite()) {
        return Ok(());
    }
    if let Some(group) = conn.negotiated_key_exchange_group() {
        if group.name() != CURVE_SM2 {
            return Err(Error::Strict(StrictViolation::SmSuiteWithoutCurveSm2 {
                group: group.name(),
            }));
        }
    }
    let end_entity = conn
        .peer_certificates()
        .and_then(|chain| chain.first())
        .ok_or(Error::Strict(StrictViolation::NoPeerCertificate))?;
    if !crate::sm2::is_sm2_certificate(end_entity) {
        return Err(Error::Strict(StrictViolation::SmSuiteWithNonSm2Key));
    }
    Ok(())
}

/// Connects over `io` with tokio-rustls and applies [`verify_negotiated`]
/// before handing the stream over.
#[cfg(feature = "tokio")]
pub async fn connect<IO>(
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    io: IO,
) -> Result<tokio_rustls::client::TlsStream<IO>, Error>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(server_name, io)
        .await
        .map_err(|source| Error::Io {
            context: "TLS handshake",
            source,
        })?;
    verify_negotiated(stream.get_ref().1)?;
    Ok(stream)
}
