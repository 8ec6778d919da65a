//! The dual-stack server: one listener, two strictly separated
//! configurations.
//!
//! rustls picks the certificate before the cipher suite, and the key
//! exchange group independently of both, so a single `ServerConfig` holding
//! an SM2 and an RSA certificate can end up with AES and the SM2 certificate,
//! or SM4 over X25519. [`DualStack`] reads the ClientHello first and then
//! finishes the handshake with exactly one of:
//!
//! * the **GM** configuration: SM suites, curveSM2, the SM2 certificate,
//!   TLS 1.3 only, used when the client offers an SM suite *and*
//!   `sm2sig_sm3` *and* curveSM2;
//! * the **standard** configuration: aws-lc-rs suites and groups, the RSA or
//!   ECDSA certificate, TLS 1.2 and 1.3, used otherwise.
//!
//! ```no_run
//! # async fn run(sm2_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
//! #              sm2_key: rustls::pki_types::PrivateKeyDer<'static>,
//! #              rsa_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
//! #              rsa_key: rustls::pki_types::PrivateKeyDer<'static>) -> Result<(), rustls_gm::Error> {
//! use rustls_gm::server::{DualStack, Policy};
//!
//! let server = DualStack::builder()
//!     .gm_identity(sm2_chain, sm2_key)
//!     .standard_identity(rsa_chain, rsa_key)
//!     .policy(Policy::PreferGm)
//!     .alpn_protocols(vec![b"http/1.1".to_vec()])
//!     .build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await.unwrap();
//! let (tcp, _) = listener.accept().await.unwrap();
//! let (tls, stack) = server.accept(tcp).await?;
//! println!("negotiated over the {stack:?} stack");
//! # drop(tls); Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{Accepted, AcceptedAlert, ClientHello, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use crate::codepoints::{CURVE_SM2, SM2SIG_SM3};
use crate::error::{rustls_err, Error};
use crate::suites::is_sm_suite;

pub use crate::ticketer::sm4_ticketer;

/// Which stacks a [`DualStack`] may finish a handshake with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Policy {
    /// GM when the client offers an SM suite, `sm2sig_sm3` and curveSM2;
    /// standard otherwise. Needs both identities.
    #[default]
    PreferGm,
    /// GM only: clients that cannot do RFC 8998 fail the handshake (with a
    /// `handshake_failure` alert). Needs the GM identity.
    GmOnly,
    /// Standard only: the SM suites are never negotiated. Needs the standard
    /// identity.
    StandardOnly,
}

/// The configuration a handshake was finished with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// SM suites, curveSM2, SM2 certificate, TLS 1.3.
    Gm,
    /// aws-lc-rs suites and groups, RSA/ECDSA certificate, TLS 1.2 and 1.3.
    Standard,
}

/// Whether a ClientHello can be answered by the GM stack: it offers at least
/// one RFC 8998 suite, the `sm2sig_sm3` signature scheme and the curveSM2
/// group.
pub fn offers_gm(hello: &ClientHello<'_>) -> bool {
    hello.cipher_suites().iter().copied().any(is_sm_suite)
        && hello.signature_schemes().contains(&SM2SIG_SM3)
        && hello
            .named_groups()
            .is_some_and(|groups| groups.contains(&CURVE_SM2))
}

/// A client certificate verifier for the GM stack: chains to `roots` with
/// SM2-with-SM3 signatures, CertificateVerify with `sm2sig_sm3`; a client
/// certificate is required.
pub fn gm_client_verifier(roots: RootCertStore) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::new(crate::provider()))
        .build()
        .map_err(|e| Error::Rustls {
            context: "building the GM client certificate verifier",
            source: rustls::Error::General(e.to_string()),
        })
}

type ConfigHook = Box<dyn Fn(Stack, &mut ServerConfig) + Send + Sync>;

/// Builds a [`DualStack`]. Nothing is checked until [`build`](Self::build).
#[must_use]
pub struct DualStackBuilder {
    gm: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    standard: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    policy: Policy,
    gm_client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    standard_client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    alpn: Vec<Vec<u8>>,
    hook: Option<ConfigHook>,
    /// The first error from a `*_pem` method, reported by `build`.
    deferred: Option<Error>,
}

/// Parses a PEM certificate chain and PEM private key.
fn identity_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    what: &'static str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    use rustls::pki_types::pem::PemObject as _;
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Rustls {
            context: what,
            source: rustls::Error::General(format!("certificate PEM: {e}")),
        })?;
    if chain.is_empty() {
        return Err(Error::Config("no CERTIFICATE block in the certificate PEM"));
    }
    let key = crate::private_key_from_pem(key_pem).map_err(|source| Error::Key {
        context: what,
        source,
    })?;
    Ok((chain, key))
}

