//! SM4 block-cipher modes from the RustCrypto mode crates.
//!
//! ```
//! use gm_sm4::modes::{Sm4CbcEnc, Sm4Ctr};
//! use gm_sm4::cipher::{BlockModeEncrypt, KeyIvInit, StreamCipher};
//!
//! let key = [0x11u8; 16];
//! let iv = [0x22u8; 16];
//! let mut blocks = [[0u8; 16].into(); 2];
//! Sm4CbcEnc::new(&key.into(), &iv.into()).encrypt_blocks(&mut blocks);
//!
//! let mut data = *b"any length works for CTR";
//! Sm4Ctr::new(&key.into(), &iv.into()).apply_keystream(&mut data);
//! ```

/// SM4-CBC encryption (no padding; use the `cipher` block-padding helpers).
pub type Sm4CbcEnc = cbc::Encryptor<crate::Sm4>;
/// SM4-CBC decryption.
pub type Sm4CbcDec = cbc::Decryptor<crate::Sm4>;
/// SM4-CTR with a 128-bit big-endian counter (GB/T 17964, NIST SP 800-38A).
pub type Sm4Ctr = ctr::Ctr128BE<crate::Sm4>;

use cipher::InnerIvInit;

/// SM4-CBC encryption over an already keyed [`Sm4`](crate::Sm4) (keeps its
/// backend, e.g. one chosen with [`Sm4::new_with_backend`](crate::Sm4::new_with_backend)).
pub fn cbc_encryptor(cipher: crate::Sm4, iv: &[u8; 16]) -> Sm4CbcEnc {
    Sm4CbcEnc::inner_iv_init(cipher, iv.into())
}

/// SM4-CBC decryption over an already keyed [`Sm4`](crate::Sm4).
pub fn cbc_decryptor(cipher: crate::Sm4, iv: &[u8; 16]) -> Sm4CbcDec {
    Sm4CbcDec::inner_iv_init(cipher, iv.into())
}

/// SM4-CTR (128-bit big-endian counter starting at `iv`) over an already
/// keyed [`Sm4`](crate::Sm4).
pub fn ctr(cipher: crate::Sm4, iv: &[u8; 16]) -> Sm4Ctr {
    Sm4Ctr::from_core(ctr::CtrCore::inner_iv_init(cipher, iv.into()))
}
