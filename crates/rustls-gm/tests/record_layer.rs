//! The SM4 record layer and the SM3 key schedule through rustls' public
//! traits, checked against gm-sm3 / gm-sm4 used directly. (The RFC 8998
//! Appendix A AEAD answers are checked on the record cipher itself in
//! `src/aead.rs`.)

use gm_sm4::{Sm4CcmGeneric, Sm4GcmGeneric};
use rustls::crypto::cipher::{
    InboundOpaqueMessage, MessageDecrypter, MessageEncrypter, OutboundPlainMessage,
};
use rustls::crypto::tls13::OkmBlock;
use rustls::internal::{derive_traffic_iv, derive_traffic_key};
use rustls::{ContentType, ProtocolVersion, SupportedCipherSuite};
use rustls_gm::suites::{TLS13_SM4_CCM_SM3, TLS13_SM4_GCM_SM3};

const SECRET: [u8; 32] = [0x42; 32];

/// HKDF-Expand-Label(secret, label, "", len) computed with gm-sm3 directly.
fn expand_label(label: &[u8], len: usize) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    let hk = gm_sm3::HkdfSm3::from_prk(&SECRET).unwrap();
    let mut out = vec![0u8; len];
    hk.expand(&info, &mut out).unwrap();
    out
}

fn seal_direct(gcm: bool, key: &[u8], nonce: &[u8], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let key: [u8; 16] = key.try_into().unwrap();
    let mut buf = pt.to_vec();
    let mut tag = [0u8; 16];
    if gcm {
        Sm4GcmGeneric::new(&key)
            .seal_in_place_detached(nonce, aad, &mut buf, &mut tag)
            .unwrap();
    } else {
        Sm4CcmGeneric::new(&key)
            .seal_in_place_detached(nonce, aad, &mut buf, &mut tag)
            .unwrap();
    }
    buf.extend_from_slice(&tag);
    buf
}

struct Keys {
    enc: Box<dyn MessageEncrypter>,
    dec: Box<dyn MessageDecrypter>,
    key: Vec<u8>,
    iv: Vec<u8>,
}

fn keys(suite: SupportedCipherSuite) -> Keys {
    let t13 = suite.tls13().unwrap();
    let expander = t13.hkdf_provider.expander_for_okm(&OkmBlock::new(&SECRET));
    let key = derive_traffic_key(expander.as_ref(), t13.aead_alg);
    let iv = derive_traffic_iv(expander.as_ref());
    let (key_bytes, iv_bytes) = (key.as_ref().to_vec(), iv.as_ref().to_vec());
    let enc = t13.aead_alg.encrypter(key, iv);
    let dec = t13.aead_alg.decrypter(
        derive_traffic_key(expander.as_ref(), t13.aead_alg),
        derive_traffic_iv(expander.as_ref()),
    );
    Keys {
        enc,
        dec,
        key: key_bytes,
        iv: iv_bytes,
    }
}

