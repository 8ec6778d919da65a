//! The [`Sm4`] block cipher type and its RustCrypto `cipher` trait impls.

use core::fmt;

use cipher::{
    consts::{U16, U32},
    AlgorithmName, Block, BlockCipherDecBackend, BlockCipherDecClosure, BlockCipherDecrypt,
    BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, InOut,
    InOutBuf, Key, KeyInit, KeySizeUser, ParBlocks, ParBlocksSizeUser,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::backend::{self, Backend};
use crate::consts::{CK, FK};
use crate::{Error, RawBlock};

/// Blocks per call in the parallel and bulk (counter-mode) paths: enough for
/// every backend to keep all of its register groups busy. Must match the
/// `ParBlocksSize` of the `cipher` backend below.
pub(crate) const BULK_BLOCKS: usize = 32;

/// SM4 keyed for encryption and decryption.
///
/// The round keys are zeroized on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct Sm4 {
    /// Round keys as the backend takes them (see `backend::prepare_keys`).
    rk_enc: [u32; 32],
    rk_dec: [u32; 32],
    backend: Backend,
}

impl Sm4 {
    /// Keys SM4 on a chosen backend; fails if this CPU does not support it.
    ///
    /// ```
    /// use gm_sm4::{Backend, Sm4};
    /// let sm4 = Sm4::new_with_backend(&[0u8; 16], Backend::Soft).unwrap();
    /// assert_eq!(sm4.backend(), Backend::Soft);
    /// ```
    pub fn new_with_backend(key: &[u8; 16], backend: Backend) -> Result<Self, Error> {
        if !backend.is_available() {
            return Err(Error::BackendUnavailable(backend));
        }
        Ok(Self::with_available_backend(key, backend))
    }

    /// Keys SM4 from a slice, which must be 16 bytes long.
    pub fn new_from_slice_checked(key: &[u8]) -> Result<Self, Error> {
        let key: &[u8; 16] = key
            .try_into()
            .map_err(|_| Error::InvalidKeyLength { got: key.len() })?;
        Ok(Self::with_available_backend(key, Backend::detect()))
    }

    /// The backend this key runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn with_available_backend(key: &[u8; 16], backend: Backend) -> Self {
        let mut raw = expand_key(key, |w| backend::tau(backend, w));
        let rk_enc = backend::prepare_keys(backend, &raw);
        raw.reverse();
        let rk_dec = backend::prepare_keys(backend, &raw);
        raw.zeroize();
        Sm4 {
            rk_enc,
            rk_dec,
            backend,
        }
    }

    /// Encrypts any number of blocks in place.
    pub(crate) fn encrypt_raw(&self, blocks: &mut [RawBlock]) {
        backend::crypt(self.backend, &self.rk_enc, blocks);
    }

    /// Encrypts a single block in place (latency-optimised path).
    pub(crate) fn encrypt_one(&self, block: &mut RawBlock) {
        backend::crypt_block(self.backend, &self.rk_enc, block);
    }

    /// Encrypts two independent blocks in place, about as fast as one on
    /// the SIMD backends (their chains overlap).
    pub(crate) fn encrypt_pair(&self, a: &mut RawBlock, b: &mut RawBlock) {
        backend::crypt_pair(self.backend, &self.rk_enc, a, b);
    }

    /// The backend's round keys for encryption.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn enc_keys(&self) -> &[u32; 32] {
        &self.rk_enc
    }
}

impl KeySizeUser for Sm4 {
    type KeySize = U16;
}

impl KeyInit for Sm4 {
    fn new(key: &Key<Self>) -> Self {
        Self::with_available_backend(&key.0, Backend::detect())
    }
}

impl BlockSizeUser for Sm4 {
    type BlockSize = U16;
}

impl BlockCipherEncrypt for Sm4 {
    fn encrypt_with_backend(&self, f: impl BlockCipherEncClosure<BlockSize = Self::BlockSize>) {
        f.call(&RoundKeys {
            rk: &self.rk_enc,
            backend: self.backend,
        })
    }
}

impl BlockCipherDecrypt for Sm4 {
    fn decrypt_with_backend(&self, f: impl BlockCipherDecClosure<BlockSize = Self::BlockSize>) {
        f.call(&RoundKeys {
            rk: &self.rk_dec,
            backend: self.backend,
        })
    }
}

impl AlgorithmName for Sm4 {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SM4")
    }
}

impl fmt::Debug for Sm4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm4")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Drop for Sm4 {
    fn drop(&mut self) {
        self.rk_enc.zeroize();
        self.rk_dec.zeroize();
    }
}

impl ZeroizeOnDrop for Sm4 {}

/// The SM4 key schedule (GB/T 32907-2016, section 7.3) with a given
/// constant-time tau.
pub(crate) fn expand_key(key: &[u8; 16], tau: impl Fn(u32) -> u32) -> [u32; 32] {
    let mut k = [
        u32::from_be_bytes([key[0], key[1], key[2], key[3]]) ^ FK[0],
        u32::from_be_bytes([key[4], key[5], key[6], key[7]]) ^ FK[1],
        u32::from_be_bytes([key[8], key[9], key[10], key[11]]) ^ FK[2],
        u32::from_be_bytes([key[12], key[13], key[14], key[15]]) ^ FK[3],
    ];
    let mut rk = [0u32; 32];
    for i in 0..32 {
        let s = tau(k[(i + 1) % 4] ^ k[(i + 2) % 4] ^ k[(i + 3) % 4] ^ CK[i]);
        k[i % 4] ^= s ^ s.rotate_left(13) ^ s.rotate_left(23);
        rk[i] = k[i % 4];
    }
    k.zeroize();
    rk
}

/// Round keys in one direction: SM4 decryption is encryption with the round
/// keys reversed, so one backend type serves both traits.
struct RoundKeys<'a> {
    rk: &'a [u32; 32],
    backend: Backend,
}

impl RoundKeys<'_> {
    /// In place in the output buffer: the result is the output anyway, so
    /// no secret is left in a temporary.
    fn run_one(&self, block: InOut<'_, '_, Block<Sm4>>) {
        let out = block.into_out_with_copied_in();
        backend::crypt_block(self.backend, self.rk, &mut out.0);
    }

    fn run_buf(&self, blocks: InOutBuf<'_, '_, Block<Sm4>>) {
        let out = blocks.into_out_with_copied_in();
        backend::crypt(
            self.backend,
            self.rk,
            Block::<Sm4>::cast_slice_to_core_mut(out),
        );
    }
}

impl BlockSizeUser for RoundKeys<'_> {
    type BlockSize = U16;
}

impl ParBlocksSizeUser for RoundKeys<'_> {
    type ParBlocksSize = U32;
}

impl BlockCipherEncBackend for RoundKeys<'_> {
    fn encrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        self.run_one(block);
    }
    fn encrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        self.run_buf(blocks.into_buf());
    }
    fn encrypt_tail_blocks(&self, blocks: InOutBuf<'_, '_, Block<Self>>) {
        self.run_buf(blocks);
    }
}

impl BlockCipherDecBackend for RoundKeys<'_> {
    fn decrypt_block(&self, block: InOut<'_, '_, Block<Self>>) {
        self.run_one(block);
    }
    fn decrypt_par_blocks(&self, blocks: InOut<'_, '_, ParBlocks<Self>>) {
        self.run_buf(blocks.into_buf());
    }
    fn decrypt_tail_blocks(&self, blocks: InOutBuf<'_, '_, Block<Self>>) {
        self.run_buf(blocks);
    }
}
