//! Backend selection and dispatch.
//!
//! Every backend implements the same two operations on raw round keys:
//! `crypt` (any number of blocks, in place) and `tau` (the S-box layer on
//! one 32-bit word, for the key schedule). All of them are constant time.
//! On top of that, `crypt_block` and `crypt_pair` are the latency paths for
//! serial chains (CBC encryption, CBC-MAC, single blocks), and `gcm_fused`
//! the one-pass CTR + GHASH kernel; backends without a special path fall
//! back to `crypt`.

use core::fmt;
use core::str::FromStr;
#[cfg(target_arch = "x86_64")]
use std::sync::OnceLock;

use crate::{Error, RawBlock};

pub(crate) mod soft;

#[cfg(target_arch = "x86_64")]
pub(crate) mod aesni;
#[cfg(target_arch = "x86_64")]
pub(crate) mod clmul;
#[cfg(target_arch = "x86_64")]
pub(crate) mod gfni;

#[cfg(target_arch = "x86_64")]
cpufeatures::new!(aesni_cpuid, "aes", "sse2", "ssse3", "avx", "avx2");
#[cfg(target_arch = "x86_64")]
cpufeatures::new!(gfni_cpuid, "gfni", "avx512f", "avx512bw", "avx512vl", "ssse3");

/// An SM4 implementation strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// Portable bitsliced SM4: 16 blocks at a time through a boolean circuit
    /// for the S-box (tower-field inversion). No tables.
    Soft,
    /// x86-64 AES-NI + AVX2: the SM4 S-box through AESENCLAST and the
    /// affine isomorphism between the SM4 and AES fields, up to 32 blocks at
    /// a time.
    AesniAvx2,
    /// The AES-NI + AVX2 backend with VAES: one 256-bit AESENCLAST per eight
    /// blocks instead of two 128-bit ones; two-block chains (CCM) share one
    /// 256-bit register, and GCM's GHASH uses 256-bit VPCLMULQDQ when the
    /// CPU has it. (Valgrind does not execute VAES, so the constant-time
    /// check runs on `AesniAvx2`, which runs the same algorithms with
    /// 128-bit AES and carry-less multiplication instructions.)
    VaesAvx2,
    /// x86-64 GFNI + AVX-512: the S-box as two GF(2^8) affine instructions,
    /// 16 blocks per 512-bit register.
    GfniAvx512,
}

/// The environment variable that forces a backend for the whole process.
pub const BACKEND_ENV: &str = "GMKIT_SM4_BACKEND";

impl Backend {
    /// Every backend this crate knows, slowest first.
    pub const ALL: [Backend; 4] = [
        Backend::Soft,
        Backend::AesniAvx2,
        Backend::VaesAvx2,
        Backend::GfniAvx512,
    ];

    /// The stable name used by `GMKIT_SM4_BACKEND`, the CLI and reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Soft => "soft",
            Backend::AesniAvx2 => "aesni-avx2",
            Backend::VaesAvx2 => "vaes-avx2",
            Backend::GfniAvx512 => "gfni-avx512",
        }
    }

    /// Whether this CPU (and build target) can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Soft => true,
            #[cfg(target_arch = "x86_64")]
            Backend::AesniAvx2 => {
                static OK: OnceLock<bool> = OnceLock::new();
                aesni_cpuid::get() && *OK.get_or_init(|| self_test(self))
            }
            #[cfg(target_arch = "x86_64")]
            Backend::VaesAvx2 => {
                static OK: OnceLock<bool> = OnceLock::new();
                // std's detection: cpufeatures 0.3 ties VAES to AVX-512
                // register state, which Zen 3 (VAES, no AVX-512) lacks.
                aesni_cpuid::get()
                    && std::arch::is_x86_feature_detected!("vaes")
                    && *OK.get_or_init(|| self_test(self))
            }
            #[cfg(target_arch = "x86_64")]
            Backend::GfniAvx512 => {
                static OK: OnceLock<bool> = OnceLock::new();
                gfni_cpuid::get() && *OK.get_or_init(|| self_test(self))
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The backends this CPU can run, slowest first.
    pub fn available() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The fastest available backend, unless `GMKIT_SM4_BACKEND` names an
    /// available one (`auto`, an unknown or an unavailable name is ignored).
    pub fn detect() -> Backend {
        if let Ok(name) = std::env::var(BACKEND_ENV) {
            if let Ok(b) = name.parse::<Backend>() {
                if b.is_available() {
                    return b;
                }
            }
        }
        Self::fastest()
    }

    /// The fastest backend this CPU can run, ignoring the environment.
    pub fn fastest() -> Backend {
        *Self::available().last().unwrap_or(&Backend::Soft)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;

    /// Parses a backend name; `auto` means [`Backend::fastest`].
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::fastest()),
            name => Self::ALL
                .into_iter()
                .find(|b| b.name() == name)
                .ok_or(Error::UnknownBackend),
        }
    }
}

