//! The escrowed encryption key CFCA returns for a dual-key request.
//!
//! CFCA generates the encryption key pair, keeps a copy (key escrow) and
//! returns the private key SM2-encrypted to the temporary public key of the
//! [dual-key request](super::dual_csr):
//!
//! ```text
//! text      = PREFIX (64 digits) || LENGTH (16 decimal digits) || base64(DER)
//!             PREFIX = 0000000000000001 0000000000000001 0^32
//! DER       = SEQUENCE { INTEGER 1, OCTET STRING ciphertext }
//! ciphertext= SM2 C1C3C2 *without* the 0x04 point prefix
//! plaintext = X || Y || d      (32 bytes each)
//! ```
//!
//! Accepted input: the text with or without the prefix and length, base64
//! broken by line breaks, spaces or commas (as some CFCA clients deliver
//! it), or the DER itself. The length, when present, must match. The
//! ciphertext may carry the 0x04 prefix after all (193 bytes). After
//! decryption, `X || Y` must equal `d·G`.

use gm_sm2::{CiphertextFormat, PrivateKey, PublicKey, SCALAR_LEN};

use super::asn1::{self, Reader};
use super::{decode_base64, Error, Result};

/// The fixed 64-digit text prefix of CFCA's escrowed-key response.
pub const ESCROW_PREFIX: &str = "0000000000000001000000000000000100000000000000000000000000000000";
/// Length of the decimal length field after the prefix.
const LENGTH_DIGITS: usize = 16;
/// Length of the plaintext `X || Y || d`.
const PLAINTEXT_LEN: usize = 3 * SCALAR_LEN;
/// C1 without prefix (64) + C3 (32).
const OVERHEAD: usize = 96;

/// A parsed escrow envelope: the SM2 ciphertext of `X || Y || d`.
#[derive(Clone, PartialEq, Eq)]
pub struct EscrowedKey {
    ciphertext: Vec<u8>,
}

impl std::fmt::Debug for EscrowedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EscrowedKey")
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

impl EscrowedKey {
    /// Parses CFCA's text (or the DER envelope).
    pub fn parse(data: &[u8]) -> Result<Self> {
        let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
        // The text form starts with ASCII '0' (0x30, the SEQUENCE tag), so
        // DER is recognised by containing any byte that is not printable
        // ASCII or whitespace (its length and ciphertext bytes always do).
        let is_text = data
            .iter()
            .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
        if !is_text {
            return Self::parse_der(data);
        }
        let text = std::str::from_utf8(data).map_err(|_| Error::Encoding {
            what: "escrowed key",
            reason: "neither text nor DER".into(),
        })?;
        let text = text.trim_start();
        let body = if text.starts_with(|c: char| c.is_ascii_digit()) {
            strip_prefix_and_length(text)?
        } else {
            text
        };
        let compact: String = body
            .chars()
            .filter(|&c| c != ',' && !c.is_ascii_whitespace())
            .collect();
        let der = decode_base64(&compact, "escrowed key")?;
        Self::parse_der(&der)
    }

