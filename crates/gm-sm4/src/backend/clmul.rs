//! GHASH with PCLMULQDQ (x86-64), eight blocks per reduction.
//!
//! GHASH is computed as POLYVAL (RFC 8452, appendix A): with
//! `H' = mulX_POLYVAL(ByteReverse(H))`,
//! `GHASH(H, X1..Xn) = ByteReverse(POLYVAL(H', ByteReverse(X1)..ByteReverse(Xn)))`.
//! POLYVAL's `dot(a, b) = a * b * x^-128` reduces with two carry-less
//! multiplications by 0xc2000000_00000000 (Gueron, Langley and Lindell's
//! AES-GCM-SIV reference code). Eight blocks are multiplied by H'^8 .. H'^1
//! and summed unreduced, then reduced once. Carry-less multiplication has
//! data-independent timing; there are no tables.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

/// Powers H'^1 .. H'^8 of the POLYVAL key.
#[derive(Clone)]
pub(crate) struct Key {
    powers: [[u8; 16]; 8],
}

impl Drop for Key {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.powers);
    }
}

/// Byte reversal of a whole 128-bit register.
pub(crate) const REVERSE: [u8; 16] = [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0];

#[inline]
#[target_feature(enable = "pclmulqdq,avx")]
pub(crate) fn ld(b: &[u8; 16]) -> __m128i {
    // SAFETY: `b` is 16 readable bytes; unaligned load.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

#[inline]
#[target_feature(enable = "pclmulqdq,avx")]
pub(crate) fn st(v: __m128i) -> [u8; 16] {
    let mut out = [0u8; 16];
    // SAFETY: `out` is 16 writable bytes; unaligned store.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
    out
}

/// Unreduced 256-bit product as (lo, mid, hi) partial sums.
#[inline]
#[target_feature(enable = "pclmulqdq,avx")]
pub(crate) fn mul_acc(acc: &mut [__m128i; 3], a: __m128i, b: __m128i) {
    acc[0] = _mm_xor_si128(acc[0], _mm_clmulepi64_si128::<0x00>(a, b));
    acc[2] = _mm_xor_si128(acc[2], _mm_clmulepi64_si128::<0x11>(a, b));
    acc[1] = _mm_xor_si128(
        acc[1],
        _mm_xor_si128(
            _mm_clmulepi64_si128::<0x10>(a, b),
            _mm_clmulepi64_si128::<0x01>(a, b),
        ),
    );
}

/// Reduces a 256-bit product: a * b * x^-128 mod x^128 + x^127 + x^126 + x^121 + 1.
#[inline]
#[target_feature(enable = "pclmulqdq,avx")]
pub(crate) fn reduce(acc: [__m128i; 3]) -> __m128i {
    let poly = _mm_set_epi64x(0xc200_0000_0000_0000_u64 as i64, 1);
    let lo = _mm_xor_si128(acc[0], _mm_slli_si128::<8>(acc[1]));
    let hi = _mm_xor_si128(acc[2], _mm_srli_si128::<8>(acc[1]));
    let t = _mm_clmulepi64_si128::<0x10>(lo, poly);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    let t = _mm_clmulepi64_si128::<0x10>(lo, poly);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    _mm_xor_si128(hi, lo)
}

#[inline]
#[target_feature(enable = "pclmulqdq,avx")]
fn dot(a: __m128i, b: __m128i) -> __m128i {
    let zero = _mm_setzero_si128();
    let mut acc = [zero; 3];
    mul_acc(&mut acc, a, b);
    reduce(acc)
}

#[target_feature(enable = "pclmulqdq,avx")]
fn new_key(h: &[u8; 16]) -> Key {
    // H' = mulX_POLYVAL(ByteReverse(H)), branch-free (H is secret).
    let mut rev = *h;
    rev.reverse();
    let v = u128::from_le_bytes(rev);
    let carry = v >> 127;
    let v = (v << 1) ^ (0u128.wrapping_sub(carry) & 0xc200_0000_0000_0000_0000_0000_0000_0001);
    let h1 = ld(&v.to_le_bytes());
    let mut powers = [[0u8; 16]; 8];
    let mut p = h1;
    powers[0] = st(p);
    for slot in powers.iter_mut().skip(1) {
        p = dot(p, h1);
        *slot = st(p);
    }
    Key { powers }
}

/// Absorbs whole blocks (GHASH byte order) into the accumulator (POLYVAL
/// byte order).
#[target_feature(enable = "pclmulqdq,avx")]
fn update_blocks(key: &Key, acc: &mut [u8; 16], blocks: &[[u8; 16]]) {
    let rev = ld(&REVERSE);
    let h: [__m128i; 8] = core::array::from_fn(|i| ld(&key.powers[i]));
    let mut y = ld(acc);
    let mut chunks = blocks.chunks_exact(8);
    for chunk in &mut chunks {
        let zero = _mm_setzero_si128();
        let mut sum = [zero; 3];
        for (i, b) in chunk.iter().enumerate() {
            let mut x = _mm_shuffle_epi8(ld(b), rev);
            if i == 0 {
                x = _mm_xor_si128(x, y);
            }
            mul_acc(&mut sum, x, h[7 - i]);
        }
        y = reduce(sum);
    }
    for b in chunks.remainder() {
        y = dot(_mm_xor_si128(y, _mm_shuffle_epi8(ld(b), rev)), h[0]);
    }
    *acc = st(y);
}

/// Whether this CPU can run the PCLMULQDQ GHASH.
pub(crate) fn available() -> bool {
    std::arch::is_x86_feature_detected!("pclmulqdq") && std::arch::is_x86_feature_detected!("avx")
}

impl Key {
    /// Expands the GHASH key `H`. Only call when [`available`] is true.
    pub(crate) fn new(h: &[u8; 16]) -> Self {
        debug_assert!(available());
        // SAFETY: callers check `available()` (PCLMULQDQ, AVX) first.
        unsafe { new_key(h) }
    }

    /// H'^1 .. H'^8 (POLYVAL byte order), for the fused GCM loops.
    pub(crate) fn powers(&self) -> &[[u8; 16]; 8] {
        &self.powers
    }

    /// Absorbs whole blocks into `acc` (POLYVAL byte order).
    pub(crate) fn update(&self, acc: &mut [u8; 16], blocks: &[[u8; 16]]) {
        // SAFETY: a `Key` exists only if `available()` was true.
        unsafe { update_blocks(self, acc, blocks) }
    }
}

/// Converts the POLYVAL accumulator to the GHASH value.
pub(crate) fn finish(acc: &[u8; 16]) -> [u8; 16] {
    let mut out = *acc;
    out.reverse();
    out
}
