//! x86-64 GFNI + AVX-512 backend.
//!
//! The SM4 S-box is `A2 * inv_aes(A1 * x + c1) + c2` for suitable 8x8 bit
//! matrices, which is exactly `VGF2P8AFFINEQB` (A1 = 0xa7ac65de3de94796,
//! c1 = 0x69) followed by `VGF2P8AFFINEINVQB` (A2 = 0x75f1228d6c1e85c9,
//! c2 = 0xd3): two instructions per 64 S-boxes, no tables at all. One
//! 512-bit register holds one word of 16 blocks; two groups (32 blocks) are
//! kept in flight. Rotations use `VPROLD`, three-way XORs `VPTERNLOGD`.
//!
//! The algorithm is written once (`gfni_impl!`) over a small set of vector
//! operations. The real operations are the AVX-512/GFNI intrinsics; the
//! tests also instantiate it over a portable emulation of exactly those
//! instructions (as the Intel SDM defines them) and check it against the
//! portable backend, so the algorithm is tested on machines without
//! AVX-512. On a machine with GFNI + AVX-512 the same test suite runs the
//! real backend, and a known-answer self-test runs before first use.
//!
//! Valgrind cannot execute AVX-512, so this backend is constant time by
//! construction (no loads or branches depend on data; every instruction
//! used has data-independent timing) rather than by the valgrind check.
#![allow(unsafe_code)]

use crate::RawBlock;

/// Affine map applied before the field inversion (matrix, constant).
const AFFINE_IN: u64 = 0xa7ac_65de_3de9_4796;
const CONST_IN: u8 = 0x69;
/// Affine map applied after the field inversion.
const AFFINE_OUT: u64 = 0x75f1_228d_6c1e_85c9;
const CONST_OUT: u8 = 0xd3;
/// Big-endian words to lanes and back.
const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
/// Blocks per group (one word of each in a 512-bit register).
const GROUP: usize = 16;

/// The real operations: AVX-512F/BW + GFNI intrinsics.
#[cfg(target_arch = "x86_64")]
mod v512 {
    use core::arch::x86_64::*;

    use super::{AFFINE_IN, AFFINE_OUT, CONST_IN, CONST_OUT};

    pub(super) type V = __m512i;

    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 readable bytes; unaligned load.
        _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn splat(w: u32) -> V {
        _mm512_set1_epi32(w as i32)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn xor(a: V, b: V) -> V {
        _mm512_xor_si512(a, b)
    }
    /// a ^ b ^ c in one instruction.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn xor3(a: V, b: V, c: V) -> V {
        _mm512_ternarylogic_epi32::<0x96>(a, b, c)
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn rol<const N: i32>(a: V) -> V {
        _mm512_rol_epi32::<N>(a)
    }
    /// The SM4 S-box on all 64 bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn sbox(x: V) -> V {
        let a = _mm512_gf2p8affine_epi64_epi8::<{ CONST_IN as i32 }>(
            x,
            _mm512_set1_epi64(AFFINE_IN as i64),
        );
        _mm512_gf2p8affineinv_epi64_epi8::<{ CONST_OUT as i32 }>(
            a,
            _mm512_set1_epi64(AFFINE_OUT as i64),
        )
    }
    /// unpacklo/hi of 32-bit, then of 64-bit elements, per 128-bit lane.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn unpack(a: V, b: V) -> [V; 4] {
        [
            _mm512_unpacklo_epi32(a, b),
            _mm512_unpackhi_epi32(a, b),
            _mm512_unpacklo_epi64(a, b),
            _mm512_unpackhi_epi64(a, b),
        ]
    }
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn shuffle(t: V, idx: V) -> V {
        _mm512_shuffle_epi8(t, idx)
    }
    /// The low 32 bits.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) fn low_word(a: V) -> u32 {
        _mm_cvtsi128_si32(_mm512_castsi512_si128(a)) as u32
    }
    /// # Safety
    /// `p` must be valid for reading 64 bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) unsafe fn load(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_loadu_si512(p.cast()) }
    }
    /// # Safety
    /// `p` must be valid for writing 64 bytes.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,gfni")]
    pub(super) unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm512_storeu_si512(p.cast(), v) }
    }
}

