//! Block-level ("core") SM3 state, as the `digest` 0.11 block API expects.
//!
//! [`Sm3Core`] is what [`Sm3`](crate::Sm3) buffers input for; it is public
//! only because the `digest` traits name it (`CoreProxy::Core`, used by
//! `hmac::Hmac<Sm3>`). Its serialized state has the same layout as the
//! RustCrypto `sm3` crate's `Sm3Core`.

use core::fmt;

use digest::{
    array::Array,
    block_api::{
        AlgorithmName, Block, BlockSizeUser, Buffer, BufferKindUser, Eager, FixedOutputCore,
        OutputSizeUser, Reset, UpdateCore,
    },
    common::hazmat::{DeserializeStateError, SerializableState, SerializedState},
    typenum::{Unsigned, U32, U40, U64},
    HashMarker, Output,
};
use zeroize::Zeroize;

use crate::compress::{compress, IV};

/// Core SM3 hasher state: the chaining value and the number of blocks
/// compressed so far. Zeroized on drop.
#[derive(Clone)]
pub struct Sm3Core {
    block_len: u64,
    h: [u32; 8],
}

impl HashMarker for Sm3Core {}

impl BlockSizeUser for Sm3Core {
    type BlockSize = U64;
}

impl BufferKindUser for Sm3Core {
    type BufferKind = Eager;
}

impl OutputSizeUser for Sm3Core {
    type OutputSize = U32;
}

impl UpdateCore for Sm3Core {
    #[inline]
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.block_len = self.block_len.wrapping_add(blocks.len() as u64);
        compress(&mut self.h, Array::cast_slice_to_core(blocks));
    }
}

impl FixedOutputCore for Sm3Core {
    #[inline]
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        let bs = Self::BlockSize::U64;
        // The message length in bits, modulo 2^64 (section 5.2).
        let bit_len = 8u64
            .wrapping_mul((buffer.get_pos() as u64).wrapping_add(bs.wrapping_mul(self.block_len)));
        let mut h = self.h;
        buffer.len64_padding_be(bit_len, |b| compress(&mut h, &[b.0]));
        for (chunk, v) in out.chunks_exact_mut(4).zip(h.iter()) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        h.zeroize();
    }
}

impl Default for Sm3Core {
    #[inline]
    fn default() -> Self {
        Self {
            h: IV,
            block_len: 0,
        }
    }
}

impl Reset for Sm3Core {
    #[inline]
    fn reset(&mut self) {
        *self = Self::default();
    }
}

impl AlgorithmName for Sm3Core {
    fn write_alg_name(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm3")
    }
}

impl fmt::Debug for Sm3Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm3Core { ... }")
    }
}

impl Drop for Sm3Core {
    fn drop(&mut self) {
        self.h.zeroize();
        self.block_len.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Sm3Core {}

impl SerializableState for Sm3Core {
    type SerializedStateSize = U40;

    fn serialize(&self) -> SerializedState<Self> {
        let mut out = SerializedState::<Self>::default();
        for (val, chunk) in self.h.iter().zip(out.chunks_exact_mut(4)) {
            chunk.copy_from_slice(&val.to_le_bytes());
        }
        out[32..].copy_from_slice(&self.block_len.to_le_bytes());
        out
    }

    fn deserialize(
        serialized_state: &SerializedState<Self>,
    ) -> Result<Self, DeserializeStateError> {
        let (serialized_h, serialized_block_len) = serialized_state.split::<U32>();
        let mut h = [0u32; 8];
        for (val, chunk) in h.iter_mut().zip(serialized_h.chunks_exact(4)) {
            *val = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&serialized_block_len);
        let block_len = u64::from_le_bytes(len_bytes);
        Ok(Self { block_len, h })
    }
}
