//! Key file formats: PKCS#8 (plain and PBES2-encrypted), SEC1
//! `EC PRIVATE KEY`, SubjectPublicKeyInfo, in DER or PEM, detected
//! automatically.
//!
//! Both AlgorithmIdentifier forms are accepted: `id-ecPublicKey` with the
//! sm2p256v1 curve OID as parameter (what OpenSSL and GmSSL write, and what
//! this crate writes), and the SM2 OID 1.2.156.10197.1.301 as the algorithm
//! itself (with absent or NULL parameters).

use zeroize::Zeroizing;

use crate::der::{self, Reader};
use crate::error::{Error, Result};
use crate::key::{parse_point, PrivateKey, PublicKey, SecretScalar, SCALAR_LEN};
use crate::oid;
use crate::pbes2::{self, Pbes2Params};

/// PEM labels.
const PKCS8_LABEL: &str = "PRIVATE KEY";
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const SEC1_LABEL: &str = "EC PRIVATE KEY";
/// What OpenSSL 3.0 `openssl ec` writes for an SM2 key.
const SEC1_SM2_LABEL: &str = "SM2 PRIVATE KEY";
const SPKI_LABEL: &str = "PUBLIC KEY";
const PARAM_LABELS: [&str; 2] = ["EC PARAMETERS", "SM2 PARAMETERS"];

// ---------------------------------------------------------------------------
// PEM

/// One decoded PEM block.
pub(crate) struct PemBlock {
    pub(crate) label: String,
    pub(crate) der: Zeroizing<Vec<u8>>,
}

/// Decodes every PEM block in `text` (text between blocks is ignored).
pub(crate) fn pem_blocks(text: &[u8]) -> Result<Vec<PemBlock>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let after_begin = &block[BEGIN.len()..];
        let label_end = find(after_begin, b"-----")
            .ok_or_else(|| Error::Pem("unterminated BEGIN line".into()))?;
        let label = &after_begin[..label_end];
        if label.contains(&b'\n') {
            return Err(Error::Pem("unterminated BEGIN line".into()));
        }
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label);
        end_marker.extend_from_slice(b"-----");
        let end = find(block, &end_marker).ok_or_else(|| {
            Error::Pem(format!(
                "no END line for \"{}\"",
                String::from_utf8_lossy(label)
            ))
        })?;
        let block_end = end + end_marker.len();
        let this = &block[..block_end];
        if find(this, b"Proc-Type:").is_some() {
            return Err(Error::Pem(
                "legacy OpenSSL encrypted PEM (Proc-Type/DEK-Info headers) is not supported; \
                 convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
                    .into(),
            ));
        }
        let (label, der) = pem_rfc7468::decode_vec(this).map_err(|e| Error::Pem(e.to_string()))?;
        blocks.push(PemBlock {
            label: label.to_owned(),
            der: Zeroizing::new(der),
        });
        rest = &block[block_end..];
    }
    Ok(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// DER starts with a SEQUENCE tag; anything else is taken as PEM text.
fn is_der(data: &[u8]) -> bool {
    data.first() == Some(&der::SEQUENCE)
}

fn to_pem(label: &str, der_bytes: &[u8]) -> Zeroizing<String> {
    // Encoding only fails for labels with invalid characters (ours are fixed)
    // or absurd lengths; fall back to an empty string rather than panic.
    Zeroizing::new(
        pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der_bytes)
            .unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// AlgorithmIdentifier, SPKI

/// Reads an AlgorithmIdentifier of an SM2 key. Returns `true` if it names
/// the curve (so SEC1 parameters are optional), `false` for
/// id-ecPublicKey without parameters (then the SEC1 key must name it).
fn read_key_algorithm(alg: &mut Reader<'_>, field: &'static str) -> Result<bool> {
    let algorithm = alg.read(der::OID, field)?;
    let named = if algorithm == oid::EC_PUBLIC_KEY {
        match alg.peek_tag() {
            Some(der::OID) => {
                let curve = alg.read(der::OID, "AlgorithmIdentifier.parameters (namedCurve)")?;
                if curve != oid::SM2 {
                    return Err(Error::unsupported("elliptic curve", curve));
                }
                true
            }
            Some(der::SEQUENCE) => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "elliptic curve",
                    oid: "explicit ECParameters (only the named sm2p256v1 curve is supported)"
                        .into(),
                })
            }
            Some(der::NULL) => {
                null(alg, "AlgorithmIdentifier.parameters")?;
                false
            }
            None => false,
            Some(_) => {
                return Err(Error::der(
                    "AlgorithmIdentifier.parameters",
                    "expected a named curve OID",
                ))
            }
        }
    } else if algorithm == oid::SM2 {
        if alg.peek_tag() == Some(der::NULL) {
            null(alg, "AlgorithmIdentifier.parameters")?;
        }
        true
    } else {
        return Err(Error::unsupported("key algorithm", algorithm));
    };
    alg.finish("AlgorithmIdentifier")?;
    Ok(named)
}

