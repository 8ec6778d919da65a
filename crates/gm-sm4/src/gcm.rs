//! SM4-GCM (NIST SP 800-38D with SM4 as the block cipher; GB/T 36624-2018;
//! RFC 8998 `AEAD_SM4_GCM`).

use aead::array::Array;
use aead::consts::{U12, U16};
use aead::inout::InOutBuf;
use aead::{AeadCore, AeadInOut, Nonce, Tag, TagPosition};
use cipher::{Key, KeyInit, KeySizeUser};
use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::keystream::{self, Increment};
use crate::{Error, RawBlock, Sm4};

/// Largest plaintext: 2^32 - 2 blocks (NIST SP 800-38D, section 5.2.1.1).
const MAX_MESSAGE: u64 = (1 << 36) - 32;
/// Largest associated data: 2^61 - 1 bytes (bit length must fit in 64 bits).
const MAX_AAD: u64 = (1 << 61) - 1;
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
    h: RawBlock,
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
        Self { cipher, h }
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
        keystream::apply(&self.cipher, &mut ctr, Increment::Inc32, buf);
        let mut full = self.tag(&j0, aad, buf);
        tag.copy_from_slice(&full[..tag.len()]);
        full.zeroize();
        j0.zeroize();
        Ok(())
    }

    /// Verifies `tag` over `aad` and the ciphertext in `buf`, then decrypts
    /// `buf` in place. On any error nothing is decrypted; after a tag
    /// mismatch `buf` is zeroed so a caller that ignores the error cannot
    /// use it. The comparison is constant time.
    pub fn open_in_place_detached(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        check_lengths(nonce, aad, buf, tag.len())?;
        let mut j0 = self.j0(nonce);
        let mut expected = self.tag(&j0, aad, buf);
        let ok = expected[..tag.len()].ct_eq(tag);
        expected.zeroize();
        if !bool::from(ok) {
            buf.zeroize();
            j0.zeroize();
            return Err(Error::TagMismatch);
        }
        let mut ctr = j0;
        j0.zeroize();
        keystream::increment(&mut ctr, Increment::Inc32);
        keystream::apply(&self.cipher, &mut ctr, Increment::Inc32, buf);
        ctr.zeroize();
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
            let mut g = GHash::new(&self.h.into());
            g.update_padded(nonce);
            let mut len = [0u8; 16];
            len[8..].copy_from_slice(&((nonce.len() as u64) * 8).to_be_bytes());
            g.update(&[len.into()]);
            g.finalize().0
        }
    }

    /// E(J0) xor GHASH(A, C).
    fn tag(&self, j0: &RawBlock, aad: &[u8], ct: &[u8]) -> RawBlock {
        let mut g = GHash::new(&self.h.into());
        g.update_padded(aad);
        g.update_padded(ct);
        let mut len = [0u8; 16];
        len[..8].copy_from_slice(&((aad.len() as u64) * 8).to_be_bytes());
        len[8..].copy_from_slice(&((ct.len() as u64) * 8).to_be_bytes());
        g.update(&[len.into()]);
        let mut s = g.finalize().0;
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

impl Drop for Sm4GcmGeneric {
    fn drop(&mut self) {
        self.h.zeroize();
    }
}

impl core::fmt::Debug for Sm4GcmGeneric {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sm4GcmGeneric")
            .field("backend", &self.cipher.backend())
            .finish_non_exhaustive()
    }
}

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
#[derive(Clone, Debug)]
pub struct Sm4Gcm(Sm4GcmGeneric);

impl Sm4Gcm {
    /// Builds SM4-GCM over an already keyed SM4 (keeping its backend).
    pub fn with_cipher(cipher: Sm4) -> Self {
        Self(Sm4GcmGeneric::with_cipher(cipher))
    }
}

impl KeySizeUser for Sm4Gcm {
    type KeySize = U16;
}

impl KeyInit for Sm4Gcm {
    fn new(key: &Key<Self>) -> Self {
        Self(Sm4GcmGeneric::new(&key.0))
    }
}

impl AeadCore for Sm4Gcm {
    type NonceSize = U12;
    type TagSize = U16;
    const TAG_POSITION: TagPosition = TagPosition::Postfix;
}

impl AeadInOut for Sm4Gcm {
    fn encrypt_inout_detached(
        &self,
        nonce: &Nonce<Self>,
        associated_data: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
    ) -> aead::Result<Tag<Self>> {
        let buf = buffer.into_out_with_copied_in();
        let mut tag = Array::<u8, U16>::default();
        self.0
            .seal_in_place_detached(nonce, associated_data, buf, &mut tag)
            .map_err(|_| aead::Error)?;
        Ok(tag)
    }

    fn decrypt_inout_detached(
        &self,
        nonce: &Nonce<Self>,
        associated_data: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
        tag: &Tag<Self>,
    ) -> aead::Result<()> {
        let buf = buffer.into_out_with_copied_in();
        self.0
            .open_in_place_detached(nonce, associated_data, buf, tag)
            .map_err(|_| aead::Error)
    }
}
