//! x86-64 AES-NI + AVX2 backend.
//!
//! SM4's S-box and AES's are both affine transforms around inversion in
//! isomorphic fields, so
//! `S_sm4(x) = post(AESENCLAST(InvShiftRows(pre(x)), 0))`, where `pre` and
//! `post` are 8x8 bit-matrix affine maps applied with two 16-entry nibble
//! lookups (`PSHUFB` on register-resident constants: the "table" is indexed
//! inside a register, never through memory, so it is constant time) and
//! the inverse ShiftRows cancels the one AESENCLAST applies. The matrices
//! were derived from the field isomorphism and checked over all 256 inputs
//! (`backend::tests` checks every backend against the portable circuit on
//! every byte value; the cipher is cross-checked against RustCrypto `sm4`).
//! Blocks are transposed so that one
//! 32-bit lane holds one word of one block: eight blocks per AVX2 register,
//! four registers in flight (32 blocks) to hide the latency of a round.
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use crate::RawBlock;

/// pre(x) = T * (A * x + 0xd3): low-nibble table (includes the constant).
const PRE_LO: [u8; 16] = hex16(*b"3eb20e82bb378b07a12d911d24a81498");
/// pre(x): high-nibble table (linear part only).
const PRE_HI: [u8; 16] = hex16(*b"00dc2ef2c519eb3708d426facd11e33f");
/// post(y) = A * T^-1 * M_aes^-1 * (y + 0x63) + 0xd3: low-nibble table.
const POST_LO: [u8; 16] = hex16(*b"6cd4a61e52ea98200bb3c179358dff47");
/// post(y): high-nibble table.
const POST_HI: [u8; 16] = hex16(*b"00e050b09d7dcd2dc02090705dbd0ded");
/// Inverse ShiftRows, cancelling the ShiftRows inside AESENCLAST.
const INV_SHIFT_ROWS: [u8; 16] = [0, 13, 10, 7, 4, 1, 14, 11, 8, 5, 2, 15, 12, 9, 6, 3];
/// Rotations of each 32-bit lane by whole bytes.
const ROL8: [u8; 16] = [3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14];
const ROL16: [u8; 16] = [2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13];
const ROL24: [u8; 16] = [1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12];
/// Blocks per group (one word of each in a 256-bit register).
const GROUP: usize = 8;
/// Groups kept in flight to hide the latency of one round.
const IN_FLIGHT: usize = 4;
/// Big-endian words to lanes and back.
const BSWAP32: [u8; 16] = [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12];

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

/// Register constants, loaded once per call.
#[derive(Clone, Copy)]
struct Consts {
    pre_lo: __m256i,
    pre_hi: __m256i,
    post_lo: __m256i,
    post_hi: __m256i,
    isr: __m256i,
    rol8: __m256i,
    rol16: __m256i,
    rol24: __m256i,
    bswap: __m256i,
    nibble: __m256i,
}

#[target_feature(enable = "avx2")]
fn broadcast(t: &[u8; 16]) -> __m256i {
    // SAFETY: `t` is 16 readable bytes; unaligned load.
    let x = unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
    _mm256_broadcastsi128_si256(x)
}

impl Consts {
    #[target_feature(enable = "avx2")]
    fn load() -> Self {
        Consts {
            pre_lo: broadcast(&PRE_LO),
            pre_hi: broadcast(&PRE_HI),
            post_lo: broadcast(&POST_LO),
            post_hi: broadcast(&POST_HI),
            isr: broadcast(&INV_SHIFT_ROWS),
            rol8: broadcast(&ROL8),
            rol16: broadcast(&ROL16),
            rol24: broadcast(&ROL24),
            bswap: broadcast(&BSWAP32),
            nibble: _mm256_set1_epi8(0x0f),
        }
    }
}

/// Affine map through two nibble lookups done with in-register shuffles.
#[inline]
#[target_feature(enable = "avx2")]
fn affine(x: __m256i, lo_t: __m256i, hi_t: __m256i, nibble: __m256i) -> __m256i {
    let lo = _mm256_and_si256(x, nibble);
    let hi = _mm256_and_si256(_mm256_srli_epi32::<4>(x), nibble);
    _mm256_xor_si256(_mm256_shuffle_epi8(lo_t, lo), _mm256_shuffle_epi8(hi_t, hi))
}

