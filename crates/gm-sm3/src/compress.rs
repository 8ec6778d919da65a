//! The SM3 compression function CF (GB/T 32905-2016, sections 5.3.2 and
//! 5.3.3).
//!
//! The portable code here has fully unrolled rounds with the round constants
//! `T_j <<< (j mod 32)` computed at compile time, the message expansion kept
//! in a 16-word ring of locals, computed four words ahead of use, and the
//! eight working variables renamed instead of shifted. On x86-64 CPUs with
//! AVX2 and BMI2 (detected at run time) the faster [`x86`] module is used
//! instead; both are checked against each other in the tests.
//!
//! There are no tables, no data-dependent branches and no data-dependent
//! memory indexes: every instruction and every address depends only on the
//! message length, never on its content (SM3 hashes keys in HMAC).

#![allow(clippy::many_single_char_names)]

/// The initial value IV of GB/T 32905-2016, section 4.1.
pub(crate) const IV: [u32; 8] = [
    0x7380_166f,
    0x4914_b2b9,
    0x1724_42d7,
    0xda8a_0600,
    0xa96f_30bc,
    0x1631_38aa,
    0xe38d_ee4d,
    0xb0fb_0e4e,
];

/// `T_j <<< (j mod 32)` for round `j` (section 4.2 and 5.3.3): the constant
/// as it is added into SS1.
const fn round_constant(j: usize) -> u32 {
    let t: u32 = if j < 16 { 0x79cc_4519 } else { 0x7a87_9d8a };
    t.rotate_left((j % 32) as u32)
}

/// All 64 round constants `T_j <<< (j mod 32)`; only ever indexed by
/// round numbers, which are compile-time constants after unrolling.
const T: [u32; 64] = {
    let mut t = [0u32; 64];
    let mut j = 0;
    while j < 64 {
        t[j] = round_constant(j);
        j += 1;
    }
    t
};

/// P0 permutation (section 4.4).
#[inline(always)]
fn p0(x: u32) -> u32 {
    x ^ x.rotate_left(9) ^ x.rotate_left(17)
}

/// P1 permutation (section 4.4).
#[inline(always)]
fn p1(x: u32) -> u32 {
    x ^ x.rotate_left(15) ^ x.rotate_left(23)
}

/// One message expansion step (section 5.3.2):
/// `W_j = P1(W_{j-16} ^ W_{j-9} ^ (W_{j-3} <<< 15)) ^ (W_{j-13} <<< 7) ^ W_{j-6}`.
#[inline(always)]
fn expand(w16: u32, w13: u32, w9: u32, w6: u32, w3: u32) -> u32 {
    p1(w16 ^ w9 ^ w3.rotate_left(15)) ^ w13.rotate_left(7) ^ w6
}

/// One round of CF on renamed working variables.
///
/// With the caller rotating the roles of the variables (A B C D E F G H ->
/// D A B C H E F G on the next round), a round only has to write the new A
/// (into `d`), the new E (into `h`) and the rotated B and F; C and G are the
/// old B and F, which the rotation already moved.
///
/// `w` is `W_j`, `wp` is `W'_j = W_j ^ W_{j+4}`, `t` is `T_j <<< j`.
/// `MAJ` selects the boolean functions of rounds 16..=63.
macro_rules! round {
    ($maj:expr, $a:ident, $b:ident, $c:ident, $d:ident,
     $e:ident, $f:ident, $g:ident, $h:ident, $t:expr, $w:expr, $wp:expr) => {{
        let a12 = $a.rotate_left(12);
        let ss1 = a12.wrapping_add($e).wrapping_add($t).rotate_left(7);
        let ss2 = ss1 ^ a12;
        let (ff, gg) = if $maj {
            // FF = majority(a, b, c); GG = e ? f : g.
            ((($a ^ $b) & ($b ^ $c)) ^ $b, (($f ^ $g) & $e) ^ $g)
        } else {
            ($a ^ $b ^ $c, $e ^ $f ^ $g)
        };
        // TT1 and TT2: the parts that do not depend on this round's A and E
        // are summed first so that only the last additions wait for SS1/SS2.
        $d = $d.wrapping_add($wp).wrapping_add(ff).wrapping_add(ss2);
        $h = p0($h.wrapping_add($w).wrapping_add(gg).wrapping_add(ss1));
        $b = $b.rotate_left(9);
        $f = $f.rotate_left(19);
    }};
}

