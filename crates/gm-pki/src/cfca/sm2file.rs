//! The CFCA `.sm2` file: an SM2 private key and its certificate, the key
//! encrypted under a password (CFCA SADK's "PKCS12_SM2").
//!
//! ```text
//! SM2File ::= SEQUENCE {
//!     version        INTEGER (1),
//!     encryptedKey   SEQUENCE {
//!         contentType  OBJECT IDENTIFIER,  -- 1.2.156.10197.6.1.4.2.1
//!         algorithm    OBJECT IDENTIFIER,  -- 1.2.156.10197.1.104 (SM4) or .104.2 (SM4-CBC)
//!         data         OCTET STRING },     -- SM4-CBC(PKCS#7(d))
//!     certificate    SEQUENCE {
//!         contentType  OBJECT IDENTIFIER,  -- 1.2.156.10197.6.1.4.2.1
//!         data         OCTET STRING } }    -- X.509 certificate DER
//! ```
//!
//! Key material: `k = SM3(password || 00 00 00 01)`, IV = `k[0..16]`, SM4 key
//! = `k[16..32]`. The file is often stored as base64 (sometimes in a PEM
//! block labelled `CFCA KEY`); [`Sm2File::parse`] takes all three forms.
//!
//! d is written as exactly 32 bytes; shorter encodings (written by tools that
//! strip leading zero bytes) are accepted when reading.
//!
//! **Weak protection**: one hash of the password, no salt, no iterations.
//! See the [module docs](super).

use gm_sm2::{PrivateKey, Zeroizing, SCALAR_LEN};
use gm_sm4::cipher::block_padding::Pkcs7;
use gm_sm4::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyInit};
use gm_sm4::modes::{cbc_decryptor, cbc_encryptor};
use gm_sm4::Sm4;

use super::asn1::{self, Reader};
use super::{certificate_public_key, decode_armour, encode_base64_lines, oid, Error, Result};

/// The version number of the structure (the only one known).
const VERSION: u32 = 1;

/// Which SM4 object identifier names the key encryption. Both mean SM4-CBC
/// with PKCS#7 padding and the password-derived key and IV.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sm2Cipher {
    /// 1.2.156.10197.1.104 (what CFCA SADK writes).
    Sm4,
    /// 1.2.156.10197.1.104.2 (SM4-CBC, seen in other tools).
    Sm4Cbc,
}

impl Sm2Cipher {
    fn oid(self) -> &'static [u8] {
        match self {
            Sm2Cipher::Sm4 => oid::SM4,
            Sm2Cipher::Sm4Cbc => oid::SM4_CBC,
        }
    }
}

/// A parsed but still encrypted `.sm2` file: the structure is checked, the
/// key is not decrypted yet.
#[derive(Clone, PartialEq, Eq)]
pub struct RawSm2File {
    cipher: Sm2Cipher,
    encrypted_key: Vec<u8>,
    certificate: Vec<u8>,
}

impl std::fmt::Debug for RawSm2File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSm2File")
            .field("cipher", &self.cipher)
            .field("encrypted_key_len", &self.encrypted_key.len())
            .field("certificate_len", &self.certificate.len())
            .finish()
    }
}

impl RawSm2File {
    /// Parses the structure from DER, PEM or base64 (whitespace ignored).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let der = decode_armour(data, ".sm2 file")?;
        Self::parse_der(&der)
    }

    /// Parses the structure from DER.
    pub fn parse_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let mut file = outer.sequence("SM2File")?;
        outer.finish("SM2File")?;
        let version = file.small_uint("SM2File.version")?;
        if version != VERSION {
            return Err(Error::UnsupportedVersion {
                what: ".sm2 file",
                version,
            });
        }

        let mut key = file.sequence("SM2File.encryptedKey")?;
        let content_type = key.read(asn1::OID, "SM2File.encryptedKey.contentType")?;
        check_content_type(content_type, "content type of the encrypted key")?;
        let alg = key.read(asn1::OID, "SM2File.encryptedKey.algorithm")?;
        let cipher = if alg == oid::SM4 {
            Sm2Cipher::Sm4
        } else if alg == oid::SM4_CBC {
            Sm2Cipher::Sm4Cbc
        } else {
            return Err(Error::UnsupportedAlgorithm {
                what: ".sm2 key encryption (want SM4 1.2.156.10197.1.104 or .104.2)",
                oid: asn1::oid_to_string(alg),
            });
        };
        let encrypted_key = key.read(asn1::OCTET_STRING, "SM2File.encryptedKey.data")?;
        key.finish("SM2File.encryptedKey")?;
        if encrypted_key.is_empty() || encrypted_key.len() % 16 != 0 || encrypted_key.len() > 64 {
            return Err(Error::der(
                "SM2File.encryptedKey.data",
                "not 16 to 64 bytes in whole SM4 blocks",
            ));
        }

        let mut cert = file.sequence("SM2File.certificate")?;
        let content_type = cert.read(asn1::OID, "SM2File.certificate.contentType")?;
        check_content_type(content_type, "content type of the certificate")?;
        let certificate = cert.read(asn1::OCTET_STRING, "SM2File.certificate.data")?;
        cert.finish("SM2File.certificate")?;
        file.finish("SM2File")?;

        Ok(RawSm2File {
            cipher,
            encrypted_key: encrypted_key.to_vec(),
            certificate: certificate.to_vec(),
        })
    }

    /// The key encryption OID used.
    pub fn cipher(&self) -> Sm2Cipher {
        self.cipher
    }

    /// The certificate DER (not yet checked against the key).
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The encrypted private key: SM4-CBC(PKCS#7(d)) under the password.
    pub fn encrypted_key(&self) -> &[u8] {
        &self.encrypted_key
    }

    /// Decrypts the private key and checks that it belongs to the
    /// certificate.
    ///
    /// A wrong password shows as [`Error::WrongPassword`] (bad padding or an
    /// impossible key) or [`Error::KeyCertificateMismatch`]; never as a
    /// wrong key.
    pub fn decrypt(&self, password: &[u8]) -> Result<Sm2File> {
        if password.is_empty() {
            return Err(Error::EmptyPassword);
        }
        let (key, iv) = derive_key_iv(password);
        let mut buf = Zeroizing::new(self.encrypted_key.clone());
        let sm4 = Sm4::new(&(*key).into());
        let plain_len = cbc_decryptor(sm4, &iv)
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| Error::WrongPassword)?
            .len();
        let d = &buf[..plain_len];
        if d.is_empty() || d.len() > SCALAR_LEN {
            return Err(Error::WrongPassword);
        }
        let mut padded = Zeroizing::new([0u8; SCALAR_LEN]);
        padded[SCALAR_LEN - d.len()..].copy_from_slice(d);
        let private = PrivateKey::from_bytes(&padded[..]).map_err(|_| Error::WrongPassword)?;
        let public = certificate_public_key(&self.certificate)?;
        if private.public_key() != &public {
            return Err(Error::KeyCertificateMismatch);
        }
        Ok(Sm2File {
            key: private,
            certificate: self.certificate.clone(),
        })
    }
}

