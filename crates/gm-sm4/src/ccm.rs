//! SM4-CCM (NIST SP 800-38C / RFC 3610 with SM4; RFC 8998 `AEAD_SM4_CCM`).

use cipher::KeyInit;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::keystream::{self, Increment};
use crate::{backend, Error, RawBlock, Sm4};

const NONCE_LENGTHS: &str = "7..=13 bytes (NIST SP 800-38C)";
const TAG_LENGTHS: &str = "4, 6, 8, 10, 12, 14 or 16 bytes (NIST SP 800-38C)";

/// SM4-CCM with any nonce length from 7 to 13 bytes (so q = 15 - nonce
/// length bytes of message length) and any even tag length from 4 to 16.
///
/// This is the general form; [`Sm4Ccm`] is the RFC 8998 profile (12-byte
/// nonce, q = 3, 16-byte tag) behind the `aead` traits.
///
/// ```
/// use gm_sm4::Sm4CcmGeneric;
/// let ccm = Sm4CcmGeneric::new(&[1u8; 16]);
/// let mut buf = *b"attack at dawn";
/// let mut tag = [0u8; 8];
/// ccm.seal_in_place_detached(&[2u8; 13], b"header", &mut buf, &mut tag).unwrap();
/// ccm.open_in_place_detached(&[2u8; 13], b"header", &mut buf, &tag).unwrap();
/// assert_eq!(&buf, b"attack at dawn");
/// ```
#[derive(Clone, Debug)]
pub struct Sm4CcmGeneric {
    cipher: Sm4,
}

impl Sm4CcmGeneric {
    /// Keys SM4-CCM on the detected backend.
    pub fn new(key: &[u8; 16]) -> Self {
        Self::with_cipher(Sm4::new(&(*key).into()))
    }

    /// Builds SM4-CCM over an already keyed SM4 (keeping its backend).
    pub fn with_cipher(cipher: Sm4) -> Self {
        Self { cipher }
    }

    /// Encrypts `buf` in place and writes the authentication tag into `tag`,
    /// whose length selects the tag length.
    ///
    /// One pass where a pair of blocks costs about one (see
    /// `interleave`): each CBC-MAC block is encrypted together with the
    /// counter block for the same plaintext block, so the keystream rides
    /// along with the serial MAC chain. Otherwise the MAC chain, then a bulk
    /// CTR pass.
    pub fn seal_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Error> {
        let q = check_lengths(nonce, buf.len(), tag.len())?;
        let (mut y, mut s0, mut ctr) = self.start(nonce, q, aad, buf.len(), tag.len());
        let mut ks = [0u8; 16];
        if self.interleave(buf.len()) {
            for chunk in buf.chunks_mut(16) {
                ks = ctr;
                keystream::increment(&mut ctr, Increment::Last(q));
                if let Ok(block) = <&mut RawBlock>::try_from(&mut *chunk) {
                    y = xor16(&y, block);
                    self.cipher.encrypt_pair(&mut y, &mut ks);
                    *block = xor16(block, &ks);
                } else {
                    for (a, b) in y.iter_mut().zip(chunk.iter()) {
                        *a ^= b;
                    }
                    self.cipher.encrypt_pair(&mut y, &mut ks);
                    for (d, k) in chunk.iter_mut().zip(ks) {
                        *d ^= k;
                    }
                }
            }
        } else {
            self.mac_payload(&mut y, buf);
            keystream::apply(&self.cipher, &mut ctr, Increment::Last(q), buf);
        }
        for (m, s) in y.iter_mut().zip(s0) {
            *m ^= s;
        }
        tag.copy_from_slice(&y[..tag.len()]);
        y.zeroize();
        s0.zeroize();
        ks.zeroize();
        ctr.zeroize();
        Ok(())
    }

