//! Chain verification: rustls-webpki builds and checks the path (with
//! rustls-gm's SM2-with-SM3 verifiers, or ones for a custom SM2 ID, plus
//! aws-lc-rs for RSA and ECDSA); when it fails, the chain is walked again
//! here to say precisely why (unknown or wrong issuer, bad signature, a
//! signature made with another SM2 ID, ...).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use serde::Serialize;

use crate::cert::{rfc3339, Certificate};
use crate::keys::{PublicKeyAlgorithm, SignatureCheck, VerifierSet};
use crate::oid;
use crate::profile::KeyUsage;

/// What the end-entity certificate must be good for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// TLS server authentication: if extendedKeyUsage is present it must
    /// include serverAuth; if keyUsage is present it must allow
    /// digitalSignature (or keyEncipherment for RSA).
    ServerAuth,
    /// TLS client authentication (clientAuth, digitalSignature).
    ClientAuth,
    /// Only the chain is checked (any extendedKeyUsage, any keyUsage).
    #[default]
    Any,
}

/// Options for [`verify_chain`].
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// The time to check validity at (default: now).
    pub time: Option<SystemTime>,
    /// A host name or IP address the end-entity certificate must be valid
    /// for (subjectAltName only, as browsers and rustls do; the CN is not
    /// consulted).
    pub name: Option<String>,
    /// What the end-entity certificate is for.
    pub purpose: Purpose,
    /// The SM2 identifier certificate signatures are expected to use.
    pub sm2_id: Vec<u8>,
    /// Other SM2 identifiers tried when an SM2 signature fails, to report
    /// [`VerifyError::WrongSm2Id`] instead of a plain bad signature.
    pub alternate_sm2_ids: Vec<Vec<u8>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            time: None,
            name: None,
            purpose: Purpose::Any,
            sm2_id: gm_sm2::DEFAULT_ID.to_vec(),
            alternate_sm2_ids: vec![
                gm_sm2::DEFAULT_ID.to_vec(),
                Vec::new(),
                gm_sm2::TLS13_ID.to_vec(),
            ],
        }
    }
}

/// Why a chain does not verify. [`VerifyError::code`] gives a stable short
/// name for scripts (`gmkit cert verify --json` prints it as `reason`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// A certificate's validity ended before the verification time.
    Expired {
        /// Subject of the expired certificate.
        subject: String,
        /// Its notAfter (RFC 3339).
        not_after: String,
        /// The verification time (RFC 3339).
        now: String,
    },
    /// A certificate's validity starts after the verification time.
    NotYetValid {
        /// Subject of the certificate.
        subject: String,
        /// Its notBefore (RFC 3339).
        not_before: String,
        /// The verification time (RFC 3339).
        now: String,
    },
    /// No trusted root or supplied intermediate has the issuer's name.
    UnknownIssuer {
        /// Subject of the certificate whose issuer is missing.
        subject: String,
        /// The issuer name it names.
        issuer: String,
    },
    /// A CA with the issuer's name exists, but a different key signed the
    /// certificate (its authorityKeyIdentifier names another key).
    WrongIssuer {
        /// Subject of the certificate.
        subject: String,
        /// The issuer name.
        issuer: String,
        /// authorityKeyIdentifier of the certificate vs. the candidates' keys.
        detail: String,
    },
    /// The signature does not verify under the issuer's key (tampered or
    /// corrupted certificate), and no alternative SM2 ID explains it.
    BadSignature {
        /// Subject of the certificate.
        subject: String,
        /// Its signature algorithm.
        algorithm: String,
    },
    /// The SM2 signature verifies, but with another distinguishing ID than
    /// the expected one.
    WrongSm2Id {
        /// Subject of the certificate.
        subject: String,
        /// The ID the verifier expected.
        expected: String,
        /// The ID the signature was made with.
        actual: String,
    },
    /// The end-entity certificate is not valid for the requested name.
    NameMismatch {
        /// The requested host name or IP address.
        name: String,
        /// The DNS and IP names in the certificate.
        presented: Vec<String>,
    },
    /// keyUsage or extendedKeyUsage does not allow the requested purpose.
    KeyUsageNotAllowed {
        /// Subject of the certificate.
        subject: String,
        /// What is missing.
        detail: String,
    },
    /// A CA certificate was given as the end-entity certificate.
    CaUsedAsEndEntity {
        /// Its subject.
        subject: String,
    },
    /// An issuer in the path is not a CA (no basicConstraints cA).
    IssuerNotCa {
        /// Its subject.
        subject: String,
    },
    /// A pathLenConstraint in the path is exceeded.
    PathLenExceeded,
    /// A signature or key algorithm we do not verify.
    UnsupportedAlgorithm {
        /// Subject of the certificate.
        subject: String,
        /// The algorithm.
        detail: String,
    },
    /// A certificate that rustls-webpki cannot parse or accept.
    Malformed {
        /// What is wrong.
        detail: String,
    },
    /// Any other failure reported by rustls-webpki.
    Other {
        /// The webpki error.
        detail: String,
    },
}

