//! A rustls 0.23 [`CryptoProvider`] for RFC 8998 ("ShangMi" cipher suites
//! in TLS 1.3), with a strict fallback to the standard suites.
//!
//! * [`provider()`]: GM only. `TLS_SM4_GCM_SM3` (0x00C6) and
//!   `TLS_SM4_CCM_SM3` (0x00C7), the `curveSM2` group (0x0029),
//!   `sm2sig_sm3` (0x0708) signing and verification, SM2-with-SM3
//!   certificates. TLS 1.3 only.
//! * [`fallback_provider()`]: the same, followed by rustls' aws-lc-rs
//!   provider (AES-GCM, ChaCha20-Poly1305, X25519, P-256, RSA, ECDSA, Ed25519).
//!   Right for clients; servers should use [`server::DualStack`] instead.
//! * [`server::DualStack`]: reads the ClientHello and finishes the handshake
//!   with a GM-only configuration (SM suites, curveSM2, SM2 certificate) when
//!   the client offers all three, else with a standard configuration (RSA or
//!   ECDSA certificate, TLS 1.2 and 1.3). So an SM2 certificate is never
//!   used with AES, and SM4 never runs over X25519.
//! * [`client::ClientBuilder`]: a client that prefers GM but reaches ordinary
//!   servers, strict by default: an SM suite with a non-SM2 server key or a
//!   group other than curveSM2 aborts the connection.
//!
//! * Keys: the providers' key loaders take SM2 keys as PKCS#8 or SEC1 DER;
//!   [`private_key_from_pem`] reads the PEM labels SM2 tools write (OpenSSL 3
//!   writes SEC1 SM2 keys as `SM2 PRIVATE KEY`), [`decrypt_sm2_private_key`]
//!   opens encrypted PKCS#8, and [`load_sm2_key`] gives a rustls
//!   `SigningKey` for hand-built `CertifiedKey`s.
//! * [`reload`]: hot reloading of certificate and key files (a
//!   `ResolvesServerCert` and a dual stack over it) for certificate rotation
//!   without restarts.
//! * Resumption works on the SM suites with tickets ([`server::sm4_ticketer`],
//!   SM4-GCM sealed) or rustls' session cache.
//!
//! SM2 signatures use the identifier `"TLSv1.3+GM+Cipher+Suite"` in the
//! handshake and `"1234567812345678"` in certificates (RFC 8998 section
//! 3.2.1). Randomness comes from the operating system only.
//!
//! SM2 verification keeps precomputed tables (gm-sm2's
//! `VerifyingKey::precompute`, 88 KiB each) for up to 16 keys that verify
//! more than once, such as the CA and intermediate keys of a chain and the
//! key of a server one reconnects to. That makes their verifications several
//! times faster. `RUSTLS_GM_VERIFY_CACHE=0` in the environment turns this
//! off.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use rustls_gm::codepoints;
//!
//! let gm = rustls_gm::provider();
//! let suites: Vec<_> = gm.cipher_suites.iter().map(|s| s.suite()).collect();
//! assert_eq!(suites, [codepoints::TLS_SM4_GCM_SM3, codepoints::TLS_SM4_CCM_SM3]);
//! assert_eq!(gm.kx_groups[0].name(), codepoints::CURVE_SM2);
//!
//! // A GM-only client config (TLS 1.3 only, as RFC 8998 requires).
//! let roots = rustls::RootCertStore::empty();
//! let config = rustls::ClientConfig::builder_with_provider(Arc::new(gm))
//!     .with_protocol_versions(&[&rustls::version::TLS13])?
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//! # let _ = config;
//!
//! // A dual-stack server (see `server::DualStack` for the full flow).
//! # fn dual(sm2_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
//! #         sm2_key: rustls::pki_types::PrivateKeyDer<'static>,
//! #         rsa_chain: Vec<rustls::pki_types::CertificateDer<'static>>,
//! #         rsa_key: rustls::pki_types::PrivateKeyDer<'static>) -> Result<(), rustls_gm::Error> {
//! let server = rustls_gm::server::DualStack::builder()
//!     .gm_identity(sm2_chain, sm2_key)
//!     .standard_identity(rsa_chain, rsa_key)
//!     .build()?;
//! # let _ = server; Ok(()) }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::sync::Arc;

