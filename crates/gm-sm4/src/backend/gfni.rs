//! x86-64 GFNI + AVX-512 backend.
//!
//! The SM4 S-box is `A2 * inv_aes(A1 * x + c1) + c2` for suitable 8x8 bit
//! matrices, which is exactly `VGF2P8AFFINEQB` (A1 = 0xa7ac65de3de94796,
//! c1 = 0x69) followed by `VGF2P8AFFINEINVQB` (A2 = 0x75f1228d6c1e85c9,
//! c2 = 0xd3): two instructions per 64 S-boxes, no tables at all. One
//! 512-bit register holds one word of 16 blocks; two groups (32 blocks) are
//! kept in flight. Rotations use `VPROLD`, three-way XORs `VPTERNLOGD`.
//!
//! Valgrind cannot execute AVX-512, so this backend is constant time by
//! construction (no loads or branches depend on data; every instruction
//! used has data-independent timing) rather than by the valgrind check.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::RawBlock;

const AFFINE_IN: i64 = 0xa7ac_65de_3de9_4796_u64 as i64;
const CONST_IN: i32 = 0x69;
const AFFINE_OUT: i64 = 0x75f1_228d_6c1e_85c9_u64 as i64;
const CONST_OUT: i32 = 0xd3;
/// Big-endian words to lanes and back.
const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
/// Blocks per group (one word of each in a 512-bit register).
const GROUP: usize = 16;

/// a ^ b ^ c in one instruction.
#[inline]
#[target_feature(enable = "avx512f")]
fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
    _mm512_ternarylogic_epi32::<0x96>(a, b, c)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn sbox(x: __m512i) -> __m512i {
    let a = _mm512_gf2p8affine_epi64_epi8::<CONST_IN>(x, _mm512_set1_epi64(AFFINE_IN));
    _mm512_gf2p8affineinv_epi64_epi8::<CONST_OUT>(a, _mm512_set1_epi64(AFFINE_OUT))
}

/// x0 ^ L(tau(x1 ^ x2 ^ x3 ^ rk)).
#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn round(x0: __m512i, x1: __m512i, x2: __m512i, x3: __m512i, k: __m512i) -> __m512i {
    let y = sbox(_mm512_xor_si512(xor3(x1, x2, x3), k));
    let a = xor3(x0, y, _mm512_rol_epi32::<2>(y));
    let b = xor3(a, _mm512_rol_epi32::<10>(y), _mm512_rol_epi32::<18>(y));
    _mm512_xor_si512(b, _mm512_rol_epi32::<24>(y))
}

/// 4x4 transpose of 32-bit words inside each 128-bit lane (an involution).
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512i; 4]) -> [__m512i; 4] {
    let t0 = _mm512_unpacklo_epi32(r[0], r[1]);
    let t1 = _mm512_unpacklo_epi32(r[2], r[3]);
    let t2 = _mm512_unpackhi_epi32(r[0], r[1]);
    let t3 = _mm512_unpackhi_epi32(r[2], r[3]);
    [
        _mm512_unpacklo_epi64(t0, t1),
        _mm512_unpackhi_epi64(t0, t1),
        _mm512_unpacklo_epi64(t2, t3),
        _mm512_unpackhi_epi64(t2, t3),
    ]
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn bswap_mask() -> __m512i {
    // SAFETY: BSWAP32 is 16 readable bytes; unaligned load.
    let m = unsafe { _mm_loadu_si128(BSWAP32.as_ptr().cast()) };
    _mm512_broadcast_i32x4(m)
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn load(blocks: &[RawBlock; GROUP], bswap: __m512i) -> [__m512i; 4] {
    let p = blocks.as_ptr().cast::<__m512i>();
    // SAFETY: `blocks` is 256 readable bytes = four unaligned 64-byte loads.
    let r = unsafe {
        [
            _mm512_loadu_si512(p),
            _mm512_loadu_si512(p.add(1)),
            _mm512_loadu_si512(p.add(2)),
            _mm512_loadu_si512(p.add(3)),
        ]
    };
    transpose(r.map(|x| _mm512_shuffle_epi8(x, bswap)))
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn store(x: [__m512i; 4], blocks: &mut [RawBlock; GROUP], bswap: __m512i) {
    let r = transpose([x[3], x[2], x[1], x[0]]).map(|x| _mm512_shuffle_epi8(x, bswap));
    let p = blocks.as_mut_ptr().cast::<__m512i>();
    // SAFETY: `blocks` is 256 writable bytes = four unaligned 64-byte stores.
    unsafe {
        _mm512_storeu_si512(p, r[0]);
        _mm512_storeu_si512(p.add(1), r[1]);
        _mm512_storeu_si512(p.add(2), r[2]);
        _mm512_storeu_si512(p.add(3), r[3]);
    }
}

/// Four rounds (one full rotation of the state words) on every listed
/// group, expanded in place so the states stay in registers and the
/// groups' dependency chains overlap.
macro_rules! four_rounds {
    ($rk:expr, $r:expr, $($s:ident),+) => {{
        let k = [0, 1, 2, 3].map(|i| _mm512_set1_epi32($rk[$r + i] as i32));
        $( $s[0] = round($s[0], $s[1], $s[2], $s[3], k[0]); )+
        $( $s[1] = round($s[1], $s[2], $s[3], $s[0], k[1]); )+
        $( $s[2] = round($s[2], $s[3], $s[0], $s[1], k[2]); )+
        $( $s[3] = round($s[3], $s[0], $s[1], $s[2], k[3]); )+
    }};
}

/// One group of 16 blocks.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn crypt1(rk: &[u32; 32], g: &mut [RawBlock; GROUP]) {
    let bswap = bswap_mask();
    let mut a = load(g, bswap);
    for r in (0..32).step_by(4) {
        four_rounds!(rk, r, a);
    }
    store(a, g, bswap);
}

/// Two groups (32 blocks) in flight.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn crypt2(rk: &[u32; 32], g0: &mut [RawBlock; GROUP], g1: &mut [RawBlock; GROUP]) {
    let bswap = bswap_mask();
    let (mut a, mut b) = (load(g0, bswap), load(g1, bswap));
    for r in (0..32).step_by(4) {
        four_rounds!(rk, r, a, b);
    }
    store(a, g0, bswap);
    store(b, g1, bswap);
}

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn crypt_all(rk: &[u32; 32], blocks: &mut [RawBlock]) {
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

#[target_feature(enable = "avx512f,avx512bw,gfni")]
fn tau_gfni(word: u32) -> u32 {
    let y = sbox(_mm512_set1_epi32(word as i32));
    _mm_cvtsi128_si32(_mm512_castsi512_si128(y)) as u32
}

/// Any number of blocks, in place. Only called when the CPU has the
/// features (checked by `Backend::is_available` when the key was set up).
pub(crate) fn crypt(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // SAFETY: the backend is only selected after run-time detection of
    // GFNI, AVX512F, AVX512BW and AVX512VL (`Sm4::new_with_backend`/`detect`).
    unsafe { crypt_all(rk, blocks) }
}

/// tau on one word, for the key schedule.
pub(crate) fn tau(word: u32) -> u32 {
    // SAFETY: as for `crypt`: the CPU features were detected.
    unsafe { tau_gfni(word) }
}
