//! Stateless session tickets sealed with SM4-GCM, so a GM-only server uses no
//! AES anywhere.

use std::fmt;
use std::sync::Arc;

use gm_sm4::Sm4GcmGeneric;
use rustls::crypto::GetRandomFailed;
use rustls::server::ProducesTickets;
use rustls::TicketRotator;
use zeroize::Zeroizing;

use crate::error::{rustls_err, Error};

/// Ticket key lifetime: a fresh key every 6 hours; tickets stay valid for
/// one more period after rotation (the same policy as rustls' own ticketers).
const LIFETIME_SECS: u32 = 6 * 60 * 60;
const NAME_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A session ticketer that seals tickets with SM4-GCM under a random key,
/// rotated every 6 hours. Install it with `server_config.ticketer = ...` to
/// resume TLS 1.3 sessions statelessly.
///
/// ```
/// let ticketer = rustls_gm::server::sm4_ticketer()?;
/// assert!(ticketer.enabled());
/// # Ok::<(), rustls_gm::Error>(())
/// ```
pub fn sm4_ticketer() -> Result<Arc<dyn ProducesTickets>, Error> {
    Ok(Arc::new(
        TicketRotator::new(LIFETIME_SECS, Sm4GcmTicketKey::generate)
            .map_err(rustls_err("creating the SM4-GCM ticketer"))?,
    ))
}

/// One ticket key: `name || nonce || SM4-GCM(plaintext) || tag`, with the
/// key name as associated data.
struct Sm4GcmTicketKey {
    name: [u8; NAME_LEN],
    gcm: Sm4GcmGeneric,
}

impl Sm4GcmTicketKey {
    fn generate() -> Result<Box<dyn ProducesTickets>, GetRandomFailed> {
        let mut key = Zeroizing::new([0u8; 16]);
        crate::rand::fill(&mut key[..])?;
        let mut name = [0u8; NAME_LEN];
        crate::rand::fill(&mut name)?;
        Ok(Box::new(Self {
            name,
            gcm: Sm4GcmGeneric::new(&key),
        }))
    }
}

impl fmt::Debug for Sm4GcmTicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm4GcmTicketKey").finish_non_exhaustive()
    }
}

impl ProducesTickets for Sm4GcmTicketKey {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME_SECS
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::rand::fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(NAME_LEN + NONCE_LEN + plain.len() + TAG_LEN);
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plain);
        let mut tag = [0u8; TAG_LEN];
        let body = &mut out[NAME_LEN + NONCE_LEN..];
        self.gcm
            .seal_in_place_detached(&nonce, &self.name, body, &mut tag)
            .ok()?;
        out.extend_from_slice(&tag);
        Some(out)
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let body_len = cipher.len().checked_sub(NAME_LEN + NONCE_LEN + TAG_LEN)?;
        let (name, rest) = cipher.split_at(NAME_LEN);
        if name != self.name {
            return None;
        }
        let (nonce, rest) = rest.split_at(NONCE_LEN);
        let (body, tag) = rest.split_at(body_len);
        let mut plain = body.to_vec();
        self.gcm
            .open_in_place_detached(nonce, name, &mut plain, tag)
            .ok()?;
        Some(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let t = Sm4GcmTicketKey::generate().unwrap();
        let sealed = t.encrypt(b"session state").unwrap();
        assert_eq!(t.decrypt(&sealed).unwrap(), b"session state");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x80;
            assert!(t.decrypt(&bad).is_none(), "byte {i}");
        }
        assert!(t.decrypt(&sealed[..20]).is_none());
        assert!(t.decrypt(&[]).is_none());
        let other = Sm4GcmTicketKey::generate().unwrap();
        assert!(other.decrypt(&sealed).is_none());
    }
}