impl fmt::Debug for DualStackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DualStackBuilder")
            .field("gm_identity", &self.gm.is_some())
            .field("standard_identity", &self.standard.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl DualStackBuilder {
    /// The SM2 certificate chain (end entity first) and its SM2 private key
    /// (PKCS#8 or SEC1).
    pub fn gm_identity(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.gm = Some((chain, key));
        self
    }

    /// [`gm_identity`](Self::gm_identity) from PEM text: the chain's
    /// `CERTIFICATE` blocks and a `PRIVATE KEY`, `EC PRIVATE KEY` or
    /// `SM2 PRIVATE KEY` block. Parse errors are reported by `build`.
    pub fn gm_identity_pem(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        match identity_from_pem(cert_pem, key_pem, "reading the GM identity") {
            Ok((chain, key)) => self.gm = Some((chain, key)),
            Err(e) => {
                self.deferred.get_or_insert(e);
            }
        }
        self
    }

    /// [`standard_identity`](Self::standard_identity) from PEM text. Parse
    /// errors are reported by `build`.
    pub fn standard_identity_pem(mut self, cert_pem: &[u8], key_pem: &[u8]) -> Self {
        match identity_from_pem(cert_pem, key_pem, "reading the standard identity") {
            Ok((chain, key)) => self.standard = Some((chain, key)),
            Err(e) => {
                self.deferred.get_or_insert(e);
            }
        }
        self
    }

    /// The RSA, ECDSA or Ed25519 certificate chain and private key for
    /// everyone else.
    pub fn standard_identity(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.standard = Some((chain, key));
        self
    }

    /// The policy (default [`Policy::PreferGm`]).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Requires client certificates on the GM stack, checked by `verifier`
    /// (see [`gm_client_verifier`]).
    pub fn gm_client_auth(mut self, verifier: Arc<dyn ClientCertVerifier>) -> Self {
        self.gm_client_verifier = Some(verifier);
        self
    }

    /// Requires client certificates on the standard stack, checked by
    /// `verifier` (e.g. a `WebPkiClientVerifier` over aws-lc-rs).
    pub fn standard_client_auth(mut self, verifier: Arc<dyn ClientCertVerifier>) -> Self {
        self.standard_client_verifier = Some(verifier);
        self
    }

    /// ALPN protocols for both stacks, most preferred first.
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// Adjusts each stack's `ServerConfig` after it is built (session
    /// storage, ticketer, key log, fragment size...). The hook must not
    /// replace `cert_resolver`: `build` refuses a config whose resolver
    /// changed, since that could pair a certificate with the wrong suites.
    pub fn configure(
        mut self,
        hook: impl Fn(Stack, &mut ServerConfig) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Checks the identities against the policy and builds both
    /// configurations.
    pub fn build(mut self) -> Result<DualStack, Error> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let (need_gm, need_std) = match self.policy {
            Policy::PreferGm => (true, true),
            Policy::GmOnly => (true, false),
            Policy::StandardOnly => (false, true),
        };
        if need_gm && self.gm.is_none() {
            return Err(Error::Config("this policy needs the GM (SM2) identity"));
        }
        if need_std && self.standard.is_none() {
            return Err(Error::Config(
                "this policy needs the standard (RSA/ECDSA) identity",
            ));
        }
        let gm = match (need_gm, &self.gm) {
            (true, Some((chain, key))) => Some(self.finish(
                Stack::Gm,
                gm_config(
                    chain.clone(),
                    key.clone_key(),
                    self.gm_client_verifier.clone(),
                )?,
            )?),
            _ => None,
        };
        let standard = match (need_std, &self.standard) {
            (true, Some((chain, key))) => Some(self.finish(
                Stack::Standard,
                standard_config(
                    chain.clone(),
                    key.clone_key(),
                    self.standard_client_verifier.clone(),
                )?,
            )?),
            _ => None,
        };
        let configs = match (gm, standard) {
            (Some(gm), Some(standard)) => Configs::Both { gm, standard },
            (Some(gm), None) => Configs::Gm(gm),
            (None, Some(standard)) => Configs::Standard(standard),
            (None, None) => return Err(Error::Config("no identity given")),
        };
        Ok(DualStack {
            configs,
            policy: self.policy,
        })
    }

    fn finish(&self, stack: Stack, mut config: ServerConfig) -> Result<Arc<ServerConfig>, Error> {
        config.alpn_protocols.clone_from(&self.alpn);
        if let Some(hook) = &self.hook {
            let resolver = Arc::clone(&config.cert_resolver);
            hook(stack, &mut config);
            if !Arc::ptr_eq(&resolver, &config.cert_resolver) {
                return Err(Error::Config(
                    "the configure() hook replaced the certificate resolver",
                ));
            }
        }
        Ok(Arc::new(config))
    }
}

/// The GM stack's config up to the certificate: SM suites, curveSM2, TLS 1.3,
/// client authentication as given. Shared with the hot-reloading stack.
pub(crate) fn gm_config_builder(
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<rustls::ConfigBuilder<ServerConfig, rustls::server::WantsServerCert>, Error> {
    let builder = ServerConfig::builder_with_provider(Arc::new(crate::provider()))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(rustls_err("building the GM server config"))?;
    Ok(match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    })
}

/// The standard stack's config up to the certificate: aws-lc-rs, TLS 1.2
/// and 1.3, client authentication as given. Shared with the hot-reloading
/// stack.
pub(crate) fn standard_config_builder(
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<rustls::ConfigBuilder<ServerConfig, rustls::server::WantsServerCert>, Error> {
    let builder = ServerConfig::builder_with_provider(crate::standard_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(rustls_err("building the standard server config"))?;
    Ok(match client_verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    })
}

/// The GM stack's config: SM suites, curveSM2, TLS 1.3, SM2 key only.
fn gm_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<ServerConfig, Error> {
    // Load the key ourselves first for a typed error that says "not SM2".
    crate::load_sm2_key(&key).map_err(|source| Error::Key {
        context: "loading the GM identity's private key",
        source,
    })?;
    gm_config_builder(client_verifier)?
        .with_single_cert(chain, key)
        .map_err(rustls_err("installing the SM2 certificate"))
}

/// The standard stack's config: aws-lc-rs, TLS 1.2 and 1.3, no SM2 key.
fn standard_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_verifier: Option<Arc<dyn ClientCertVerifier>>,
) -> Result<ServerConfig, Error> {
    if crate::load_sm2_key(&key).is_ok() {
        return Err(Error::Config(
            "the standard identity holds an SM2 key; give it as the GM identity",
        ));
    }
    standard_config_builder(client_verifier)?
        .with_single_cert(chain, key)
        .map_err(rustls_err("installing the standard certificate"))
}

/// A GM + standard server. Cheap to clone-by-`Arc`; share one per listener.
pub struct DualStack {
    configs: Configs,
    policy: Policy,
}

/// The configurations a policy needs, and no others.
enum Configs {
    Both {
        gm: Arc<ServerConfig>,
        standard: Arc<ServerConfig>,
    },
    Gm(Arc<ServerConfig>),
    Standard(Arc<ServerConfig>),
}

impl fmt::Debug for DualStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DualStack")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl DualStack {
    /// Starts building a dual-stack server.
    pub fn builder() -> DualStackBuilder {
        DualStackBuilder {
            gm: None,
            standard: None,
            policy: Policy::default(),
            gm_client_verifier: None,
            standard_client_verifier: None,
            alpn: Vec::new(),
            hook: None,
            deferred: None,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The stack and configuration for a ClientHello. Under
    /// [`Policy::GmOnly`] this is always the GM stack (which then rejects a
    /// client that cannot do RFC 8998), under [`Policy::StandardOnly`]
    /// always the standard one.
    pub fn select(&self, hello: &ClientHello<'_>) -> (Stack, Arc<ServerConfig>) {
        match &self.configs {
            Configs::Both { gm, standard } => {
                if offers_gm(hello) {
                    (Stack::Gm, Arc::clone(gm))
                } else {
                    (Stack::Standard, Arc::clone(standard))
                }
            }
            Configs::Gm(gm) => (Stack::Gm, Arc::clone(gm)),
            Configs::Standard(standard) => (Stack::Standard, Arc::clone(standard)),
        }
    }

    /// Finishes a handshake started with [`rustls::server::Acceptor`].
    ///
    /// On error, write the returned alert to the peer before closing.
    pub fn accept_connection(
        &self,
        accepted: Accepted,
    ) -> Result<(ServerConnection, Stack), (rustls::Error, AcceptedAlert)> {
        let (stack, config) = self.select(&accepted.client_hello());
        accepted.into_connection(config).map(|conn| (conn, stack))
    }

    /// Accepts a TLS connection over `io` with tokio-rustls'
    /// `LazyConfigAcceptor`: reads the ClientHello, picks the stack and runs
    /// the handshake to completion.
    #[cfg(feature = "tokio")]
    pub async fn accept<IO>(
        &self,
        io: IO,
    ) -> Result<(tokio_rustls::server::TlsStream<IO>, Stack), Error>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io)
            .await
            .map_err(|source| Error::Io {
                context: "reading the ClientHello",
                source,
            })?;
        let (stack, config) = self.select(&start.client_hello());
        let stream = start
            .into_stream(config)
            .await
            .map_err(|source| Error::Io {
                context: "TLS handshake",
                source,
            })?;
        Ok((stream, stack))
    }
}
