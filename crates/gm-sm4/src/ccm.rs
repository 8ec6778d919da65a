//! SM4-CCM (NIST SP 800-38C / RFC 3610 with SM4; RFC 8998 `AEAD_SM4_CCM`).

use cipher::KeyInit;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::keystream::{self, Increment};
use crate::{Error, RawBlock, Sm4};

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
    pub fn seal_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Error> {
        let q = check_lengths(nonce, buf.len(), tag.len())?;
        let mut mac = self.cbc_mac(nonce, q, aad, buf, tag.len());
        let mut ctr = counter0(nonce, q);
        self.finish_tag(&mut ctr, q, &mut mac);
        tag.copy_from_slice(&mac[..tag.len()]);
        mac.zeroize();
        keystream::apply(&self.cipher, &mut ctr, Increment::Last(q), buf);
        Ok(())
    }

    /// Decrypts `buf` in place and verifies `tag` (constant time). On a tag
    /// mismatch `buf` is zeroed: no unauthenticated plaintext is released.
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        let q = check_lengths(nonce, buf.len(), tag.len())?;
        let mut ctr = counter0(nonce, q);
        let mut s0 = ctr;
        self.cipher.encrypt_one(&mut s0);
        keystream::increment(&mut ctr, Increment::Last(q));
        keystream::apply(&self.cipher, &mut ctr, Increment::Last(q), buf);
        let mut mac = self.cbc_mac(nonce, q, aad, buf, tag.len());
        for (m, s) in mac.iter_mut().zip(s0) {
            *m ^= s;
        }
        s0.zeroize();
        let ok = mac[..tag.len()].ct_eq(tag);
        mac.zeroize();
        if !bool::from(ok) {
            buf.zeroize();
            return Err(Error::TagMismatch);
        }
        Ok(())
    }

    /// XORs E(Ctr0) into `mac` and leaves `ctr` at Ctr1.
    fn finish_tag(&self, ctr: &mut RawBlock, q: usize, mac: &mut RawBlock) {
        let mut s0 = *ctr;
        self.cipher.encrypt_one(&mut s0);
        for (m, s) in mac.iter_mut().zip(s0) {
            *m ^= s;
        }
        s0.zeroize();
        keystream::increment(ctr, Increment::Last(q));
    }

    /// CBC-MAC over B0, the encoded associated data and the payload.
    fn cbc_mac(&self, nonce: &[u8], q: usize, aad: &[u8], msg: &[u8], tag_len: usize) -> RawBlock {
        let mut y = [0u8; 16];
        y[0] =
            (u8::from(!aad.is_empty()) << 6) | ((((tag_len - 2) / 2) as u8) << 3) | (q as u8 - 1);
        y[1..1 + nonce.len()].copy_from_slice(nonce);
        let len = (msg.len() as u64).to_be_bytes();
        y[16 - q..].copy_from_slice(&len[8 - q.min(8)..]);
        self.cipher.encrypt_one(&mut y);

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
        let mut absorber = Absorber::new(&mut y);
        absorber.absorb(&self.cipher, msg);
        absorber.finish(&self.cipher);
        y
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