impl VerifyError {
    /// A stable short name: `expired`, `not_yet_valid`, `unknown_issuer`,
    /// `wrong_issuer`, `bad_signature`, `wrong_sm2_id`, `name_mismatch`,
    /// `key_usage`, `ca_used_as_end_entity`, `issuer_not_ca`,
    /// `path_len_exceeded`, `unsupported_algorithm`, `malformed`, `other`.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotYetValid { .. } => "not_yet_valid",
            VerifyError::UnknownIssuer { .. } => "unknown_issuer",
            VerifyError::WrongIssuer { .. } => "wrong_issuer",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::WrongSm2Id { .. } => "wrong_sm2_id",
            VerifyError::NameMismatch { .. } => "name_mismatch",
            VerifyError::KeyUsageNotAllowed { .. } => "key_usage",
            VerifyError::CaUsedAsEndEntity { .. } => "ca_used_as_end_entity",
            VerifyError::IssuerNotCa { .. } => "issuer_not_ca",
            VerifyError::PathLenExceeded => "path_len_exceeded",
            VerifyError::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            VerifyError::Malformed { .. } => "malformed",
            VerifyError::Other { .. } => "other",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Expired { subject, not_after, now } => {
                write!(f, "certificate expired: {subject} (notAfter {not_after}, now {now})")
            }
            VerifyError::NotYetValid { subject, not_before, now } => write!(
                f,
                "certificate not yet valid: {subject} (notBefore {not_before}, now {now})"
            ),
            VerifyError::UnknownIssuer { subject, issuer } => write!(
                f,
                "unknown issuer: no trusted or supplied CA named {issuer:?} (issuer of {subject})"
            ),
            VerifyError::WrongIssuer { subject, issuer, detail } => write!(
                f,
                "wrong issuer: {subject} was signed by a different CA named {issuer:?} ({detail})"
            ),
            VerifyError::BadSignature { subject, algorithm } => write!(
                f,
                "bad signature: the {algorithm} signature on {subject} does not verify with its issuer's key"
            ),
            VerifyError::WrongSm2Id { subject, expected, actual } => write!(
                f,
                "wrong SM2 ID: the signature on {subject} was made with ID {actual:?}, expected {expected:?}"
            ),
            VerifyError::NameMismatch { name, presented } => write!(
                f,
                "name mismatch: certificate is not valid for {name:?} (it names: {})",
                if presented.is_empty() { "nothing".to_owned() } else { presented.join(", ") }
            ),
            VerifyError::KeyUsageNotAllowed { subject, detail } => {
                write!(f, "key usage not allowed: {subject}: {detail}")
            }
            VerifyError::CaUsedAsEndEntity { subject } => {
                write!(f, "{subject} is a CA certificate, not an end-entity certificate")
            }
            VerifyError::IssuerNotCa { subject } => {
                write!(f, "{subject} is used as an issuer but is not a CA certificate")
            }
            VerifyError::PathLenExceeded => write!(f, "a pathLenConstraint is exceeded"),
            VerifyError::UnsupportedAlgorithm { subject, detail } => {
                write!(f, "unsupported algorithm in {subject}: {detail}")
            }
            VerifyError::Malformed { detail } => write!(f, "malformed certificate: {detail}"),
            VerifyError::Other { detail } => write!(f, "verification failed: {detail}"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// A chain that verified: from the end-entity certificate to the root.
#[derive(Clone, Debug)]
pub struct VerifiedChain {
    /// End entity first, trust anchor last.
    pub certificates: Vec<Certificate>,
}

/// Accepts any extendedKeyUsage.
struct AnyEku;

impl webpki::ExtendedKeyUsageValidator for AnyEku {
    fn validate(&self, _iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        Ok(())
    }
}

fn id_text(id: &[u8]) -> String {
    match std::str::from_utf8(id) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => s.to_owned(),
        _ => format!("0x{}", crate::name::hex_upper(id)),
    }
}

/// Verifies `leaf` up to one of `roots`, through any of `intermediates`,
/// at `opts.time` for `opts.purpose` and `opts.name`.
///
/// ```
/// use gm_pki::{verify_chain, VerifyOptions, VerifyError, quick};
/// let pki = quick::sm2_chain("svc.example.cn")?;
/// let opts = VerifyOptions { name: Some("svc.example.cn".into()), ..Default::default() };
/// let chain = verify_chain(&pki.leaf, &[pki.intermediate.clone()], &[pki.root.clone()], &opts).unwrap();
/// assert_eq!(chain.certificates.len(), 3);
/// let wrong = VerifyOptions { name: Some("other.example.cn".into()), ..Default::default() };
/// let err = verify_chain(&pki.leaf, &[pki.intermediate.clone()], &[pki.root.clone()], &wrong).unwrap_err();
/// assert!(matches!(err, VerifyError::NameMismatch { .. }));
/// # Ok::<(), gm_pki::Error>(())
/// ```
pub fn verify_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    roots: &[Certificate],
    opts: &VerifyOptions,
) -> Result<VerifiedChain, VerifyError> {
    let now = opts.time.unwrap_or_else(SystemTime::now);
    let unix_now =
        UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO));
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|c| CertificateDer::from(c.to_der()))
        .collect();
    let anchors: Vec<TrustAnchor<'_>> = root_ders
        .iter()
        .map(|d| {
            webpki::anchor_from_trusted_cert(d).map_err(|e| VerifyError::Malformed {
                detail: format!("trusted root: {e}"),
            })
        })
        .collect::<Result<_, _>>()?;
    let inter_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.to_der()))
        .collect();
    let leaf_der = CertificateDer::from(leaf.to_der());
    let ee = webpki::EndEntityCert::try_from(&leaf_der).map_err(|e| VerifyError::Malformed {
        detail: format!("end-entity certificate: {e}"),
    })?;
    let algs = VerifierSet::new(&opts.sm2_id);
    let list = algs.list();

    let result = match opts.purpose {
        Purpose::ServerAuth => ee.verify_for_usage(
            &list,
            &anchors,
            &inter_ders,
            unix_now,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        ),
        Purpose::ClientAuth => ee.verify_for_usage(
            &list,
            &anchors,
            &inter_ders,
            unix_now,
            webpki::KeyUsage::client_auth(),
            None,
            None,
        ),
        Purpose::Any => {
            ee.verify_for_usage(&list, &anchors, &inter_ders, unix_now, AnyEku, None, None)
        }
    };
    let path = match result {
        Ok(path) => path,
        Err(e) => return Err(explain(e, leaf, intermediates, roots, now, opts)),
    };

    // The certificates of the path, as ours.
    let mut certificates = vec![leaf.clone()];
    for c in path.intermediate_certificates() {
        if let Some(found) = intermediates
            .iter()
            .find(|i| i.to_der() == c.der().as_ref())
        {
            certificates.push(found.clone());
        }
    }
    let last = certificates.last().unwrap_or(leaf).clone();
    if let Some(root) = roots
        .iter()
        .find(|r| issued_by(&last, r, &opts.sm2_id).is_ok())
    {
        if root != &last {
            certificates.push(root.clone());
        }
    }

    check_key_usage(leaf, opts.purpose)?;
    if let Some(name) = &opts.name {
        let server_name =
            ServerName::try_from(name.as_str()).map_err(|_| VerifyError::NameMismatch {
                name: name.clone(),
                presented: presented_names(leaf),
            })?;
        ee.verify_is_valid_for_subject_name(&server_name)
            .map_err(|_| VerifyError::NameMismatch {
                name: name.clone(),
                presented: presented_names(leaf),
            })?;
    }

    for ca in certificates.iter().skip(1) {
        if let Some(ku) = ca.key_usage() {
            if !ku.contains(KeyUsage::KEY_CERT_SIGN) && !roots.contains(ca) {
                return Err(VerifyError::KeyUsageNotAllowed {
                    subject: ca.subject().to_string(),
                    detail: format!(
                        "a CA certificate needs keyCertSign; its keyUsage is {}",
                        ku.names().join(", ")
                    ),
                });
            }
        }
    }
    Ok(VerifiedChain { certificates })
}

