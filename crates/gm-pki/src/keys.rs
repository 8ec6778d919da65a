//! Key pairs (SM2, RSA, ECDSA P-256), public keys and signature algorithms.
//!
//! SM2 keys come from gm-sm2; RSA and P-256 keys from aws-lc-rs (the same
//! library rustls uses for the standard suites).

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as aws_sig, KeyPair as _};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode, Tagged};
use rustls_pki_types::{
    AlgorithmIdentifier as PkiAlgId, InvalidSignature, SignatureVerificationAlgorithm,
};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::asn1;
use crate::error::{Error, Result};
use crate::oid;
use crate::pem;

/// Which kind of key to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    /// SM2 (sm2p256v1), signed with SM2-with-SM3.
    Sm2,
    /// RSA with a 2048-bit modulus, signed with sha256WithRSAEncryption.
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    Rsa4096,
    /// ECDSA over NIST P-256, signed with ecdsa-with-SHA256.
    P256,
}

impl KeyAlgorithm {
    /// The lower-case name used on the command line (`sm2`, `rsa2048`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Sm2 => "sm2",
            KeyAlgorithm::Rsa2048 => "rsa2048",
            KeyAlgorithm::Rsa3072 => "rsa3072",
            KeyAlgorithm::Rsa4096 => "rsa4096",
            KeyAlgorithm::P256 => "p256",
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    /// Accepts `sm2`, `rsa` (= `rsa2048`), `rsa2048`, `rsa3072`, `rsa4096`,
    /// `p256` (also `ecdsa`, `ec`, `prime256v1`, `secp256r1`), any case.
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "sm2" => KeyAlgorithm::Sm2,
            "rsa" | "rsa2048" | "rsa-2048" => KeyAlgorithm::Rsa2048,
            "rsa3072" | "rsa-3072" => KeyAlgorithm::Rsa3072,
            "rsa4096" | "rsa-4096" => KeyAlgorithm::Rsa4096,
            "p256" | "p-256" | "ecdsa" | "ec" | "prime256v1" | "secp256r1" => KeyAlgorithm::P256,
            other => {
                return Err(Error::UnsupportedAlgorithm(format!(
                    "key algorithm {other:?} (use sm2, rsa, rsa3072, rsa4096 or p256)"
                )))
            }
        })
    }
}

/// The algorithm of a public key, as read from a SubjectPublicKeyInfo.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PublicKeyAlgorithm {
    /// SM2 (id-ecPublicKey with curve sm2p256v1).
    Sm2,
    /// RSA with the given modulus size in bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// ECDSA P-256.
    P256,
    /// ECDSA P-384.
    P384,
    /// Ed25519.
    Ed25519,
    /// Anything else: the algorithm (and curve) OIDs.
    Other {
        /// Dotted OIDs, e.g. `1.2.840.10045.2.1/1.3.132.0.35`.
        oid: String,
    },
}

impl fmt::Display for PublicKeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKeyAlgorithm::Sm2 => f.write_str("SM2"),
            PublicKeyAlgorithm::Rsa { bits } => write!(f, "RSA-{bits}"),
            PublicKeyAlgorithm::P256 => f.write_str("ECDSA P-256"),
            PublicKeyAlgorithm::P384 => f.write_str("ECDSA P-384"),
            PublicKeyAlgorithm::Ed25519 => f.write_str("Ed25519"),
            PublicKeyAlgorithm::Other { oid } => write!(f, "unknown ({oid})"),
        }
    }
}

/// A signature algorithm, as named by an AlgorithmIdentifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// SM2-with-SM3 (1.2.156.10197.1.501); `null_params` is true when the
    /// AlgorithmIdentifier carries NULL parameters (CFCA writes them).
    Sm2Sm3 {
        /// Whether the parameters field is an explicit NULL.
        null_params: bool,
    },
    /// sha256WithRSAEncryption.
    RsaSha256,
    /// sha384WithRSAEncryption.
    RsaSha384,
    /// sha512WithRSAEncryption.
    RsaSha512,
    /// RSASSA-PSS (parameters not interpreted).
    RsaPss,
    /// ecdsa-with-SHA256.
    EcdsaSha256,
    /// ecdsa-with-SHA384.
    EcdsaSha384,
    /// ecdsa-with-SHA512.
    EcdsaSha512,
    /// Ed25519.
    Ed25519,
    /// Anything else (name or dotted OID).
    Other(String),
}

