//! The TLS 1.3 record layer for SM4-GCM and SM4-CCM (RFC 8998 section 3.1):
//! 16-byte key, 12-byte nonce (`iv XOR seq`), 16-byte tag, CCM with q = 3.

use gm_sm4::{Sm4CcmGeneric, Sm4GcmGeneric};
use rustls::crypto::cipher::{
    make_tls13_aad, AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, MessageDecrypter,
    MessageEncrypter, Nonce, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::{ConnectionTrafficSecrets, ContentType, ProtocolVersion};

/// SM4 key length.
const KEY_LEN: usize = 16;
/// AEAD tag length for both modes in TLS.
pub(crate) const TAG_LEN: usize = 16;

/// Which SM4 AEAD mode a suite uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Gcm,
    Ccm,
}

/// `Tls13AeadAlgorithm` for one SM4 mode.
pub(crate) struct Sm4Aead(pub(crate) Mode);

/// A keyed SM4 AEAD.
enum RecordCipher {
    Gcm(Sm4GcmGeneric),
    Ccm(Sm4CcmGeneric),
}

impl RecordCipher {
    fn new(mode: Mode, key: &[u8]) -> Option<Self> {
        let key: &[u8; KEY_LEN] = key.try_into().ok()?;
        Some(match mode {
            Mode::Gcm => Self::Gcm(Sm4GcmGeneric::new(key)),
            Mode::Ccm => Self::Ccm(Sm4CcmGeneric::new(key)),
        })
    }

    fn seal(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result<(), gm_sm4::Error> {
        match self {
            Self::Gcm(c) => c.seal_in_place_detached(nonce, aad, buf, tag),
            Self::Ccm(c) => c.seal_in_place_detached(nonce, aad, buf, tag),
        }
    }

    fn open(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), gm_sm4::Error> {
        match self {
            Self::Gcm(c) => c.open_in_place_detached(nonce, aad, buf, tag),
            Self::Ccm(c) => c.open_in_place_detached(nonce, aad, buf, tag),
        }
    }
}

impl Tls13AeadAlgorithm for Sm4Aead {
    fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Sm4RecordEncrypter {
            cipher: RecordCipher::new(self.0, key.as_ref()),
            iv,
        })
    }

    fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Sm4RecordDecrypter {
            cipher: RecordCipher::new(self.0, key.as_ref()),
            iv,
        })
    }

    fn key_len(&self) -> usize {
        KEY_LEN
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        // rustls 0.23 has no `ConnectionTrafficSecrets` variant for SM4.
        Err(UnsupportedOperationError)
    }
}

/// Seals TLS 1.3 records. `cipher` is `None` only if rustls handed over a key
/// of the wrong length, in which case every record fails to encrypt.
struct Sm4RecordEncrypter {
    cipher: Option<RecordCipher>,
    iv: Iv,
}

impl MessageEncrypter for Sm4RecordEncrypter {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        seq: u64,
    ) -> Result<OutboundOpaqueMessage, rustls::Error> {
        let cipher = self.cipher.as_ref().ok_or(rustls::Error::EncryptError)?;
        let total_len = self.encrypted_payload_len(msg.payload.len());
        let mut payload = PrefixedPayload::with_capacity(total_len);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&msg.typ.to_array());

        let nonce = Nonce::new(&self.iv, seq);
        let aad = make_tls13_aad(total_len);
        let mut tag = [0u8; TAG_LEN];
        cipher
            .seal(&nonce.0, &aad, payload.as_mut(), &mut tag)
            .map_err(|_| rustls::Error::EncryptError)?;
        payload.extend_from_slice(&tag);

        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            // TLS 1.3 records carry the legacy version 0x0303 (RFC 8446 5.1).
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + TAG_LEN
    }
}

/// Opens TLS 1.3 records.
struct Sm4RecordDecrypter {
    cipher: Option<RecordCipher>,
    iv: Iv,
}

impl MessageDecrypter for Sm4RecordDecrypter {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        seq: u64,
    ) -> Result<InboundPlainMessage<'a>, rustls::Error> {
        let cipher = self.cipher.as_ref().ok_or(rustls::Error::DecryptError)?;
        let payload = &mut msg.payload;
        let Some(plain_len) = payload.len().checked_sub(TAG_LEN) else {
            return Err(rustls::Error::DecryptError);
        };
        let nonce = Nonce::new(&self.iv, seq);
        let aad = make_tls13_aad(payload.len());
        let (body, tag) = payload.split_at_mut(plain_len);
        cipher
            .open(&nonce.0, &aad, body, tag)
            .map_err(|_| rustls::Error::DecryptError)?;
        payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    const KEY: &str = "0123456789abcdeffedcba9876543210";
    const NONCE: &str = "00001234567800000000abcd";
    const AAD: &str = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    const PT: &str = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccddddddddddddddddeeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa";

    fn check(mode: Mode, ct: &str, tag: &str) {
        let c = RecordCipher::new(mode, &h(KEY)).unwrap();
        let mut buf = h(PT);
        let mut t = [0u8; TAG_LEN];
        c.seal(&h(NONCE), &h(AAD), &mut buf, &mut t).unwrap();
        assert_eq!(buf, h(ct));
        assert_eq!(t[..], h(tag)[..]);
        c.open(&h(NONCE), &h(AAD), &mut buf, &t).unwrap();
        assert_eq!(buf, h(PT));

        let mut sealed = h(ct);
        let mut bad = t;
        bad[0] ^= 1;
        assert!(c.open(&h(NONCE), &h(AAD), &mut sealed, &bad).is_err());
    }

    /// RFC 8998 Appendix A.1.
    #[test]
    fn rfc8998_a1_sm4_gcm() {
        check(
            Mode::Gcm,
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d",
            "83de3541e4c2b58177e065a9bf7b62ec",
        );
    }

    /// RFC 8998 Appendix A.2.
    #[test]
    fn rfc8998_a2_sm4_ccm() {
        check(
            Mode::Ccm,
            "48af93501fa62adbcd414cce6034d895dda1bf8f132f042098661572e7483094fd12e518ce062c98acee28d95df4416bed31a2f04476c18bb40c84a74b97dc5b",
            "16842d4fa186f56ab33256971fa110f4",
        );
    }

    #[test]
    fn wrong_key_length_fails_closed() {
        assert!(RecordCipher::new(Mode::Gcm, &[0u8; 15]).is_none());
        let mut enc = Sm4RecordEncrypter {
            cipher: None,
            iv: Iv::new([0u8; 12]),
        };
        let msg = OutboundPlainMessage {
            typ: ContentType::ApplicationData,
            version: ProtocolVersion::TLSv1_3,
            payload: b"x"[..].into(),
        };
        assert!(enc.encrypt(msg, 0).is_err());
    }
}