fn presented_names(leaf: &Certificate) -> Vec<String> {
    leaf.subject_alt_names()
        .iter()
        .filter(|s| {
            matches!(
                s,
                crate::SubjectAltName::Dns(_) | crate::SubjectAltName::Ip(_)
            )
        })
        .map(|s| s.to_string())
        .collect()
}

fn check_key_usage(leaf: &Certificate, purpose: Purpose) -> Result<(), VerifyError> {
    if purpose == Purpose::Any {
        return Ok(());
    }
    let Some(ku) = leaf.key_usage() else {
        return Ok(());
    };
    let rsa = matches!(
        leaf.public_key().algorithm(),
        PublicKeyAlgorithm::Rsa { .. }
    );
    let ok = ku.contains(KeyUsage::DIGITAL_SIGNATURE)
        || (rsa && purpose == Purpose::ServerAuth && ku.contains(KeyUsage::KEY_ENCIPHERMENT));
    if ok {
        Ok(())
    } else {
        Err(VerifyError::KeyUsageNotAllowed {
            subject: leaf.subject().to_string(),
            detail: format!(
                "TLS authentication needs digitalSignature; keyUsage is {} (an encryption certificate?)",
                ku.names().join(", ")
            ),
        })
    }
}

/// Checks that `issuer`'s key signed `cert` with `sm2_id`.
fn issued_by(
    cert: &Certificate,
    issuer: &Certificate,
    sm2_id: &[u8],
) -> Result<(), SignatureCheck> {
    if cert.issuer().to_der() != issuer.subject().to_der() {
        return Err(SignatureCheck::Invalid);
    }
    issuer.public_key().verify(
        &cert.signature_algorithm_contents(),
        cert.tbs_der(),
        cert.signature(),
        sm2_id,
    )
}

