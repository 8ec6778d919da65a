//! The only module that touches an SM2 implementation.
//!
//! Everything else in the crate goes through the small surface below
//! (ephemeral ECDH, signing with the TLS 1.3 identifier, verification with any
//! identifier, private key parsing).
//!
//! Signatures, ephemeral ECDH, key validation and encrypted key files come
//! from `gm-sm2` (hedged nonces, private keys in [1, n-2], typed errors,
//! constant-time scalar multiplication).

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::codepoints::{OID_EC_PUBLIC_KEY, OID_SM2_CURVE};
use crate::error::KeyError;

/// Length of an uncompressed SM2 point (`04 || x || y`).
pub(crate) const POINT_LEN: usize = 65;

/// Length of an SM2 scalar or coordinate.
pub(crate) const SCALAR_LEN: usize = 32;

/// An ephemeral SM2 key pair for one curveSM2 key exchange (gm-sm2's
/// constant-time ECDH).
pub(crate) struct EphemeralKey(gm_sm2::ecdh::EphemeralSecret);

impl EphemeralKey {
    /// Generates a key pair, or `None` if the OS random source failed.
    pub(crate) fn generate() -> Option<Self> {
        gm_sm2::ecdh::EphemeralSecret::generate().ok().map(Self)
    }

    /// Our public point, uncompressed.
    pub(crate) fn public(&self) -> &[u8; POINT_LEN] {
        self.0.public_key()
    }

    /// ECDH with the peer's point: the x coordinate of `d * Q`, or `None` if
    /// the peer's point is not an uncompressed point on the curve.
    pub(crate) fn agree(self, peer: &[u8]) -> Option<Zeroizing<[u8; SCALAR_LEN]>> {
        self.0.diffie_hellman(peer).ok()
    }
}

/// An SM2 private key that signs TLS 1.3 handshakes.
pub(crate) struct HandshakeSigningKey {
    key: gm_sm2::SigningKey,
    public: [u8; POINT_LEN],
}

impl HandshakeSigningKey {
    /// Signs `message` with the distinguishing identifier this key was made
    /// with (hedged nonce with OS randomness); returns the DER signature, or
    /// `None` if the random source failed.
    pub(crate) fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        Some(self.key.sign_message(message).ok()?.to_der())
    }

    /// The public point, uncompressed.
    pub(crate) fn public(&self) -> &[u8; POINT_LEN] {
        &self.public
    }
}

/// Verifies a DER-encoded SM2 signature over `message` by the uncompressed
/// point `public`, with distinguishing identifier `id`.
pub(crate) fn verify(id: &str, public: &[u8], message: &[u8], signature_der: &[u8]) -> bool {
    if public.len() != POINT_LEN || public[0] != 0x04 {
        return false;
    }
    let Ok(sig) = gm_sm2::Signature::from_der(signature_der) else {
        return false;
    };
    let Some(vk) = verifying_key(id, public) else {
        return false;
    };
    vk.verify_message(message, &sig).is_ok()
}

/// How many keys keep precomputed verification tables (88 KiB each).
const CACHED_KEYS: usize = 16;
/// How many keys seen once are remembered (a key gets tables on its
/// second verification, so one-off keys never pay for them).
const SEEN_KEYS: usize = 64;

/// Keys that verify again and again (the CA and intermediate keys of a
/// chain, the CertificateVerify key of a server one reconnects to) keep
/// gm-sm2's precomputed tables, which make verification several times
/// faster. Public data only; least recently used first out.
/// `RUSTLS_GM_VERIFY_CACHE=0` turns the cache off (for measurements).
struct KeyCache {
    /// (point || id, precomputed key), most recently used last.
    keys: Vec<(Vec<u8>, gm_sm2::VerifyingKey)>,
    /// point || id of keys seen once, oldest first.
    seen: Vec<Vec<u8>>,
}

static KEY_CACHE: std::sync::Mutex<KeyCache> = std::sync::Mutex::new(KeyCache {
    keys: Vec::new(),
    seen: Vec::new(),
});

fn cache_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("RUSTLS_GM_VERIFY_CACHE").map_or(true, |v| v != "0"))
}

/// A verifying key for `public` and `id`, with precomputed tables when the
/// key has been seen before.
fn verifying_key(id: &str, public: &[u8]) -> Option<gm_sm2::VerifyingKey> {
    let mut tag = public.to_vec();
    tag.extend_from_slice(id.as_bytes());
    let mut precompute = false;
    if cache_enabled() {
        let mut cache = KEY_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = cache.keys.iter().position(|(t, _)| *t == tag) {
            let entry = cache.keys.remove(pos);
            let vk = entry.1.clone();
            cache.keys.push(entry);
            return Some(vk);
        }
        if let Some(pos) = cache.seen.iter().position(|t| *t == tag) {
            cache.seen.remove(pos);
            precompute = true;
        } else {
            if cache.seen.len() == SEEN_KEYS {
                cache.seen.remove(0);
            }
            cache.seen.push(tag.clone());
        }
    }
    let pk = gm_sm2::PublicKey::from_sec1_bytes(public).ok()?;
    let mut vk = gm_sm2::VerifyingKey::new(&pk, id.as_bytes()).ok()?;
    if precompute {
        // Built outside the lock: about half a millisecond.
        vk.precompute();
        let mut cache = KEY_CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if !cache.keys.iter().any(|(t, _)| *t == tag) {
            if cache.keys.len() == CACHED_KEYS {
                cache.keys.remove(0);
            }
            cache.keys.push((tag, vk.clone()));
        }
    }
    Some(vk)
}

