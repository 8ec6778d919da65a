//! Counter-mode keystream shared by GCM and CCM.

use zeroize::Zeroize;

use crate::sm4::BULK_BLOCKS;
use crate::{RawBlock, Sm4};

/// How the counter block advances between blocks.
#[derive(Clone, Copy)]
pub(crate) enum Increment {
    /// GCM: the last 4 bytes, big-endian, modulo 2^32.
    Inc32,
    /// CCM: the last `q` bytes, big-endian, modulo 2^(8q). Callers bound the
    /// message length so this never wraps.
    Last(usize),
}

impl Increment {
    #[inline]
    fn apply(self, block: &mut RawBlock) {
        let width = match self {
            Increment::Inc32 => {
                let c = u32::from_be_bytes([block[12], block[13], block[14], block[15]]);
                block[12..].copy_from_slice(&c.wrapping_add(1).to_be_bytes());
                return;
            }
            Increment::Last(q) => q,
        };
        // Public data: the counter is derived from the nonce and a block
        // index, and the carry pattern depends only on the block index.
        let mut carry = 1u16;
        for byte in block[16 - width..].iter_mut().rev() {
            let v = u16::from(*byte).wrapping_add(carry);
            *byte = v as u8;
            carry = v >> 8;
        }
    }
}

/// XORs the keystream E(ctr), E(ctr+1), ... into `data`; `ctr` is left at the
/// counter after the last block used.
pub(crate) fn apply(cipher: &Sm4, ctr: &mut RawBlock, inc: Increment, data: &mut [u8]) {
    let mut ks = [[0u8; 16]; BULK_BLOCKS];
    let mut used = 0;
    for chunk in data.chunks_mut(16 * BULK_BLOCKS) {
        let nblocks = chunk.len().div_ceil(16);
        for k in ks.iter_mut().take(nblocks) {
            *k = *ctr;
            inc.apply(ctr);
        }
        cipher.encrypt_raw(&mut ks[..nblocks]);
        xor_blocks(chunk, &ks[..nblocks]);
        used = used.max(nblocks);
    }
    // Only the blocks that held keystream (the length is public).
    for k in &mut ks[..used] {
        k.zeroize();
    }
}

/// As [`apply`] for a short `data` (at most `BULK_BLOCKS - 1` blocks), with
/// one more block, `extra`, encrypted in the same batch (GCM's E(J0) for
/// the tag), so short messages cost one batch, not two.
pub(crate) fn apply_with_extra(
    cipher: &Sm4,
    ctr: &mut RawBlock,
    inc: Increment,
    data: &mut [u8],
    extra: &mut RawBlock,
) {
    let nblocks = data.len().div_ceil(16);
    debug_assert!(nblocks < BULK_BLOCKS);
    let mut ks = [[0u8; 16]; BULK_BLOCKS];
    ks[0] = *extra;
    for k in ks[1..].iter_mut().take(nblocks) {
        *k = *ctr;
        inc.apply(ctr);
    }
    cipher.encrypt_raw(&mut ks[..=nblocks]);
    *extra = ks[0];
    xor_blocks(data, &ks[1..=nblocks]);
    for k in &mut ks[..=nblocks] {
        k.zeroize();
    }
}

/// Advances a counter block once.
pub(crate) fn increment(ctr: &mut RawBlock, inc: Increment) {
    inc.apply(ctr);
}

/// `data ^= keystream`, a block at a time (the last block may be partial).
#[inline]
fn xor_blocks(data: &mut [u8], ks: &[RawBlock]) {
    let whole = data.len() / 16;
    let mut full = data.chunks_exact_mut(16);
    for (d, k) in (&mut full).zip(ks) {
        let x = u128::from_ne_bytes(d.try_into().expect("16 bytes")) ^ u128::from_ne_bytes(*k);
        d.copy_from_slice(&x.to_ne_bytes());
    }
    let tail = full.into_remainder();
    if let Some(k) = ks.get(whole) {
        for (d, k) in tail.iter_mut().zip(k) {
            *d ^= k;
        }
    }
}
