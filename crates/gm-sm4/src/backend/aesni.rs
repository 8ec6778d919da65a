//! x86-64 AES-NI + AVX2 backend.
//!
//! SM4's S-box and AES's are both affine maps around inversion in isomorphic
//! fields: `S_sm4(x) = post(SubBytes_aes(pre(x)))` with byte-wise affine maps
//! `pre(x) = P x + 0x3e` and `post(z) = Q z + c`. AESENCLAST with a zero
//! round key computes SubBytes (after a ShiftRows that an inverse-ShiftRows
//! shuffle cancels).
//!
//! The round function is evaluated in the *pre-image domain*: the state
//! words are kept as `y = P(x)` (byte-wise), so
//!
//! * the S-box input is `y1 ^ y2 ^ y3 ^ rk'` with `rk' = pre(rk)`: the input
//!   affine map disappears from the round;
//! * the update `y0 ^= P(L(post(z)))` is one linear map of the 32-bit word
//!   that commutes with byte rotations (P and Q act on every byte alike, L
//!   is built from rotations), so it is six 16-entry nibble lookups (the
//!   maps for output-byte offsets 1 and 2 coincide) and three byte
//!   rotations: the output affine map, L and the 2-bit rotations in L are
//!   all folded into the nibble tables.
//!
//! Nibble "lookups" are `PSHUFB` on register-resident constants: the index
//! selects a byte inside a register, never a memory address, so they are
//! constant time. `P` is applied once when blocks are loaded and undone
//! when they are stored. All tables were derived from the field
//! isomorphism and checked exhaustively (tools: the lead's derivation
//! script; tests: `backend::tests` checks every byte value against the
//! portable circuit and the cipher is cross-checked against RustCrypto
//! `sm4`). One 32-bit lane holds one word of one block: eight blocks per
//! AVX2 register (four per SSE register on the short path), four groups in
//! flight to hide the latency of a round.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::RawBlock;

/// pre(x) = P x + 0x3e, low nibble (with the constant) and high nibble.
const PRE_LO: [u8; 16] = hex16(*b"3eb20e82bb378b07a12d911d24a81498");
const PRE_HI: [u8; 16] = hex16(*b"00dc2ef2c519eb3708d426facd11e33f");
/// P x (linear part of `pre`), low nibble; the high nibble is `PRE_HI`.
const P_LO: [u8; 16] = hex16(*b"008c30bc8509b5399f13af231a962aa6");
/// P^-1, low and high nibble.
const PINV_LO: [u8; 16] = hex16(*b"0085d95c2eabf772800559dcae2b77f2");
const PINV_HI: [u8; 16] = hex16(*b"0055570244111346affaf8adebbebce9");
/// post(z) = Q z + c (the output map on its own, for the key schedule's tau).
const POST_LO: [u8; 16] = hex16(*b"6cd4a61e52ea98200bb3c179358dff47");
const POST_HI: [u8; 16] = hex16(*b"00e050b09d7dcd2dc02090705dbd0ded");
/// F = P . L . post, split by output-byte offset k (k = 1 and k = 2 share a
/// table): byte k of F(byte at offset 0), by low nibble (with the constant)
/// and high nibble.
const F0_LO: [u8; 16] = hex16(*b"0b8dd85e73f5a0261791c4426fe9bc3a");
const F0_HI: [u8; 16] = hex16(*b"00ebdc37f01b2cc7cd2611fa3dd6e10a");
const F1_LO: [u8; 16] = hex16(*b"76a57ba8d605db0834e739ea9447994a");
const F1_HI: [u8; 16] = hex16(*b"00b449fd8236cb7fbc08f5413e8a77c3");
const F3_LO: [u8; 16] = hex16(*b"7d28a3f6a5f07b2e2376fda8fbae2570");
const F3_HI: [u8; 16] = hex16(*b"005f95ca722de7b8712ee4bb035c96c9");
/// Inverse ShiftRows, cancelling the ShiftRows inside AESENCLAST.
const INV_SHIFT_ROWS: [u8; 16] = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];
/// Rotations of each 32-bit lane left by whole bytes.
const ROL8: [u8; 16] = [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14];
const ROL16: [u8; 16] = [2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13];
const ROL24: [u8; 16] = [1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12];
/// Big-endian words to lanes and back.
const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];
/// Register groups kept in flight on the bulk path.
const IN_FLIGHT: usize = 4;