fn null(r: &mut Reader<'_>, field: &'static str) -> Result<()> {
    if !r.read(der::NULL, field)?.is_empty() {
        return Err(Error::der(field, "NULL with content"));
    }
    Ok(())
}

fn ec_algorithm_identifier() -> Vec<u8> {
    der::tlv(
        der::SEQUENCE,
        &[
            &der::tlv(der::OID, &[oid::EC_PUBLIC_KEY]),
            &der::tlv(der::OID, &[oid::SM2]),
        ],
    )
}

/// Parses SubjectPublicKeyInfo DER.
fn parse_spki(data: &[u8]) -> Result<PublicKey> {
    let content = der::parse_single(data, der::SEQUENCE, "SubjectPublicKeyInfo")?;
    let mut r = Reader::new(content);
    let mut alg = r.sequence("SubjectPublicKeyInfo.algorithm")?;
    let named = read_key_algorithm(&mut alg, "SubjectPublicKeyInfo.algorithm.algorithm")?;
    if !named {
        return Err(Error::der(
            "SubjectPublicKeyInfo.algorithm.parameters",
            "missing curve",
        ));
    }
    let bits = r.read(der::BIT_STRING, "SubjectPublicKeyInfo.subjectPublicKey")?;
    r.finish("SubjectPublicKeyInfo")?;
    let point = der::bit_string_bytes(bits, "SubjectPublicKeyInfo.subjectPublicKey")?;
    PublicKey::from_sec1_bytes(point)
}

// ---------------------------------------------------------------------------
// SEC1 and PKCS#8

/// Parses the content of an ECPrivateKey SEQUENCE (RFC 5915 / SEC1).
/// `curve_known`: the surrounding PKCS#8 already named sm2p256v1.
fn parse_ec_private_key(content: &[u8], curve_known: bool) -> Result<PrivateKey> {
    let mut r = Reader::new(content);
    let version = der::small_uint(
        r.read(der::INTEGER, "ECPrivateKey.version")?,
        "ECPrivateKey.version",
    )?;
    if version != 1 {
        return Err(Error::der("ECPrivateKey.version", "must be 1"));
    }
    let d = r.read(der::OCTET_STRING, "ECPrivateKey.privateKey")?;
    if d.len() > SCALAR_LEN || d.is_empty() {
        return Err(Error::InvalidLength {
            what: "ECPrivateKey.privateKey",
            expected: SCALAR_LEN,
            got: d.len(),
        });
    }
    let mut scalar = Zeroizing::new([0u8; SCALAR_LEN]);
    scalar[SCALAR_LEN - d.len()..].copy_from_slice(d);

    let mut has_curve = curve_known;
    if let Some(params) = r.read_optional(der::CTX0, "ECPrivateKey.parameters")? {
        let mut p = Reader::new(params);
        match p.peek_tag() {
            Some(der::OID) => {
                let curve = p.read(der::OID, "ECPrivateKey.parameters")?;
                if curve != oid::SM2 {
                    return Err(Error::unsupported("elliptic curve", curve));
                }
            }
            Some(der::SEQUENCE) => {
                return Err(Error::UnsupportedAlgorithm {
                    what: "elliptic curve",
                    oid: "explicit ECParameters (only the named sm2p256v1 curve is supported)"
                        .into(),
                })
            }
            _ => {
                return Err(Error::der(
                    "ECPrivateKey.parameters",
                    "expected a named curve OID",
                ))
            }
        }
        p.finish("ECPrivateKey.parameters")?;
        has_curve = true;
    }
    if !has_curve {
        return Err(Error::der("ECPrivateKey.parameters", "missing curve"));
    }
    let public = match r.read_optional(der::CTX1, "ECPrivateKey.publicKey")? {
        Some(explicit) => {
            let bits = der::parse_single(explicit, der::BIT_STRING, "ECPrivateKey.publicKey")?;
            let point = der::bit_string_bytes(bits, "ECPrivateKey.publicKey")?;
            Some(parse_point(point, "ECPrivateKey.publicKey")?)
        }
        None => None,
    };
    r.finish("ECPrivateKey")?;
    let key = PrivateKey::from_secret(SecretScalar::from_bytes(&scalar)?);
    if let Some(p) = public {
        if p != *key.public_key().point() {
            return Err(Error::KeyMismatch);
        }
    }
    Ok(key)
}