fn check_content_type(content_type: &[u8], what: &'static str) -> Result<()> {
    if content_type == oid::SM2_DATA {
        Ok(())
    } else {
        Err(Error::UnsupportedAlgorithm {
            what,
            oid: asn1::oid_to_string(content_type),
        })
    }
}

/// `k = SM3(password || 00000001)`: (SM4 key `k[16..32]`, IV `k[0..16]`).
fn derive_key_iv(password: &[u8]) -> (Zeroizing<[u8; 16]>, [u8; 16]) {
    let mut input = Zeroizing::new(Vec::with_capacity(password.len() + 4));
    input.extend_from_slice(password);
    input.extend_from_slice(&1u32.to_be_bytes());
    let k = Zeroizing::new(gm_sm3::sm3(&input));
    let mut key = Zeroizing::new([0u8; 16]);
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&k[..16]);
    key.copy_from_slice(&k[16..]);
    (key, iv)
}

/// A decrypted `.sm2` file: an SM2 private key and the certificate it
/// belongs to (checked).
#[derive(Clone)]
pub struct Sm2File {
    key: PrivateKey,
    certificate: Vec<u8>,
}

impl std::fmt::Debug for Sm2File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm2File")
            .field("key", &self.key)
            .field("certificate_len", &self.certificate.len())
            .finish()
    }
}

impl Sm2File {
    /// Pairs a key with its certificate (DER); fails with
    /// [`Error::KeyCertificateMismatch`] when they do not belong together.
    pub fn new(key: PrivateKey, certificate_der: Vec<u8>) -> Result<Self> {
        let public = certificate_public_key(&certificate_der)?;
        if key.public_key() != &public {
            return Err(Error::KeyCertificateMismatch);
        }
        Ok(Sm2File {
            key,
            certificate: certificate_der,
        })
    }

    /// Reads a `.sm2` file (DER, base64 or PEM) and decrypts it.
    pub fn parse(data: &[u8], password: &[u8]) -> Result<Self> {
        RawSm2File::parse(data)?.decrypt(password)
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// The certificate DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The key and the certificate DER.
    pub fn into_parts(self) -> (PrivateKey, Vec<u8>) {
        (self.key, self.certificate)
    }

    /// Encodes as binary DER, as CFCA SADK writes it (SM4 OID
    /// 1.2.156.10197.1.104, d as 32 bytes).
    ///
    /// **The protection is weak** (see the [module docs](super)).
    pub fn to_der(&self, password: &[u8]) -> Result<Vec<u8>> {
        self.to_der_with(password, Sm2Cipher::Sm4)
    }

    /// As [`Sm2File::to_der`] with a chosen SM4 OID.
    pub fn to_der_with(&self, password: &[u8], cipher: Sm2Cipher) -> Result<Vec<u8>> {
        if password.is_empty() {
            return Err(Error::EmptyPassword);
        }
        let (key, iv) = derive_key_iv(password);
        let d = self.key.to_bytes();
        let mut buf = Zeroizing::new(vec![0u8; SCALAR_LEN + 16]);
        buf[..SCALAR_LEN].copy_from_slice(&d[..]);
        let sm4 = Sm4::new(&(*key).into());
        let len = cbc_encryptor(sm4, &iv)
            .encrypt_padded::<Pkcs7>(&mut buf, SCALAR_LEN)
            .map_err(|_| Error::der("SM2File.encryptedKey.data", "padding failed"))?
            .len();
        let encrypted = &buf[..len];
        let key_part = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OID, &[oid::SM2_DATA]),
                &asn1::tlv(asn1::OID, &[cipher.oid()]),
                &asn1::tlv(asn1::OCTET_STRING, &[encrypted]),
            ],
        );
        let cert_part = asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OID, &[oid::SM2_DATA]),
                &asn1::tlv(asn1::OCTET_STRING, &[&self.certificate]),
            ],
        );
        Ok(asn1::tlv(
            asn1::SEQUENCE,
            &[&asn1::small_uint(VERSION), &key_part, &cert_part],
        ))
    }

    /// Encodes as base64 text (64-character lines), the common on-disk form.
    pub fn to_base64(&self, password: &[u8]) -> Result<String> {
        Ok(encode_base64_lines(&self.to_der(password)?))
    }
}