/// Turns a webpki error into a precise reason, walking the chain again
/// where webpki's answer is not specific.
fn explain(
    e: webpki::Error,
    leaf: &Certificate,
    intermediates: &[Certificate],
    roots: &[Certificate],
    now: SystemTime,
    opts: &VerifyOptions,
) -> VerifyError {
    use webpki::Error as W;
    let all: Vec<&Certificate> = std::iter::once(leaf).chain(intermediates.iter()).collect();
    match e {
        W::CertExpired { .. } | W::CertNotValidYet { .. } => {
            // The first certificate in path order whose validity excludes now.
            let path = walk(leaf, intermediates, roots, opts).path;
            let candidates = path.iter().copied().chain(all.iter().copied());
            for c in candidates {
                if now > c.not_after() {
                    return VerifyError::Expired {
                        subject: c.subject().to_string(),
                        not_after: rfc3339(c.not_after()),
                        now: rfc3339(now),
                    };
                }
                if now < c.not_before() {
                    return VerifyError::NotYetValid {
                        subject: c.subject().to_string(),
                        not_before: rfc3339(c.not_before()),
                        now: rfc3339(now),
                    };
                }
            }
            VerifyError::Other {
                detail: format!("{e:?}"),
            }
        }
        W::UnknownIssuer
        | W::InvalidSignatureForPublicKey
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | W::SignatureAlgorithmMismatch => walk(leaf, intermediates, roots, opts)
            .failure
            .unwrap_or(VerifyError::Other {
                detail: format!("{e:?}"),
            }),
        W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            let wanted = match opts.purpose {
                Purpose::ServerAuth => "serverAuth",
                Purpose::ClientAuth => "clientAuth",
                Purpose::Any => "any",
            };
            let present = leaf
                .extended_key_usage()
                .map(|v| v.iter().map(oid::name).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            VerifyError::KeyUsageNotAllowed {
                subject: leaf.subject().to_string(),
                detail: format!("extendedKeyUsage {present} does not include {wanted}"),
            }
        }
        W::CaUsedAsEndEntity => VerifyError::CaUsedAsEndEntity {
            subject: leaf.subject().to_string(),
        },
        W::EndEntityUsedAsCa => {
            let path = walk(leaf, intermediates, roots, opts).path;
            let subject = path
                .iter()
                .skip(1)
                .find(|c| !c.is_ca())
                .map(|c| c.subject().to_string())
                .unwrap_or_else(|| leaf.issuer().to_string());
            VerifyError::IssuerNotCa { subject }
        }
        W::PathLenConstraintViolated => VerifyError::PathLenExceeded,
        W::BadDer
        | W::BadDerTime
        | W::UnsupportedCertVersion
        | W::UnsupportedCriticalExtension
        | W::ExtensionValueInvalid
        | W::MalformedExtensions
        | W::InvalidCertValidity
        | W::InvalidSerialNumber
        | W::TrailingData(_) => VerifyError::Malformed {
            detail: format!("{e:?}"),
        },
        other => VerifyError::Other {
            detail: format!("{other:?}"),
        },
    }
}