    /// Decrypts `buf` in place and verifies `tag` (constant time). On a tag
    /// mismatch `buf` is zeroed: no unauthenticated plaintext is released.
    ///
    /// One pass where a pair of blocks costs about one: the counter block of
    /// payload block i is encrypted together with the CBC-MAC block of
    /// payload block i - 1. Otherwise a bulk CTR pass, then the MAC chain.
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let q = check_lengths(nonce, buf.len(), tag.len())?;
        let (mut y, mut s0, mut ctr) = self.start(nonce, q, aad, buf.len(), tag.len());
        let mut ks = [0u8; 16];
        if self.interleave(buf.len()) {
            for (i, chunk) in buf.chunks_mut(16).enumerate() {
                ks = ctr;
                keystream::increment(&mut ctr, Increment::Last(q));
                if i == 0 {
                    self.cipher.encrypt_one(&mut ks);
                } else {
                    // `y` already holds the previous plaintext block.
                    self.cipher.encrypt_pair(&mut y, &mut ks);
                }
                if let Ok(block) = <&mut RawBlock>::try_from(&mut *chunk) {
                    *block = xor16(block, &ks);
                    y = xor16(&y, block);
                } else {
                    for ((d, k), a) in chunk.iter_mut().zip(ks).zip(y.iter_mut()) {
                        *d ^= k;
                        *a ^= *d;
                    }
                }
            }
            if !buf.is_empty() {
                self.cipher.encrypt_one(&mut y);
            }
        } else {
            keystream::apply(&self.cipher, &mut ctr, Increment::Last(q), buf);
            self.mac_payload(&mut y, buf);
        }
        for (m, s) in y.iter_mut().zip(s0) {
            *m ^= s;
        }
        s0.zeroize();
        ks.zeroize();
        ctr.zeroize();
        let ok = y[..tag.len()].ct_eq(tag);
        y.zeroize();
        if !bool::from(ok) {
            buf.zeroize();
            return Err(Error::TagMismatch);
        }
        Ok(())
    }

    /// Whether to encrypt each CBC-MAC block together with a counter block:
    /// always where a pair costs about one block
    /// ([`backend::pair_costs_one_block`]); elsewhere only for short
    /// payloads, since for longer ones a separate bulk CTR pass (about a
    /// tenth of the MAC chain's time) is cheaper than riding along.
    fn interleave(&self, payload_len: usize) -> bool {
        backend::pair_costs_one_block(self.cipher.backend()) || payload_len <= 256
    }

    /// CBC-MAC over the payload blocks (the last one zero-padded).
    fn mac_payload(&self, y: &mut RawBlock, data: &[u8]) {
        let mut absorber = Absorber::new(y);
        absorber.absorb(&self.cipher, data);
        absorber.finish(&self.cipher);
    }

    /// The CBC-MAC state after B0 and the associated data, E(Ctr0) (the tag
    /// mask, encrypted together with B0) and Ctr1.
    fn start(
        &self,
        nonce: &[u8],
        q: usize,
        aad: &[u8],
        msg_len: usize,
        tag_len: usize,
    ) -> (RawBlock, RawBlock, RawBlock) {
        let mut y = [0u8; 16];
        y[0] =
            (u8::from(!aad.is_empty()) << 6) | ((((tag_len - 2) / 2) as u8) << 3) | (q as u8 - 1);
        y[1..1 + nonce.len()].copy_from_slice(nonce);
        let len = (msg_len as u64).to_be_bytes();
        y[16 - q..].copy_from_slice(&len[8 - q.min(8)..]);
        let mut ctr = counter0(nonce, q);
        let mut s0 = ctr;
        self.cipher.encrypt_pair(&mut y, &mut s0);
        keystream::increment(&mut ctr, Increment::Last(q));

        if !aad.is_empty() {
            // Length encoding of the associated data (SP 800-38C A.2.2).
            let mut head = [0u8; 10];
            let head_len = if aad.len() < 0xff00 {
                head[..2].copy_from_slice(&(aad.len() as u16).to_be_bytes());
                2
            } else if (aad.len() as u64) <= u64::from(u32::MAX) {
                head[..2].copy_from_slice(&[0xff, 0xfe]);
                head[2..6].copy_from_slice(&(aad.len() as u32).to_be_bytes());
                6
            } else {
                head[..2].copy_from_slice(&[0xff, 0xff]);
                head[2..10].copy_from_slice(&(aad.len() as u64).to_be_bytes());
                10
            };
            let mut absorber = Absorber::new(&mut y);
            absorber.absorb(&self.cipher, &head[..head_len]);
            absorber.absorb(&self.cipher, aad);
            absorber.finish(&self.cipher);
        }
        (y, s0, ctr)
    }
}