/// ECPrivateKey DER: version 1, d, [0] curve (if `with_params`), [1] public key.
fn ec_private_key_der(key: &PrivateKey, with_params: bool) -> Zeroizing<Vec<u8>> {
    let d = key.to_bytes();
    let version = der::uint(&[1]);
    let d_tlv = Zeroizing::new(der::tlv(der::OCTET_STRING, &[&d[..]]));
    let params = if with_params {
        der::tlv(der::CTX0, &[&der::tlv(der::OID, &[oid::SM2])])
    } else {
        Vec::new()
    };
    let public = der::tlv(
        der::CTX1,
        &[&der::bit_string(&key.public_key().to_sec1_bytes())],
    );
    Zeroizing::new(der::tlv(
        der::SEQUENCE,
        &[&version, &d_tlv, &params, &public],
    ))
}

/// Parses PrivateKeyInfo / OneAsymmetricKey (RFC 5208 / 5958) given the
/// content of its outer SEQUENCE.
fn parse_pkcs8(content: &[u8]) -> Result<PrivateKey> {
    let mut r = Reader::new(content);
    let version = der::small_uint(
        r.read(der::INTEGER, "PrivateKeyInfo.version")?,
        "PrivateKeyInfo.version",
    )?;
    if version > 1 {
        return Err(Error::der("PrivateKeyInfo.version", "must be 0 or 1"));
    }
    let mut alg = r.sequence("PrivateKeyInfo.privateKeyAlgorithm")?;
    let named = read_key_algorithm(&mut alg, "PrivateKeyInfo.privateKeyAlgorithm.algorithm")?;
    let inner = r.read(der::OCTET_STRING, "PrivateKeyInfo.privateKey")?;
    r.read_optional(der::CTX0, "PrivateKeyInfo.attributes")?;
    let public = if version == 1 {
        r.read_optional(der::CTX1_PRIMITIVE, "OneAsymmetricKey.publicKey")?
    } else {
        None
    };
    r.finish("PrivateKeyInfo")?;
    let ec = der::parse_single(inner, der::SEQUENCE, "ECPrivateKey")?;
    let key = parse_ec_private_key(ec, named)?;
    if let Some(bits) = public {
        let point = der::bit_string_bytes(bits, "OneAsymmetricKey.publicKey")?;
        if parse_point(point, "OneAsymmetricKey.publicKey")? != *key.public_key().point() {
            return Err(Error::KeyMismatch);
        }
    }
    Ok(key)
}

/// What a private-key DER structure is.
enum DerKind {
    Pkcs8,
    Sec1,
    EncryptedPkcs8,
}