struct Walk<'a> {
    /// The path as far as it could be followed (leaf first).
    path: Vec<&'a Certificate>,
    /// Why it stopped, if it did not reach a root.
    failure: Option<VerifyError>,
}

/// Follows issuer names and signatures from `leaf` towards a root.
fn walk<'a>(
    leaf: &'a Certificate,
    intermediates: &'a [Certificate],
    roots: &'a [Certificate],
    opts: &VerifyOptions,
) -> Walk<'a> {
    let mut path = vec![leaf];
    let mut cur = leaf;
    for _ in 0..8 {
        let pool = roots.iter().chain(intermediates.iter());
        let candidates: Vec<&Certificate> = pool
            .filter(|c| c.subject().to_der() == cur.issuer().to_der() && !path.contains(c))
            .collect();
        if candidates.is_empty() {
            let failure = if roots.contains(cur) {
                None
            } else {
                Some(VerifyError::UnknownIssuer {
                    subject: cur.subject().to_string(),
                    issuer: cur.issuer().to_string(),
                })
            };
            return Walk { path, failure };
        }
        let mut unsupported = false;
        let mut next = None;
        for c in &candidates {
            match issued_by(cur, c, &opts.sm2_id) {
                Ok(()) => {
                    next = Some(*c);
                    break;
                }
                Err(SignatureCheck::Unsupported) => unsupported = true,
                Err(SignatureCheck::Invalid) => {}
            }
        }
        match next {
            Some(c) if roots.contains(c) => {
                path.push(c);
                return Walk {
                    path,
                    failure: None,
                };
            }
            Some(c) => {
                path.push(c);
                cur = c;
            }
            None => {
                let failure = diagnose_signature(cur, &candidates, unsupported, opts);
                return Walk {
                    path,
                    failure: Some(failure),
                };
            }
        }
    }
    Walk {
        path,
        failure: Some(VerifyError::Other {
            detail: "path too long".into(),
        }),
    }
}

/// None of `candidates` verifies `cert`: say why.
fn diagnose_signature(
    cert: &Certificate,
    candidates: &[&Certificate],
    unsupported: bool,
    opts: &VerifyOptions,
) -> VerifyError {
    let subject = cert.subject().to_string();
    if cert.signature_algorithm().is_sm2() {
        for id in opts.alternate_sm2_ids.iter().filter(|i| **i != opts.sm2_id) {
            if candidates.iter().any(|c| issued_by(cert, c, id).is_ok()) {
                return VerifyError::WrongSm2Id {
                    subject,
                    expected: id_text(&opts.sm2_id),
                    actual: id_text(id),
                };
            }
        }
    }
    if let Some(aki) = cert.authority_key_id() {
        let keys: Vec<Vec<u8>> = candidates
            .iter()
            .map(|c| {
                c.subject_key_id()
                    .unwrap_or_else(|| c.public_key().key_identifier().to_vec())
            })
            .collect();
        if !keys.contains(&aki) {
            return VerifyError::WrongIssuer {
                subject,
                issuer: cert.issuer().to_string(),
                detail: format!(
                    "authorityKeyIdentifier {} matches none of: {}",
                    crate::name::hex_upper(&aki),
                    keys.iter()
                        .map(|k| crate::name::hex_upper(k))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
        }
    }
    if unsupported {
        return VerifyError::UnsupportedAlgorithm {
            subject,
            detail: format!(
                "{} with a {} issuer key",
                cert.signature_algorithm(),
                candidates[0].public_key().algorithm()
            ),
        };
    }
    VerifyError::BadSignature {
        subject,
        algorithm: cert.signature_algorithm().name(),
    }
}