/// The SM4 backend over the vector operations in scope; `$attr` are the
/// attributes (target features) of every generated function.
macro_rules! gfni_impl {
    ($(#[$attr:meta])*) => {
        use super::{BSWAP32, GROUP};
        use crate::RawBlock;

        /// x0 ^ L(tau(x1 ^ x2 ^ x3 ^ rk)).
        #[inline]
        $(#[$attr])*
        fn round(x0: V, x1: V, x2: V, x3: V, k: V) -> V {
            let y = sbox(xor(xor3(x1, x2, x3), k));
            let a = xor3(x0, y, rol::<2>(y));
            let b = xor3(a, rol::<10>(y), rol::<18>(y));
            xor(b, rol::<24>(y))
        }

        /// 4x4 transpose of 32-bit words inside each 128-bit lane (an
        /// involution).
        #[inline]
        $(#[$attr])*
        fn transpose(r: [V; 4]) -> [V; 4] {
            let [t0, t2, _, _] = unpack(r[0], r[1]);
            let [t1, t3, _, _] = unpack(r[2], r[3]);
            let [_, _, a, b] = unpack(t0, t1);
            let [_, _, c, d] = unpack(t2, t3);
            [a, b, c, d]
        }

        #[inline]
        $(#[$attr])*
        fn load_group(blocks: &[RawBlock; GROUP]) -> [V; 4] {
            let bswap = table(&BSWAP32);
            let p = blocks.as_ptr().cast::<u8>();
            // SAFETY: `blocks` is 256 readable bytes = four 64-byte loads.
            let r = unsafe { [load(p), load(p.add(64)), load(p.add(128)), load(p.add(192))] };
            transpose(r.map(|x| shuffle(x, bswap)))
        }

        #[inline]
        $(#[$attr])*
        fn store_group(x: [V; 4], blocks: &mut [RawBlock; GROUP]) {
            let bswap = table(&BSWAP32);
            let r = transpose([x[3], x[2], x[1], x[0]]).map(|x| shuffle(x, bswap));
            let p = blocks.as_mut_ptr().cast::<u8>();
            // SAFETY: `blocks` is 256 writable bytes = four 64-byte stores.
            unsafe {
                store(p, r[0]);
                store(p.add(64), r[1]);
                store(p.add(128), r[2]);
                store(p.add(192), r[3]);
            }
        }

        /// One group of 16 blocks.
        $(#[$attr])*
        fn crypt1(rk: &[u32; 32], g: &mut [RawBlock; GROUP]) {
            let mut a = load_group(g);
            for r in (0..32).step_by(4) {
                four_rounds!(rk, r, a);
            }
            store_group(a, g);
        }

        /// Two groups (32 blocks) in flight.
        $(#[$attr])*
        fn crypt2(rk: &[u32; 32], g0: &mut [RawBlock; GROUP], g1: &mut [RawBlock; GROUP]) {
            let (mut a, mut b) = (load_group(g0), load_group(g1));
            for r in (0..32).step_by(4) {
                four_rounds!(rk, r, a, b);
            }
            store_group(a, g0);
            store_group(b, g1);
        }

        /// Any number of blocks, in place.
        $(#[$attr])*
        pub(super) fn crypt_all(rk: &[u32; 32], blocks: &mut [RawBlock]) {
            let mut chunks = blocks.chunks_exact_mut(2 * GROUP);
            for chunk in &mut chunks {
                let (a, b) = chunk.split_at_mut(GROUP);
                crypt2(rk, a.try_into().expect("16"), b.try_into().expect("16"));
            }
            let rest = chunks.into_remainder();
            let mut full = rest.chunks_exact_mut(GROUP);
            for chunk in &mut full {
                crypt1(rk, chunk.try_into().expect("16"));
            }
            let rest = full.into_remainder();
            if rest.is_empty() {
                return;
            }
            // Tail: pad into a zeroed buffer (its length is public).
            let n = rest.len();
            let mut buf = [[0u8; 16]; GROUP];
            buf[..n].copy_from_slice(rest);
            crypt1(rk, &mut buf);
            rest.copy_from_slice(&buf[..n]);
            zeroize::Zeroize::zeroize(&mut buf);
        }

        /// tau on one word.
        $(#[$attr])*
        pub(super) fn tau_word(word: u32) -> u32 {
            low_word(sbox(splat(word)))
        }
    };
}

/// Four rounds (one rotation of the state words) on every listed group,
/// expanded in place so the states stay in registers and the groups'
/// dependency chains overlap.
macro_rules! four_rounds {
    ($rk:expr, $r:expr, $($s:ident),+) => {{
        let k = [0, 1, 2, 3].map(|i| splat($rk[$r + i]));
        $( $s[0] = round($s[0], $s[1], $s[2], $s[3], k[0]); )+
        $( $s[1] = round($s[1], $s[2], $s[3], $s[0], k[1]); )+
        $( $s[2] = round($s[2], $s[3], $s[0], $s[1], k[2]); )+
        $( $s[3] = round($s[3], $s[0], $s[1], $s[2], k[3]); )+
    }};
}

#[cfg(target_arch = "x86_64")]
mod real {
    use super::v512::*;
    gfni_impl!(#[target_feature(enable = "avx512f,avx512bw,gfni")]);
}

/// Any number of blocks, in place. Only called when the CPU has the
/// features (checked by `Backend::is_available` when the key was set up).
pub(crate) fn crypt(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // SAFETY: the backend is only selected after run-time detection of
    // GFNI, AVX512F, AVX512BW and AVX512VL (`Sm4::new_with_backend`/`detect`).
    unsafe { real::crypt_all(rk, blocks) }
}

/// tau on one word, for the key schedule.
pub(crate) fn tau(word: u32) -> u32 {
    // SAFETY: as for `crypt`: the CPU features were detected.
    unsafe { real::tau_word(word) }
}

/// A portable emulation of the instructions `v512` uses, following their
/// definitions in the Intel SDM, to test the algorithm on any machine.
#[cfg(test)]
mod emu {
    use super::{AFFINE_IN, AFFINE_OUT, CONST_IN, CONST_OUT};

    pub(super) type V = [u8; 64];

    fn words(a: &V) -> [u32; 16] {
        core::array::from_fn(|i| u32::from_le_bytes(a[4 * i..4 * i + 4].try_into().unwrap()))
    }
    fn from_words(w: [u32; 16]) -> V {
        let mut v = [0u8; 64];
        for (i, x) in w.iter().enumerate() {
            v[4 * i..4 * i + 4].copy_from_slice(&x.to_le_bytes());
        }
        v
    }
    pub(super) fn table(t: &[u8; 16]) -> V {
        core::array::from_fn(|i| t[i % 16])
    }
    pub(super) fn splat(w: u32) -> V {
        from_words([w; 16])
    }
    pub(super) fn xor(a: V, b: V) -> V {
        core::array::from_fn(|i| a[i] ^ b[i])
    }
    pub(super) fn xor3(a: V, b: V, c: V) -> V {
        // VPTERNLOGD imm8 0x96: bit (a, b, c) of 0x96 = a ^ b ^ c.
        core::array::from_fn(|i| {
            let mut out = 0u8;
            for bit in 0..8 {
                let idx =
                    (((a[i] >> bit) & 1) << 2) | (((b[i] >> bit) & 1) << 1) | ((c[i] >> bit) & 1);
                out |= ((0x96u8 >> idx) & 1) << bit;
            }
            out
        })
    }
    pub(super) fn rol<const N: i32>(a: V) -> V {
        from_words(words(&a).map(|w| w.rotate_left(N as u32)))
    }
    /// GF2P8AFFINEQB: bit i of each output byte = parity(A.byte[7 - i] & x) ^ b.bit[i].
    fn affine_byte(x: u8, m: u64, b: u8) -> u8 {
        let mut out = 0u8;
        for i in 0..8 {
            let row = (m >> (8 * (7 - i))) as u8;
            out |= (((row & x).count_ones() & 1) as u8) << i;
        }
        out ^ b
    }
    /// Inverse in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (0 maps to 0).
    fn inv_aes(x: u8) -> u8 {
        let mul = |mut a: u8, mut b: u8| {
            let mut r = 0u8;
            while b != 0 {
                if b & 1 != 0 {
                    r ^= a;
                }
                let hi = a & 0x80;
                a <<= 1;
                if hi != 0 {
                    a ^= 0x1b;
                }
                b >>= 1;
            }
            r
        };
        (1..=255u8).find(|&y| mul(x, y) == 1).unwrap_or(0)
    }
    pub(super) fn sbox(x: V) -> V {
        x.map(|v| {
            affine_byte(
                inv_aes(affine_byte(v, AFFINE_IN, CONST_IN)),
                AFFINE_OUT,
                CONST_OUT,
            )
        })
    }
    pub(super) fn unpack(a: V, b: V) -> [V; 4] {
        let (wa, wb) = (words(&a), words(&b));
        let mut out = [[0u32; 16]; 4];
        for lane in 0..4 {
            let (x, y) = (&wa[4 * lane..4 * lane + 4], &wb[4 * lane..4 * lane + 4]);
            out[0][4 * lane..4 * lane + 4].copy_from_slice(&[x[0], y[0], x[1], y[1]]);
            out[1][4 * lane..4 * lane + 4].copy_from_slice(&[x[2], y[2], x[3], y[3]]);
            out[2][4 * lane..4 * lane + 4].copy_from_slice(&[x[0], x[1], y[0], y[1]]);
            out[3][4 * lane..4 * lane + 4].copy_from_slice(&[x[2], x[3], y[2], y[3]]);
        }
        out.map(from_words)
    }
    pub(super) fn shuffle(t: V, idx: V) -> V {
        core::array::from_fn(|i| {
            let lane = i / 16 * 16;
            if idx[i] & 0x80 != 0 {
                0
            } else {
                t[lane + usize::from(idx[i] & 0x0f)]
            }
        })
    }
    pub(super) fn low_word(a: V) -> u32 {
        words(&a)[0]
    }
    /// # Safety
    /// `p` must be valid for reading 64 bytes.
    pub(super) unsafe fn load(p: *const u8) -> V {
        let mut v = [0u8; 64];
        // SAFETY: guaranteed by the caller.
        unsafe { core::ptr::copy_nonoverlapping(p, v.as_mut_ptr(), 64) };
        v
    }
    /// # Safety
    /// `p` must be valid for writing 64 bytes.
    pub(super) unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { core::ptr::copy_nonoverlapping(v.as_ptr(), p, 64) };
    }
}

#[cfg(test)]
mod emulated {
    use super::emu::*;
    gfni_impl!();
}

#[cfg(test)]
mod tests {
    use super::super::soft;

    /// The GFNI algorithm over the instruction emulation equals the
    /// portable backend on every batch size up to 70 blocks, and its tau
    /// equals the portable circuit on every byte value.
    #[test]
    fn emulated_gfni_backend_matches_portable() {
        let rk: [u32; 32] =
            core::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9) ^ 0x0123_4567);
        let input: Vec<crate::RawBlock> = (0..70u8)
            .map(|i| core::array::from_fn(|j| i.wrapping_mul(37) ^ (j as u8).wrapping_mul(11)))
            .collect();
        for n in [0usize, 1, 2, 15, 16, 17, 31, 32, 33, 47, 48, 64, 70] {
            let mut expect = input[..n].to_vec();
            soft::crypt(&rk, &mut expect);
            let mut got = input[..n].to_vec();
            super::emulated::crypt_all(&rk, &mut got);
            assert_eq!(got, expect, "n={n}");
        }
        for x in 0..=255u32 {
            let w = (x * 0x0101_0101) ^ (x << 3);
            assert_eq!(super::emulated::tau_word(w), soft::tau(w), "{w:#010x}");
        }
    }
}
