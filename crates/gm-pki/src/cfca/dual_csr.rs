//! CFCA's dual-key certificate request (SADK
//! `P10Request.generateDoublePKCS10Request`).
//!
//! A GM "dual certificate" pair is a signing certificate for a key the
//! applicant generates and an encryption certificate for a key CFCA
//! generates and escrows. The request is an ordinary PKCS#10 request for the
//! signing key, SM2-with-SM3 signed with ID `1234567812345678`, with two
//! attributes that are **not wrapped in SETs** as PKCS#10 requires:
//!
//! ```text
//! SEQUENCE { OID 1.2.840.113549.1.9.7  (challengePassword),  PrintableString / UTF8String }
//! SEQUENCE { OID 1.2.840.113549.1.9.63 (temporary public key, non-standard),
//!            OCTET STRING { SEQUENCE { INTEGER 1,
//!                OCTET STRING (136): 00 B4 00 00 00 01 00 00 || X || 0^32 || Y || 0^32 } } }
//! ```
//!
//! CFCA encrypts the escrowed encryption key to the temporary public key
//! (see [`super::escrow`]); keep the temporary private key until the
//! encryption key has been received and decrypted.
//!
//! The parser also accepts the standard SET-wrapped form of both attributes
//! and a temporary-key SEQUENCE that is not wrapped in an OCTET STRING; other
//! attributes (e.g. extensionRequest) are skipped.

use gm_sm2::{PrivateKey, PublicKey, Signature, SigningKey, VerifyingKey, DEFAULT_ID};

use super::asn1::{self, Reader};
use super::{oid, spki_public_key, Error, Result};

/// Length of the temporary public key block.
pub const TEMP_KEY_BLOCK_LEN: usize = 136;
/// The fixed 8-byte header of the temporary public key block.
pub const TEMP_KEY_PREFIX: [u8; 8] = [0x00, 0xb4, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00];
/// The longest challenge password PKCS#9 allows (ub-challenge-password).
const MAX_CHALLENGE_LEN: usize = 255;

/// A dual-key certificate request: built with [`DualCsr::build`] /
/// [`DualCsr::generate`] or read with [`DualCsr::parse`] (its signature is
/// always verified).
#[derive(Clone, PartialEq, Eq)]
pub struct DualCsr {
    der: Vec<u8>,
    subject: Vec<u8>,
    public_key: PublicKey,
    temp_public_key: Option<PublicKey>,
    challenge_password: Option<String>,
}

impl std::fmt::Debug for DualCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DualCsr")
            .field("public_key", &self.public_key)
            .field("temp_public_key", &self.temp_public_key)
            .field("has_challenge_password", &self.challenge_password.is_some())
            .finish_non_exhaustive()
    }
}