const fn hex16(h: [u8; 32]) -> [u8; 16] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex"),
        }
    }
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        out[i] = (nib(h[2 * i]) << 4) | nib(h[2 * i + 1]);
        i += 1;
    }
    out
}

/// 256-bit vectors: eight blocks per group.
mod v256 {
    use core::arch::x86_64::*;

    pub(super) type V = __m256i;
    pub(super) const LANES: usize = 8;

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 readable bytes; unaligned load.
        _mm256_broadcastsi128_si256(unsafe { _mm_loadu_si128(t.as_ptr().cast()) })
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn splat(w: u32) -> V {
        _mm256_set1_epi32(w as i32)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn xor(a: V, b: V) -> V {
        _mm256_xor_si256(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn and(a: V, b: V) -> V {
        _mm256_and_si256(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn shr4(a: V) -> V {
        _mm256_srli_epi32::<4>(a)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn shuffle(t: V, idx: V) -> V {
        _mm256_shuffle_epi8(t, idx)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn unpack(a: V, b: V) -> [V; 4] {
        [
            _mm256_unpacklo_epi32(a, b),
            _mm256_unpackhi_epi32(a, b),
            _mm256_unpacklo_epi64(a, b),
            _mm256_unpackhi_epi64(a, b),
        ]
    }
    /// SubBytes on every byte (AESENCLAST with a zero key; the caller
    /// cancels its ShiftRows).
    #[inline]
    #[target_feature(enable = "avx2,aes")]
    pub(super) fn aesenclast0(a: V) -> V {
        let zero = _mm_setzero_si128();
        let lo = _mm_aesenclast_si128(_mm256_castsi256_si128(a), zero);
        let hi = _mm_aesenclast_si128(_mm256_extracti128_si256::<1>(a), zero);
        _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi)
    }
    /// # Safety
    /// `p` must be valid for reading 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn load(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm256_loadu_si256(p.cast()) }
    }
    /// # Safety
    /// `p` must be valid for writing 32 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm256_storeu_si256(p.cast(), v) }
    }
}

/// 128-bit vectors: four blocks per group (short inputs: lower latency).
mod v128 {
    use core::arch::x86_64::*;

    pub(super) type V = __m128i;
    pub(super) const LANES: usize = 4;

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn table(t: &[u8; 16]) -> V {
        // SAFETY: `t` is 16 readable bytes; unaligned load.
        unsafe { _mm_loadu_si128(t.as_ptr().cast()) }
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn splat(w: u32) -> V {
        _mm_set1_epi32(w as i32)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn xor(a: V, b: V) -> V {
        _mm_xor_si128(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn and(a: V, b: V) -> V {
        _mm_and_si128(a, b)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn shr4(a: V) -> V {
        _mm_srli_epi32::<4>(a)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn shuffle(t: V, idx: V) -> V {
        _mm_shuffle_epi8(t, idx)
    }
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn unpack(a: V, b: V) -> [V; 4] {
        [
            _mm_unpacklo_epi32(a, b),
            _mm_unpackhi_epi32(a, b),
            _mm_unpacklo_epi64(a, b),
            _mm_unpackhi_epi64(a, b),
        ]
    }
    /// SubBytes on every byte (AESENCLAST with a zero key; the caller
    /// cancels its ShiftRows).
    #[inline]
    #[target_feature(enable = "avx2,aes")]
    pub(super) fn aesenclast0(a: V) -> V {
        _mm_aesenclast_si128(a, _mm_setzero_si128())
    }
    /// # Safety
    /// `p` must be valid for reading 16 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn load(p: *const u8) -> V {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_loadu_si128(p.cast()) }
    }
    /// # Safety
    /// `p` must be valid for writing 16 bytes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn store(p: *mut u8, v: V) {
        // SAFETY: guaranteed by the caller.
        unsafe { _mm_storeu_si128(p.cast(), v) }
    }
}

/// Four rounds (one rotation of the state words) on every listed group,
/// expanded in place so the states stay in registers and the groups'
/// dependency chains overlap. Uses the `round` and `splat` in scope.
macro_rules! four_rounds {
    ($rk:expr, $r:expr, $c:expr, $($s:ident),+) => {{
        let k = [0, 1, 2, 3].map(|i| splat($rk[$r + i]));
        $( $s[0] = round($s[0], $s[1], $s[2], $s[3], k[0], $c); )+
        $( $s[1] = round($s[1], $s[2], $s[3], $s[0], k[1], $c); )+
        $( $s[2] = round($s[2], $s[3], $s[0], $s[1], k[2], $c); )+
        $( $s[3] = round($s[3], $s[0], $s[1], $s[2], k[3], $c); )+
    }};
}

/// The SM4 rounds over one vector width; expanded once per width so the
/// algorithm is written once.
macro_rules! sm4_rounds {
    ($features:literal) => {
        use super::*;

        /// A group: `LANES` blocks.
        pub(super) type Group = [RawBlock; LANES];

        /// Register constants, loaded once per call.
        #[derive(Clone, Copy)]
        struct Consts {
            f0_lo: V,
            f0_hi: V,
            f1_lo: V,
            f1_hi: V,
            f3_lo: V,
            f3_hi: V,
            isr: V,
            rol8: V,
            rol16: V,
            rol24: V,
            nibble: V,
        }

        impl Consts {
            #[inline]
            #[target_feature(enable = $features)]
            fn load() -> Self {
                Consts {
                    f0_lo: table(&F0_LO),
                    f0_hi: table(&F0_HI),
                    f1_lo: table(&F1_LO),
                    f1_hi: table(&F1_HI),
                    f3_lo: table(&F3_LO),
                    f3_hi: table(&F3_HI),
                    isr: table(&INV_SHIFT_ROWS),
                    rol8: table(&ROL8),
                    // Hidden from the optimiser, which would otherwise split
                    // this byte shuffle into two word shuffles.
                    rol16: core::hint::black_box(table(&ROL16)),
                    rol24: table(&ROL24),
                    nibble: table(&[0x0f; 16]),
                }
            }
        }

        /// A byte-wise affine map given by its two nibble tables.
        #[inline]
        #[target_feature(enable = $features)]
        fn nibble_map(x: V, lo_t: V, hi_t: V, nibble: V) -> V {
            xor(
                shuffle(lo_t, and(x, nibble)),
                shuffle(hi_t, and(shr4(x), nibble)),
            )
        }

        /// y0 ^ P(L(S(P^-1(y1 ^ y2 ^ y3) ^ rk))), all in the pre-image domain.
        #[inline]
        #[target_feature(enable = $features)]
        fn round(y0: V, y1: V, y2: V, y3: V, k: V, c: &Consts) -> V {
            let t = xor(xor(y1, y2), xor(y3, k));
            let z = aesenclast0(shuffle(t, c.isr));
            let lo = and(z, c.nibble);
            let hi = and(shr4(z), c.nibble);
            let l0 = xor(shuffle(c.f0_lo, lo), shuffle(c.f0_hi, hi));
            let l1 = xor(shuffle(c.f1_lo, lo), shuffle(c.f1_hi, hi));
            let l3 = xor(shuffle(c.f3_lo, lo), shuffle(c.f3_hi, hi));
            let r = xor(
                xor(l0, shuffle(l1, c.rol8)),
                xor(shuffle(l1, c.rol16), shuffle(l3, c.rol24)),
            );
            xor(y0, r)
        }

        /// 4x4 transpose of 32-bit words within each 128-bit lane (an
        /// involution).
        #[inline]
        #[target_feature(enable = $features)]
        fn transpose(r: [V; 4]) -> [V; 4] {
            let [t0, t2, _, _] = unpack(r[0], r[1]);
            let [t1, t3, _, _] = unpack(r[2], r[3]);
            let [_, _, a, b] = unpack(t0, t1);
            let [_, _, c, d] = unpack(t2, t3);
            [a, b, c, d]
        }

        /// Loads a group as four word registers in the pre-image domain.
        #[inline]
        #[target_feature(enable = $features)]
        fn load_group(g: &Group) -> [V; 4] {
            let (bswap, nibble) = (table(&BSWAP32), table(&[0x0f; 16]));
            let (p_lo, p_hi) = (table(&P_LO), table(&PRE_HI));
            let p = g.as_ptr().cast::<u8>();
            let step = 16 * LANES / 4;
            // SAFETY: a group is 16 * LANES readable bytes: four loads of
            // 4 * LANES bytes at offsets 0, step, 2 * step, 3 * step.
            let r = unsafe {
                [
                    load(p),
                    load(p.add(step)),
                    load(p.add(2 * step)),
                    load(p.add(3 * step)),
                ]
            };
            transpose(r.map(|x| shuffle(x, bswap))).map(|x| nibble_map(x, p_lo, p_hi, nibble))
        }

        /// Leaves the domain and stores (X35, X34, X33, X32) of every block.
        #[inline]
        #[target_feature(enable = $features)]
        fn store_group(y: [V; 4], g: &mut Group) {
            let (bswap, nibble) = (table(&BSWAP32), table(&[0x0f; 16]));
            let (q_lo, q_hi) = (table(&PINV_LO), table(&PINV_HI));
            let x = [y[3], y[2], y[1], y[0]].map(|v| nibble_map(v, q_lo, q_hi, nibble));
            let r = transpose(x).map(|v| shuffle(v, bswap));
            let p = g.as_mut_ptr().cast::<u8>();
            let step = 16 * LANES / 4;
            // SAFETY: a group is 16 * LANES writable bytes (see load_group).
            unsafe {
                store(p, r[0]);
                store(p.add(step), r[1]);
                store(p.add(2 * step), r[2]);
                store(p.add(3 * step), r[3]);
            }
        }

        /// One group.
        #[target_feature(enable = $features)]
        pub(super) fn crypt1(rk: &[u32; 32], g: &mut Group) {
            let c = Consts::load();
            let mut a = load_group(g);
            for r in (0..32).step_by(4) {
                four_rounds!(rk, r, &c, a);
            }
            store_group(a, g);
        }

        /// `IN_FLIGHT` groups.
        #[target_feature(enable = $features)]
        pub(super) fn crypt4(rk: &[u32; 32], g: [&mut Group; IN_FLIGHT]) {
            let c = Consts::load();
            let [g0, g1, g2, g3] = g;
            let (mut a, mut b, mut d, mut e) = (
                load_group(g0),
                load_group(g1),
                load_group(g2),
                load_group(g3),
            );
            for r in (0..32).step_by(4) {
                four_rounds!(rk, r, &c, a, b, d, e);
            }
            store_group(a, g0);
            store_group(b, g1);
            store_group(d, g2);
            store_group(e, g3);
        }
    };
}

mod wide {
    use super::v256::*;
    sm4_rounds!("avx2,aes");
}

mod narrow {
    use super::v128::*;
    sm4_rounds!("avx2,aes");
}

/// The same rounds with VAES: one 256-bit AESENCLAST instead of two 128-bit
/// ones with a lane split and merge (shorter dependency chain per round).
mod wide_vaes {
    use super::v256::*;
    use super::v256_vaes::aesenclast0;
    sm4_rounds!("avx2,aes,vaes");
}

/// 256-bit SubBytes with VAES.
mod v256_vaes {
    use core::arch::x86_64::*;

    /// SubBytes on every byte (VAESENCLAST with a zero key; the caller
    /// cancels its ShiftRows).
    #[inline]
    #[target_feature(enable = "avx2,aes,vaes")]
    pub(super) fn aesenclast0(a: __m256i) -> __m256i {
        _mm256_aesenclast_epi128(a, _mm256_setzero_si256())
    }
}

/// Splits `N * LANES` blocks into `N` groups of `LANES`.
fn split<const N: usize, const LANES: usize>(
    blocks: &mut [RawBlock],
) -> [&mut [RawBlock; LANES]; N] {
    let mut it = blocks.chunks_exact_mut(LANES);
    core::array::from_fn(|_| {
        it.next()
            .and_then(|c| c.try_into().ok())
            .expect("caller passes N * LANES blocks")
    })
}

/// The round keys in the pre-image domain: rk' = pre(rk), byte-wise.
#[target_feature(enable = "avx2")]
fn domain_keys(rk: &[u32; 32]) -> [u32; 32] {
    use v128::*;
    let (lo_t, hi_t, nibble) = (table(&PRE_LO), table(&PRE_HI), table(&[0x0f; 16]));
    let mut out = [0u32; 32];
    for (src, dst) in rk.chunks_exact(4).zip(out.chunks_exact_mut(4)) {
        // SAFETY: both chunks are 4 words = 16 bytes.
        let x = unsafe { load(src.as_ptr().cast()) };
        let y = xor(
            shuffle(lo_t, and(x, nibble)),
            shuffle(hi_t, and(shr4(x), nibble)),
        );
        // SAFETY: as above.
        unsafe { store(dst.as_mut_ptr().cast(), y) };
    }
    out
}

#[target_feature(enable = "avx2,aes")]
fn crypt_all(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    bulk(
        rk,
        blocks,
        |rk, g| wide::crypt4(rk, g),
        |rk, g| wide::crypt1(rk, g),
    );
}

#[target_feature(enable = "avx2,aes,vaes")]
fn crypt_all_vaes(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    bulk(
        rk,
        blocks,
        |rk, g| wide_vaes::crypt4(rk, g),
        |rk, g| wide_vaes::crypt1(rk, g),
    );
}

/// Splits any number of blocks over the wide four-group path, a one-group
/// path and the narrow paths for short tails.
#[inline]
#[target_feature(enable = "avx2,aes")]
fn bulk(
    rk: &[u32; 32],
    blocks: &mut [RawBlock],
    wide4: impl Fn(&[u32; 32], [&mut wide::Group; IN_FLIGHT]),
    wide1: impl Fn(&[u32; 32], &mut wide::Group),
) {
    const BULK: usize = IN_FLIGHT * v256::LANES;

    let mut chunks = blocks.chunks_exact_mut(BULK);
    for chunk in &mut chunks {
        wide4(rk, split::<IN_FLIGHT, { v256::LANES }>(chunk));
    }
    let rest = chunks.into_remainder();
    let n = rest.len();
    if n > 0 {
        // Tail: pad into a zeroed buffer (its length is public) and use the
        // narrowest path that covers it.
        let mut buf = [[0u8; 16]; BULK];
        buf[..n].copy_from_slice(rest);
        if n <= v128::LANES {
            let [g] = split::<1, { v128::LANES }>(&mut buf[..v128::LANES]);
            narrow::crypt1(rk, g);
        } else if n <= v256::LANES {
            let [g] = split::<1, { v256::LANES }>(&mut buf[..v256::LANES]);
            wide1(rk, g);
        } else if n <= IN_FLIGHT * v128::LANES {
            narrow::crypt4(
                rk,
                split::<IN_FLIGHT, { v128::LANES }>(&mut buf[..IN_FLIGHT * v128::LANES]),
            );
        } else {
            wide4(rk, split::<IN_FLIGHT, { v256::LANES }>(&mut buf));
        }
        rest.copy_from_slice(&buf[..n]);
        zeroize::Zeroize::zeroize(&mut buf);
    }
}

/// tau on one word: the word is broadcast to all four columns so the
/// ShiftRows inside AESENCLAST leaves column 0 holding the word's bytes in
/// order.
#[target_feature(enable = "avx2,aes")]
fn tau_aesni(word: u32) -> u32 {
    use v128::*;
    let nibble = table(&[0x0f; 16]);
    let x = splat(word);
    let a = xor(
        shuffle(table(&PRE_LO), and(x, nibble)),
        shuffle(table(&PRE_HI), and(shr4(x), nibble)),
    );
    let z = aesenclast0(a);
    let y = xor(
        shuffle(table(&POST_LO), and(z, nibble)),
        shuffle(table(&POST_HI), and(shr4(z), nibble)),
    );
    _mm_cvtsi128_si32(y) as u32
}

/// The round keys in the form this backend's rounds take (see the module
/// docs: `pre` applied byte-wise). Computed once per key by the key setup.
pub(crate) fn prepare_keys(rk: &[u32; 32]) -> [u32; 32] {
    // SAFETY: only called for this backend, which is selected after run-time
    // detection of AES-NI and AVX2 (`domain_keys` needs AVX2).
    unsafe { domain_keys(rk) }
}

/// Any number of blocks, in place, with keys from [`prepare_keys`]. Only
/// called when the CPU has the features (checked by `Backend::is_available`
/// when the key was set up).
pub(crate) fn crypt(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // SAFETY: the backend is only selected after run-time detection of
    // AES-NI, SSSE3, AVX and AVX2 (`Sm4::new_with_backend` / `detect`).
    unsafe { crypt_all(rk, blocks) }
}

/// As [`crypt`], on the VAES variant (the CPU also has VAES).
pub(crate) fn crypt_vaes(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // SAFETY: the VAES backend is only selected after run-time detection of
    // AES-NI, AVX2 and VAES.
    unsafe { crypt_all_vaes(rk, blocks) }
}

/// tau on one word, for the key schedule.
pub(crate) fn tau(word: u32) -> u32 {
    // SAFETY: as for `crypt`: the CPU features were detected.
    unsafe { tau_aesni(word) }
}
