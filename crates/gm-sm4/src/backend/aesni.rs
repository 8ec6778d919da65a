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
//!
//! Besides that throughput path:
//!
//! * `chain`: one block (or two, as independent chains or, with VAES, one
//!   per 128-bit half) with the shortest round latency, for CBC
//!   encryption, CBC-MAC and single-block calls (see its docs);
//! * `gcm_kernel!`: SM4-GCM in one pass, counters generated in registers,
//!   keystream XORed into the data on the way out and GHASH (PCLMULQDQ, or
//!   256-bit VPCLMULQDQ on the VAES backend when the CPU has it)
//!   interleaved with the rounds.
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
    /// Rotates the 32-bit lanes within each 128-bit half (`VPSHUFD`).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn rot_lanes<const IMM: i32>(a: V) -> V {
        _mm256_shuffle_epi32::<IMM>(a)
    }
    /// The four bytes of `w` zero-extended into the four 32-bit lanes of
    /// each half.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn spread_word(w: u32) -> V {
        _mm256_broadcastsi128_si256(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(w as i32)))
    }
    /// XOR that the optimiser cannot reassociate.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn xor_fenced(a: V, b: V) -> V {
        let out;
        // SAFETY: one register-only VPXOR (AVX, enabled here): no memory
        // access, no stack use, flags untouched.
        unsafe {
            core::arch::asm!(
                "vpxor {o}, {a}, {b}",
                o = lateout(ymm_reg) out,
                a = in(ymm_reg) a,
                b = in(ymm_reg) b,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
    }
    /// Lane-wise 32-bit addition (counters).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn add32(a: V, b: V) -> V {
        _mm256_add_epi32(a, b)
    }
    /// Which block of a group each 32-bit lane holds after `load_group`'s
    /// transpose (blocks 2i and 2i + 1 share a 256-bit load).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn lane_blocks() -> V {
        _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)
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
    /// Rotates the 32-bit lanes (`PSHUFD`).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn rot_lanes<const IMM: i32>(a: V) -> V {
        _mm_shuffle_epi32::<IMM>(a)
    }
    /// The four bytes of `w` zero-extended into the four 32-bit lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn spread_word(w: u32) -> V {
        _mm_cvtepu8_epi32(_mm_cvtsi32_si128(w as i32))
    }
    /// XOR that the optimiser cannot reassociate.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn xor_fenced(a: V, b: V) -> V {
        let out;
        // SAFETY: one register-only VPXOR (AVX, enabled here): no memory
        // access, no stack use, flags untouched.
        unsafe {
            core::arch::asm!(
                "vpxor {o}, {a}, {b}",
                o = lateout(xmm_reg) out,
                a = in(xmm_reg) a,
                b = in(xmm_reg) b,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        out
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
    };
}

