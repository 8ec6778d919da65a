//! x86-64 SM3 compression for CPUs with AVX2 and BMI2 (checked at run
//! time).
//!
//! The message expansion runs four words per step in vector registers, one
//! group of four rounds ahead of its use, interleaved with the rounds. Blocks
//! are taken two at a time: their expansions run side by side in the two
//! 128-bit lanes of 256-bit AVX2 registers while the first block's rounds
//! run, and the second block's rounds then read the finished schedule. A
//! lone block uses 128-bit registers. The rounds are scalar (BMI2 `rorx`
//! rotations), in loops of four-round groups small enough for the micro-op
//! cache, with their additions ordered to keep the A and E dependency chains
//! short.
//!
//! Same constant-time properties as the portable code: no table lookups
//! indexed by data, no branches or addresses that depend on data.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m128i, __m256i, _mm256_alignr_epi8, _mm256_loadu2_m128i, _mm256_or_si256, _mm256_set_epi8,
    _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_slli_si256, _mm256_srli_epi32,
    _mm256_srli_si256, _mm256_store_si256, _mm256_xor_si256, _mm_alignr_epi8, _mm_loadu_si128,
    _mm_or_si128, _mm_set_epi8, _mm_shuffle_epi8, _mm_slli_epi32, _mm_slli_si128, _mm_srli_epi32,
    _mm_srli_si128, _mm_store_si128, _mm_xor_si128,
};

use super::{p0, T};

/// Whether this CPU can run [`compress`].
#[inline]
pub(super) fn available() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("bmi2")
}

/// Compresses `blocks` into `state`; only call when [`available`] is true.
#[inline]
pub(super) fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    debug_assert!(available());
    // SAFETY: `available()` checked at run time that the CPU supports AVX2
    // (which implies AVX and SSSE3) and BMI2, the features `compress_avx2`
    // is compiled for.
    unsafe { compress_avx2(state, blocks) }
}

/// Returns `x` unchanged, hiding its value from the optimizer so that sums
/// are evaluated in the order written (the order that keeps the loop-carried
/// dependency chains short); emits no instruction.
#[inline(always)]
fn opaque(mut x: u32) -> u32 {
    // SAFETY: the assembly is an empty comment: it reads and writes only the
    // register holding `x`, and touches no memory, stack or flags.
    unsafe {
        core::arch::asm!(
            "/* {0:e} */",
            inout(reg) x,
            options(pure, nomem, nostack, preserves_flags)
        );
    }
    x
}

/// One round of CF, as the portable `round!` (same variable renaming), with
/// the additions ordered so that the values computed last in the previous
/// round (A, and E which ends the longest chain) enter last:
/// `SS1 = ((A <<< 12) + T'_j + E) <<< 7`, `TT1 = ((D + W'_j) + FF) + SS2`,
/// `TT2 = ((H + W_j) + GG) + SS1`. In rounds 16..=63 FF is written
/// `(A & (B | C)) | (B & C)`, so that A is only two operations deep.
macro_rules! xround {
    ($maj:expr, $a:ident, $b:ident, $c:ident, $d:ident,
     $e:ident, $f:ident, $g:ident, $h:ident, $t:expr, $w:expr, $wp:expr) => {{
        let a12 = $a.rotate_left(12);
        let ss1 = opaque(a12.wrapping_add($t)).wrapping_add($e).rotate_left(7);
        let ss2 = ss1 ^ a12;
        let (ff, gg) = if $maj {
            (($a & ($b | $c)) | ($b & $c), (($f ^ $g) & $e) ^ $g)
        } else {
            ($a ^ ($b ^ $c), $e ^ ($f ^ $g))
        };
        let tt1 = opaque(opaque($d.wrapping_add($wp)).wrapping_add(ff)).wrapping_add(ss2);
        let tt2 = opaque(opaque($h.wrapping_add($w)).wrapping_add(gg)).wrapping_add(ss1);
        $d = tt1;
        $h = p0(tt2);
        $b = $b.rotate_left(9);
        $f = $f.rotate_left(19);
    }};
}

