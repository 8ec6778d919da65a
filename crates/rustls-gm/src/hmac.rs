//! HMAC-SM3 for the TLS 1.3 key schedule (HKDF is built on it by rustls'
//! `HkdfUsingHmac`).

use gm_sm3::hmac::{KeyInit, Mac};
use rustls::crypto::hmac;

/// HMAC-SM3.
pub(crate) struct HmacSm3;

impl hmac::Hmac for HmacSm3 {
    fn with_key(&self, key: &[u8]) -> Box<dyn hmac::Key> {
        // HMAC accepts keys of any length: this cannot fail.
        match gm_sm3::HmacSm3::new_from_slice(key) {
            Ok(mac) => Box::new(HmacSm3Key(mac)),
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    fn hash_output_len(&self) -> usize {
        gm_sm3::DIGEST_LEN
    }
}

struct HmacSm3Key(gm_sm3::HmacSm3);

impl hmac::Key for HmacSm3Key {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> hmac::Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        hmac::Tag::new(&mac.finalize().into_bytes()[..])
    }

    fn tag_len(&self) -> usize {
        gm_sm3::DIGEST_LEN
    }
}