/// Decrypts a password-protected SM2 key file (PEM or DER encrypted PKCS#8,
/// PBES2 as GmSSL or OpenSSL write it); plain files load too.
pub(crate) fn decrypt_key_file(
    data: &[u8],
    password: &[u8],
) -> Result<PrivateKeyDer<'static>, KeyError> {
    let key = gm_sm2::PrivateKey::load(data, Some(password)).map_err(key_error)?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        key.to_pkcs8_der().to_vec(),
    )))
}

fn key_error(e: gm_sm2::Error) -> KeyError {
    match e {
        gm_sm2::Error::WrongPassword => KeyError::WrongPassword,
        gm_sm2::Error::ScalarOutOfRange { .. } => KeyError::InvalidScalar,
        gm_sm2::Error::KeyMismatch => KeyError::PublicKeyMismatch,
        gm_sm2::Error::Rng => KeyError::Random,
        gm_sm2::Error::UnsupportedAlgorithm { .. } => KeyError::Unsupported,
        _ => KeyError::Malformed("SM2 key file"),
    }
}

/// What a private key file turned out to hold.
pub(crate) enum ParsedKey {
    /// An SM2 key, ready to sign with the given identifier.
    Sm2(Box<HandshakeSigningKey>),
    /// Not an SM2 key (RSA, ECDSA on another curve, Ed25519, ...): the
    /// caller may hand it to another provider.
    NotSm2,
}

/// Parses a private key in any DER container rustls knows (PKCS#8, SEC1;
/// PKCS#1 is RSA and so never SM2) and, if it is SM2, binds it to `id`.
///
/// Accepted SM2 forms: PKCS#8 with `id-ecPublicKey` + `sm2p256v1` (OpenSSL 3,
/// GmSSL 3), PKCS#8 whose algorithm OID is `sm2p256v1` itself (older tools),
/// and SEC1 `ECPrivateKey` with the `sm2p256v1` parameter, or without
/// parameters when the embedded public key proves the curve.
pub(crate) fn parse_private_key(der: &PrivateKeyDer<'_>, id: &str) -> Result<ParsedKey, KeyError> {
    match der {
        PrivateKeyDer::Pkcs1(_) => Ok(ParsedKey::NotSm2),
        PrivateKeyDer::Pkcs8(p) => parse_pkcs8(p.secret_pkcs8_der(), id),
        PrivateKeyDer::Sec1(s) => parse_sec1(s.secret_sec1_der(), None, id),
        _ => Ok(ParsedKey::NotSm2),
    }
}

fn parse_pkcs8(der: &[u8], id: &str) -> Result<ParsedKey, KeyError> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map_err(|_| KeyError::Malformed("PKCS#8 PrivateKeyInfo"))?;
    let alg = &info.algorithm;
    let curve_from_alg = if alg.oid == OID_SM2_CURVE {
        Some(OID_SM2_CURVE)
    } else if alg.oid == OID_EC_PUBLIC_KEY {
        match alg.parameters.as_ref() {
            Some(p) => Some(
                p.decode_as::<der::asn1::ObjectIdentifier>()
                    .map_err(|_| KeyError::Malformed("EC parameters are not a named curve"))?,
            ),
            None => None,
        }
    } else {
        return Ok(ParsedKey::NotSm2);
    };
    if let Some(curve) = curve_from_alg {
        if curve != OID_SM2_CURVE {
            return Ok(ParsedKey::NotSm2);
        }
    }
    parse_sec1(info.private_key.as_bytes(), curve_from_alg, id)
}