impl DualCsr {
    /// Builds and signs a dual-key request for `sign_key` with the given
    /// subject (an encoded X.501 `Name`, DER), the temporary public key and
    /// the challenge password (1 to 255 characters; CFCA requires one).
    pub fn build(
        sign_key: &PrivateKey,
        subject_der: &[u8],
        temp_public_key: &PublicKey,
        challenge_password: &str,
    ) -> Result<Self> {
        check_name(subject_der)?;
        if challenge_password.is_empty() {
            return Err(Error::InvalidAttribute {
                what: "challengePassword",
                reason: "empty (CFCA requires a challenge password)".into(),
            });
        }
        if challenge_password.chars().count() > MAX_CHALLENGE_LEN {
            return Err(Error::InvalidAttribute {
                what: "challengePassword",
                reason: format!("longer than {MAX_CHALLENGE_LEN} characters"),
            });
        }
        let password_attr = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OID, &[oid::CHALLENGE_PASSWORD]),
                &encode_directory_string(challenge_password),
            ],
        );
        let block = temp_key_block(temp_public_key);
        let temp_info = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::small_uint(1),
                &asn1::tlv(asn1::OCTET_STRING, &[&block]),
            ],
        );
        let temp_attr = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OID, &[oid::TEMP_PUBLIC_KEY]),
                &asn1::tlv(asn1::OCTET_STRING, &[&temp_info]),
            ],
        );
        let info = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::small_uint(0),
                subject_der,
                &sign_key.public_key().to_spki_der(),
                &asn1::tlv(asn1::CTX0, &[&password_attr, &temp_attr]),
            ],
        );
        let signer = SigningKey::new(sign_key, DEFAULT_ID).map_err(Error::sm2("signing key"))?;
        let signature = signer
            .sign_message(&info)
            .map_err(Error::sm2("signing the request"))?;
        let sig_alg = asn1::tlv(
            asn1::SEQUENCE,
            &[&asn1::tlv(asn1::OID, &[oid::SM2_WITH_SM3])],
        );
        let der = asn1::tlv(
            asn1::SEQUENCE,
            &[&info, &sig_alg, &asn1::bit_string(&signature.to_der())],
        );
        Ok(DualCsr {
            der,
            subject: subject_der.to_vec(),
            public_key: *sign_key.public_key(),
            temp_public_key: Some(*temp_public_key),
            challenge_password: Some(challenge_password.to_owned()),
        })
    }

    /// Generates a fresh temporary SM2 key and builds the request with it.
    /// Returns the request and the temporary private key (store it: it
    /// decrypts the escrowed encryption key CFCA returns).
    pub fn generate(
        sign_key: &PrivateKey,
        subject_der: &[u8],
        challenge_password: &str,
    ) -> Result<(Self, PrivateKey)> {
        let temp = PrivateKey::generate().map_err(Error::sm2("generating the temporary key"))?;
        let csr = Self::build(sign_key, subject_der, temp.public_key(), challenge_password)?;
        Ok((csr, temp))
    }

    /// Parses a request from DER, PEM or base64 and verifies its signature
    /// (SM2-with-SM3, ID `1234567812345678`). The CFCA attributes are
    /// optional here (see [`DualCsr::temp_public_key`]); a malformed one is
    /// an error.
    pub fn parse(data: &[u8]) -> Result<Self> {
        let der = super::decode_armour(data, "certificate request")?;
        Self::parse_der(&der)
    }

    /// Parses a request from DER and verifies its signature.
    pub fn parse_der(der: &[u8]) -> Result<Self> {
        Self::parse_der_inner(der, true)
    }

    /// Parses a request (DER, PEM or base64) **without** verifying its
    /// signature: for inspecting requests whose signature is known to be
    /// broken (some online CSR generators produce such requests), never for
    /// issuing.
    pub fn parse_unverified(data: &[u8]) -> Result<Self> {
        let der = super::decode_armour(data, "certificate request")?;
        Self::parse_der_inner(&der, false)
    }

    fn parse_der_inner(der: &[u8], verify: bool) -> Result<Self> {
        let mut outer = Reader::new(der);
        let mut req = outer.sequence("CertificationRequest")?;
        outer.finish("CertificationRequest")?;
        let info_raw = req.read_raw(
            asn1::SEQUENCE,
            "CertificationRequest.certificationRequestInfo",
        )?;
        let mut alg = req.sequence("CertificationRequest.signatureAlgorithm")?;
        let alg_oid = alg.read(
            asn1::OID,
            "CertificationRequest.signatureAlgorithm.algorithm",
        )?;
        if alg_oid != oid::SM2_WITH_SM3 {
            return Err(Error::UnsupportedAlgorithm {
                what: "request signature algorithm (want SM2-with-SM3)",
                oid: asn1::oid_to_string(alg_oid),
            });
        }
        // CFCA writes NULL parameters; OpenSSL and we write none.
        alg.read_optional(
            asn1::NULL,
            "CertificationRequest.signatureAlgorithm.parameters",
        )?;
        alg.finish("CertificationRequest.signatureAlgorithm")?;
        let sig_bits = req.read(asn1::BIT_STRING, "CertificationRequest.signature")?;
        req.finish("CertificationRequest")?;
        let sig_der = match sig_bits.split_first() {
            Some((0, rest)) => rest,
            _ => {
                return Err(Error::der(
                    "CertificationRequest.signature",
                    "BIT STRING with unused bits",
                ))
            }
        };

        let mut info = Reader::new(info_raw).sequence("CertificationRequestInfo")?;
        let version = info.small_uint("CertificationRequestInfo.version")?;
        if version != 0 {
            return Err(Error::UnsupportedVersion {
                what: "certificate request",
                version,
            });
        }
        let subject = info.read_raw(asn1::SEQUENCE, "CertificationRequestInfo.subject")?;
        let spki = info.read_raw(asn1::SEQUENCE, "CertificationRequestInfo.subjectPKInfo")?;
        let public_key = spki_public_key(spki, "request public key")?;
        let attrs = info
            .read_optional(asn1::CTX0, "CertificationRequestInfo.attributes")?
            .unwrap_or_default();
        info.finish("CertificationRequestInfo")?;

        let signature = Signature::from_der(sig_der).map_err(Error::sm2("request signature"))?;
        if verify {
            let verifier = VerifyingKey::new(&public_key, DEFAULT_ID)
                .map_err(Error::sm2("request public key"))?;
            verifier
                .verify_message(info_raw, &signature)
                .map_err(|_| Error::CsrSignature)?;
        }

        let (challenge_password, temp_public_key) = parse_attributes(attrs)?;
        Ok(DualCsr {
            der: der.to_vec(),
            subject: subject.to_vec(),
            public_key,
            temp_public_key,
            challenge_password,
        })
    }

    /// Requires the CFCA attributes: `Ok` only when both the temporary
    /// public key and the challenge password are present.
    pub fn require_dual(&self) -> Result<()> {
        if self.challenge_password.is_none() {
            return Err(Error::MissingAttribute(
                "challengePassword (1.2.840.113549.1.9.7)",
            ));
        }
        if self.temp_public_key.is_none() {
            return Err(Error::MissingAttribute(
                "temporary public key (1.2.840.113549.1.9.63)",
            ));
        }
        Ok(())
    }

    /// The request DER.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// The request as PEM (`CERTIFICATE REQUEST`).
    pub fn to_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE REQUEST", &self.der)
    }

    /// The subject `Name` DER.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject
    }

    /// The signing public key (the key the certificate will be for).
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The temporary public key (attribute 1.2.840.113549.1.9.63), if any.
    pub fn temp_public_key(&self) -> Option<&PublicKey> {
        self.temp_public_key.as_ref()
    }

    /// The challenge password, if any.
    pub fn challenge_password(&self) -> Option<&str> {
        self.challenge_password.as_deref()
    }
}