/// Tells PKCS#8, SEC1 and EncryptedPrivateKeyInfo apart by their first
/// fields.
fn classify_private_der(content: &[u8]) -> Result<DerKind> {
    let mut r = Reader::new(content);
    match r.peek_tag() {
        Some(der::INTEGER) => {
            let v = der::small_uint(
                r.read(der::INTEGER, "private key version")?,
                "private key version",
            )?;
            match (v, r.peek_tag()) {
                (0, _) => Ok(DerKind::Pkcs8),
                (1, Some(der::SEQUENCE)) => Ok(DerKind::Pkcs8),
                (1, _) => Ok(DerKind::Sec1),
                _ => Err(Error::der("private key version", "must be 0 or 1")),
            }
        }
        Some(der::SEQUENCE) => {
            r.read(der::SEQUENCE, "AlgorithmIdentifier")?;
            match r.peek_tag() {
                Some(der::OCTET_STRING) => Ok(DerKind::EncryptedPkcs8),
                Some(der::BIT_STRING) => Err(Error::UnrecognizedFormat(
                    "this is a public key (SubjectPublicKeyInfo), not a private key",
                )),
                _ => Err(Error::UnrecognizedFormat("not a private key structure")),
            }
        }
        _ => Err(Error::UnrecognizedFormat("not a private key structure")),
    }
}

fn parse_private_der(data: &[u8], password: Option<&[u8]>) -> Result<PrivateKey> {
    let content = der::parse_single(data, der::SEQUENCE, "private key")?;
    match classify_private_der(content)? {
        DerKind::Pkcs8 => parse_pkcs8(content),
        DerKind::Sec1 => parse_ec_private_key(content, false),
        DerKind::EncryptedPkcs8 => parse_encrypted(content, password),
    }
}

fn parse_encrypted(content: &[u8], password: Option<&[u8]>) -> Result<PrivateKey> {
    // All parameters are checked before the password is needed.
    let info = pbes2::parse(content)?;
    let password = password.ok_or(Error::PasswordRequired)?;
    let plain = info.decrypt(password)?;
    // Garbage that happened to have valid padding is a wrong password; a
    // well-formed key of another kind keeps its own error.
    let inner = der::parse_single(&plain, der::SEQUENCE, "PrivateKeyInfo")
        .map_err(|_| Error::WrongPassword)?;
    parse_pkcs8(inner)
}

// ---------------------------------------------------------------------------
// Public API

impl PrivateKey {
    /// Loads a private key from PEM or DER, in any of: PKCS#8
    /// (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2
    /// with PBKDF2-HMAC-SM3/SHA-1/SHA-2 and SM4-CBC/AES-CBC), SEC1
    /// (`EC PRIVATE KEY`, or `SM2 PRIVATE KEY` as OpenSSL 3.0 names it).
    ///
    /// DER is recognised by its leading SEQUENCE tag; other input is read as
    /// PEM, where `EC/SM2 PARAMETERS` blocks (naming sm2p256v1) and blocks
    /// of other kinds (certificates, ...) are skipped. `password` is needed
    /// only for encrypted keys ([`Error::PasswordRequired`] otherwise).
    pub fn load(data: &[u8], password: Option<&[u8]>) -> Result<Self> {
        if is_der(data) {
            return parse_private_der(data, password);
        }
        let blocks = pem_blocks(data)?;
        let mut found: Option<Result<PrivateKey>> = None;
        let mut labels = Vec::new();
        for block in &blocks {
            let result = match block.label.as_str() {
                PKCS8_LABEL => {
                    let content = der::parse_single(&block.der, der::SEQUENCE, "PrivateKeyInfo")?;
                    parse_pkcs8(content)
                }
                SEC1_LABEL | SEC1_SM2_LABEL => {
                    let content = der::parse_single(&block.der, der::SEQUENCE, "ECPrivateKey")?;
                    parse_ec_private_key(content, false)
                }
                ENCRYPTED_PKCS8_LABEL => {
                    let content =
                        der::parse_single(&block.der, der::SEQUENCE, "EncryptedPrivateKeyInfo")?;
                    parse_encrypted(content, password)
                }
                l if PARAM_LABELS.contains(&l) => {
                    let curve = der::parse_single(&block.der, der::OID, "ECParameters")?;
                    if curve != oid::SM2 {
                        return Err(Error::unsupported("elliptic curve", curve));
                    }
                    continue;
                }
                other => {
                    labels.push(other.to_owned());
                    continue;
                }
            };
            if found.is_some() {
                return Err(Error::Pem("more than one private key in the input".into()));
            }
            found = Some(result);
        }
        found.unwrap_or_else(|| {
            Err(if blocks.is_empty() {
                Error::UnrecognizedFormat("neither DER (SEQUENCE) nor PEM")
            } else {
                Error::Pem(format!(
                    "no private key block (found: {})",
                    labels.join(", ")
                ))
            })
        })
    }