impl SignatureAlgorithm {
    /// Classifies an AlgorithmIdentifier.
    pub fn from_algorithm_identifier(alg: &spki::AlgorithmIdentifierOwned) -> Self {
        let null = matches!(&alg.parameters, Some(p) if p.tag() == der::Tag::Null);
        match alg.oid {
            o if o == oid::SM2_WITH_SM3 => SignatureAlgorithm::Sm2Sm3 { null_params: null },
            o if o == oid::SHA256_WITH_RSA => SignatureAlgorithm::RsaSha256,
            o if o == oid::SHA384_WITH_RSA => SignatureAlgorithm::RsaSha384,
            o if o == oid::SHA512_WITH_RSA => SignatureAlgorithm::RsaSha512,
            o if o == oid::RSA_PSS => SignatureAlgorithm::RsaPss,
            o if o == oid::ECDSA_WITH_SHA256 => SignatureAlgorithm::EcdsaSha256,
            o if o == oid::ECDSA_WITH_SHA384 => SignatureAlgorithm::EcdsaSha384,
            o if o == oid::ECDSA_WITH_SHA512 => SignatureAlgorithm::EcdsaSha512,
            o if o == oid::ED25519 => SignatureAlgorithm::Ed25519,
            o => SignatureAlgorithm::Other(oid::name(&o)),
        }
    }

    /// A short name: `SM2-with-SM3`, `sha256WithRSAEncryption`, ...
    pub fn name(&self) -> String {
        match self {
            SignatureAlgorithm::Sm2Sm3 { .. } => "SM2-with-SM3".into(),
            SignatureAlgorithm::RsaSha256 => "sha256WithRSAEncryption".into(),
            SignatureAlgorithm::RsaSha384 => "sha384WithRSAEncryption".into(),
            SignatureAlgorithm::RsaSha512 => "sha512WithRSAEncryption".into(),
            SignatureAlgorithm::RsaPss => "RSASSA-PSS".into(),
            SignatureAlgorithm::EcdsaSha256 => "ecdsa-with-SHA256".into(),
            SignatureAlgorithm::EcdsaSha384 => "ecdsa-with-SHA384".into(),
            SignatureAlgorithm::EcdsaSha512 => "ecdsa-with-SHA512".into(),
            SignatureAlgorithm::Ed25519 => "Ed25519".into(),
            SignatureAlgorithm::Other(s) => s.clone(),
        }
    }

