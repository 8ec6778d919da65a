//! SM4-GCM (NIST SP 800-38D with SM4 as the block cipher; GB/T 36624-2018;
//! RFC 8998 `AEAD_SM4_GCM`).

use cipher::KeyInit;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::ghash::GhashKey;
use crate::keystream::{self, Increment};
use crate::{Error, RawBlock, Sm4};

/// Largest plaintext: 2^32 - 2 blocks (NIST SP 800-38D, section 5.2.1.1).
const MAX_MESSAGE: u64 = (1 << 36) - 32;
/// Largest associated data: 2^61 - 1 bytes (bit length must fit in 64 bits).
const MAX_AAD: u64 = (1 << 61) - 1;
/// Bytes encrypted and then hashed per step of the one-pass loops.
const CHUNK: usize = 16 * crate::sm4::BULK_BLOCKS;
const TAG_LENGTHS: &str = "4, 8 or 12..=16 bytes (NIST SP 800-38D)";

/// SM4-GCM with any IV length of one byte or more and any tag length NIST
/// SP 800-38D allows (4, 8, 12, 13, 14, 15 or 16 bytes).
///
/// This is the general form, for test suites and protocols other than TLS;
/// [`Sm4Gcm`] is the RFC 8998 profile behind the `aead` traits.
///
/// ```
/// use gm_sm4::Sm4GcmGeneric;
/// let gcm = Sm4GcmGeneric::new(&[1u8; 16]);
/// let mut buf = *b"attack at dawn";
/// let mut tag = [0u8; 16];
/// gcm.seal_in_place_detached(&[2u8; 16], b"header", &mut buf, &mut tag).unwrap();
/// gcm.open_in_place_detached(&[2u8; 16], b"header", &mut buf, &tag).unwrap();
/// assert_eq!(&buf, b"attack at dawn");
/// ```
#[derive(Clone)]
pub struct Sm4GcmGeneric {
    cipher: Sm4,
    ghash: GhashKey,
}

impl Sm4GcmGeneric {
    /// Keys SM4-GCM on the detected backend.
    pub fn new(key: &[u8; 16]) -> Self {
        Self::with_cipher(Sm4::new(&(*key).into()))
    }

    /// Builds SM4-GCM over an already keyed SM4 (keeping its backend).
    pub fn with_cipher(cipher: Sm4) -> Self {
        let mut h = [0u8; 16];
        cipher.encrypt_one(&mut h);
        let ghash = GhashKey::new(&h);
        h.zeroize();
        Self { cipher, ghash }
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
        check_lengths(nonce, aad, buf, tag.len())?;
        let mut j0 = self.j0(nonce);
        let mut ctr = j0;
        keystream::increment(&mut ctr, Increment::Inc32);
        let mut g = self.ghash.start();
        g.update_padded(aad);
        // One pass: encrypt a chunk, then hash it while it is in cache.
        for chunk in buf.chunks_mut(CHUNK) {
            keystream::apply(&self.cipher, &mut ctr, Increment::Inc32, chunk);
            g.update_padded(chunk);
        }
        let mut full = self.finish_tag(&j0, g.finish(aad.len() as u64, buf.len() as u64));
        tag.copy_from_slice(&full[..tag.len()]);
        full.zeroize();
        j0.zeroize();
        ctr.zeroize();
        Ok(())
    }

    /// Decrypts `buf` in place and verifies `tag` over `aad` and the
    /// ciphertext (constant-time comparison). On a tag mismatch `buf` is
    /// zeroed before returning: no unauthenticated plaintext is released. A
    /// parameter error leaves `buf` untouched.
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        check_lengths(nonce, aad, buf, tag.len())?;
        let mut j0 = self.j0(nonce);
        let mut ctr = j0;
        keystream::increment(&mut ctr, Increment::Inc32);
        let mut g = self.ghash.start();
        g.update_padded(aad);
        // One pass: hash a chunk of ciphertext, then decrypt it. The
        // plaintext is wiped below if the tag turns out to be wrong.
        for chunk in buf.chunks_mut(CHUNK) {
            g.update_padded(chunk);
            keystream::apply(&self.cipher, &mut ctr, Increment::Inc32, chunk);
        }
        let mut expected = self.finish_tag(&j0, g.finish(aad.len() as u64, buf.len() as u64));
        let ok = expected[..tag.len()].ct_eq(tag);
        expected.zeroize();
        j0.zeroize();
        ctr.zeroize();
        if !bool::from(ok) {
            buf.zeroize();
            return Err(Error::TagMismatch);
        }
        Ok(())
    }

    /// The pre-counter block J0.
    fn j0(&self, nonce: &[u8]) -> RawBlock {
        if nonce.len() == 12 {
            let mut j0 = [0u8; 16];
            j0[..12].copy_from_slice(nonce);
            j0[15] = 1;
            j0
        } else {
            let mut g = self.ghash.start();
            g.update_padded(nonce);
            g.finish(0, nonce.len() as u64)
        }
    }

    /// E(J0) xor S.
    fn finish_tag(&self, j0: &RawBlock, mut s: RawBlock) -> RawBlock {
        let mut ek = *j0;
        self.cipher.encrypt_one(&mut ek);
        for (a, b) in s.iter_mut().zip(ek) {
            *a ^= b;
        }
        ek.zeroize();
        s
    }
}

fn check_lengths(nonce: &[u8], aad: &[u8], buf: &[u8], tag_len: usize) -> Result<(), Error> {
    if nonce.is_empty() || nonce.len() as u64 > MAX_AAD {
        return Err(Error::InvalidNonceLength {
            got: nonce.len(),
            allowed: "1 byte or more",
        });
    }
    if !matches!(tag_len, 4 | 8 | 12..=16) {
        return Err(Error::InvalidTagLength {
            got: tag_len,
            allowed: TAG_LENGTHS,
        });
    }
    if buf.len() as u64 > MAX_MESSAGE {
        return Err(Error::MessageTooLong {
            got: buf.len() as u64,
            max: MAX_MESSAGE,
        });
    }
    if aad.len() as u64 > MAX_AAD {
        return Err(Error::AadTooLong);
    }
    Ok(())
}

impl core::fmt::Debug for Sm4GcmGeneric {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sm4GcmGeneric")
            .field("backend", &self.cipher.backend())
            .finish_non_exhaustive()
    }
}

crate::tls_profile::tls_profile! {
    /// `AEAD_SM4_GCM` as used by TLS_SM4_GCM_SM3 (RFC 8998): 16-byte key,
    /// 12-byte nonce, 16-byte tag appended to the ciphertext.
    ///
    /// ```
    /// use gm_sm4::Sm4Gcm;
    /// use gm_sm4::aead::{AeadInOut, KeyInit, Nonce};
    ///
    /// let gcm = Sm4Gcm::new(&[0x42; 16].into());
    /// let nonce = Nonce::<Sm4Gcm>::from([0u8; 12]);
    /// let mut record = b"GET / HTTP/1.1\r\n".to_vec();
    /// gcm.encrypt_in_place(&nonce, b"hdr", &mut record).unwrap();
    /// assert_eq!(record.len(), 16 + 16);
    /// gcm.decrypt_in_place(&nonce, b"hdr", &mut record).unwrap();
    /// assert_eq!(record, b"GET / HTTP/1.1\r\n");
    /// ```
    Sm4Gcm over Sm4GcmGeneric, "SM4-GCM"
}