    /// PKCS#8 PrivateKeyInfo DER (id-ecPublicKey + sm2p256v1; the
    /// ECPrivateKey inside carries the public key, as OpenSSL writes it).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        let ec = ec_private_key_der(self, false);
        Zeroizing::new(der::tlv(
            der::SEQUENCE,
            &[
                &der::uint(&[0]),
                &ec_algorithm_identifier(),
                &Zeroizing::new(der::tlv(der::OCTET_STRING, &[&ec])),
            ],
        ))
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        to_pem(PKCS8_LABEL, &self.to_pkcs8_der())
    }

    /// SEC1 / RFC 5915 ECPrivateKey DER (with the curve and public key).
    pub fn to_sec1_der(&self) -> Zeroizing<Vec<u8>> {
        ec_private_key_der(self, true)
    }

    /// SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`).
    pub fn to_sec1_pem(&self) -> Zeroizing<String> {
        to_pem(SEC1_LABEL, &self.to_sec1_der())
    }

    /// Encrypted PKCS#8 (EncryptedPrivateKeyInfo, PBES2) DER.
    pub fn to_encrypted_pkcs8_der(&self, password: &[u8], params: &Pbes2Params) -> Result<Vec<u8>> {
        pbes2::encrypt(&self.to_pkcs8_der(), password, params)
    }

    /// Encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`).
    pub fn to_encrypted_pkcs8_pem(&self, password: &[u8], params: &Pbes2Params) -> Result<String> {
        let der_bytes = self.to_encrypted_pkcs8_der(password, params)?;
        Ok(to_pem(ENCRYPTED_PKCS8_LABEL, &der_bytes).to_string())
    }
}

impl PublicKey {
    /// Loads a public key from SubjectPublicKeyInfo DER or PEM
    /// (`-----BEGIN PUBLIC KEY-----`; other PEM blocks are skipped).
    pub fn load(data: &[u8]) -> Result<Self> {
        if is_der(data) {
            return parse_spki(data);
        }
        let blocks = pem_blocks(data)?;
        let mut keys = blocks.iter().filter(|b| b.label == SPKI_LABEL);
        match (keys.next(), keys.next()) {
            (Some(block), None) => parse_spki(&block.der),
            (Some(_), Some(_)) => Err(Error::Pem("more than one public key in the input".into())),
            (None, _) if blocks.is_empty() => {
                Err(Error::UnrecognizedFormat("neither DER (SEQUENCE) nor PEM"))
            }
            (None, _) => Err(Error::Pem("no PUBLIC KEY block".into())),
        }
    }

    /// SubjectPublicKeyInfo DER (id-ecPublicKey + sm2p256v1, uncompressed point).
    pub fn to_spki_der(&self) -> Vec<u8> {
        der::tlv(
            der::SEQUENCE,
            &[
                &ec_algorithm_identifier(),
                &der::bit_string(&self.to_sec1_bytes()),
            ],
        )
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_spki_pem(&self) -> String {
        to_pem(SPKI_LABEL, &self.to_spki_der()).to_string()
    }
}