/// Feeds bytes into a CBC-MAC chain, zero-padding the final partial block.
struct Absorber<'a> {
    y: &'a mut RawBlock,
    fill: usize,
}

impl<'a> Absorber<'a> {
    fn new(y: &'a mut RawBlock) -> Self {
        Self { y, fill: 0 }
    }

    fn absorb(&mut self, cipher: &Sm4, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (16 - self.fill).min(data.len());
            for (a, b) in self.y[self.fill..self.fill + take]
                .iter_mut()
                .zip(&data[..take])
            {
                *a ^= b;
            }
            self.fill += take;
            data = &data[take..];
            if self.fill == 16 {
                cipher.encrypt_one(self.y);
                self.fill = 0;
            }
        }
    }

    fn finish(self, cipher: &Sm4) {
        if self.fill != 0 {
            cipher.encrypt_one(self.y);
        }
    }
}

/// `a ^ b` on whole blocks.
#[inline]
fn xor16(a: &RawBlock, b: &RawBlock) -> RawBlock {
    (u128::from_ne_bytes(*a) ^ u128::from_ne_bytes(*b)).to_ne_bytes()
}

/// Ctr0 = flags(q - 1) || nonce || 0^q.
fn counter0(nonce: &[u8], q: usize) -> RawBlock {
    let mut ctr = [0u8; 16];
    ctr[0] = q as u8 - 1;
    ctr[1..1 + nonce.len()].copy_from_slice(nonce);
    ctr
}

/// Checks the parameters and returns q, the width of the length field.
fn check_lengths(nonce: &[u8], msg_len: usize, tag_len: usize) -> Result<usize, Error> {
    if !(7..=13).contains(&nonce.len()) {
        return Err(Error::InvalidNonceLength {
            got: nonce.len(),
            allowed: NONCE_LENGTHS,
        });
    }
    if !(4..=16).contains(&tag_len) || !tag_len.is_multiple_of(2) {
        return Err(Error::InvalidTagLength {
            got: tag_len,
            allowed: TAG_LENGTHS,
        });
    }
    let q = 15 - nonce.len();
    if q < 8 && (msg_len as u64) >> (8 * q) != 0 {
        return Err(Error::MessageTooLong {
            got: msg_len as u64,
            max: (1u64 << (8 * q)) - 1,
        });
    }
    Ok(q)
}

crate::tls_profile::tls_profile! {
    /// `AEAD_SM4_CCM` as used by TLS_SM4_CCM_SM3 (RFC 8998): 16-byte key,
    /// 12-byte nonce (so messages up to 2^24 - 1 bytes), 16-byte tag appended.
    ///
    /// ```
    /// use gm_sm4::Sm4Ccm;
    /// use gm_sm4::aead::{Aead, KeyInit, Nonce};
    ///
    /// let ccm = Sm4Ccm::new(&[0x42; 16].into());
    /// let nonce = Nonce::<Sm4Ccm>::from([0u8; 12]);
    /// let sealed = ccm.encrypt(&nonce, &b"payload"[..]).unwrap();
    /// assert_eq!(ccm.decrypt(&nonce, &sealed[..]).unwrap(), b"payload");
    /// ```
    Sm4Ccm over Sm4CcmGeneric, "SM4-CCM"
}