fn nonce(iv: &[u8], seq: u64) -> Vec<u8> {
    let mut n = iv.to_vec();
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

#[test]
fn key_schedule_uses_hkdf_sm3() {
    for suite in [TLS13_SM4_GCM_SM3, TLS13_SM4_CCM_SM3] {
        let k = keys(suite);
        assert_eq!(k.key, expand_label(b"key", 16));
        assert_eq!(k.iv, expand_label(b"iv", 12));
        let t13 = suite.tls13().unwrap();
        assert_eq!(t13.common.hash_provider.output_len(), 32);
        assert_eq!(
            t13.common.hash_provider.hash(b"abc").as_ref(),
            &gm_sm3::sm3(b"abc")[..]
        );
        assert!(t13.quic.is_none());
        assert_eq!(suite.version(), &rustls::version::TLS13);
    }
}

#[test]
fn records_match_sm4_directly_and_round_trip() {
    for (suite, gcm) in [(TLS13_SM4_GCM_SM3, true), (TLS13_SM4_CCM_SM3, false)] {
        let mut k = keys(suite);
        for seq in [0u64, 1, 7, 0x0102_0304_0506_0708] {
            for len in [0usize, 1, 15, 16, 17, 1000, 16384] {
                let pt: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let msg = OutboundPlainMessage {
                    version: ProtocolVersion::TLSv1_2,
                    typ: ContentType::ApplicationData,
                    payload: pt[..].into(),
                };
                let record = k.enc.encrypt(msg, seq).unwrap().encode();
                assert_eq!(record.len(), 5 + len + 1 + 16);
                assert_eq!(record[..3], [0x17, 0x03, 0x03]);
                assert_eq!(k.enc.encrypted_payload_len(len), len + 17);
                let inner = [&pt[..], &[0x17]].concat();
                let expect = seal_direct(gcm, &k.key, &nonce(&k.iv, seq), &record[..5], &inner);
                assert_eq!(record[5..], expect[..], "{suite:?} seq {seq} len {len}");

                let mut payload = record[5..].to_vec();
                let opaque = InboundOpaqueMessage::new(
                    ContentType::ApplicationData,
                    ProtocolVersion::TLSv1_2,
                    &mut payload,
                );
                let plain = k.dec.decrypt(opaque, seq).unwrap();
                assert_eq!(plain.typ, ContentType::ApplicationData);
                assert_eq!(plain.payload, &pt[..]);
            }
        }
    }
}

#[test]
fn tampering_wrong_sequence_and_short_records_fail() {
    for suite in [TLS13_SM4_GCM_SM3, TLS13_SM4_CCM_SM3] {
        let mut k = keys(suite);
        let msg = OutboundPlainMessage {
            version: ProtocolVersion::TLSv1_2,
            typ: ContentType::ApplicationData,
            payload: b"attack at dawn"[..].into(),
        };
        let record = k.enc.encrypt(msg, 3).unwrap().encode();
        let body = record[5..].to_vec();
        for i in 0..body.len() {
            let mut bad = body.clone();
            bad[i] ^= 0x01;
            let m = InboundOpaqueMessage::new(
                ContentType::ApplicationData,
                ProtocolVersion::TLSv1_2,
                &mut bad,
            );
            assert!(
                matches!(k.dec.decrypt(m, 3), Err(rustls::Error::DecryptError)),
                "{suite:?} byte {i}"
            );
        }
        let mut good = body.clone();
        let m = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut good,
        );
        assert!(k.dec.decrypt(m, 4).is_err(), "wrong sequence number");
        for len in [0usize, 1, 15, 16] {
            let mut short = body[..len].to_vec();
            let m = InboundOpaqueMessage::new(
                ContentType::ApplicationData,
                ProtocolVersion::TLSv1_2,
                &mut short,
            );
            assert!(k.dec.decrypt(m, 3).is_err(), "short record of {len}");
        }
    }
}

#[test]
fn inner_content_type_and_padding() {
    for (suite, gcm) in [(TLS13_SM4_GCM_SM3, true), (TLS13_SM4_CCM_SM3, false)] {
        let mut k = keys(suite);
        // "hi" as a handshake message with three bytes of zero padding.
        let inner = b"hi\x16\x00\x00\x00";
        let header = [0x17, 0x03, 0x03, 0x00, (inner.len() + 16) as u8];
        let mut body = seal_direct(gcm, &k.key, &nonce(&k.iv, 9), &header, inner);
        let m = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut body,
        );
        let plain = k.dec.decrypt(m, 9).unwrap();
        assert_eq!(plain.typ, ContentType::Handshake);
        assert_eq!(plain.payload, b"hi");

        // All padding, no content type: refused.
        let inner = [0u8; 4];
        let header = [0x17, 0x03, 0x03, 0x00, (inner.len() + 16) as u8];
        let mut body = seal_direct(gcm, &k.key, &nonce(&k.iv, 10), &header, &inner);
        let m = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut body,
        );
        assert!(k.dec.decrypt(m, 10).is_err());
    }
}
