//! Every RFC 8998 code point and SM2 identifier, in one place.
//!
//! rustls 0.23 has no names for the RFC 8998 code points, so they are spelled
//! as `Unknown(..)` values here. rustls 0.24 names them (`TLS13_SM4_GCM_SM3`,
//! `SM2_SM3`, `curveSM2`) and there an `Unknown(..)` value no longer compares
//! equal to the named one: moving to 0.24 means editing this file only.
//!
//! ```
//! use rustls_gm::codepoints;
//! assert_eq!(u16::from(codepoints::TLS_SM4_GCM_SM3), 0x00c6);
//! assert_eq!(u16::from(codepoints::SM2SIG_SM3), 0x0708);
//! ```

use rustls::{CipherSuite, NamedGroup, SignatureAlgorithm, SignatureScheme};

/// `TLS_SM4_GCM_SM3` (RFC 8998 section 2), TLS 1.3 only.
pub const TLS_SM4_GCM_SM3: CipherSuite = CipherSuite::Unknown(0x00c6);

/// `TLS_SM4_CCM_SM3` (RFC 8998 section 2), TLS 1.3 only.
pub const TLS_SM4_CCM_SM3: CipherSuite = CipherSuite::Unknown(0x00c7);

/// The `curveSM2` named group (RFC 8998 section 2).
pub const CURVE_SM2: NamedGroup = NamedGroup::Unknown(0x0029);

/// The `sm2sig_sm3` signature scheme (RFC 8998 section 2).
pub const SM2SIG_SM3: SignatureScheme = SignatureScheme::Unknown(0x0708);

/// What an SM2 signing key reports as its [`SignatureAlgorithm`] (the low
/// byte of `sm2sig_sm3`). It only matters to TLS 1.2 suite selection, where no
/// suite uses it, so an SM2 key is never picked for a TLS 1.2 handshake.
pub(crate) const SM2_SIGNATURE_ALGORITHM: SignatureAlgorithm = SignatureAlgorithm::Unknown(0x08);

/// What the SM3 transcript hash reports as its TLS `HashAlgorithm` (the high
/// byte of `sm2sig_sm3`; SM3 has no entry in the TLS 1.2 registry).
pub(crate) const SM3_HASH_ALGORITHM: rustls::crypto::hash::HashAlgorithm =
    rustls::crypto::hash::HashAlgorithm::Unknown(0x07);

/// SM2 distinguishing identifier for TLS 1.3 CertificateVerify signatures
/// (RFC 8998 section 3.2.1).
pub const TLS13_SM2_ID: &str = "TLSv1.3+GM+Cipher+Suite";

/// SM2 distinguishing identifier for certificate (and CSR, CRL) signatures
/// (GB/T 35276 default, used by RFC 8998 section 3.2.1 for certificates).
pub const CERT_SM2_ID: &str = "1234567812345678";

/// AlgorithmIdentifier contents (without the outer SEQUENCE) of an SM2
/// SubjectPublicKeyInfo: `id-ecPublicKey` with named curve `sm2p256v1`
/// (1.2.156.10197.1.301).
pub(crate) const ALG_ID_SM2_PUBLIC_KEY: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, // id-ecPublicKey
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, // sm2p256v1
];

/// AlgorithmIdentifier contents of `SM2-with-SM3` (1.2.156.10197.1.501), no
/// parameters.
pub(crate) const ALG_ID_SM2_SM3: &[u8] =
    &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];

/// AlgorithmIdentifier contents of `SM2-with-SM3` with explicit NULL
/// parameters, as CFCA writes it.
pub(crate) const ALG_ID_SM2_SM3_NULL: &[u8] = &[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
];

/// OID `sm2p256v1` (1.2.156.10197.1.301), the SM2 named curve.
pub(crate) const OID_SM2_CURVE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.156.10197.1.301");

/// OID `id-ecPublicKey` (1.2.840.10045.2.1).
pub(crate) const OID_EC_PUBLIC_KEY: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