    /// Whether this is SM2-with-SM3 (either parameter form).
    pub fn is_sm2(&self) -> bool {
        matches!(self, SignatureAlgorithm::Sm2Sm3 { .. })
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

// ---------------------------------------------------------------------------
// Public keys

/// A public key as a DER SubjectPublicKeyInfo, checked when constructed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKeyInfo {
    der: Vec<u8>,
    algorithm: PublicKeyAlgorithm,
    /// Offsets of the AlgorithmIdentifier contents and of the key bits.
    alg_contents: Vec<u8>,
    key_bits: Vec<u8>,
}

impl fmt::Debug for PublicKeyInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeyInfo")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl PublicKeyInfo {
    /// Parses a DER SubjectPublicKeyInfo. SM2 points are checked to be on
    /// the curve; RSA moduli are measured.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| Error::malformed("SubjectPublicKeyInfo", e))?;
        let key_bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| Error::malformed("SubjectPublicKeyInfo", "key has unused bits"))?
            .to_vec();
        let mut alg_contents = spki
            .algorithm
            .oid
            .to_der()
            .map_err(|e| Error::malformed("SubjectPublicKeyInfo", e))?;
        if let Some(p) = &spki.algorithm.parameters {
            alg_contents.extend(
                p.to_der()
                    .map_err(|e| Error::malformed("SubjectPublicKeyInfo", e))?,
            );
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let algorithm = match (spki.algorithm.oid, curve) {
            (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::SM2_CURVE => {
                gm_sm2::PublicKey::from_sec1_bytes(&key_bits)?;
                PublicKeyAlgorithm::Sm2
            }
            (o, _) if o == oid::SM2_CURVE => {
                // OpenSSL 1.1.1 style: the curve OID as the algorithm.
                gm_sm2::PublicKey::from_sec1_bytes(&key_bits)?;
                PublicKeyAlgorithm::Sm2
            }
            (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::P256_CURVE => {
                PublicKeyAlgorithm::P256
            }
            (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::P384_CURVE => {
                PublicKeyAlgorithm::P384
            }
            (o, _) if o == oid::RSA_ENCRYPTION => PublicKeyAlgorithm::Rsa {
                bits: rsa_modulus_bits(&key_bits)?,
            },
            (o, _) if o == oid::ED25519 => PublicKeyAlgorithm::Ed25519,
            (o, c) => PublicKeyAlgorithm::Other {
                oid: match c {
                    Some(c) => format!("{o}/{c}"),
                    None => o.to_string(),
                },
            },
        };
        Ok(PublicKeyInfo {
            der: der.to_vec(),
            algorithm,
            alg_contents,
            key_bits,
        })
    }

    /// Reads a public key from DER or PEM (`PUBLIC KEY`).
    pub fn load(data: &[u8]) -> Result<Self> {
        if !pem::is_pem(data) {
            return Self::from_der(data);
        }
        let blocks = pem::blocks(data, "public key")?;
        let block = blocks
            .iter()
            .find(|b| b.label == "PUBLIC KEY")
            .ok_or_else(|| Error::malformed("public key", "no PUBLIC KEY block"))?;
        Self::from_der(&block.der)
    }

    /// The SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> String {
        pem::encode("PUBLIC KEY", &self.der)
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> &PublicKeyAlgorithm {
        &self.algorithm
    }

    /// The subjectPublicKey BIT STRING contents (an EC point or an RSA
    /// `RSAPublicKey`).
    pub fn key_bits(&self) -> &[u8] {
        &self.key_bits
    }

    /// The SM2 public key, if this is one.
    pub fn sm2(&self) -> Option<gm_sm2::PublicKey> {
        match self.algorithm {
            PublicKeyAlgorithm::Sm2 => gm_sm2::PublicKey::from_sec1_bytes(&self.key_bits).ok(),
            _ => None,
        }
    }

    /// The key identifier of RFC 5280 section 4.2.1.2 method (1): SHA-1 of
    /// the subjectPublicKey bits (what OpenSSL puts in subject and
    /// authority key identifiers).
    pub fn key_identifier(&self) -> [u8; 20] {
        use sha1::Digest;
        sha1::Sha1::digest(&self.key_bits).into()
    }

    /// Verifies `signature` over `message` under the signature algorithm
    /// `sig_alg` (the DER contents of its AlgorithmIdentifier) with this key;
    /// SM2 signatures use the distinguishing ID `sm2_id`.
    pub(crate) fn verify(
        &self,
        sig_alg_contents: &[u8],
        message: &[u8],
        signature: &[u8],
        sm2_id: &[u8],
    ) -> std::result::Result<(), SignatureCheck> {
        let algs = VerifierSet::new(sm2_id);
        let list = algs.list();
        let alg = list
            .iter()
            .find(|a| {
                a.signature_alg_id().as_ref() == sig_alg_contents
                    && a.public_key_alg_id().as_ref() == self.alg_contents.as_slice()
            })
            .ok_or(SignatureCheck::Unsupported)?;
        alg.verify_signature(&self.key_bits, message, signature)
            .map_err(|_| SignatureCheck::Invalid)
    }
}

/// Why a signature check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// No verifier for this (key, signature algorithm) pair.
    Unsupported,
    /// The signature does not verify.
    Invalid,
}

/// Bits in an RSAPublicKey's modulus.
fn rsa_modulus_bits(key: &[u8]) -> Result<usize> {
    let (outer, _) = asn1::read_tlv(key, "RSA public key")?;
    let (n, _) = asn1::read_tlv(outer.content, "RSA modulus")?;
    if n.tag != asn1::INTEGER {
        return Err(Error::malformed(
            "RSA public key",
            "modulus is not an INTEGER",
        ));
    }
    let mag: Vec<u8> = n.content.iter().copied().skip_while(|b| *b == 0).collect();
    Ok(match mag.first() {
        None => 0,
        Some(first) => mag.len() * 8 - first.leading_zeros() as usize,
    })
}

// ---------------------------------------------------------------------------
// Verification algorithms (shared with chain verification)

/// DER contents of the SPKI AlgorithmIdentifier for SM2 keys.
const ALG_SM2_PUBLIC_KEY: &[u8] = &[
    0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55,
    0x01, 0x82, 0x2d,
];
/// DER contents of the SM2-with-SM3 AlgorithmIdentifier, no parameters.
const ALG_SM2_SM3: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
/// The same with NULL parameters.
const ALG_SM2_SM3_NULL: &[u8] = &[
    0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
];

/// SM2-with-SM3 verification with a chosen distinguishing ID.
#[derive(Debug)]
struct Sm2WithId {
    id: Vec<u8>,
    alg: &'static [u8],
}

impl SignatureVerificationAlgorithm for Sm2WithId {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<(), InvalidSignature> {
        let ok = (|| -> gm_sm2::Result<()> {
            let pk = gm_sm2::PublicKey::from_sec1_bytes(public_key)?;
            let vk = gm_sm2::VerifyingKey::new(&pk, &self.id)?;
            vk.verify_message(message, &gm_sm2::Signature::from_der(signature)?)
        })();
        ok.map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> PkiAlgId {
        PkiAlgId::from_slice(ALG_SM2_PUBLIC_KEY)
    }

    fn signature_alg_id(&self) -> PkiAlgId {
        PkiAlgId::from_slice(self.alg)
    }
}

/// The signature algorithms we verify: SM2-with-SM3 (both parameter forms)
/// with one SM2 ID, plus RSA PKCS#1 / PSS and ECDSA from aws-lc-rs.
pub(crate) struct VerifierSet {
    custom: Option<[Sm2WithId; 2]>,
}

static STANDARD_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ED25519,
];

impl VerifierSet {
    /// Verifiers for SM2 ID `sm2_id` (rustls-gm's statics for the default
    /// ID "1234567812345678") and the standard algorithms.
    pub(crate) fn new(sm2_id: &[u8]) -> Self {
        let custom = (sm2_id != gm_sm2::DEFAULT_ID).then(|| {
            [
                Sm2WithId {
                    id: sm2_id.to_vec(),
                    alg: ALG_SM2_SM3,
                },
                Sm2WithId {
                    id: sm2_id.to_vec(),
                    alg: ALG_SM2_SM3_NULL,
                },
            ]
        });
        VerifierSet { custom }
    }

    /// All of them, SM2 first.
    pub(crate) fn list(&self) -> Vec<&dyn SignatureVerificationAlgorithm> {
        let mut v: Vec<&dyn SignatureVerificationAlgorithm> = match &self.custom {
            Some([a, b]) => vec![a, b],
            None => vec![
                rustls_gm::verify::SM2_SM3_CERT,
                rustls_gm::verify::SM2_SM3_CERT_NULL_PARAMS,
            ],
        };
        v.extend_from_slice(STANDARD_ALGS);
        v
    }
}

// ---------------------------------------------------------------------------
// Key pairs

enum Inner {
    Sm2(gm_sm2::PrivateKey),
    Rsa(aws_sig::RsaKeyPair),
    P256(aws_sig::EcdsaKeyPair),
}

/// A private key that can sign certificates and requests: SM2, RSA
/// (2048-4096) or ECDSA P-256. Never printed; SM2 scalars are zeroized on
/// drop (aws-lc-rs frees and clears its own keys).
///
/// ```
/// use gm_pki::{KeyAlgorithm, KeyPair};
/// let key = KeyPair::generate(KeyAlgorithm::Sm2)?;
/// let pem = key.to_pkcs8_pem()?;
/// let again = KeyPair::load(pem.as_bytes(), None)?;
/// assert_eq!(again.public_key(), key.public_key());
/// # Ok::<(), gm_pki::Error>(())
/// ```
pub struct KeyPair {
    inner: Inner,
    public: PublicKeyInfo,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

/// Rejects key-derivation parameters that would take unbounded time or
/// memory (or that make the pkcs5 crate panic: an scrypt cost of 0)
/// before any work is done: PBKDF2 up to [`gm_sm2::MAX_ITERATIONS`]
/// iterations; scrypt with N a power of two from 2 to 2^20, 128*r*N at
/// most 1 GiB and p at most 16.
fn check_pbes_cost(scheme: &pkcs8::pkcs5::EncryptionScheme) -> Result<()> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let pkcs8::pkcs5::EncryptionScheme::Pbes2(params) = scheme else {
        return Err(Error::UnsupportedAlgorithm(
            "PBES1 key encryption (use PBES2)".into(),
        ));
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) => {
            if p.iteration_count == 0 || p.iteration_count > gm_sm2::MAX_ITERATIONS {
                return Err(Error::malformed(
                    "encrypted private key",
                    format!("PBKDF2 iteration count {} out of range", p.iteration_count),
                ));
            }
        }
        Kdf::Scrypt(p) => {
            let n = p.cost_parameter;
            let r = u64::from(p.block_size);
            let ok = n >= 2
                && n.is_power_of_two()
                && n <= 1 << 20
                && r >= 1
                && 128 * r * n <= 1 << 30
                && (1..=16).contains(&p.parallelization);
            if !ok {
                return Err(Error::malformed(
                    "encrypted private key",
                    format!(
                        "scrypt parameters N={n} r={r} p={} out of range",
                        p.parallelization
                    ),
                ));
            }
        }
        _ => {
            return Err(Error::UnsupportedAlgorithm(
                "key derivation function (use PBKDF2 or scrypt)".into(),
            ))
        }
    }
    Ok(())
}