/// Four rounds `j..j+4`, each given `W_j` and `W_{j+4}`, ending with the
/// variables back in their original roles.
macro_rules! rounds4 {
    ($maj:expr, $j:expr, $a:ident, $b:ident, $c:ident, $d:ident,
     $e:ident, $f:ident, $g:ident, $h:ident,
     [$w0:expr, $w1:expr, $w2:expr, $w3:expr, $w4:expr, $w5:expr, $w6:expr, $w7:expr]) => {{
        round!($maj, $a, $b, $c, $d, $e, $f, $g, $h, T[$j], $w0, $w0 ^ $w4);
        round!(
            $maj,
            $d,
            $a,
            $b,
            $c,
            $h,
            $e,
            $f,
            $g,
            T[$j + 1],
            $w1,
            $w1 ^ $w5
        );
        round!(
            $maj,
            $c,
            $d,
            $a,
            $b,
            $g,
            $h,
            $e,
            $f,
            T[$j + 2],
            $w2,
            $w2 ^ $w6
        );
        round!(
            $maj,
            $b,
            $c,
            $d,
            $a,
            $f,
            $g,
            $h,
            $e,
            T[$j + 3],
            $w3,
            $w3 ^ $w7
        );
    }};
}

/// Compresses one block whose 16 message words are already big-endian
/// decoded.
#[inline(always)]
fn compress_words(state: &mut [u32; 8], m: [u32; 16]) {
    let [mut w0, mut w1, mut w2, mut w3, mut w4, mut w5, mut w6, mut w7, mut w8, mut w9, mut w10, mut w11, mut w12, mut w13, mut w14, mut w15] =
        m;
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;

    // Rounds 0..=11 use only message words W_0..W_15.
    rounds4!(
        false,
        0,
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        [w0, w1, w2, w3, w4, w5, w6, w7]
    );
    rounds4!(
        false,
        4,
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        [w4, w5, w6, w7, w8, w9, w10, w11]
    );
    rounds4!(
        false,
        8,
        a,
        b,
        c,
        d,
        e,
        f,
        g,
        h,
        [w8, w9, w10, w11, w12, w13, w14, w15]
    );

    // From round 12 on, each group of four rounds needs four new words
    // W_{j+4}..W_{j+7}; they overwrite W_{j-12}..W_{j-9} in the ring.
    macro_rules! expand4 {
        ($x0:ident, $x1:ident, $x2:ident, $x3:ident,
         $x4:ident, $x5:ident, $x6:ident, $x7:ident, $x8:ident, $x9:ident,
         $x10:ident, $x11:ident, $x12:ident, $x13:ident, $x14:ident, $x15:ident) => {
            // Ring position k holds W_{j-16+k} (oldest first); the new word
            // W_j goes where W_{j-16} was.
            $x0 = expand($x0, $x3, $x7, $x10, $x13);
            $x1 = expand($x1, $x4, $x8, $x11, $x14);
            $x2 = expand($x2, $x5, $x9, $x12, $x15);
            $x3 = expand($x3, $x6, $x10, $x13, $x0);
        };
    }

    macro_rules! block4 {
        ($maj:expr, $j:expr,
         $x0:ident, $x1:ident, $x2:ident, $x3:ident,
         $x4:ident, $x5:ident, $x6:ident, $x7:ident, $x8:ident, $x9:ident,
         $x10:ident, $x11:ident, $x12:ident, $x13:ident, $x14:ident, $x15:ident) => {
            // Before: ring holds W_{j-12}..W_{j+3} starting at x0.
            expand4!(
                $x0, $x1, $x2, $x3, $x4, $x5, $x6, $x7, $x8, $x9, $x10, $x11, $x12, $x13, $x14,
                $x15
            );
            // Now x0..x3 hold W_{j+4}..W_{j+7}; x12..x15 hold W_j..W_{j+3}.
            rounds4!(
                $maj,
                $j,
                a,
                b,
                c,
                d,
                e,
                f,
                g,
                h,
                [$x12, $x13, $x14, $x15, $x0, $x1, $x2, $x3]
            );
        };
    }

    // Ring rotation: after each block4 the oldest-first order advances by 4.
    block4!(false, 12, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15);
    block4!(true, 16, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3);
    block4!(true, 20, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7);
    block4!(true, 24, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11);
    block4!(true, 28, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15);
    block4!(true, 32, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3);
    block4!(true, 36, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7);
    block4!(true, 40, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11);
    block4!(true, 44, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15);
    block4!(true, 48, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3);
    block4!(true, 52, w8, w9, w10, w11, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7);
    block4!(true, 56, w12, w13, w14, w15, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11);
    block4!(true, 60, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15);

    state[0] ^= a;
    state[1] ^= b;
    state[2] ^= c;
    state[3] ^= d;
    state[4] ^= e;
    state[5] ^= f;
    state[6] ^= g;
    state[7] ^= h;
}