    /// Parses the DER envelope `SEQUENCE { INTEGER 1, OCTET STRING }`.
    pub fn parse_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let mut seq = outer.sequence("EscrowedKey")?;
        outer.finish("EscrowedKey")?;
        let version = seq.small_uint("EscrowedKey.version")?;
        if version != 1 {
            return Err(Error::UnsupportedVersion {
                what: "escrowed key",
                version,
            });
        }
        let ciphertext = seq.read(asn1::OCTET_STRING, "EscrowedKey.encryptedKey")?;
        seq.finish("EscrowedKey")?;
        ciphertext_format(ciphertext)?;
        Ok(EscrowedKey {
            ciphertext: ciphertext.to_vec(),
        })
    }

    /// Encrypts `key` to `temp_public_key` the way CFCA does (for tests, and
    /// for a local CA that plays CFCA's role).
    pub fn seal(key: &PrivateKey, temp_public_key: &PublicKey) -> Result<Self> {
        let mut plain = gm_sm2::Zeroizing::new(Vec::with_capacity(PLAINTEXT_LEN));
        plain.extend_from_slice(&key.public_key().to_sec1_bytes()[1..]);
        plain.extend_from_slice(&key.to_bytes()[..]);
        let ciphertext = temp_public_key
            .encrypt(&plain, CiphertextFormat::C1C3C2NoPrefix)
            .map_err(Error::sm2("encrypting the escrowed key"))?;
        Ok(EscrowedKey { ciphertext })
    }

    /// The SM2 ciphertext as found (C1C3C2, normally without 0x04).
    pub fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    /// The DER envelope.
    pub fn to_der(&self) -> Vec<u8> {
        asn1::tlv(
            asn1::SEQUENCE,
            &[
                &asn1::small_uint(1),
                &asn1::tlv(asn1::OCTET_STRING, &[&self.ciphertext]),
            ],
        )
    }

    /// CFCA's text form: prefix, 16-digit length, base64 on one line.
    pub fn to_text(&self) -> String {
        use base64ct::Encoding as _;
        let b64 = base64ct::Base64::encode_string(&self.to_der());
        format!("{ESCROW_PREFIX}{:016}{b64}", b64.len())
    }

    /// Decrypts with the temporary private key and checks the key pair.
    pub fn decrypt(&self, temp_key: &PrivateKey) -> Result<PrivateKey> {
        let format = ciphertext_format(&self.ciphertext)?;
        let plain = temp_key
            .decrypt(&self.ciphertext, format)
            .map_err(Error::EscrowDecrypt)?;
        if plain.len() != PLAINTEXT_LEN {
            return Err(Error::EscrowPlaintextLength(plain.len()));
        }
        let key = PrivateKey::from_bytes(&plain[2 * SCALAR_LEN..])
            .map_err(Error::sm2("escrowed private key d"))?;
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..].copy_from_slice(&plain[..2 * SCALAR_LEN]);
        let public =
            PublicKey::from_sec1_bytes(&point).map_err(Error::sm2("escrowed public key X || Y"))?;
        if key.public_key() != &public {
            return Err(Error::EscrowKeyPairMismatch);
        }
        Ok(key)
    }
}

/// Parses CFCA's text and decrypts it with the temporary key.
pub fn decrypt_escrowed_key(data: &[u8], temp_key: &PrivateKey) -> Result<PrivateKey> {
    EscrowedKey::parse(data)?.decrypt(temp_key)
}

/// 193 bytes starting with 0x04: C1C3C2 with the prefix; otherwise the
/// documented C1C3C2 without it.
fn ciphertext_format(ct: &[u8]) -> Result<CiphertextFormat> {
    if ct.len() == OVERHEAD + 1 + PLAINTEXT_LEN && ct.first() == Some(&0x04) {
        Ok(CiphertextFormat::C1C3C2)
    } else if ct.len() > OVERHEAD {
        Ok(CiphertextFormat::C1C3C2NoPrefix)
    } else {
        Err(Error::EscrowCiphertextLength(ct.len()))
    }
}

/// Checks and removes `PREFIX || LENGTH`, returning the base64 part.
fn strip_prefix_and_length(text: &str) -> Result<&str> {
    let head_len = ESCROW_PREFIX.len() + LENGTH_DIGITS;
    let head = text.get(..head_len).ok_or_else(|| Error::Encoding {
        what: "escrowed key",
        reason: format!(
            "starts with digits but is shorter than the {head_len}-character prefix and length"
        ),
    })?;
    let (Some(prefix), Some(length)) = (
        head.get(..ESCROW_PREFIX.len()),
        head.get(ESCROW_PREFIX.len()..),
    ) else {
        return Err(Error::Encoding {
            what: "escrowed key",
            reason: "prefix is not ASCII".into(),
        });
    };
    if prefix != ESCROW_PREFIX {
        return Err(Error::EscrowPrefix(prefix.to_owned()));
    }
    if !length.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Encoding {
            what: "escrowed key",
            reason: format!("length field {length:?} is not 16 decimal digits"),
        });
    }
    let declared: usize = length.parse().map_err(|_| Error::Encoding {
        what: "escrowed key",
        reason: format!("length field {length:?} is out of range"),
    })?;
    let body = &text[head_len..];
    // CFCA counts every character after the length field; transports add
    // or drop line breaks, so the count may also exclude a final line break
    // or all whitespace.
    let without_ws = body.chars().filter(|c| !c.is_ascii_whitespace()).count();
    if declared != body.len() && declared != body.trim_end().len() && declared != without_ws {
        return Err(Error::EscrowLength {
            declared,
            actual: body.len(),
        });
    }
    Ok(body)
}
