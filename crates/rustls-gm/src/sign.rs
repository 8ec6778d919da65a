//! sm2sig_sm3 signing (RFC 8998 section 3.2): a `KeyProvider` that loads SM2
//! private keys and signs CertificateVerify with the identifier
//! "TLSv1.3+GM+Cipher+Suite".

use std::fmt;
use std::sync::Arc;

use rustls::crypto::KeyProvider;
use rustls::pki_types::{AlgorithmIdentifier, PrivateKeyDer, SubjectPublicKeyInfoDer};
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

use crate::codepoints::{ALG_ID_SM2_PUBLIC_KEY, SM2SIG_SM3, SM2_SIGNATURE_ALGORITHM, TLS13_SM2_ID};
use crate::error::KeyError;
use crate::sm2::{parse_private_key, HandshakeSigningKey, ParsedKey};

/// Loads SM2 keys; hands other keys to `fallback`, or refuses them with
/// [`KeyError::NotSm2`] when there is none.
pub(crate) struct Sm2KeyProvider {
    pub(crate) fallback: Option<&'static dyn KeyProvider>,
}

impl fmt::Debug for Sm2KeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2KeyProvider")
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl KeyProvider for Sm2KeyProvider {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
        match parse_private_key(&key_der, TLS13_SM2_ID)? {
            ParsedKey::Sm2(key) => Ok(Arc::new(Sm2SigningKey(Arc::from(key)))),
            ParsedKey::NotSm2 => match self.fallback {
                Some(p) => p.load_private_key(key_der),
                None => Err(KeyError::NotSm2.into()),
            },
        }
    }
}

/// Loads an SM2 private key (PKCS#8 or SEC1 DER, in every layout OpenSSL,
/// GmSSL, Tongsuo and CFCA tools write) as a rustls signing key for
/// `sm2sig_sm3`.
///
/// Use it to build a [`rustls::sign::CertifiedKey`] by hand, e.g. for a
/// certificate resolver. Keys that are not SM2 are refused with
/// [`KeyError::NotSm2`].
///
/// ```
/// # fn demo(der: rustls::pki_types::PrivateKeyDer<'static>) -> Result<(), rustls_gm::KeyError> {
/// let key = rustls_gm::load_sm2_key(&der)?;
/// assert!(key.choose_scheme(&[rustls_gm::codepoints::SM2SIG_SM3]).is_some());
/// # Ok(()) }
/// ```
pub fn load_sm2_key(der: &PrivateKeyDer<'_>) -> Result<Arc<dyn SigningKey>, KeyError> {
    match parse_private_key(der, TLS13_SM2_ID)? {
        ParsedKey::Sm2(key) => Ok(Arc::new(Sm2SigningKey(Arc::from(key)))),
        ParsedKey::NotSm2 => Err(KeyError::NotSm2),
    }
}

/// Reads the first private key from PEM text, accepting the labels SM2 tools
/// write: `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` and `SM2 PRIVATE KEY`
/// (SEC1; OpenSSL 3 uses the latter for SM2 keys). Other blocks (e.g.
/// `EC PARAMETERS`, certificates) are skipped. The key may be of any
/// algorithm; [`load_sm2_key`] or a provider decides what to do with it.
///
/// ```
/// let pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
/// assert_eq!(rustls_gm::private_key_from_pem(pem).unwrap_err(), rustls_gm::KeyError::NoPrivateKey);
/// ```
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, KeyError> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let mut rest = pem;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let Some(end_at) = find(block, END) else {
            break;
        };
        let after_end = &block[end_at..];
        let block_len = end_at
            + after_end
                .iter()
                .position(|&b| b == b'\n')
                .map_or(after_end.len(), |p| p + 1);
        let (this, next) = block.split_at(block_len);
        rest = next;
        let label_end = this[BEGIN.len()..]
            .iter()
            .position(|&b| b == b'-')
            .unwrap_or(0);
        let label = &this[BEGIN.len()..BEGIN.len() + label_end];
        let kind = match label {
            b"PRIVATE KEY" => 0,
            b"EC PRIVATE KEY" | b"SM2 PRIVATE KEY" => 1,
            b"ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
            _ => continue,
        };
        let (_, der) = pem_rfc7468::decode_vec(this).map_err(|_| KeyError::Malformed("PEM"))?;
        return Ok(if kind == 0 {
            PrivateKeyDer::Pkcs8(der.into())
        } else {
            PrivateKeyDer::Sec1(der.into())
        });
    }
    Err(KeyError::NoPrivateKey)
}

/// Decrypts a password-protected SM2 private key (encrypted PKCS#8 in PEM or
/// DER, PBES2 with PBKDF2-HMAC-SM3/SM4-CBC as GmSSL writes it or
/// PBKDF2-HMAC-SHA256/AES-CBC as OpenSSL writes it) into plain PKCS#8 DER
/// for rustls. Unencrypted SM2 key files load too. The decrypted DER is
/// zeroized when the returned value is dropped.
///
/// ```
/// let err = rustls_gm::decrypt_sm2_private_key(b"not a key", b"pw").unwrap_err();
/// assert!(matches!(err, rustls_gm::KeyError::Malformed(_)));
/// ```
pub fn decrypt_sm2_private_key(
    data: &[u8],
    password: &[u8],
) -> Result<PrivateKeyDer<'static>, KeyError> {
    crate::sm2::decrypt_key_file(data, password)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An SM2 key as a rustls `SigningKey`. Its `Debug` output shows no secret.
struct Sm2SigningKey(Arc<HandshakeSigningKey>);

impl fmt::Debug for Sm2SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm2SigningKey")
    }
}

impl SigningKey for Sm2SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SM2SIG_SM3)
            .then(|| Box::new(Sm2Signer(Arc::clone(&self.0))) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(rustls::sign::public_key_to_spki(
            &AlgorithmIdentifier::from_slice(ALG_ID_SM2_PUBLIC_KEY),
            self.0.public(),
        ))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SM2_SIGNATURE_ALGORITHM
    }
}

struct Sm2Signer(Arc<HandshakeSigningKey>);

impl fmt::Debug for Sm2Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm2Signer")
    }
}

impl Signer for Sm2Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.0
            .sign(message)
            .ok_or(rustls::Error::FailedToGetRandomBytes)
    }

    fn scheme(&self) -> SignatureScheme {
        SM2SIG_SM3
    }
}