/// The plain block paths over the rounds of `sm4_rounds!` (one group, or
/// `IN_FLIGHT` groups with their dependency chains overlapped).
macro_rules! block_paths {
    ($features:literal) => {
        /// A group: `LANES` blocks.
        pub(super) type Group = [RawBlock; LANES];

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

/// Fused SM4-GCM steps on the wide path: counter blocks generated in
/// registers (the nonce words and the counter word go straight into the
/// word-sliced, pre-image-domain layout, no transpose), the keystream XORed
/// into the data on the way out, and GHASH (PCLMULQDQ, eight blocks per
/// reduction) of 32 ciphertext blocks interleaved with the 32 SM4 rounds:
/// four blocks per four rounds, so the carry-less multiplier works while
/// the shuffle and AES units run the rounds.
macro_rules! gcm_kernel {
    ($features:literal, $hasher:ident) => {
        pub(super) use super::$hasher::Hasher;

        /// Blocks per fused step.
        pub(super) const STEP: usize = IN_FLIGHT * LANES;

        /// What a fused step hashes while it encrypts.
        pub(super) enum Hash<'a> {
            /// Nothing.
            Nothing,
            /// The step's own input, before it is decrypted (open).
            Input,
            /// Ciphertext produced by the previous step (seal).
            Blocks(&'a [RawBlock; STEP]),
        }

        /// A group of counter blocks `base + 0 .. base + LANES` (GCM inc32:
        /// the lane addition wraps modulo 2^32) in the pre-image domain.
        /// `words` holds the first three counter words, already mapped.
        #[inline]
        #[target_feature(enable = $features)]
        fn counter_group(words: &[V; 3], base: u32) -> [V; 4] {
            let x = add32(splat(base), lane_blocks());
            let w3 = nibble_map(x, table(&P_LO), table(&PRE_HI), table(&[0x0f; 16]));
            [words[0], words[1], words[2], w3]
        }

        /// The first three words of a counter block, mapped and broadcast.
        #[inline]
        #[target_feature(enable = $features)]
        pub(super) fn counter_words(ctr: &RawBlock) -> [V; 3] {
            let w = |i: usize| {
                u32::from_be_bytes([ctr[4 * i], ctr[4 * i + 1], ctr[4 * i + 2], ctr[4 * i + 3]])
            };
            let m = |x: u32| nibble_map(splat(x), table(&P_LO), table(&PRE_HI), table(&[0x0f; 16]));
            [m(w(0)), m(w(1)), m(w(2))]
        }

        /// Leaves the domain and XORs the keystream of a group into `g`.
        #[inline]
        #[target_feature(enable = $features)]
        fn xor_group(y: [V; 4], g: &mut [RawBlock]) {
            let (bswap, nibble) = (table(&BSWAP32), table(&[0x0f; 16]));
            let (q_lo, q_hi) = (table(&PINV_LO), table(&PINV_HI));
            let x = [y[3], y[2], y[1], y[0]].map(|v| nibble_map(v, q_lo, q_hi, nibble));
            let r = transpose(x).map(|v| shuffle(v, bswap));
            assert!(g.len() >= LANES);
            let p = g.as_mut_ptr().cast::<u8>();
            let step = 16 * LANES / 4;
            // SAFETY: `g` holds at least LANES blocks = 16 * LANES bytes
            // (checked above): four loads and stores of 4 * LANES bytes at
            // offsets 0, step, 2 * step, 3 * step.
            unsafe {
                for (i, v) in r.into_iter().enumerate() {
                    let q = p.add(i * step);
                    store(q, xor(load(q), v));
                }
            }
        }

        /// One fused step over `STEP` blocks with counters `base ..`: the
        /// keystream is XORed into `data` and `hash` is absorbed meanwhile.
        #[target_feature(enable = $features)]
        pub(super) fn step(
            rk: &[u32; 32],
            words: &[V; 3],
            base: u32,
            data: &mut [RawBlock; STEP],
            hash: Hash<'_>,
            hs: &mut Hasher,
        ) {
            let c = Consts::load();
            let lanes = LANES as u32;
            let (mut a, mut b, mut d, mut e) = (
                counter_group(words, base),
                counter_group(words, base.wrapping_add(lanes)),
                counter_group(words, base.wrapping_add(2 * lanes)),
                counter_group(words, base.wrapping_add(3 * lanes)),
            );
            for it in 0..8 {
                four_rounds!(rk, 4 * it, &c, a, b, d, e);
                let part = STEP / 8;
                let range = part * it..part * (it + 1);
                match hash {
                    Hash::Nothing => {}
                    Hash::Input => hs.four(&data[range], it % 2 == 1),
                    Hash::Blocks(prev) => hs.four(&prev[range], it % 2 == 1),
                }
            }
            let (g0, rest) = data.split_at_mut(LANES);
            let (g1, rest) = rest.split_at_mut(LANES);
            let (g2, g3) = rest.split_at_mut(LANES);
            xor_group(a, g0);
            xor_group(b, g1);
            xor_group(d, g2);
            xor_group(e, g3);
        }
    };
}

mod wide {
    use super::v256::*;
    sm4_rounds!("avx2,aes");
    block_paths!("avx2,aes");
    gcm_kernel!("avx2,aes,pclmulqdq", hash128);
}

mod narrow {
    use super::v128::*;
    sm4_rounds!("avx2,aes");
    block_paths!("avx2,aes");
}

/// The same rounds with VAES: one 256-bit AESENCLAST instead of two 128-bit
/// ones with a lane split and merge (shorter dependency chain per round).
mod wide_vaes {
    use super::v256::*;
    use super::v256_vaes::aesenclast0;
    sm4_rounds!("avx2,aes,vaes");
    block_paths!("avx2,aes,vaes");
    gcm_kernel!("avx2,aes,vaes,pclmulqdq", hash128);
}

/// The VAES rounds with GHASH on 256-bit VPCLMULQDQ (two blocks per
/// carry-less multiplication): only a GCM kernel; the plain block paths are
/// those of `wide_vaes`.
mod wide_vaes_vpclmul {
    use super::v256::*;
    use super::v256_vaes::aesenclast0;
    sm4_rounds!("avx2,aes,vaes");
    gcm_kernel!("avx2,aes,vaes,pclmulqdq,vpclmulqdq", hash256);
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
    // One or two blocks: the latency paths (no padding to a group).
    match blocks {
        [a] => return crypt_block_chain(rk, a),
        [a, b] => return crypt_pair_chain(rk, a, b),
        _ => {}
    }
    bulk(
        rk,
        blocks,
        |rk, g| wide::crypt4(rk, g),
        |rk, g| wide::crypt1(rk, g),
    );
}

#[target_feature(enable = "avx2,aes,vaes")]
fn crypt_all_vaes(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // One or two blocks: the latency paths (no padding to a group).
    match blocks {
        [a] => return crypt_block_chain(rk, a),
        [a, b] => return crypt_pair_chain_vaes(rk, a, b),
        _ => {}
    }
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

/// GHASH for the fused GCM loops: PCLMULQDQ on 128-bit registers.
mod hash128 {
    use core::arch::x86_64::*;

    use crate::backend::clmul;
    use crate::RawBlock;

    /// GHASH state of the fused loop (POLYVAL form, see `clmul`).
    pub(super) struct Hasher {
        h: [__m128i; 8],
        rev: __m128i,
        y: __m128i,
        sum: [__m128i; 3],
    }

    impl Hasher {
        #[inline]
        #[target_feature(enable = "pclmulqdq,avx")]
        pub(super) fn new(key: &clmul::Key, acc: &[u8; 16]) -> Self {
            let zero = _mm_setzero_si128();
            Hasher {
                h: core::array::from_fn(|i| clmul::ld(&key.powers()[i])),
                rev: clmul::ld(&clmul::REVERSE),
                y: clmul::ld(acc),
                sum: [zero; 3],
            }
        }

        /// The accumulator, POLYVAL byte order.
        #[inline]
        #[target_feature(enable = "pclmulqdq,avx")]
        pub(super) fn acc(&self) -> [u8; 16] {
            clmul::st(self.y)
        }

        /// Four blocks: the first (`second == false`) or second half of
        /// an eight-block aggregation; the second half reduces.
        #[inline]
        #[target_feature(enable = "pclmulqdq,avx")]
        pub(super) fn four(&mut self, blocks: &[RawBlock], second: bool) {
            if !second {
                self.sum = [_mm_setzero_si128(); 3];
            }
            let base = if second { 4 } else { 0 };
            for (i, b) in blocks.iter().take(4).enumerate() {
                let mut x = _mm_shuffle_epi8(clmul::ld(b), self.rev);
                if !second && i == 0 {
                    x = _mm_xor_si128(x, self.y);
                }
                clmul::mul_acc(&mut self.sum, x, self.h[7 - base - i]);
            }
            if second {
                self.y = clmul::reduce(self.sum);
            }
        }

        /// Whole blocks, a multiple of eight.
        #[inline]
        #[target_feature(enable = "pclmulqdq,avx")]
        pub(super) fn blocks(&mut self, blocks: &[RawBlock]) {
            for (i, four) in blocks.chunks_exact(4).enumerate() {
                self.four(four, i % 2 == 1);
            }
        }
    }
}

/// GHASH for the fused GCM loops: 256-bit VPCLMULQDQ, two blocks per
/// register (blocks 2i and 2i + 1 times H'^(8-2i) and H'^(7-2i)); the two
/// halves of the unreduced sum are folded before the one reduction per
/// eight blocks.
mod hash256 {
    use core::arch::x86_64::*;

    use crate::backend::clmul;
    use crate::RawBlock;

    /// GHASH state of the fused loop (POLYVAL form, see `clmul`).
    pub(super) struct Hasher {
        /// (H'^(8-2i), H'^(7-2i)) for i = 0..4.
        h: [__m256i; 4],
        rev: __m256i,
        y: __m128i,
        sum: [__m256i; 3],
    }

    /// Unreduced products of both 128-bit halves.
    #[inline]
    #[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
    fn mul_acc(acc: &mut [__m256i; 3], a: __m256i, b: __m256i) {
        acc[0] = _mm256_xor_si256(acc[0], _mm256_clmulepi64_epi128::<0x00>(a, b));
        acc[2] = _mm256_xor_si256(acc[2], _mm256_clmulepi64_epi128::<0x11>(a, b));
        acc[1] = _mm256_xor_si256(
            acc[1],
            _mm256_xor_si256(
                _mm256_clmulepi64_epi128::<0x10>(a, b),
                _mm256_clmulepi64_epi128::<0x01>(a, b),
            ),
        );
    }

    impl Hasher {
        #[inline]
        #[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
        pub(super) fn new(key: &clmul::Key, acc: &[u8; 16]) -> Self {
            let p = key.powers();
            let pair =
                |i: usize| _mm256_set_m128i(clmul::ld(&p[6 - 2 * i]), clmul::ld(&p[7 - 2 * i]));
            let rev = clmul::ld(&clmul::REVERSE);
            Hasher {
                h: [pair(0), pair(1), pair(2), pair(3)],
                rev: _mm256_set_m128i(rev, rev),
                y: clmul::ld(acc),
                sum: [_mm256_setzero_si256(); 3],
            }
        }

        /// The accumulator, POLYVAL byte order.
        #[inline]
        #[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
        pub(super) fn acc(&self) -> [u8; 16] {
            clmul::st(self.y)
        }

        /// Four blocks: the first (`second == false`) or second half of
        /// an eight-block aggregation; the second half reduces.
        #[inline]
        #[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
        pub(super) fn four(&mut self, blocks: &[RawBlock], second: bool) {
            assert!(blocks.len() >= 4);
            if !second {
                self.sum = [_mm256_setzero_si256(); 3];
            }
            let base = if second { 2 } else { 0 };
            for i in 0..2 {
                // SAFETY: blocks 2i and 2i + 1 exist (checked above): 32
                // readable bytes; unaligned load.
                let v = unsafe { _mm256_loadu_si256(blocks[2 * i..].as_ptr().cast()) };
                let mut x = _mm256_shuffle_epi8(v, self.rev);
                if !second && i == 0 {
                    x = _mm256_xor_si256(x, _mm256_zextsi128_si256(self.y));
                }
                mul_acc(&mut self.sum, x, self.h[base + i]);
            }
            if second {
                let fold = |v: __m256i| {
                    _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v))
                };
                self.y = clmul::reduce(self.sum.map(fold));
            }
        }

        /// Whole blocks, a multiple of eight.
        #[inline]
        #[target_feature(enable = "avx2,pclmulqdq,vpclmulqdq")]
        pub(super) fn blocks(&mut self, blocks: &[RawBlock]) {
            for (i, four) in blocks.chunks_exact(4).enumerate() {
                self.four(four, i % 2 == 1);
            }
        }
    }
}

/// The chain rounds over one vector type (see `chain`).
macro_rules! chain_rounds {
    ($features:literal) => {
        /// `0x52` in bytes 1..3 of every lane: S-box input that maps to zero.
        const FILL: u32 = 0x5252_5200;
        /// The constant part of `P(L(post(z)))` in one byte (the lookups use
        /// the linear tables below).
        const LIN_CONST: u32 = (F0_LO[0] ^ F3_LO[0]) as u32;

        /// A table with its entry 0 (the affine constant) removed.
        const fn linear(t: [u8; 16]) -> [u8; 16] {
            let mut out = t;
            let mut i = 0;
            while i < 16 {
                out[i] ^= t[0];
                i += 1;
            }
            out
        }
        pub(super) const F0_LO_LIN: [u8; 16] = linear(F0_LO);
        pub(super) const F1_LO_LIN: [u8; 16] = linear(F1_LO);
        pub(super) const F3_LO_LIN: [u8; 16] = linear(F3_LO);

        /// Register constants for the chain rounds.
        #[derive(Clone, Copy)]
        pub(super) struct Consts {
            f0_lo: V,
            f0_hi: V,
            f1_lo: V,
            f1_hi: V,
            f3_lo: V,
            f3_hi: V,
            low_nibble: V,
            fill: V,
            lin_const: V,
        }

        impl Consts {
            #[inline]
            #[target_feature(enable = $features)]
            pub(super) fn load() -> Self {
                Consts {
                    f0_lo: table(&F0_LO_LIN),
                    f0_hi: table(&F0_HI),
                    f1_lo: table(&F1_LO_LIN),
                    f1_hi: table(&F1_HI),
                    f3_lo: table(&F3_LO_LIN),
                    f3_hi: table(&F3_HI),
                    low_nibble: splat(0x0f),
                    fill: splat(FILL),
                    lin_const: splat(LIN_CONST),
                }
            }
        }

        /// A round key, spread, with the S-box filler.
        #[inline]
        #[target_feature(enable = $features)]
        fn key(rk: u32, c: &Consts) -> V {
            xor(spread_word(rk), c.fill)
        }

        /// One round on spread state words (a, x, b, c) (c newest) whose round
        /// input `t = x ^ b ^ c ^ key` is already known; `kf` is the next
        /// round's key (spread, with filler). Returns the new word
        /// `a ^ G(S(t))` and the next round's input `b ^ c ^ new ^ kf`.
        #[inline]
        #[target_feature(enable = $features)]
        fn step(a: V, b: V, c: V, t: V, kf: V, cs: &Consts) -> (V, V) {
            let z = aesenclast0(t);
            let lo = and(z, cs.low_nibble);
            let hi = shr4(z);
            let l0 = xor(shuffle(cs.f0_lo, lo), shuffle(cs.f0_hi, hi));
            let l1 = xor(shuffle(cs.f1_lo, lo), shuffle(cs.f1_hi, hi));
            let l3 = xor(shuffle(cs.f3_lo, lo), shuffle(cs.f3_hi, hi));
            let bck = xor(xor(b, c), kf);
            let q = xor(xor(bck, a), cs.lin_const);
            // Byte rotations of L = lane rotations: left by 8, 16, 24 bits.
            let x = xor_fenced(xor(l0, q), rot_lanes::<0x39>(l3));
            let y = xor(rot_lanes::<0x93>(l1), rot_lanes::<0x4e>(l1));
            let t_next = xor_fenced(x, y);
            (xor(t_next, bck), t_next)
        }

        /// The 32 rounds on `N` independent blocks (N = 1 or 2), in lockstep so
        /// that the out-of-order core overlaps their chains.
        #[inline]
        #[target_feature(enable = $features)]
        pub(super) fn rounds<const N: usize>(rk: &[u32; 32], s: &mut [[V; 4]; N], c: &Consts) {
            let k0 = key(rk[0], c);
            let mut t = s.map(|st| xor(xor(xor(st[1], st[2]), k0), st[3]));
            for r in (0..32).step_by(4) {
                for j in 0..4 {
                    // The round after the last has no key: its input is unused.
                    let kf = key(rk.get(r + j + 1).copied().unwrap_or(0), c);
                    for (st, t) in s.iter_mut().zip(t.iter_mut()) {
                        let (new, t_next) =
                            step(st[j], st[(j + 2) % 4], st[(j + 3) % 4], *t, kf, c);
                        st[j] = new;
                        *t = t_next;
                    }
                }
            }
        }
    };
}

/// The latency-optimised path for one (or two independent) blocks: CBC
/// encryption, CBC-MAC and single-block calls are a chain of dependent
/// block encryptions, so what counts there is the latency of a round, not
/// the throughput of a group.
///
/// A state word is kept *spread*: byte j of the word (little-endian lane
/// order, as in the wide path) sits in the low byte of 32-bit lane j, the
/// other three bytes of every lane are zero. The round input additionally
/// carries `0x52` (the AES S-box pre-image of zero) in those bytes. Then:
///
/// * AESENCLAST needs no shuffle: ShiftRows leaves row 0 in place and
///   rows 1..3 hold the same byte in every column, and SubBytes maps them
///   to zero, so the result is the four S-box outputs, spread;
/// * the high-nibble index is a plain 32-bit shift (the bytes above are
///   zero), and the nibble tables are made linear (their constant, 0x76 in
///   every byte of `L`'s output, is folded into the round-key term), so
///   the zero bytes look up zeros and stay zero;
/// * `L`'s byte rotations are whole-lane rotations (`PSHUFD`).
///
/// The next round's input is `(a ^ b ^ c ^ k_next ^ const) ^ G(S(t))`,
/// where the first term is ready long before `G` is. Critical path of a
/// round: AESENCLAST, shift, lookup, XOR, lane rotation, XOR, XOR.
mod chain {
    use super::v128::*;
    use super::*;

    chain_rounds!("avx2,aes");

    /// Byte indices that spread word `W` of a register.
    const fn spread_idx(w: u8) -> [u8; 16] {
        let mut out = [0x80u8; 16];
        let mut j = 0;
        while j < 4 {
            out[4 * j] = 4 * w + j as u8;
            j += 1;
        }
        out
    }
    /// Byte indices that gather a spread word into word `W` of a register.
    const fn gather_idx(w: usize) -> [u8; 16] {
        let mut out = [0x80u8; 16];
        let mut j = 0;
        while j < 4 {
            out[4 * w + j] = 4 * j as u8;
            j += 1;
        }
        out
    }

    /// Loads a block as four spread words in the pre-image domain.
    #[inline]
    #[target_feature(enable = "avx2,aes")]
    pub(super) fn load_block(b: &RawBlock) -> [V; 4] {
        let nibble = table(&[0x0f; 16]);
        let x = shuffle(table(b), table(&BSWAP32));
        let y = xor(
            shuffle(table(&P_LO), and(x, nibble)),
            shuffle(table(&PRE_HI), and(shr4(x), nibble)),
        );
        [
            shuffle(y, table(&spread_idx(0))),
            shuffle(y, table(&spread_idx(1))),
            shuffle(y, table(&spread_idx(2))),
            shuffle(y, table(&spread_idx(3))),
        ]
    }

    /// Leaves the domain and stores (X35, X34, X33, X32).
    #[inline]
    #[target_feature(enable = "avx2,aes")]
    pub(super) fn store_block(s: [V; 4], b: &mut RawBlock) {
        let nibble = table(&[0x0f; 16]);
        let y = xor(
            xor(
                shuffle(s[3], table(&gather_idx(0))),
                shuffle(s[2], table(&gather_idx(1))),
            ),
            xor(
                shuffle(s[1], table(&gather_idx(2))),
                shuffle(s[0], table(&gather_idx(3))),
            ),
        );
        let x = xor(
            shuffle(table(&PINV_LO), and(y, nibble)),
            shuffle(table(&PINV_HI), and(shr4(y), nibble)),
        );
        // SAFETY: `b` is 16 writable bytes; unaligned store.
        unsafe { store(b.as_mut_ptr(), shuffle(x, table(&BSWAP32))) };
    }
}

/// The chain rounds on 256-bit registers with VAES: two independent
/// blocks, one per 128-bit half (the lanes of a half are those of `chain`),
/// so the second block rides along in the same instructions.
mod chain2_vaes {
    use super::v256::*;
    use super::v256_vaes::aesenclast0;
    use super::*;

    chain_rounds!("avx2,aes,vaes");
}

/// The `chain` rounds for one block with the registers allocated by hand:
/// with the compiler's allocation, state words spilled to the stack put a
/// store-to-load round trip (longer than the slack) on the critical path
/// of every round. Same algorithm and constants as `chain` (the tests
/// check both against the portable backend).
///
/// Registers: xmm0..xmm3 the state words, xmm4 the round input, xmm5..xmm9
/// temporaries, xmm10..xmm15 the linear nibble tables (F0, F1, F3; low and
/// high nibble). The zero key, the low-nibble mask, the S-box filler and
/// the constant of `L` are memory operands.
mod chain_asm {
    use super::v128::*;
    use super::*;

    /// Zero (AESENCLAST key), low-nibble mask, filler, constant of `L`.
    #[repr(C, align(16))]
    struct Constants([u32; 16]);
    static CONSTANTS: Constants = Constants([
        0,
        0,
        0,
        0,
        0x0f,
        0x0f,
        0x0f,
        0x0f,
        0x5252_5200,
        0x5252_5200,
        0x5252_5200,
        0x5252_5200,
        0x76,
        0x76,
        0x76,
        0x76,
    ]);

    /// One round: `A` (oldest word) becomes `A ^ G(S(t))`, xmm4 the next
    /// round's input `B ^ C ^ new ^ key`, with the key read from `{K}`.
    macro_rules! round {
        ($a:literal, $b:literal, $c:literal, $k:literal) => {
            concat!(
                "vpmovzxbd xmm7, dword ptr [{",
                $k,
                "}]\n",
                "vaesenclast xmm5, xmm4, xmmword ptr [{cst}]\n",
                "vpxor xmm7, xmm7, xmmword ptr [{cst} + 32]\n",
                "vpxor xmm7, xmm7, ",
                $b,
                "\n",
                "vpxor xmm7, xmm7, ",
                $c,
                "\n",
                "vpxor xmm4, xmm7, ",
                $a,
                "\n",
                "vpxor xmm4, xmm4, xmmword ptr [{cst} + 48]\n",
                "vpand xmm6, xmm5, xmmword ptr [{cst} + 16]\n",
                "vpsrld xmm5, xmm5, 4\n",
                "vpshufb xmm8, xmm12, xmm6\n",
                "vpshufb xmm9, xmm13, xmm5\n",
                "vpxor xmm8, xmm8, xmm9\n",
                "vpshufd xmm9, xmm8, 0x93\n",
                "vpshufd xmm8, xmm8, 0x4e\n",
                "vpxor xmm8, xmm8, xmm9\n",
                "vpshufb xmm9, xmm14, xmm6\n",
                "vpshufb xmm6, xmm10, xmm6\n",
                "vpxor xmm4, xmm4, xmm6\n",
                "vpshufb xmm6, xmm15, xmm5\n",
                "vpshufb xmm5, xmm11, xmm5\n",
                "vpxor xmm4, xmm4, xmm5\n",
                "vpxor xmm9, xmm9, xmm6\n",
                "vpshufd xmm9, xmm9, 0x39\n",
                "vpxor xmm4, xmm4, xmm9\n",
                "vpxor xmm4, xmm4, xmm8\n",
                "vpxor ",
                $a,
                ", xmm4, xmm7\n",
            )
        };
    }

    /// The 32 rounds on one block's spread state words (see `chain`).
    #[inline]
    #[target_feature(enable = "avx2,aes")]
    pub(super) fn rounds(rk: &[u32; 32], s: [V; 4]) -> [V; 4] {
        let [mut s0, mut s1, mut s2, mut s3] = s;
        let fill = table(&[
            0x00, 0x52, 0x52, 0x52, 0x00, 0x52, 0x52, 0x52, 0x00, 0x52, 0x52, 0x52, 0x00, 0x52,
            0x52, 0x52,
        ]);
        let mut t = xor(xor(xor(s1, s2), xor(spread_word(rk[0]), fill)), s3);
        let tables = [
            table(&chain::F0_LO_LIN),
            table(&F0_HI),
            table(&chain::F1_LO_LIN),
            table(&F1_HI),
            table(&chain::F3_LO_LIN),
            table(&F3_HI),
        ];
        for r in (0..32).step_by(4) {
            // The round after the last has no key; any readable word does
            // (its input is unused, and the new word does not depend on it).
            let k = [1, 2, 3, 4].map(|i| &rk[(r + i).min(31)] as *const u32);
            // SAFETY: register-only AVX/AES-NI instructions plus reads of
            // `CONSTANTS` (64 bytes, offsets 0..=48) and of one round-key
            // word at each `k[i]` (in bounds of `rk`); no writes to memory,
            // no stack use, flags untouched. Every register written is
            // declared.
            unsafe {
                core::arch::asm!(
                    round!("xmm0", "xmm2", "xmm3", "k0"),
                    round!("xmm1", "xmm3", "xmm0", "k1"),
                    round!("xmm2", "xmm0", "xmm1", "k2"),
                    round!("xmm3", "xmm1", "xmm2", "k3"),
                    cst = in(reg) &CONSTANTS,
                    k0 = in(reg) k[0],
                    k1 = in(reg) k[1],
                    k2 = in(reg) k[2],
                    k3 = in(reg) k[3],
                    inout("xmm0") s0,
                    inout("xmm1") s1,
                    inout("xmm2") s2,
                    inout("xmm3") s3,
                    inout("xmm4") t,
                    out("xmm5") _,
                    out("xmm6") _,
                    out("xmm7") _,
                    out("xmm8") _,
                    out("xmm9") _,
                    in("xmm10") tables[0],
                    in("xmm11") tables[1],
                    in("xmm12") tables[2],
                    in("xmm13") tables[3],
                    in("xmm14") tables[4],
                    in("xmm15") tables[5],
                    options(readonly, nostack, preserves_flags),
                );
            }
        }
        [s0, s1, s2, s3]
    }
}

#[target_feature(enable = "avx2,aes")]
fn crypt_block_chain(rk: &[u32; 32], block: &mut RawBlock) {
    let s = chain::load_block(block);
    let s = chain_asm::rounds(rk, s);
    chain::store_block(s, block);
}

/// Two blocks as two independent chains in 128-bit registers (AES-NI:
/// with one block per half of a 256-bit register, the lane split and merge
/// around the two AESENCLASTs would lengthen both chains).
#[target_feature(enable = "avx2,aes")]
fn crypt_pair_chain(rk: &[u32; 32], a: &mut RawBlock, b: &mut RawBlock) {
    let c = chain::Consts::load();
    let mut s = [chain::load_block(a), chain::load_block(b)];
    chain::rounds(rk, &mut s, &c);
    chain::store_block(s[0], a);
    chain::store_block(s[1], b);
}

/// Two blocks, one per 128-bit half of the `chain2_vaes` registers: the
/// second block rides along in the same instructions (one VAESENCLAST per
/// round for both).
#[target_feature(enable = "avx2,aes,vaes")]
fn crypt_pair_chain_vaes(rk: &[u32; 32], a: &mut RawBlock, b: &mut RawBlock) {
    let c = chain2_vaes::Consts::load();
    let (sa, sb) = (chain::load_block(a), chain::load_block(b));
    let mut s = [core::array::from_fn(|i| _mm256_set_m128i(sb[i], sa[i]))];
    chain2_vaes::rounds(rk, &mut s, &c);
    chain::store_block(s[0].map(|v| _mm256_castsi256_si128(v)), a);
    chain::store_block(s[0].map(|v| _mm256_extracti128_si256::<1>(v)), b);
}

/// Two independent blocks in place on the latency-optimised path (e.g. a
/// CBC-MAC block and a counter block of CCM): with VAES one per half of
/// 256-bit registers, about the latency of one; without, two interleaved
/// 128-bit chains, which take longer than one.
pub(crate) fn crypt_pair(vaes: bool, rk: &[u32; 32], a: &mut RawBlock, b: &mut RawBlock) {
    if vaes {
        // SAFETY: the VAES backend is only selected after run-time
        // detection of AES-NI, AVX2 and VAES.
        unsafe { crypt_pair_chain_vaes(rk, a, b) }
    } else {
        // SAFETY: the AES-NI backend is only selected after run-time
        // detection of AES-NI and AVX2.
        unsafe { crypt_pair_chain(rk, a, b) }
    }
}

/// Fused GCM over whole steps of 32 blocks: macro-expanded per width so the
/// AES-NI and VAES variants share the code.
macro_rules! gcm_driver {
    ($name:ident, $m:ident, $features:literal) => {
        #[target_feature(enable = $features)]
        fn $name(
            rk: &[u32; 32],
            key: &super::clmul::Key,
            acc: &mut [u8; 16],
            ctr: &mut RawBlock,
            data: &mut [RawBlock],
            seal: bool,
        ) {
            use $m::{Hash, Hasher, STEP};
            let words = $m::counter_words(ctr);
            let mut base = u32::from_be_bytes([ctr[12], ctr[13], ctr[14], ctr[15]]);
            let mut hs = Hasher::new(key, acc);
            let steps = data.len() / STEP;
            for i in 0..steps {
                let (done, todo) = data.split_at_mut(i * STEP);
                let cur: &mut [RawBlock; STEP] =
                    (&mut todo[..STEP]).try_into().expect("STEP blocks");
                let hash = if !seal {
                    Hash::Input
                } else if i == 0 {
                    Hash::Nothing
                } else {
                    Hash::Blocks((&done[(i - 1) * STEP..]).try_into().expect("STEP blocks"))
                };
                $m::step(rk, &words, base, cur, hash, &mut hs);
                base = base.wrapping_add(STEP as u32);
            }
            if seal && steps > 0 {
                hs.blocks(&data[(steps - 1) * STEP..steps * STEP]);
            }
            *acc = hs.acc();
            ctr[12..].copy_from_slice(&base.to_be_bytes());
        }
    };
}

gcm_driver!(gcm_wide, wide, "avx2,aes,pclmulqdq");
gcm_driver!(gcm_wide_vaes, wide_vaes, "avx2,aes,vaes,pclmulqdq");
gcm_driver!(
    gcm_wide_vaes_vpclmul,
    wide_vaes_vpclmul,
    "avx2,aes,vaes,pclmulqdq,vpclmulqdq"
);

/// Blocks per fused GCM step: [`gcm`] handles the largest multiple of it.
pub(crate) const GCM_STEP: usize = wide::STEP;

/// SM4-GCM encryption (`seal`) or decryption of `data` (a multiple of
/// [`GCM_STEP`] blocks) in one pass: CTR with inc32 from `ctr` (left at the
/// next counter) and GHASH of the ciphertext into `acc` (POLYVAL order).
pub(crate) fn gcm(
    vaes: bool,
    rk: &[u32; 32],
    key: &super::clmul::Key,
    acc: &mut [u8; 16],
    ctr: &mut RawBlock,
    data: &mut [RawBlock],
    seal: bool,
) {
    debug_assert!(data.len().is_multiple_of(GCM_STEP));
    if vaes && std::arch::is_x86_feature_detected!("vpclmulqdq") {
        // SAFETY: the VAES backend is only selected after run-time
        // detection of AES-NI, AVX2 and VAES; a clmul `Key` exists only when
        // PCLMULQDQ was detected; VPCLMULQDQ was just detected.
        unsafe { gcm_wide_vaes_vpclmul(rk, key, acc, ctr, data, seal) }
    } else if vaes {
        // SAFETY: the VAES backend is only selected after run-time
        // detection of AES-NI, AVX2 and VAES; a clmul `Key` exists only when
        // PCLMULQDQ was detected.
        unsafe { gcm_wide_vaes(rk, key, acc, ctr, data, seal) }
    } else {
        // SAFETY: AES-NI and AVX2 were detected for this backend; a clmul
        // `Key` exists only when PCLMULQDQ was detected.
        unsafe { gcm_wide(rk, key, acc, ctr, data, seal) }
    }
}
