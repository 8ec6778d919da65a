//! SM4-GCM (NIST SP 800-38D with SM4 as the block cipher; GB/T 36624-2018;
//! RFC 8998 `AEAD_SM4_GCM`).

use cipher::KeyInit;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

#[cfg(target_arch = "x86_64")]
use crate::backend;
use crate::ghash::{Ghash, GhashKey};
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
        let rest = self.fused(&mut g, &mut ctr, buf, true);
        // E(J0) rides along with the last short chunk's keystream.
        let mut ek = Pending(j0, false);
        // One pass: encrypt a chunk, then hash it while it is in cache.
        for chunk in rest.chunks_mut(CHUNK) {
            self.keystream(&mut ctr, chunk, &mut ek);
            g.update_padded(chunk);
        }
        let mut full = self.finish_tag(ek, g.finish(aad.len() as u64, buf.len() as u64));
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
        let rest = self.fused(&mut g, &mut ctr, buf, false);
        let mut ek = Pending(j0, false);
        for chunk in rest.chunks_mut(CHUNK) {
            g.update_padded(chunk);
            self.keystream(&mut ctr, chunk, &mut ek);
        }
        let mut expected = self.finish_tag(ek, g.finish(aad.len() as u64, buf.len() as u64));
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

    /// Runs the backend's fused CTR + GHASH kernel, if it has one, over the
    /// longest prefix of `buf` it takes, and returns the rest.
    #[cfg(target_arch = "x86_64")]
    fn fused<'b>(
        &self,
        g: &mut Ghash<'_>,
        ctr: &mut RawBlock,
        buf: &'b mut [u8],
        seal: bool,
    ) -> &'b mut [u8] {
        let backend = self.cipher.backend();
        let Some((key, acc)) = g.clmul_parts().filter(|_| backend::has_gcm_fused(backend)) else {
            return buf;
        };
        let step = 16 * backend::GCM_STEP;
        let (head, rest) = buf.split_at_mut(buf.len() / step * step);
        let blocks = head.as_chunks_mut::<16>().0;
        backend::gcm_fused(backend, self.cipher.enc_keys(), key, acc, ctr, blocks, seal);
        rest
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn fused<'b>(
        &self,
        _: &mut Ghash<'_>,
        _: &mut RawBlock,
        buf: &'b mut [u8],
        _: bool,
    ) -> &'b mut [u8] {
        buf
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

    /// CTR over one chunk; a chunk short enough also encrypts J0 in the
    /// same batch.
    fn keystream(&self, ctr: &mut RawBlock, chunk: &mut [u8], ek: &mut Pending) {
        if chunk.len() <= CHUNK - 16 {
            keystream::apply_with_extra(&self.cipher, ctr, Increment::Inc32, chunk, &mut ek.0);
            ek.1 = true;
        } else {
            keystream::apply(&self.cipher, ctr, Increment::Inc32, chunk);
        }
    }

    /// E(J0) xor S.
    fn finish_tag(&self, mut ek: Pending, mut s: RawBlock) -> RawBlock {
        if !ek.1 {
            self.cipher.encrypt_one(&mut ek.0);
        }
        for (a, b) in s.iter_mut().zip(ek.0) {
            *a ^= b;
        }
        ek.0.zeroize();
        s
    }
}

/// J0, or E(J0) once the flag is set.
struct Pending(RawBlock, bool);

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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::Backend;

    /// The fused CTR + GHASH kernels against keystream + GHASH computed
    /// separately on the portable backend, with counters whose low word
    /// wraps inside a step (GCM's inc32 is modulo 2^32), seal and open.
    #[test]
    fn fused_kernel_wraps_inc32_and_matches_separate_passes() {
        let mut seed = 0x0123_4567_89ab_cdef_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        };
        let key: [u8; 16] = core::array::from_fn(|_| next());
        let reference = Sm4::new_with_backend(&key, Backend::Soft).unwrap();
        for backend in Backend::available() {
            if !backend::has_gcm_fused(backend) {
                continue;
            }
            let gcm = Sm4GcmGeneric::with_cipher(Sm4::new_with_backend(&key, backend).unwrap());
            for low in [0xffff_fff0_u32, 0xffff_ffff, 0xffff_ffe1, 0x7fff_fff8, 0] {
                for steps in 1..=3usize {
                    let n = steps * backend::GCM_STEP * 16;
                    let data: Vec<u8> = (0..n).map(|_| next()).collect();
                    let mut ctr0 = [0u8; 16];
                    ctr0[..12].copy_from_slice(&[0x5a; 12]);
                    ctr0[12..].copy_from_slice(&low.to_be_bytes());
                    for seal in [true, false] {
                        // Separate passes on the portable cipher.
                        let mut expect = data.clone();
                        let mut ctr = ctr0;
                        let mut g = gcm.ghash.start();
                        if !seal {
                            g.update_padded(&expect);
                        }
                        keystream::apply(&reference, &mut ctr, Increment::Inc32, &mut expect);
                        if seal {
                            g.update_padded(&expect);
                        }
                        let want = (expect, ctr, g.finish(0, n as u64));
                        // The fused kernel.
                        let mut got = data.clone();
                        let mut ctr = ctr0;
                        let mut g = gcm.ghash.start();
                        let rest = gcm.fused(&mut g, &mut ctr, &mut got, seal);
                        assert!(rest.is_empty());
                        let have = (got, ctr, g.finish(0, n as u64));
                        assert!(
                            have == want,
                            "{backend:?} low {low:#x} steps {steps} seal {seal}"
                        );
                    }
                }
            }
        }
    }
}