/// `00 B4 00 00 00 01 00 00 || X || 0^32 || Y || 0^32`.
fn temp_key_block(key: &PublicKey) -> [u8; TEMP_KEY_BLOCK_LEN] {
    let point = key.to_sec1_bytes();
    let mut block = [0u8; TEMP_KEY_BLOCK_LEN];
    block[..8].copy_from_slice(&TEMP_KEY_PREFIX);
    block[8..40].copy_from_slice(&point[1..33]);
    block[72..104].copy_from_slice(&point[33..65]);
    block
}

fn parse_temp_key_block(block: &[u8]) -> Result<PublicKey> {
    let bad = |reason: &str| Error::InvalidAttribute {
        what: "temporary public key",
        reason: reason.to_owned(),
    };
    if block.len() != TEMP_KEY_BLOCK_LEN {
        return Err(bad(&format!(
            "key block of {} bytes, expected {TEMP_KEY_BLOCK_LEN}",
            block.len()
        )));
    }
    if block[..8] != TEMP_KEY_PREFIX {
        return Err(bad(&format!(
            "key block header {}, expected 00b4000000010000",
            asn1::hex_lower(&block[..8])
        )));
    }
    if block[40..72].iter().any(|&b| b != 0) || block[104..].iter().any(|&b| b != 0) {
        return Err(bad("the 32-byte zero padding after X or Y is not zero"));
    }
    let mut point = [0u8; 65];
    point[0] = 0x04;
    point[1..33].copy_from_slice(&block[8..40]);
    point[33..].copy_from_slice(&block[72..104]);
    PublicKey::from_sec1_bytes(&point).map_err(|e| bad(&e.to_string()))
}