/// Compresses `blocks` into the chaining value `state` with portable scalar
/// code (used where no faster implementation applies).
fn compress_portable(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    for block in blocks {
        let mut m = [0u32; 16];
        for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        compress_words(state, m);
    }
}

/// Compresses `blocks` into the chaining value `state`.
///
/// On x86-64 CPUs with AVX2 and BMI2 (checked at run time) the message
/// expansion runs in vector registers; elsewhere the portable code runs. Both
/// compute the same function.
pub(crate) fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    #[cfg(target_arch = "x86_64")]
    {
        if x86::available() {
            x86::compress(state, blocks);
            return;
        }
    }
    compress_portable(state, blocks);
}

/// The compression function in use: `"avx2-bmi2"` or `"portable"`.
pub(crate) fn backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        return "avx2-bmi2";
    }
    "portable"
}

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic test blocks (SplitMix64 output).
    fn blocks(n: usize, seed: u64) -> Vec<[u8; 64]> {
        let mut s = seed;
        let mut out = vec![[0u8; 64]; n];
        for block in &mut out {
            for chunk in block.chunks_exact_mut(8) {
                s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
            }
        }
        out
    }

    // GB/T 32905-2016 Annex A example 1: "abc" is one padded block; the
    // digest is the chaining value after it.
    #[test]
    fn portable_matches_annex_a_example_1() {
        let mut block = [0u8; 64];
        block[..3].copy_from_slice(b"abc");
        block[3] = 0x80;
        block[63] = 24;
        let mut state = IV;
        compress_portable(&mut state, &[block]);
        assert_eq!(
            state,
            [
                0x66c7_f0f4,
                0x62ee_edd9,
                0xd1f2_d46b,
                0xdc10_e4e2,
                0x4167_c487,
                0x5cf2_f7a2,
                0x297d_a02b,
                0x8f4b_a8e0
            ]
        );
    }

    // The SIMD code `compress` dispatches to must agree with the portable
    // code, for one block and for many blocks per call. Skipped (with a
    // note) where only the portable code runs: it would compare it with
    // itself.
    #[test]
    fn dispatch_matches_portable() {
        if backend() == "portable" {
            eprintln!("skipped: no SIMD SM3 on this CPU");
            return;
        }
        for (n, seed) in [(1, 1), (2, 2), (3, 3), (17, 4), (128, 5)] {
            let input = blocks(n, seed);
            let mut fast = IV;
            let mut portable = IV;
            compress(&mut fast, &input);
            compress_portable(&mut portable, &input);
            assert_eq!(fast, portable, "{n} blocks");
            for block in &input {
                compress(&mut fast, core::slice::from_ref(block));
                compress_portable(&mut portable, core::slice::from_ref(block));
            }
            assert_eq!(fast, portable, "{n} single blocks");
        }
    }
}