/// T(x) = L(tau(x)) on eight lanes.
#[inline]
#[target_feature(enable = "avx2,aes")]
fn t_transform(x: __m256i, c: &Consts) -> __m256i {
    let a = affine(x, c.pre_lo, c.pre_hi, c.nibble);
    let a = _mm256_shuffle_epi8(a, c.isr);
    let zero = _mm_setzero_si128();
    let lo = _mm_aesenclast_si128(_mm256_castsi256_si128(a), zero);
    let hi = _mm_aesenclast_si128(_mm256_extracti128_si256::<1>(a), zero);
    let s = _mm256_inserti128_si256::<1>(_mm256_castsi128_si256(lo), hi);
    let y = affine(s, c.post_lo, c.post_hi, c.nibble);
    // L(y) = y ^ rol(y,2) ^ rol(y,10) ^ rol(y,18) ^ rol(y,24)
    //      = y ^ rol(y,24) ^ rol(y ^ rol(y,8) ^ rol(y,16), 2)
    let t = _mm256_xor_si256(
        y,
        _mm256_xor_si256(
            _mm256_shuffle_epi8(y, c.rol8),
            _mm256_shuffle_epi8(y, c.rol16),
        ),
    );
    let t = _mm256_or_si256(_mm256_slli_epi32::<2>(t), _mm256_srli_epi32::<30>(t));
    _mm256_xor_si256(_mm256_xor_si256(y, _mm256_shuffle_epi8(y, c.rol24)), t)
}

/// Transposes four registers of (two blocks of four words) into four
/// registers of (word j of eight blocks), or back: an involution.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose(r: [__m256i; 4]) -> [__m256i; 4] {
    let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
    let t1 = _mm256_unpacklo_epi32(r[2], r[3]);
    let t2 = _mm256_unpackhi_epi32(r[0], r[1]);
    let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    [
        _mm256_unpacklo_epi64(t0, t1),
        _mm256_unpackhi_epi64(t0, t1),
        _mm256_unpacklo_epi64(t2, t3),
        _mm256_unpackhi_epi64(t2, t3),
    ]
}

/// Loads eight blocks as four word registers.
#[inline]
#[target_feature(enable = "avx2")]
fn load8(blocks: &[RawBlock; GROUP], c: &Consts) -> [__m256i; 4] {
    let p = blocks.as_ptr().cast::<__m256i>();
    // SAFETY: `blocks` is 128 readable bytes = four unaligned 32-byte loads.
    let r = unsafe {
        [
            _mm256_loadu_si256(p),
            _mm256_loadu_si256(p.add(1)),
            _mm256_loadu_si256(p.add(2)),
            _mm256_loadu_si256(p.add(3)),
        ]
    };
    transpose(r.map(|x| _mm256_shuffle_epi8(x, c.bswap)))
}

/// Stores the output words (X35, X34, X33, X32) of eight blocks.
#[inline]
#[target_feature(enable = "avx2")]
fn store8(x: [__m256i; 4], blocks: &mut [RawBlock; GROUP], c: &Consts) {
    let r = transpose([x[3], x[2], x[1], x[0]]).map(|x| _mm256_shuffle_epi8(x, c.bswap));
    let p = blocks.as_mut_ptr().cast::<__m256i>();
    // SAFETY: `blocks` is 128 writable bytes = four unaligned 32-byte stores.
    unsafe {
        _mm256_storeu_si256(p, r[0]);
        _mm256_storeu_si256(p.add(1), r[1]);
        _mm256_storeu_si256(p.add(2), r[2]);
        _mm256_storeu_si256(p.add(3), r[3]);
    }
}

/// x0 ^ L(tau(x1 ^ x2 ^ x3 ^ k)).
#[inline]
#[target_feature(enable = "avx2,aes")]
fn round(x0: __m256i, x1: __m256i, x2: __m256i, x3: __m256i, k: __m256i, c: &Consts) -> __m256i {
    let t = _mm256_xor_si256(_mm256_xor_si256(x1, x2), _mm256_xor_si256(x3, k));
    _mm256_xor_si256(x0, t_transform(t, c))
}

