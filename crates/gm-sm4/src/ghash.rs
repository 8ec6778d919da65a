//! GHASH (NIST SP 800-38D): PCLMULQDQ when the CPU has it, otherwise the
//! RustCrypto `ghash` crate (portable, constant time).

use ghash::universal_hash::UniversalHash;
use ghash::GHash;
use zeroize::Zeroize;

#[cfg(target_arch = "x86_64")]
use crate::backend::clmul;
use crate::RawBlock;

/// A GHASH key (H = E_K(0^128)) expanded for the fastest available method.
#[derive(Clone)]
pub(crate) enum GhashKey {
    #[cfg(target_arch = "x86_64")]
    Clmul(clmul::Key),
    Soft(RawBlock),
}

impl Drop for GhashKey {
    fn drop(&mut self) {
        if let GhashKey::Soft(h) = self {
            h.zeroize();
        }
    }
}

impl GhashKey {
    pub(crate) fn new(h: &RawBlock) -> Self {
        #[cfg(target_arch = "x86_64")]
        if clmul::available() {
            return GhashKey::Clmul(clmul::Key::new(h));
        }
        GhashKey::Soft(*h)
    }

    /// Starts a GHASH computation.
    pub(crate) fn start(&self) -> Ghash<'_> {
        match self {
            #[cfg(target_arch = "x86_64")]
            GhashKey::Clmul(k) => Ghash::Clmul {
                key: k,
                acc: [0; 16],
            },
            GhashKey::Soft(h) => Ghash::Soft(GHash::new(&(*h).into())),
        }
    }
}

/// A GHASH computation in progress.
pub(crate) enum Ghash<'a> {
    #[cfg(target_arch = "x86_64")]
    Clmul {
        key: &'a clmul::Key,
        acc: RawBlock,
    },
    Soft(GHash),
}

impl Ghash<'_> {
    /// Absorbs `data`, zero-padding it to a whole number of blocks (GCM
    /// pads the associated data and the ciphertext separately; callers
    /// that split the ciphertext pass whole blocks until the last piece).
    pub(crate) fn update_padded(&mut self, data: &[u8]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Ghash::Clmul { key, acc } => {
                let (blocks, rest) = data.as_chunks::<16>();
                key.update(acc, blocks);
                if !rest.is_empty() {
                    let mut last = [0u8; 16];
                    last[..rest.len()].copy_from_slice(rest);
                    key.update(acc, &[last]);
                    last.zeroize();
                }
            }
            Ghash::Soft(g) => g.update_padded(data),
        }
    }

    /// The PCLMULQDQ key and accumulator, for the fused GCM loops; `None`
    /// on the portable path.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn clmul_parts(&mut self) -> Option<(&clmul::Key, &mut RawBlock)> {
        match self {
            Ghash::Clmul { key, acc } => Some((key, acc)),
            Ghash::Soft(_) => None,
        }
    }

    /// Absorbs the final length block and returns GHASH.
    pub(crate) fn finish(mut self, aad_len: u64, ct_len: u64) -> RawBlock {
        let mut len = [0u8; 16];
        len[..8].copy_from_slice(&(aad_len * 8).to_be_bytes());
        len[8..].copy_from_slice(&(ct_len * 8).to_be_bytes());
        self.update_padded(&len);
        match self {
            #[cfg(target_arch = "x86_64")]
            Ghash::Clmul { acc, .. } => {
                let out = clmul::finish(&acc);
                let mut acc = acc;
                acc.zeroize();
                out
            }
            Ghash::Soft(g) => g.finalize().0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PCLMULQDQ GHASH equals the RustCrypto `ghash` crate on every
    /// length from 0 to 300 bytes, split into two padded pieces at random
    /// points, for random keys.
    #[test]
    fn clmul_matches_portable_ghash() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..300usize {
            let h: RawBlock = core::array::from_fn(|_| next() as u8);
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let cut = if len == 0 {
                0
            } else {
                (next() as usize % len) & !15
            };
            let fast = GhashKey::new(&h);
            let soft = GhashKey::Soft(h);
            let run = |k: &GhashKey| {
                let mut g = k.start();
                g.update_padded(&data[..cut]);
                g.update_padded(&data[cut..]);
                g.finish(cut as u64, (len - cut) as u64)
            };
            assert_eq!(run(&fast), run(&soft), "len {len}");
        }
    }
}
