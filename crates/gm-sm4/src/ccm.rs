//! SM4-CCM (NIST SP 800-38C with SM4; RFC 8998).
use crate::{Error, Sm4};

/// SM4-CCM with nonce lengths 7..=13 and tag lengths 4, 6, .., 16.
pub struct Sm4CcmGeneric {
    cipher: Sm4,
}

impl Sm4CcmGeneric {
    /// Keys SM4-CCM on the detected backend.
    pub fn new(key: &[u8; 16]) -> Self {
        Self::with_cipher(<Sm4 as cipher::KeyInit>::new(&(*key).into()))
    }
    /// Builds SM4-CCM over an already keyed SM4 (keeps its backend).
    pub fn with_cipher(cipher: Sm4) -> Self {
        Self { cipher }
    }
    /// Encrypts `buf` in place and writes the tag (its length is `tag.len()`).
    pub fn seal_in_place_detached(&self, _nonce: &[u8], _aad: &[u8], _buf: &mut [u8], _tag: &mut [u8]) -> Result<(), Error> {
        let _ = &self.cipher;
        todo!()
    }
    /// Verifies `tag` and decrypts `buf` in place; on error `buf` is zeroed.
    pub fn open_in_place_detached(&self, _nonce: &[u8], _aad: &[u8], _buf: &mut [u8], _tag: &[u8]) -> Result<(), Error> {
        todo!()
    }
}
