//! CFCA's private formats, one file per format (in the manner of the gmsm
//! `cfca` package):
//!
//! * [`sm2file`]: the `.sm2` key + certificate container written by CFCA SADK
//!   (binary DER, base64 or PEM), password-protected with SM4-CBC;
//! * [`dual_csr`]: the dual-key PKCS#10 request (signing key in the CSR, a
//!   temporary SM2 public key in the non-standard attribute
//!   1.2.840.113549.1.9.63, and a challengePassword);
//! * [`escrow`]: the escrowed encryption key CFCA returns for a dual-key
//!   request, SM2-encrypted to the temporary key.
//!
//! Readers are liberal in what they accept (whitespace, line breaks, PEM
//! armour, optional prefixes, both SM4 OIDs) and strict in what they check
//! (every structure to the end, key/certificate consistency, key pairs).
//! Every failure is an [`Error`] naming what was wrong; no input panics.
//!
//! # Security of the `.sm2` format
//!
//! The `.sm2` password protection is **weak**: the SM4 key and IV are one
//! SM3 hash of the password, with no salt and no iteration count, so a
//! stolen file can be attacked at the speed of SM3 and equal passwords give
//! equal keys. Use it only to exchange keys with CFCA tooling; store keys as
//! encrypted PKCS#8 (PBKDF2) otherwise.
//!
//! ```
//! use gm_pki::cfca::sm2file::Sm2File;
//! # fn demo(data: &[u8]) -> Result<(), gm_pki::cfca::Error> {
//! let file = Sm2File::parse(data, b"123456")?;
//! let pkcs8 = file.private_key().to_pkcs8_pem();
//! let again = file.to_der(b"new password")?;
//! # let _ = (pkcs8, again); Ok(()) }
//! ```

pub(crate) mod asn1;
pub mod dual_csr;
pub mod escrow;
pub mod sm2file;

use std::fmt;

pub use dual_csr::DualCsr;
pub use escrow::{decrypt_escrowed_key, EscrowedKey, ESCROW_PREFIX};
pub use sm2file::{RawSm2File, Sm2Cipher, Sm2File};