/// Known-answer self-test run once per process before a SIMD backend is
/// first used (like a FIPS power-on self-test): GB/T 32907-2016 example 1 on
/// batches of 1, 2, 17 and 33 blocks, tau against the portable circuit, and
/// the fused GCM kernel where the backend has one ([`gcm_self_test`]). A
/// backend that fails is reported unavailable, so a CPU or emulator quirk
/// degrades speed, never correctness.
#[cfg(target_arch = "x86_64")]
fn self_test(backend: Backend) -> bool {
    const KEY: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32,
        0x10,
    ];
    const CT: [u8; 16] = [
        0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42,
        0x46,
    ];
    let raw = crate::sm4::expand_key(&KEY, soft::tau);
    let rk = prepare_keys(backend, &raw);
    let mut rk_dec = raw;
    rk_dec.reverse();
    let rk_dec = prepare_keys(backend, &rk_dec);
    let tau_ok = [0u32, 0x0123_4567, 0x89ab_cdef, 0xffff_ffff, 0x5a5a_a5a5]
        .iter()
        .all(|&w| tau(backend, w) == soft::tau(w));
    let blocks_ok = [1usize, 2, 17, 33].iter().all(|&n| {
        let mut blocks = vec![KEY; n];
        crypt(backend, &rk, &mut blocks);
        let enc_ok = blocks.iter().all(|b| *b == CT);
        crypt(backend, &rk_dec, &mut blocks);
        enc_ok && blocks.iter().all(|b| *b == KEY)
    });
    tau_ok && blocks_ok && gcm_self_test(backend, &raw, &rk)
}

/// One step of the fused GCM kernel (sealing and opening, with a counter
/// whose low word wraps inside the step) against CTR on the portable
/// backend plus the separate PCLMULQDQ GHASH. `raw` are the plain round
/// keys, `rk` the backend's form of them. True where there is no kernel.
#[cfg(target_arch = "x86_64")]
fn gcm_self_test(backend: Backend, raw: &[u32; 32], rk: &[u32; 32]) -> bool {
    if !has_gcm_fused(backend) || !clmul::available() {
        return true;
    }
    let key = clmul::Key::new(&[0x42; 16]);
    let data: Vec<RawBlock> = (0..GCM_STEP as u8)
        .map(|i| [i.wrapping_mul(29) ^ 0x6b; 16])
        .collect();
    let low = 0xffff_fff0_u32;
    let mut ctr0 = [0x5a; 16];
    ctr0[12..].copy_from_slice(&low.to_be_bytes());
    let mut keystream: Vec<RawBlock> = (0..GCM_STEP as u32)
        .map(|i| {
            let mut c = ctr0;
            c[12..].copy_from_slice(&low.wrapping_add(i).to_be_bytes());
            c
        })
        .collect();
    soft::crypt(raw, &mut keystream);
    let xored: Vec<RawBlock> = data
        .iter()
        .zip(&keystream)
        .map(|(d, k)| core::array::from_fn(|j| d[j] ^ k[j]))
        .collect();
    [true, false].into_iter().all(|seal| {
        let mut want_acc = [0u8; 16];
        key.update(&mut want_acc, if seal { &xored } else { &data });
        let mut got = data.clone();
        let (mut acc, mut ctr) = ([0u8; 16], ctr0);
        gcm_fused(backend, rk, &key, &mut acc, &mut ctr, &mut got, seal);
        let next = low.wrapping_add(GCM_STEP as u32).to_be_bytes();
        got == xored && acc == want_acc && ctr[12..] == next && ctr[..12] == ctr0[..12]
    })
}

/// The round keys in the form `backend` runs on (the AES-NI/VAES backends
/// keep them in their S-box pre-image domain); computed once per key.
pub(crate) fn prepare_keys(backend: Backend, rk: &[u32; 32]) -> [u32; 32] {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::AesniAvx2 | Backend::VaesAvx2 => aesni::prepare_keys(rk),
        _ => *rk,
    }
}

/// Runs the 32 SM4 rounds with `rk` (from [`prepare_keys`]) over every
/// block, in place.
///
/// The caller guarantees that `backend` is available (checked when the key
/// was set up).
pub(crate) fn crypt(backend: Backend, rk: &[u32; 32], blocks: &mut [RawBlock]) {
    match backend {
        Backend::Soft => soft::crypt(rk, blocks),
        #[cfg(target_arch = "x86_64")]
        Backend::AesniAvx2 => aesni::crypt(rk, blocks),
        #[cfg(target_arch = "x86_64")]
        Backend::VaesAvx2 => aesni::crypt_vaes(rk, blocks),
        #[cfg(target_arch = "x86_64")]
        Backend::GfniAvx512 => gfni::crypt(rk, blocks),
        #[cfg(not(target_arch = "x86_64"))]
        _ => soft::crypt(rk, blocks),
    }
}

/// One block in place: the latency-optimised path where the backend has
/// one (CBC encryption, CBC-MAC and single-block calls are serial chains).
pub(crate) fn crypt_block(backend: Backend, rk: &[u32; 32], block: &mut RawBlock) {
    // The AES-NI and VAES bulk entry points send a lone block to their
    // latency path themselves.
    crypt(backend, rk, core::slice::from_mut(block))
}