/// Parses the attribute list: `(challengePassword, temporary public key)`.
fn parse_attributes(attrs: &[u8]) -> Result<(Option<String>, Option<PublicKey>)> {
    let mut password = None;
    let mut temp_key = None;
    let mut list = Reader::new(attrs);
    while !list.is_empty() {
        let mut attr = list.sequence("CertificationRequestInfo.attributes.attribute")?;
        let attr_oid = attr.read(asn1::OID, "Attribute.type")?;
        let (_, value, value_raw) = attr.read_tlv("Attribute.values")?;
        attr.finish("Attribute")?;
        // Standard PKCS#10 wraps the value in a SET; CFCA does not.
        let value_raw = if value_raw.first() == Some(&asn1::SET) {
            let mut set = Reader::new(value);
            let (_, _, single) = set.read_tlv("Attribute.values.value")?;
            set.finish("Attribute.values (more than one value)")?;
            single
        } else {
            value_raw
        };
        if attr_oid == oid::CHALLENGE_PASSWORD {
            if password.is_some() {
                return Err(Error::InvalidAttribute {
                    what: "challengePassword",
                    reason: "present twice".into(),
                });
            }
            password = Some(decode_directory_string(value_raw)?);
        } else if attr_oid == oid::TEMP_PUBLIC_KEY {
            if temp_key.is_some() {
                return Err(Error::InvalidAttribute {
                    what: "temporary public key",
                    reason: "present twice".into(),
                });
            }
            temp_key = Some(parse_temp_key_value(value_raw)?);
        }
    }
    Ok((password, temp_key))
}

/// `OCTET STRING { SEQUENCE { INTEGER 1, OCTET STRING block } }`, or the
/// SEQUENCE directly.
fn parse_temp_key_value(raw: &[u8]) -> Result<PublicKey> {
    let mut r = Reader::new(raw);
    let seq_raw = if r.peek_tag() == Some(asn1::OCTET_STRING) {
        let inner = r.read(asn1::OCTET_STRING, "temporary public key")?;
        r.finish("temporary public key")?;
        inner
    } else {
        raw
    };
    let mut outer = Reader::new(seq_raw);
    let mut seq = outer.sequence("temporary public key")?;
    outer.finish("temporary public key")?;
    let version = seq.small_uint("temporary public key.version")?;
    if version != 1 {
        return Err(Error::UnsupportedVersion {
            what: "temporary public key",
            version,
        });
    }
    let block = seq.read(asn1::OCTET_STRING, "temporary public key.block")?;
    seq.finish("temporary public key")?;
    parse_temp_key_block(block)
}

fn is_printable(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
}

/// PrintableString when possible, UTF8String otherwise (as Go and CFCA do).
fn encode_directory_string(s: &str) -> Vec<u8> {
    let tag = if is_printable(s) {
        asn1::PRINTABLE_STRING
    } else {
        asn1::UTF8_STRING
    };
    asn1::tlv(tag, &[s.as_bytes()])
}

fn decode_directory_string(raw: &[u8]) -> Result<String> {
    let bad = |reason: &str| Error::InvalidAttribute {
        what: "challengePassword",
        reason: reason.to_owned(),
    };
    let mut r = Reader::new(raw);
    let (tag, content) = r.read_any("challengePassword")?;
    r.finish("challengePassword")?;
    match tag {
        asn1::PRINTABLE_STRING | asn1::IA5_STRING | asn1::UTF8_STRING | 0x14 => {
            String::from_utf8(content.to_vec()).map_err(|_| bad("not valid UTF-8"))
        }
        0x1e => {
            // BMPString: UTF-16BE.
            if content.len() % 2 != 0 {
                return Err(bad("BMPString of odd length"));
            }
            let units: Vec<u16> = content
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).map_err(|_| bad("invalid BMPString"))
        }
        _ => Err(bad("not a string type")),
    }
}

/// A minimal check that `der` is one X.501 Name (a SEQUENCE, nothing after).
fn check_name(der: &[u8]) -> Result<()> {
    let mut r = Reader::new(der);
    r.sequence("subject Name")?;
    r.finish("subject Name")
}