/// PBKDF2 iterations for keys we encrypt (PBKDF2-HMAC-SHA256, AES-256-CBC).
const PBKDF2_ITERATIONS: u32 = 65536;

impl KeyPair {
    /// Generates a new key with the OS random number generator.
    pub fn generate(alg: KeyAlgorithm) -> Result<Self> {
        match alg {
            KeyAlgorithm::Sm2 => Self::from_sm2(gm_sm2::PrivateKey::generate()?),
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let size = match alg {
                    KeyAlgorithm::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                    KeyAlgorithm::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                    _ => aws_lc_rs::rsa::KeySize::Rsa4096,
                };
                let pair = aws_sig::RsaKeyPair::generate(size)
                    .map_err(|_| Error::KeyRejected("RSA key generation failed".into()))?;
                Self::from_rsa(pair)
            }
            KeyAlgorithm::P256 => {
                let pair =
                    aws_sig::EcdsaKeyPair::generate(&aws_sig::ECDSA_P256_SHA256_ASN1_SIGNING)
                        .map_err(|_| Error::KeyRejected("P-256 key generation failed".into()))?;
                Self::from_p256(pair)
            }
        }
    }

    /// Wraps an SM2 private key.
    pub fn from_sm2(key: gm_sm2::PrivateKey) -> Result<Self> {
        let public = PublicKeyInfo::from_der(&key.public_key().to_spki_der())?;
        Ok(KeyPair {
            inner: Inner::Sm2(key),
            public,
        })
    }

    fn from_rsa(pair: aws_sig::RsaKeyPair) -> Result<Self> {
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| Error::KeyRejected("RSA public key encoding failed".into()))?;
        let public = PublicKeyInfo::from_der(spki.as_ref())?;
        Ok(KeyPair {
            inner: Inner::Rsa(pair),
            public,
        })
    }

    fn from_p256(pair: aws_sig::EcdsaKeyPair) -> Result<Self> {
        let spki = pair
            .public_key()
            .as_der()
            .map_err(|_| Error::KeyRejected("P-256 public key encoding failed".into()))?;
        let public = PublicKeyInfo::from_der(spki.as_ref())?;
        Ok(KeyPair {
            inner: Inner::P256(pair),
            public,
        })
    }

    /// Loads a private key from PEM or DER: PKCS#8 (`PRIVATE KEY`),
    /// encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`: PBES2 with PBKDF2 or
    /// scrypt and AES-CBC as OpenSSL writes, or PBKDF2-HMAC-SM3 and SM4-CBC
    /// as GmSSL writes), SEC1 (`EC PRIVATE KEY`, `SM2 PRIVATE KEY`) or
    /// PKCS#1 (`RSA PRIVATE KEY`). `password` is only needed for encrypted
    /// keys.
    pub fn load(data: &[u8], password: Option<&[u8]>) -> Result<Self> {
        if !pem::is_pem(data) {
            return Self::from_der_any(data, password);
        }
        let blocks = pem::blocks(data, "private key")?;
        let mut found = None;
        for b in &blocks {
            let key = match b.label.as_str() {
                "PRIVATE KEY" => Self::from_pkcs8_der(&b.der)?,
                "ENCRYPTED PRIVATE KEY" => Self::from_encrypted_der(&b.der, password)?,
                "RSA PRIVATE KEY" => Self::from_rsa(
                    aws_sig::RsaKeyPair::from_der(&b.der)
                        .map_err(|e| Error::KeyRejected(format!("RSA PRIVATE KEY: {e}")))?,
                )?,
                "EC PRIVATE KEY" | "SM2 PRIVATE KEY" => Self::from_sec1_der(&b.der)?,
                _ => continue,
            };
            if found.is_some() {
                return Err(Error::malformed(
                    "private key",
                    "more than one private key in the input",
                ));
            }
            found = Some(key);
        }
        found.ok_or_else(|| Error::malformed("private key", "no private key PEM block"))
    }

    fn from_der_any(der: &[u8], password: Option<&[u8]>) -> Result<Self> {
        if pkcs8::PrivateKeyInfoRef::from_der(der).is_ok() {
            return Self::from_pkcs8_der(der);
        }
        if pkcs8::EncryptedPrivateKeyInfoRef::from_der(der).is_ok() {
            return Self::from_encrypted_der(der, password);
        }
        if let Ok(pair) = aws_sig::RsaKeyPair::from_der(der) {
            return Self::from_rsa(pair);
        }
        match Self::from_sec1_der(der) {
            // An encrypted key the pkcs8 crate cannot parse (SM4, HMAC-SM3).
            Err(Error::PasswordRequired) if password.is_some() => {
                Self::from_encrypted_der(der, password)
            }
            other => other,
        }
    }

    /// From PKCS#8 PrivateKeyInfo DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der)
            .map_err(|e| Error::malformed("PKCS#8 private key", e))?;
        let curve = info
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match (info.algorithm.oid, curve) {
            (o, _) if o == oid::RSA_ENCRYPTION => Self::from_rsa(
                aws_sig::RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| Error::KeyRejected(format!("RSA: {e}")))?,
            ),
            (o, Some(c)) if o == oid::EC_PUBLIC_KEY && c == oid::P256_CURVE => Self::from_p256(
                aws_sig::EcdsaKeyPair::from_pkcs8(&aws_sig::ECDSA_P256_SHA256_ASN1_SIGNING, der)
                    .map_err(|e| Error::KeyRejected(format!("P-256: {e}")))?,
            ),
            _ => Self::from_sm2(gm_sm2::PrivateKey::load(der, None)?),
        }
    }

    fn from_sec1_der(der: &[u8]) -> Result<Self> {
        match gm_sm2::PrivateKey::load(der, None) {
            Ok(k) => Self::from_sm2(k),
            Err(e @ gm_sm2::Error::UnsupportedAlgorithm { .. }) => {
                match aws_sig::EcdsaKeyPair::from_private_key_der(
                    &aws_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                    der,
                ) {
                    Ok(pair) => Self::from_p256(pair),
                    Err(_) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    fn from_encrypted_der(der: &[u8], password: Option<&[u8]>) -> Result<Self> {
        let password = password.ok_or(Error::PasswordRequired)?;
        // PBES2 with SM4-CBC / HMAC-SM3 (GmSSL) is only known to gm-sm2; the
        // pkcs8 crate does not even parse it.
        let Ok(info) = pkcs8::EncryptedPrivateKeyInfoRef::from_der(der) else {
            return Self::from_sm2(gm_sm2::PrivateKey::load(der, Some(password))?);
        };
        check_pbes_cost(&info.encryption_algorithm)?;
        let first = match info.decrypt(password) {
            Ok(doc) => return Self::from_pkcs8_der(doc.as_bytes()),
            // The pkcs8 crate knew the scheme and ran the key derivation:
            // a padding failure is a wrong password. Running the same
            // (possibly expensive) PBKDF2 again through gm-sm2 would only
            // repeat the work.
            Err(pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)) => {
                return Err(Error::WrongPassword)
            }
            Err(e) => e,
        };
        // A scheme the pkcs8 crate does not implement (e.g. SM4-CBC): gm-sm2.
        match gm_sm2::PrivateKey::load(der, Some(password)) {
            Ok(k) => Self::from_sm2(k),
            Err(gm_sm2::Error::UnsupportedAlgorithm { .. }) => {
                Err(Error::malformed("encrypted private key", first))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match &self.inner {
            Inner::Sm2(_) => KeyAlgorithm::Sm2,
            Inner::Rsa(p) => match p.public_modulus_len() * 8 {
                0..=2048 => KeyAlgorithm::Rsa2048,
                2049..=3072 => KeyAlgorithm::Rsa3072,
                _ => KeyAlgorithm::Rsa4096,
            },
            Inner::P256(_) => KeyAlgorithm::P256,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKeyInfo {
        &self.public
    }

    /// The SM2 private key, if this is one.
    pub fn sm2(&self) -> Option<&gm_sm2::PrivateKey> {
        match &self.inner {
            Inner::Sm2(k) => Some(k),
            _ => None,
        }
    }

    /// Unencrypted PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(match &self.inner {
            Inner::Sm2(k) => k.to_pkcs8_der(),
            Inner::Rsa(p) => Zeroizing::new(
                p.as_der()
                    .map_err(|_| Error::KeyRejected("RSA PKCS#8 encoding failed".into()))?
                    .as_ref()
                    .to_vec(),
            ),
            Inner::P256(p) => Zeroizing::new(
                p.to_pkcs8v1()
                    .map_err(|_| Error::KeyRejected("P-256 PKCS#8 encoding failed".into()))?
                    .as_ref()
                    .to_vec(),
            ),
        })
    }

    /// Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(pem::encode(
            "PRIVATE KEY",
            &self.to_pkcs8_der()?,
        )))
    }

    /// Encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`):
    /// PBES2 with PBKDF2-HMAC-SHA256 (65536 iterations) and AES-256-CBC,
    /// which OpenSSL, GmSSL and Tongsuo all read.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String> {
        if let Inner::Sm2(k) = &self.inner {
            return Ok(k.to_encrypted_pkcs8_pem(password, &gm_sm2::Pbes2Params::openssl())?);
        }
        let der = self.to_pkcs8_der()?;
        let info = pkcs8::PrivateKeyInfoRef::try_from(der.as_slice())
            .map_err(|e| Error::malformed("PKCS#8 private key", e))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|_| Error::Rng)?;
        getrandom::fill(&mut iv).map_err(|_| Error::Rng)?;
        let params = pkcs8::pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
            PBKDF2_ITERATIONS,
            &salt,
            iv,
        )
        .map_err(|e| Error::Signing(format!("PBES2 parameters: {e}")))?;
        let doc = info
            .encrypt_with_params(params, password)
            .map_err(|e| Error::Signing(format!("key encryption: {e}")))?;
        Ok(pem::encode("ENCRYPTED PRIVATE KEY", doc.as_bytes()))
    }

    /// The signature algorithm this key signs with: SM2-with-SM3,
    /// sha256WithRSAEncryption or ecdsa-with-SHA256.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            Inner::Sm2(_) => SignatureAlgorithm::Sm2Sm3 { null_params: false },
            Inner::Rsa(_) => SignatureAlgorithm::RsaSha256,
            Inner::P256(_) => SignatureAlgorithm::EcdsaSha256,
        }
    }

    /// The DER AlgorithmIdentifier of [`Self::signature_algorithm`]:
    /// SM2-with-SM3 without parameters (GM/T 0015), RSA with NULL
    /// parameters (RFC 4055), ECDSA without (RFC 5758).
    pub(crate) fn signature_algorithm_der(&self) -> Vec<u8> {
        match &self.inner {
            Inner::Sm2(_) => asn1::seq(&[&asn1::oid(&oid::SM2_WITH_SM3)]),
            Inner::Rsa(_) => asn1::seq(&[&asn1::oid(&oid::SHA256_WITH_RSA), &[asn1::NULL, 0]]),
            Inner::P256(_) => asn1::seq(&[&asn1::oid(&oid::ECDSA_WITH_SHA256)]),
        }
    }

    /// Signs `message`; SM2 uses the distinguishing ID `sm2_id` (usually
    /// [`gm_sm2::DEFAULT_ID`]). The signature is DER for SM2 and ECDSA,
    /// the raw PKCS#1 v1.5 block for RSA.
    pub fn sign(&self, message: &[u8], sm2_id: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            Inner::Sm2(k) => {
                let signer = gm_sm2::SigningKey::new(k, sm2_id)?;
                Ok(signer.sign_message(message)?.to_der())
            }
            Inner::Rsa(p) => {
                let mut sig = vec![0u8; p.public_modulus_len()];
                p.sign(
                    &aws_sig::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut sig,
                )
                .map_err(|_| Error::Signing("RSA signing failed".into()))?;
                Ok(sig)
            }
            Inner::P256(p) => Ok(p
                .sign(&SystemRandom::new(), message)
                .map_err(|_| Error::Signing("ECDSA signing failed".into()))?
                .as_ref()
                .to_vec()),
        }
    }
}