/// Defines a message expansion step over a vector type whose 128-bit lanes
/// each hold four words of one block: given W_{j-16..j} as four vectors
/// (oldest first), returns the next four words W_j..W_{j+3} (section 5.3.2).
macro_rules! expand_fn {
    ($name:ident, $ty:ty, $alignr:ident, $srli_si:ident, $slli_si:ident,
     $xor:ident, $or:ident, $slli:ident, $srli:ident) => {
        #[inline]
        #[target_feature(enable = "avx2,bmi2")]
        fn $name(x0: $ty, x1: $ty, x2: $ty, x3: $ty) -> $ty {
            macro_rules! rol {
                ($x:expr, $n:literal) => {
                    $or($slli::<$n>($x), $srli::<{ 32 - $n }>($x))
                };
            }
            let w13 = $alignr::<12>(x1, x0); // W_{j-13..j-10}
            let w9 = $alignr::<12>(x2, x1); // W_{j-9..j-6}
            let w6 = $alignr::<8>(x3, x2); // W_{j-6..j-3}
            let w3 = $srli_si::<4>(x3); // W_{j-3..j-1}, 0 (W_j is not known yet)
            let t = $xor($xor(x0, w9), rol!(w3, 15));
            let t = $xor($xor(t, rol!(t, 15)), rol!(t, 23));
            let y = $xor($xor(t, rol!(w13, 7)), w6);
            // The last word lacked the term P1(W_j <<< 15); P1 is linear over
            // XOR, so add it now that W_j (the first word) is known.
            let v = rol!($slli_si::<12>(y), 15);
            let v = $xor($xor(v, rol!(v, 15)), rol!(v, 23));
            $xor(y, v)
        }
    };
}

expand_fn!(
    expand1,
    __m128i,
    _mm_alignr_epi8,
    _mm_srli_si128,
    _mm_slli_si128,
    _mm_xor_si128,
    _mm_or_si128,
    _mm_slli_epi32,
    _mm_srli_epi32
);
expand_fn!(
    expand2,
    __m256i,
    _mm256_alignr_epi8,
    _mm256_srli_si256,
    _mm256_slli_si256,
    _mm256_xor_si256,
    _mm256_or_si256,
    _mm256_slli_epi32,
    _mm256_srli_epi32
);

/// Message schedule of two blocks: for each group `g` of four rounds,
/// `[W_{4g..4g+3} of block 0, of block 1, W'_{4g..4g+3} of block 0, of
/// block 1]`.
#[repr(C, align(32))]
struct Schedule2([[u32; 16]; 16]);

/// Message schedule of one block: for each group `g` of four rounds,
/// `[W_{4g..4g+3}, W'_{4g..4g+3}]`.
#[repr(C, align(32))]
struct Schedule1([[u32; 8]; 16]);

/// Overwrites a schedule with zeros: it was derived from the message, which
/// may be a key (HMAC). Plain stores, kept by `black_box`, are much cheaper
/// than volatile writes per word.
macro_rules! wipe {
    ($sched:ident) => {{
        $sched.0 = Default::default();
        core::hint::black_box(&mut $sched);
    }};
}

#[target_feature(enable = "avx2,bmi2")]
fn compress_avx2(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    let mut pairs = blocks.chunks_exact(2);
    if pairs.len() > 0 {
        compress_pairs(state, &mut pairs);
    }
    if let [block] = pairs.remainder() {
        compress_one(state, block);
    }
}

/// Runs the 64 rounds of one block over `state`; `$w` and `$wp` give the
/// words W_j and W'_j of group `$g`, round `$r`; `$step` runs before each
/// group `0..12` and `$tail` before each group `12..16`.
macro_rules! rounds {
    ($state:ident, |$g:ident, $r:ident| ($w:expr, $wp:expr), $step:block, $tail:block) => {{
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *$state;
        macro_rules! group {
            ($maj:expr, $gg:expr) => {{
                let t = &T[4 * $gg..4 * $gg + 4];
                let $g = $gg;
                let $r = 0;
                xround!($maj, a, b, c, d, e, f, g, h, t[0], $w, $wp);
                let $r = 1;
                xround!($maj, d, a, b, c, h, e, f, g, t[1], $w, $wp);
                let $r = 2;
                xround!($maj, c, d, a, b, g, h, e, f, t[2], $w, $wp);
                let $r = 3;
                xround!($maj, b, c, d, a, f, g, h, e, t[3], $w, $wp);
            }};
        }
        // (`$g` is unused when `$step` and `$tail` are empty.)
        for gi in 0..4 {
            #[allow(unused_variables)]
            let $g = gi;
            $step
            group!(false, gi);
        }
        for gi in 4..12 {
            #[allow(unused_variables)]
            let $g = gi;
            $step
            group!(true, gi);
        }
        for gi in 12..16 {
            #[allow(unused_variables)]
            let $g = gi;
            $tail
            group!(true, gi);
        }
        $state[0] ^= a;
        $state[1] ^= b;
        $state[2] ^= c;
        $state[3] ^= d;
        $state[4] ^= e;
        $state[5] ^= f;
        $state[6] ^= g;
        $state[7] ^= h;
    }};
}