/// Four rounds (one full rotation of the state words) on every listed
/// group. Expanded in place so the groups' states stay in registers and
/// their independent dependency chains overlap.
macro_rules! four_rounds {
    ($rk:expr, $r:expr, $c:expr, $($s:ident),+) => {{
        let k = [0, 1, 2, 3].map(|i| _mm256_set1_epi32($rk[$r + i] as i32));
        $( $s[0] = round($s[0], $s[1], $s[2], $s[3], k[0], $c); )+
        $( $s[1] = round($s[1], $s[2], $s[3], $s[0], k[1], $c); )+
        $( $s[2] = round($s[2], $s[3], $s[0], $s[1], k[2], $c); )+
        $( $s[3] = round($s[3], $s[0], $s[1], $s[2], k[3], $c); )+
    }};
}

/// One group of eight blocks (the short-message path).
#[target_feature(enable = "avx2,aes")]
fn crypt1(rk: &[u32; 32], g: &mut [RawBlock; GROUP]) {
    let c = Consts::load();
    let mut a = load8(g, &c);
    for r in (0..32).step_by(4) {
        four_rounds!(rk, r, &c, a);
    }
    store8(a, g, &c);
}

/// Four groups (32 blocks) in flight.
#[target_feature(enable = "avx2,aes")]
fn crypt4(rk: &[u32; 32], g: [&mut [RawBlock; GROUP]; IN_FLIGHT]) {
    let c = Consts::load();
    let [g0, g1, g2, g3] = g;
    let (mut a, mut b, mut d, mut e) = (load8(g0, &c), load8(g1, &c), load8(g2, &c), load8(g3, &c));
    for r in (0..32).step_by(4) {
        four_rounds!(rk, r, &c, a, b, d, e);
    }
    store8(a, g0, &c);
    store8(b, g1, &c);
    store8(d, g2, &c);
    store8(e, g3, &c);
}

/// Splits `N * GROUP` blocks into `N` groups.
fn split<const N: usize>(blocks: &mut [RawBlock]) -> [&mut [RawBlock; GROUP]; N] {
    let mut it = blocks.chunks_exact_mut(GROUP);
    core::array::from_fn(|_| {
        it.next()
            .and_then(|c| c.try_into().ok())
            .expect("caller passes N * GROUP blocks")
    })
}

#[target_feature(enable = "avx2,aes")]
fn crypt_all(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    let mut chunks = blocks.chunks_exact_mut(IN_FLIGHT * GROUP);
    for chunk in &mut chunks {
        crypt4(rk, split::<IN_FLIGHT>(chunk));
    }
    let rest = chunks.into_remainder();
    if rest.is_empty() {
        return;
    }
    // Tail: pad into a zeroed buffer (its length is public).
    let n = rest.len();
    let mut buf = [[0u8; 16]; IN_FLIGHT * GROUP];
    buf[..n].copy_from_slice(rest);
    if n <= GROUP {
        let [g] = split::<1>(&mut buf[..GROUP]);
        crypt1(rk, g);
    } else {
        crypt4(rk, split::<IN_FLIGHT>(&mut buf));
    }
    rest.copy_from_slice(&buf[..n]);
    zeroize::Zeroize::zeroize(&mut buf);
}

#[target_feature(enable = "avx2,aes")]
fn tau_avx2(word: u32) -> u32 {
    let c = Consts::load();
    let x = _mm256_set1_epi32(word as i32);
    let a = affine(x, c.pre_lo, c.pre_hi, c.nibble);
    let a = _mm256_shuffle_epi8(a, c.isr);
    let s = _mm_aesenclast_si128(_mm256_castsi256_si128(a), _mm_setzero_si128());
    let y = affine(_mm256_castsi128_si256(s), c.post_lo, c.post_hi, c.nibble);
    _mm256_cvtsi256_si32(y) as u32
}

/// Any number of blocks, in place. Only called when the CPU has the
/// features (checked by `Backend::is_available` when the key was set up).
pub(crate) fn crypt(rk: &[u32; 32], blocks: &mut [RawBlock]) {
    // SAFETY: the backend is only selected after run-time detection of
    // AES-NI, SSSE3, AVX and AVX2 (`Sm4::new_with_backend` / `detect`).
    unsafe { crypt_all(rk, blocks) }
}

/// tau on one word, for the key schedule.
pub(crate) fn tau(word: u32) -> u32 {
    // SAFETY: as for `crypt`: the CPU features were detected.
    unsafe { tau_avx2(word) }
}