fn parse_sec1(
    der: &[u8],
    outer_curve: Option<der::asn1::ObjectIdentifier>,
    id: &str,
) -> Result<ParsedKey, KeyError> {
    let ec =
        sec1::EcPrivateKey::try_from(der).map_err(|_| KeyError::Malformed("SEC1 ECPrivateKey"))?;
    let inner_curve = match ec.parameters {
        Some(p) => Some(
            p.named_curve()
                .ok_or(KeyError::Malformed("EC parameters are not a named curve"))?,
        ),
        None => None,
    };
    let curve = match (outer_curve, inner_curve) {
        (Some(a), Some(b)) if a != b => {
            return Err(KeyError::Malformed("PKCS#8 and SEC1 name different curves"))
        }
        (a, b) => a.or(b),
    };
    match curve {
        Some(c) if c != OID_SM2_CURVE => return Ok(ParsedKey::NotSm2),
        Some(_) => {}
        // No curve named anywhere: only the embedded public key can tell.
        None if ec.public_key.is_none() => return Err(KeyError::AmbiguousCurve),
        None => {}
    }

    if ec.private_key.is_empty() || ec.private_key.len() > SCALAR_LEN {
        return Err(KeyError::InvalidScalar);
    }
    let mut scalar = Zeroizing::new([0u8; SCALAR_LEN]);
    scalar[SCALAR_LEN - ec.private_key.len()..].copy_from_slice(ec.private_key);
    let sk = gm_sm2::PrivateKey::from_bytes(&scalar[..]).map_err(key_error)?;
    let public = sk.public_key().to_sec1_bytes();

    if let Some(embedded) = ec.public_key {
        if embedded != public.as_slice() {
            return if curve.is_none() {
                // Unnamed curve and the public key is not ours on SM2: some
                // other curve's key.
                Ok(ParsedKey::NotSm2)
            } else {
                Err(KeyError::PublicKeyMismatch)
            };
        }
    }

    let key = gm_sm2::SigningKey::new(&sk, id.as_bytes()).map_err(key_error)?;
    Ok(ParsedKey::Sm2(Box::new(HandshakeSigningKey {
        key,
        public,
    })))
}

/// Whether a certificate's subject key is an SM2 key: `id-ecPublicKey` with
/// the `sm2p256v1` curve, or (some older GM certificates) the `sm2p256v1` OID
/// as the algorithm itself.
pub(crate) fn is_sm2_certificate(cert: &rustls::pki_types::CertificateDer<'_>) -> bool {
    let Ok(parsed) = rustls::server::ParsedCertificate::try_from(cert) else {
        return false;
    };
    let spki = parsed.subject_public_key_info();
    let Ok(info) = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(spki.as_ref()) else {
        return false;
    };
    let alg = &info.algorithm;
    alg.oid == OID_SM2_CURVE
        || (alg.oid == OID_EC_PUBLIC_KEY
            && alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                == Some(OID_SM2_CURVE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdh_agrees_and_rejects_bad_points() {
        let a = EphemeralKey::generate().unwrap();
        let b = EphemeralKey::generate().unwrap();
        let (pa, pb) = (*a.public(), *b.public());
        let sa = a.agree(&pb).unwrap();
        let sb = b.agree(&pa).unwrap();
        assert_eq!(*sa, *sb);

        let c = EphemeralKey::generate().unwrap();
        let mut bad = pa;
        bad[64] ^= 1; // off the curve
        assert!(EphemeralKey::generate().unwrap().agree(&bad).is_none());
        assert!(c.agree(&pa[..33]).is_none());
        let mut compressed = [0u8; 33];
        compressed.copy_from_slice(&pa[..33]);
        compressed[0] = 0x02;
        assert!(EphemeralKey::generate()
            .unwrap()
            .agree(&compressed)
            .is_none());
        assert!(EphemeralKey::generate()
            .unwrap()
            .agree(&[0u8; 65])
            .is_none());
        let mut identity = [0u8; 65];
        identity[0] = 0x04;
        assert!(EphemeralKey::generate().unwrap().agree(&identity).is_none());
    }

    #[test]
    fn sign_verify_binds_the_identifier() {
        let sk = gm_sm2::PrivateKey::from_bytes(&[7u8; 32]).unwrap();
        let signer = gm_sm2::SigningKey::new(&sk, b"alice").unwrap();
        let sig = signer.sign_message(b"msg").unwrap().to_der();
        let public = sk.public_key().to_sec1_bytes();
        assert!(verify("alice", &public, b"msg", &sig));
        assert!(!verify("bob", &public, b"msg", &sig));
        assert!(!verify("alice", &public, b"msh", &sig));
        assert!(!verify("alice", &public[..64], b"msg", &sig));
        assert!(!verify("alice", &public, b"msg", &sig[..sig.len() - 1]));
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn cached_keys_verify_like_fresh_ones() {
        let key = gm_sm2::PrivateKey::generate().unwrap();
        let public = key.public_key().to_sec1_bytes();
        let signer = gm_sm2::SigningKey::new(&key, gm_sm2::TLS13_ID).unwrap();
        let id = std::str::from_utf8(gm_sm2::TLS13_ID).unwrap();
        // First sighting: plain; second: tables built; later: cache hits.
        for round in 0..5u8 {
            let msg = [round; 40];
            let sig = signer.sign_message(&msg).unwrap().to_der();
            assert!(verify(id, &public, &msg, &sig), "round {round}");
            assert!(
                !verify(id, &public, &[round ^ 1; 40], &sig),
                "round {round}"
            );
            // The same key under another ID is another cache entry and fails.
            assert!(!verify("1234567812345678", &public, &msg, &sig));
        }
        let cache = KEY_CACHE.lock().unwrap();
        assert!(
            cache_enabled()
                == cache
                    .keys
                    .iter()
                    .any(|(t, vk)| t.starts_with(&public) && vk.is_precomputed())
        );
    }
}