/// Compresses pairs of blocks: both message expansions run side by side
/// (one block per 128-bit lane) during the first block's rounds.
#[target_feature(enable = "avx2,bmi2")]
fn compress_pairs(state: &mut [u32; 8], pairs: &mut core::slice::ChunksExact<'_, [u8; 64]>) {
    // Byte order reversal within each 32-bit word.
    let bswap = _mm256_set_epi8(
        12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5,
        6, 7, 0, 1, 2, 3,
    );
    let mut sched = Schedule2([[0; 16]; 16]);
    for pair in pairs {
        let (b0, b1) = (&pair[0], &pair[1]);
        // V_k = W_{4k..4k+3} of the first block (low lane) and of the second
        // block (high lane).
        let load = |k: usize| {
            // SAFETY: both blocks are 64 readable bytes and k < 4; unaligned
            // loads are allowed.
            let v = unsafe {
                _mm256_loadu2_m128i(
                    b1.as_ptr().add(16 * k).cast(),
                    b0.as_ptr().add(16 * k).cast(),
                )
            };
            _mm256_shuffle_epi8(v, bswap)
        };
        let (mut v0, mut v1, mut v2, mut v3) = (load(0), load(1), load(2), load(3));
        macro_rules! store {
            ($g:expr) => {{
                let slot = &mut sched.0[$g];
                // SAFETY: `slot` is 64 bytes at a 32-byte aligned address (a
                // row of an `align(32)` array of 64-byte rows).
                unsafe {
                    _mm256_store_si256(slot.as_mut_ptr().cast(), v0);
                    _mm256_store_si256(slot.as_mut_ptr().add(8).cast(), _mm256_xor_si256(v0, v1));
                }
            }};
        }
        // Group g's schedule is stored one group ahead of use; the window
        // (v0..v3) then holds V_{g+1}..V_{g+4}.
        store!(0);
        (v0, v1, v2, v3) = (v1, v2, v3, expand2(v0, v1, v2, v3));
        rounds!(
            state,
            |g, r| (sched.0[g][r], sched.0[g][r + 8]),
            {
                store!(g + 1);
                (v0, v1, v2, v3) = (v1, v2, v3, expand2(v0, v1, v2, v3));
            },
            {
                // The window already holds V_{g+1}..V_16; the last group's
                // schedule was stored by the group before it.
                if g < 15 {
                    store!(g + 1);
                    (v0, v1, v2) = (v1, v2, v3);
                }
            }
        );
        // The second block's schedule is complete.
        rounds!(state, |g, r| (sched.0[g][r + 4], sched.0[g][r + 12]), {}, {
        });
    }
    wipe!(sched);
}

/// Compresses one block, with its message expansion in 128-bit registers.
#[target_feature(enable = "avx2,bmi2")]
fn compress_one(state: &mut [u32; 8], block: &[u8; 64]) {
    let bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    let mut sched = Schedule1([[0; 8]; 16]);
    let load = |k: usize| {
        // SAFETY: `block` is 64 readable bytes and k < 4; unaligned loads are
        // allowed.
        let v = unsafe { _mm_loadu_si128(block.as_ptr().add(16 * k).cast()) };
        _mm_shuffle_epi8(v, bswap)
    };
    let (mut v0, mut v1, mut v2, mut v3) = (load(0), load(1), load(2), load(3));
    macro_rules! store {
        ($g:expr) => {{
            let slot = &mut sched.0[$g];
            // SAFETY: `slot` is 32 bytes at a 32-byte aligned address (a row
            // of an `align(32)` array of 32-byte rows).
            unsafe {
                _mm_store_si128(slot.as_mut_ptr().cast(), v0);
                _mm_store_si128(slot.as_mut_ptr().add(4).cast(), _mm_xor_si128(v0, v1));
            }
        }};
    }
    store!(0);
    (v0, v1, v2, v3) = (v1, v2, v3, expand1(v0, v1, v2, v3));
    rounds!(
        state,
        |g, r| (sched.0[g][r], sched.0[g][r + 4]),
        {
            store!(g + 1);
            (v0, v1, v2, v3) = (v1, v2, v3, expand1(v0, v1, v2, v3));
        },
        {
            if g < 15 {
                store!(g + 1);
                (v0, v1, v2) = (v1, v2, v3);
            }
        }
    );
    wipe!(sched);
}