use rustls::crypto::{aws_lc_rs, CryptoProvider, SupportedKxGroup};

mod aead;
pub mod client;
pub mod codepoints;
mod error;
mod hash;
mod hmac;
mod kx;
mod rand;
pub mod reload;
pub mod server;
mod sign;
mod sm2;
pub mod suites;
mod ticketer;
pub mod verify;

pub use error::{Error, KeyError, StrictViolation};
pub use sign::{decrypt_sm2_private_key, load_sm2_key, private_key_from_pem};

/// Key exchange groups.
pub mod kx_group {
    use rustls::crypto::SupportedKxGroup;

    /// `curveSM2` (0x0029): ECDHE on the SM2 curve, TLS 1.3 only. The peer's
    /// point must be a valid uncompressed point on the curve.
    pub static CURVE_SM2: &dyn SupportedKxGroup = &crate::kx::CurveSm2;
}

/// The SM2 key provider of [`provider()`]: SM2 keys only.
static GM_KEY_PROVIDER: sign::Sm2KeyProvider = sign::Sm2KeyProvider { fallback: None };

/// The GM-only provider: RFC 8998 suites, curveSM2, sm2sig_sm3, SM2-with-SM3
/// certificates; TLS 1.3 only. Its key provider loads SM2 keys in PKCS#8 and
/// SEC1 form and refuses other keys with [`KeyError::NotSm2`].
///
/// ```
/// let p = rustls_gm::provider();
/// assert_eq!(p.cipher_suites.len(), 2);
/// assert_eq!(p.kx_groups.len(), 1);
/// ```
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: suites::ALL_SM_SUITES.to_vec(),
        kx_groups: vec![kx_group::CURVE_SM2],
        signature_verification_algorithms: verify::SUPPORTED_SIG_ALGS,
        secure_random: &rand::OsRandom,
        key_provider: &GM_KEY_PROVIDER,
    }
}

/// GM first, then rustls' aws-lc-rs provider: SM suites before AES/ChaCha,
/// curveSM2 before X25519/P-256, sm2sig_sm3 before the standard schemes, and
/// a key provider that loads SM2 keys itself and hands every other key to
/// aws-lc-rs.
///
/// Use it for clients (or see [`client::ClientBuilder`]). A *server* with one
/// config over this provider and two certificates could pair AES with the
/// SM2 certificate or SM4 with X25519: use [`server::DualStack`] there.
///
/// ```
/// use rustls_gm::codepoints;
/// let p = rustls_gm::fallback_provider();
/// assert_eq!(p.cipher_suites[0].suite(), codepoints::TLS_SM4_GCM_SM3);
/// assert!(p.cipher_suites.len() > 2);
/// ```
pub fn fallback_provider() -> CryptoProvider {
    let base = aws_lc_rs::default_provider();
    let mut kx_groups: Vec<&'static dyn SupportedKxGroup> = vec![kx_group::CURVE_SM2];
    kx_groups.extend(base.kx_groups.iter().copied());
    CryptoProvider {
        cipher_suites: suites::ALL_SM_SUITES
            .iter()
            .chain(base.cipher_suites.iter())
            .copied()
            .collect(),
        kx_groups,
        signature_verification_algorithms: verify::merged(&base.signature_verification_algorithms),
        secure_random: &rand::OsRandom,
        key_provider: fallback_key_provider(),
    }
}

/// SM2 keys here, everything else to aws-lc-rs.
fn fallback_key_provider() -> &'static sign::Sm2KeyProvider {
    static P: std::sync::OnceLock<sign::Sm2KeyProvider> = std::sync::OnceLock::new();
    P.get_or_init(|| sign::Sm2KeyProvider {
        fallback: Some(aws_lc_rs::default_provider().key_provider),
    })
}

/// The standard provider the fallback and the dual stack use.
fn standard_provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}