/// What went wrong reading or writing a CFCA format. Every variant names the
/// thing that was wrong; none carries secret material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed DER: `field` names the ASN.1 field being read, `reason`
    /// what was wrong with it.
    Der {
        /// The field being parsed, e.g. `"SM2File.encryptedKey"`.
        field: &'static str,
        /// What was wrong, e.g. `"truncated value"`.
        reason: &'static str,
    },
    /// The input is not in any accepted text or binary encoding (base64,
    /// PEM, DER, the escrow text form).
    Encoding {
        /// What was being decoded, e.g. `".sm2 file"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A version number this crate does not know.
    UnsupportedVersion {
        /// Which structure.
        what: &'static str,
        /// The version found.
        version: u32,
    },
    /// An object identifier that is not one of the accepted ones.
    UnsupportedAlgorithm {
        /// What the identifier was for.
        what: &'static str,
        /// The dotted OID found.
        oid: String,
    },
    /// An empty password (CFCA tools refuse them too).
    EmptyPassword,
    /// The password is wrong: the SM4-CBC padding or the decrypted key is
    /// invalid (or the encrypted key is corrupted).
    WrongPassword,
    /// The decrypted private key does not belong to the certificate's public
    /// key: the password is wrong, or the file pairs a key with a foreign
    /// certificate.
    KeyCertificateMismatch,
    /// The certificate could not be read far enough to find its public key.
    Certificate(String),
    /// The certificate's (or request's) public key is not an SM2 key.
    NotSm2Key {
        /// Where the key was.
        what: &'static str,
        /// The key algorithm OID (and curve) found.
        algorithm: String,
    },
    /// An SM2 operation failed (invalid key, signature, point, ...).
    Sm2 {
        /// What was being done.
        what: &'static str,
        /// The underlying error.
        source: gm_sm2::Error,
    },
    /// A dual-key request lacks a required attribute.
    MissingAttribute(&'static str),
    /// An attribute is present but malformed.
    InvalidAttribute {
        /// Which attribute.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// The signature of a certificate request does not verify with its
    /// public key (ID 1234567812345678).
    CsrSignature,
    /// The escrow text declares a length that is not the length of the data.
    EscrowLength {
        /// The declared length.
        declared: usize,
        /// The actual length of the base64 part.
        actual: usize,
    },
    /// The escrow text starts with digits that are not CFCA's prefix.
    EscrowPrefix(String),
    /// The escrowed key does not decrypt with the temporary key (wrong
    /// temporary key, or corrupted data).
    EscrowDecrypt(gm_sm2::Error),
    /// The SM2 ciphertext in the escrow envelope has an impossible length.
    EscrowCiphertextLength(usize),
    /// The decrypted escrow plaintext is not `X || Y || d` (96 bytes).
    EscrowPlaintextLength(usize),
    /// The decrypted `X || Y` is not `d·G`: corrupted or mismatched data.
    EscrowKeyPairMismatch,
}

impl Error {
    pub(crate) const fn der(field: &'static str, reason: &'static str) -> Self {
        Error::Der { field, reason }
    }

    pub(crate) fn sm2(what: &'static str) -> impl FnOnce(gm_sm2::Error) -> Self {
        move |source| Error::Sm2 { what, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Der { field, reason } => write!(f, "bad DER in {field}: {reason}"),
            Error::Encoding { what, reason } => write!(f, "{what}: {reason}"),
            Error::UnsupportedVersion { what, version } => {
                write!(f, "{what}: unsupported version {version}")
            }
            Error::UnsupportedAlgorithm { what, oid } => write!(f, "unsupported {what}: {oid}"),
            Error::EmptyPassword => write!(f, "the password is empty"),
            Error::WrongPassword => write!(
                f,
                "wrong password (SM4-CBC padding or decrypted key invalid), or corrupted file"
            ),
            Error::KeyCertificateMismatch => write!(
                f,
                "the decrypted private key does not match the certificate's public key \
                 (wrong password, or key and certificate do not belong together)"
            ),
            Error::Certificate(why) => write!(f, "bad certificate: {why}"),
            Error::NotSm2Key { what, algorithm } => {
                write!(f, "{what} is not an SM2 key (algorithm {algorithm})")
            }
            Error::Sm2 { what, source } => write!(f, "{what}: {source}"),
            Error::MissingAttribute(what) => write!(f, "request has no {what} attribute"),
            Error::InvalidAttribute { what, reason } => write!(f, "bad {what} attribute: {reason}"),
            Error::CsrSignature => write!(
                f,
                "request signature does not verify with its public key (ID 1234567812345678)"
            ),
            Error::EscrowLength { declared, actual } => write!(
                f,
                "escrowed key: declared length {declared} but {actual} characters follow"
            ),
            Error::EscrowPrefix(p) => write!(f, "escrowed key: unknown text prefix {p:?}"),
            Error::EscrowDecrypt(e) => write!(
                f,
                "escrowed key does not decrypt with the temporary key ({e}): \
                 wrong temporary key or corrupted data"
            ),
            Error::EscrowCiphertextLength(n) => write!(
                f,
                "escrowed key: SM2 ciphertext of {n} bytes (expected 192 = X||Y||C3||C2 \
                 without 0x04, or 193 with it)"
            ),
            Error::EscrowPlaintextLength(n) => write!(
                f,
                "escrowed key: decrypted {n} bytes, expected 96 (X || Y || d)"
            ),
            Error::EscrowKeyPairMismatch => write!(
                f,
                "escrowed key: decrypted public key X||Y is not d·G (corrupted data)"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sm2 { source, .. } => Some(source),
            Error::EscrowDecrypt(e) => Some(e),
            _ => None,
        }
    }
}

/// Result with the CFCA [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

// ---------------------------------------------------------------------------
// Shared helpers

/// OID content bytes used by the CFCA formats.
pub(crate) mod oid {
    /// 1.2.156.10197.6.1.4.2.1: CFCA "SM2 data" content type.
    pub(crate) const SM2_DATA: &[u8] =
        &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x01];
    /// 1.2.156.10197.1.104: SM4 (what SADK writes).
    pub(crate) const SM4: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68];
    /// 1.2.156.10197.1.104.2: SM4-CBC.
    pub(crate) const SM4_CBC: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x02];
    /// 1.2.840.10045.2.1: id-ecPublicKey.
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.156.10197.1.301: sm2p256v1.
    pub(crate) const SM2_CURVE: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
    /// 1.2.156.10197.1.501: SM2-with-SM3.
    pub(crate) const SM2_WITH_SM3: &[u8] = &[0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
    /// 1.2.840.113549.1.9.7: PKCS#9 challengePassword.
    pub(crate) const CHALLENGE_PASSWORD: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07];
    /// 1.2.840.113549.1.9.63: CFCA's temporary public key (non-standard).
    pub(crate) const TEMP_PUBLIC_KEY: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x3f];
}