/// Two independent blocks in place, each on the latency-optimised path.
/// See [`pair_costs_one_block`] for what that costs.
pub(crate) fn crypt_pair(backend: Backend, rk: &[u32; 32], a: &mut RawBlock, b: &mut RawBlock) {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::AesniAvx2 => aesni::crypt_pair(false, rk, a, b),
        #[cfg(target_arch = "x86_64")]
        Backend::VaesAvx2 => aesni::crypt_pair(true, rk, a, b),
        _ => {
            let mut both = [*a, *b];
            crypt(backend, rk, &mut both);
            *a = both[0];
            *b = both[1];
            zeroize::Zeroize::zeroize(&mut both);
        }
    }
}

/// Whether [`crypt_pair`] costs about as much as one block: on VAES (one
/// block per half of a 256-bit register) and on the portable and GFNI
/// backends (16 blocks per pass anyway). On AES-NI without VAES the two
/// 128-bit chains compete for the same units, and a pair takes longer.
pub(crate) fn pair_costs_one_block(backend: Backend) -> bool {
    backend != Backend::AesniAvx2
}

/// Blocks per fused GCM step (see [`gcm_fused`]).
#[cfg(target_arch = "x86_64")]
pub(crate) const GCM_STEP: usize = aesni::GCM_STEP;

/// Whether `backend` has a fused GCM kernel ([`gcm_fused`]).
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_gcm_fused(backend: Backend) -> bool {
    matches!(backend, Backend::AesniAvx2 | Backend::VaesAvx2)
}

/// One-pass SM4-GCM over `data` (a multiple of [`GCM_STEP`] blocks) on the
/// backends that have a fused kernel: CTR (inc32) from `ctr`, left at the
/// next counter, and GHASH of the ciphertext into the POLYVAL accumulator
/// `acc`. Only for backends where [`has_gcm_fused`] holds.
#[cfg(target_arch = "x86_64")]
pub(crate) fn gcm_fused(
    backend: Backend,
    rk: &[u32; 32],
    key: &clmul::Key,
    acc: &mut RawBlock,
    ctr: &mut RawBlock,
    data: &mut [RawBlock],
    seal: bool,
) {
    match backend {
        Backend::AesniAvx2 => aesni::gcm(false, rk, key, acc, ctr, data, seal),
        Backend::VaesAvx2 => aesni::gcm(true, rk, key, acc, ctr, data, seal),
        _ => unreachable!("no fused GCM kernel on {backend:?}"),
    }
}

/// The non-linear transformation tau (four S-boxes) on one word.
pub(crate) fn tau(backend: Backend, word: u32) -> u32 {
    match backend {
        #[cfg(target_arch = "x86_64")]
        Backend::AesniAvx2 | Backend::VaesAvx2 => aesni::tau(word),
        #[cfg(target_arch = "x86_64")]
        Backend::GfniAvx512 => gfni::tau(word),
        _ => soft::tau(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every backend's S-box layer equals the portable circuit on every
    /// byte value in every byte position.
    #[test]
    fn tau_agrees_on_every_byte_value() {
        for b in Backend::available() {
            for x in 0..=255u32 {
                for w in [
                    x * 0x0101_0101,
                    x,
                    x << 8,
                    x << 16,
                    x << 24,
                    x ^ 0xa5c3_0f00,
                ] {
                    assert_eq!(tau(b, w), soft::tau(w), "{b:?} {w:#010x}");
                }
            }
        }
    }

    /// Every backend agrees with the portable one on every batch size up to
    /// 70 blocks (covers each backend's group and tail paths).
    #[test]
    fn batch_sizes_agree() {
        let rk: [u32; 32] = core::array::from_fn(|i| (i as u32).wrapping_mul(0x9e37_79b9));
        let input: Vec<RawBlock> = (0..70u8).map(|i| [i.wrapping_mul(37); 16]).collect();
        for b in Backend::available() {
            for n in 0..=70 {
                let mut expect = input[..n].to_vec();
                soft::crypt(&rk, &mut expect);
                let mut got = input[..n].to_vec();
                crypt(b, &prepare_keys(b, &rk), &mut got);
                assert_eq!(got, expect, "{b:?} n={n}");
            }
        }
    }

    /// The one- and two-block latency paths agree with the portable
    /// backend on random keys and blocks, with encryption and decryption
    /// round keys.
    #[test]
    fn block_and_pair_paths_agree() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let rk: [u32; 32] = core::array::from_fn(|_| next() as u32);
            let a: RawBlock = core::array::from_fn(|_| next() as u8);
            let b: RawBlock = core::array::from_fn(|_| next() as u8);
            let mut expect = [a, b];
            soft::crypt(&rk, &mut expect);
            for be in Backend::available() {
                let prk = prepare_keys(be, &rk);
                let mut x = a;
                crypt_block(be, &prk, &mut x);
                assert_eq!(x, expect[0], "{be:?} block");
                let (mut x, mut y) = (a, b);
                crypt_pair(be, &prk, &mut x, &mut y);
                assert_eq!([x, y], expect, "{be:?} pair");
            }
        }
    }
}
