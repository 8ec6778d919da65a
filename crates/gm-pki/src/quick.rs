//! One-call PKIs for tests and demos: a root, an intermediate and a leaf,
//! all in memory.

use crate::ca::CertificateAuthority;
use crate::cert::Certificate;
use crate::error::Result;
use crate::keys::{KeyAlgorithm, KeyPair};
use crate::profile::{Profile, SubjectAltName};
use crate::IssueRequest;

/// A three-level PKI: root CA, intermediate CA and an end-entity
/// certificate with its key.
#[derive(Debug)]
pub struct Chain {
    /// The self-signed root certificate (the trust anchor).
    pub root: Certificate,
    /// The intermediate CA certificate.
    pub intermediate: Certificate,
    /// The end-entity certificate.
    pub leaf: Certificate,
    /// The end-entity private key.
    pub leaf_key: KeyPair,
    /// The root CA (to issue more).
    pub root_ca: CertificateAuthority,
    /// The intermediate CA (to issue more).
    pub intermediate_ca: CertificateAuthority,
}

impl Chain {
    /// Leaf then intermediate, PEM: what a TLS server sends.
    pub fn leaf_chain_pem(&self) -> String {
        format!("{}{}", self.leaf.to_pem(), self.intermediate.to_pem())
    }
}

/// A chain of `alg` keys whose leaf is a TLS server certificate for
/// `host` (a DNS name or IP address; also `localhost` and 127.0.0.1 are
/// added), valid 365 days below a 10-year root and a 5-year intermediate.
pub fn self_signed_chain(alg: KeyAlgorithm, host: &str, profile: Profile) -> Result<Chain> {
    let root_ca = CertificateAuthority::init(
        &format!("CN=gmkit test root ({alg}),O=gmkit,C=CN").parse()?,
        3650,
        KeyPair::generate(alg)?,
    )?;
    let intermediate_ca = root_ca.new_intermediate(
        &format!("CN=gmkit test intermediate ({alg}),O=gmkit,C=CN").parse()?,
        1825,
        KeyPair::generate(alg)?,
    )?;
    let leaf_key = KeyPair::generate(alg)?;
    let mut req = IssueRequest::new(
        format!("CN={host},O=gmkit,C=CN").parse()?,
        leaf_key.public_key().clone(),
        profile,
    )
    .days(365)
    .san(SubjectAltName::for_host(host)?);
    if matches!(profile, Profile::TlsServer) {
        req = req
            .san(SubjectAltName::Dns("localhost".into()))
            .san(SubjectAltName::Ip([127, 0, 0, 1].into()));
    }
    let leaf = intermediate_ca.issue(&req)?;
    Ok(Chain {
        root: root_ca.certificate().clone(),
        intermediate: intermediate_ca.certificate().clone(),
        leaf,
        leaf_key,
        root_ca,
        intermediate_ca,
    })
}

/// [`self_signed_chain`] with SM2 keys and a TLS server leaf.
pub fn sm2_chain(host: &str) -> Result<Chain> {
    self_signed_chain(KeyAlgorithm::Sm2, host, Profile::TlsServer)
}

/// A GM/T 0015 dual-certificate pair below one SM2 chain: the signing
/// certificate (with its key) is the chain's leaf; returns the encryption
/// certificate and key as well.
pub fn sm2_dual_chain(host: &str) -> Result<(Chain, Certificate, KeyPair)> {
    let chain = self_signed_chain(KeyAlgorithm::Sm2, host, Profile::GmSign)?;
    let enc_key = KeyPair::generate(KeyAlgorithm::Sm2)?;
    let enc = chain.intermediate_ca.issue(
        &IssueRequest::new(
            format!("CN={host},O=gmkit,C=CN").parse()?,
            enc_key.public_key().clone(),
            Profile::GmEnc,
        )
        .days(365)
        .san(SubjectAltName::for_host(host)?),
    )?;
    Ok((chain, enc, enc_key))
}