/// Decodes liberally armoured binary data: DER as is (first byte 0x30), or
/// PEM (any label; the first block), or bare base64 with any whitespace.
/// A UTF-8 byte order mark is ignored.
pub(crate) fn decode_armour(data: &[u8], what: &'static str) -> Result<Vec<u8>> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    if data.first() == Some(&asn1::SEQUENCE) {
        return Ok(data.to_vec());
    }
    let text = std::str::from_utf8(data).map_err(|_| Error::Encoding {
        what,
        reason: "neither DER (SEQUENCE) nor text (base64 or PEM)".into(),
    })?;
    let body = match text.find("-----BEGIN ") {
        Some(start) => {
            let after = &text[start..];
            let header_end = after.find('\n').ok_or_else(|| Error::Encoding {
                what,
                reason: "PEM header line without a body".into(),
            })?;
            let body = &after[header_end + 1..];
            let end = body.find("-----END ").ok_or_else(|| Error::Encoding {
                what,
                reason: "PEM block without an END line".into(),
            })?;
            &body[..end]
        }
        None => text,
    };
    decode_base64(body, what)
}

/// Decodes base64 (standard alphabet, padded) ignoring ASCII whitespace.
pub(crate) fn decode_base64(text: &str, what: &'static str) -> Result<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(Error::Encoding {
            what,
            reason: "empty input".into(),
        });
    }
    use base64ct::Encoding as _;
    base64ct::Base64::decode_vec(&compact).map_err(|_| Error::Encoding {
        what,
        reason: "invalid base64 (neither DER, PEM nor base64)".into(),
    })
}

/// Base64 with lines of 64 characters and a final newline.
pub(crate) fn encode_base64_lines(data: &[u8]) -> String {
    use base64ct::Encoding as _;
    let flat = base64ct::Base64::encode_string(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 64 + 1);
    for chunk in flat.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Reads an SM2 public key from SubjectPublicKeyInfo contents, naming the
/// algorithm when it is not SM2.
pub(crate) fn spki_public_key(spki_der: &[u8], what: &'static str) -> Result<gm_sm2::PublicKey> {
    let mut outer = asn1::Reader::new(spki_der);
    let mut spki = outer.sequence("SubjectPublicKeyInfo")?;
    let mut alg = spki.sequence("SubjectPublicKeyInfo.algorithm")?;
    let alg_oid = alg.read(asn1::OID, "SubjectPublicKeyInfo.algorithm.algorithm")?;
    let curve = if alg.peek_tag() == Some(asn1::OID) {
        Some(alg.read(asn1::OID, "SubjectPublicKeyInfo.algorithm.parameters")?)
    } else {
        None
    };
    if alg_oid != oid::EC_PUBLIC_KEY || curve != Some(oid::SM2_CURVE) {
        let mut algorithm = asn1::oid_to_string(alg_oid);
        if let Some(c) = curve {
            algorithm.push_str(" curve ");
            algorithm.push_str(&asn1::oid_to_string(c));
        }
        return Err(Error::NotSm2Key { what, algorithm });
    }
    gm_sm2::PublicKey::load(spki_der).map_err(Error::sm2(what))
}

/// The SubjectPublicKeyInfo DER of an X.509 certificate (found by walking
/// the TBSCertificate, without interpreting anything else).
pub(crate) fn certificate_spki(cert_der: &[u8]) -> Result<&[u8]> {
    let bad = |reason: &str| Error::Certificate(reason.to_owned());
    let mut outer = asn1::Reader::new(cert_der);
    let mut cert = outer
        .sequence("Certificate")
        .map_err(|e| bad(&e.to_string()))?;
    outer
        .finish("Certificate")
        .map_err(|e| bad(&e.to_string()))?;
    let mut tbs = cert
        .sequence("Certificate.tbsCertificate")
        .map_err(|e| bad(&e.to_string()))?;
    let walk = |tbs: &mut asn1::Reader<'_>| -> Result<()> {
        tbs.read_optional(asn1::CTX0, "TBSCertificate.version")?;
        tbs.read(asn1::INTEGER, "TBSCertificate.serialNumber")?;
        tbs.read(asn1::SEQUENCE, "TBSCertificate.signature")?;
        tbs.read(asn1::SEQUENCE, "TBSCertificate.issuer")?;
        tbs.read(asn1::SEQUENCE, "TBSCertificate.validity")?;
        tbs.read(asn1::SEQUENCE, "TBSCertificate.subject")?;
        Ok(())
    };
    walk(&mut tbs).map_err(|e| bad(&e.to_string()))?;
    tbs.read_raw(asn1::SEQUENCE, "TBSCertificate.subjectPublicKeyInfo")
        .map_err(|e| bad(&e.to_string()))
}

/// The SM2 public key of an X.509 certificate (DER).
pub fn certificate_public_key(cert_der: &[u8]) -> Result<gm_sm2::PublicKey> {
    spki_public_key(certificate_spki(cert_der)?, "certificate public key")
}

/// A certificate in DER from DER, PEM (`CERTIFICATE` or any first block) or
/// bare base64; checks that it is at least a well-formed certificate
/// envelope with a subject public key.
pub fn certificate_der(data: &[u8]) -> Result<Vec<u8>> {
    let der = decode_armour(data, "certificate")?;
    certificate_spki(&der)?;
    Ok(der)
}
