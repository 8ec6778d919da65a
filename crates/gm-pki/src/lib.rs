//! X.509 PKI for Chinese national cryptography: SM2-with-SM3 certificates
//! and PKCS#10 requests (plus RSA and ECDSA P-256 for the fallback
//! certificates of a dual-stack server), a small certificate authority,
//! chain verification with typed reasons, CFCA formats and certificate
//! rotation.
//!
//! * Keys: [`KeyPair`] (SM2 via gm-sm2, RSA-2048..4096 and P-256 via
//!   aws-lc-rs), PEM/DER, PKCS#8 (plain or encrypted), SEC1, PKCS#1.
//! * Requests: [`Csr`] (subject, key, SANs in an extensionRequest).
//! * Issuing: [`CertificateAuthority`] with the [`Profile`]s root CA,
//!   intermediate CA, TLS server, TLS client, GM signing and GM encryption
//!   (key usages per GM/T 0015); SM2 signatures with the ID
//!   `1234567812345678` unless the CA is configured otherwise; SM2-with-SM3
//!   written without parameters, read with or without NULL.
//! * Reading: [`Certificate`] (fields, [`CertInfo`] summary, OpenSSL-like
//!   text).
//! * Verifying: [`verify_chain`] (rustls-webpki + rustls-gm's SM2
//!   verifiers + aws-lc-rs), failing with a [`VerifyError`] that says why:
//!   expired, not yet valid, unknown or wrong issuer, bad signature, wrong
//!   SM2 ID, name mismatch, key usage.
//!
//! Nothing here panics on any input, and there is no `unsafe`.
//!
//! ```
//! use gm_pki::{verify_chain, CertificateAuthority, Csr, KeyAlgorithm, KeyPair, Profile,
//!              Purpose, VerifyError, VerifyOptions};
//!
//! // A root CA and a server key with its CSR.
//! let ca = CertificateAuthority::init(&"CN=Example Root,O=Example,C=CN".parse()?, 3650,
//!                                     KeyPair::generate(KeyAlgorithm::Sm2)?)?;
//! let key = KeyPair::generate(KeyAlgorithm::Sm2)?;
//! let csr = Csr::new(&key, &"CN=www.example.cn,O=Example,C=CN".parse()?,
//!                    &["DNS:www.example.cn".parse()?])?;
//!
//! // The CA checks the CSR's signature and issues a TLS server certificate.
//! let cert = ca.issue_csr(&csr, Profile::TlsServer, 365)?;
//! assert_eq!(cert.signature_algorithm().name(), "SM2-with-SM3");
//!
//! // Verify it for a host name.
//! let opts = VerifyOptions { name: Some("www.example.cn".into()), purpose: Purpose::ServerAuth,
//!                            ..Default::default() };
//! verify_chain(&cert, &[], &[ca.certificate().clone()], &opts).expect("valid");
//! let wrong = VerifyOptions { name: Some("mail.example.cn".into()), ..opts };
//! let err = verify_chain(&cert, &[], &[ca.certificate().clone()], &wrong).unwrap_err();
//! assert_eq!(err.code(), "name_mismatch");
//! # Ok::<(), gm_pki::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
pub mod atomic;
mod ca;
mod cert;
pub mod cfca;
mod csr;
mod error;
mod keys;
mod name;
pub mod oid;
mod pem;
mod profile;
pub mod quick;
pub mod rotate;
mod verify;

pub use ca::{files as ca_files, CertificateAuthority, IssueRequest, DEFAULT_BACKDATE};
pub use cert::{rfc3339, CertInfo, Certificate};
pub use csr::Csr;
pub use error::{Error, Result};
pub use keys::{KeyAlgorithm, KeyPair, PublicKeyAlgorithm, PublicKeyInfo, SignatureAlgorithm};
pub use name::{DistinguishedName, NameAttribute};
pub use profile::{KeyUsage, Profile, SubjectAltName};
pub use verify::{verify_chain, Purpose, VerifiedChain, VerifyError, VerifyOptions};
