//! Constant-time table scans with AVX2, for the x86-64 backend (chosen
//! at run time together with the MULX/ADX field code, see
//! [`super::field_adx::avx2_scans`]).
//!
//! A scan reads every entry of a table and keeps the one whose 1-based
//! index equals a secret digit, with compare-generated masks: the same
//! memory is read whatever the digit, and nothing branches on it. The
//! portable scans in [`super::mul`] do the same on 64-bit words; this
//! moves 32 bytes per instruction, which matters because the comb for
//! k·G scans 43 tables of 32 points each (88 KiB) per signature.
//! `crates/ct-check` runs this code under valgrind on secret digits.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256i, _mm256_add_epi64, _mm256_and_si256, _mm256_cmpeq_epi64, _mm256_loadu_si256,
    _mm256_or_si256, _mm256_set1_epi64x, _mm256_setzero_si256, _mm256_storeu_si256,
};

use super::point::{Affine, Jacobian};

/// Point types the scan reads and writes as raw 32-byte vectors.
///
/// # Safety
/// Implementors must be plain old data: `repr(C)` field elements only,
/// every bit pattern a valid value, no padding, exactly `VECTORS` vectors
/// (the size is also asserted where the scan is instantiated).
unsafe trait Pod: Copy + Default {
    const VECTORS: usize;
}

// SAFETY: `repr(C)` struct of two `Fe`, each `repr(transparent)` over
// `[u64; 4]`: 64 bytes, no padding, any bit pattern valid.
unsafe impl Pod for Affine {
    const VECTORS: usize = 2;
}

// SAFETY: `repr(C)` struct of three `Fe`: 96 bytes, no padding, any bit
// pattern valid.
unsafe impl Pod for Jacobian {
    const VECTORS: usize = 3;
}

/// `table[digit - 1]`, or all-zero words for digit 0 (or any digit past
/// the end), reading every entry.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2<T: Pod, const N: usize>(table: &[T; N], digit: u64) -> T {
    // Checked for every type this is instantiated with: T is exactly
    // VECTORS 32-byte vectors, and they fit the three accumulators.
    const {
        assert!(core::mem::size_of::<T>() == 32 * T::VECTORS && T::VECTORS <= 3);
    }
    let want = _mm256_set1_epi64x(digit as i64);
    // The entry index rides in a vector: with a visible constant, LLVM
    // rewrites the compare as a scalar CMP/SETE plus a broadcast, six
    // instructions per entry instead of two.
    let one = core::hint::black_box(_mm256_set1_epi64x(1));
    let mut index = _mm256_setzero_si256();
    let mut acc = [_mm256_setzero_si256(); 3];
    for entry in table {
        index = _mm256_add_epi64(index, one);
        let mask = _mm256_cmpeq_epi64(want, index);
        let words = (entry as *const T).cast::<__m256i>();
        for (k, a) in acc.iter_mut().take(T::VECTORS).enumerate() {
            // SAFETY: `entry` is a valid reference to T, which is
            // T::VECTORS × 32 bytes (asserted above), so vector k < VECTORS
            // lies inside it; loadu has no alignment requirement.
            let v = unsafe { _mm256_loadu_si256(words.add(k)) };
            *a = _mm256_or_si256(*a, _mm256_and_si256(v, mask));
        }
    }
    let mut out = T::default();
    let words = (&mut out as *mut T).cast::<__m256i>();
    for (k, a) in acc.iter().take(T::VECTORS).enumerate() {
        // SAFETY: as above, inside `out`, which is ours; every bit pattern
        // is a valid T (the `Pod` contract).
        unsafe { _mm256_storeu_si256(words.add(k), *a) };
    }
    out
}

/// `table[digit - 1]`, or all-zero words for digit 0; `None` if the CPU
/// has no AVX2 (std caches the CPUID answer, so the check is one load).
#[inline]
fn scan<T: Pod, const N: usize>(table: &[T; N], digit: u64) -> Option<T> {
    // SAFETY: scan_avx2() needs AVX2, which the CPU reports.
    std::is_x86_feature_detected!("avx2").then(|| unsafe { scan_avx2(table, digit) })
}

/// [`scan`] for affine points.
#[inline]
pub(super) fn scan_affine<const N: usize>(table: &[Affine; N], digit: u64) -> Option<Affine> {
    scan(table, digit)
}

/// [`scan`] for Jacobian points.
#[inline]
pub(super) fn scan_jacobian<const N: usize>(table: &[Jacobian; N], digit: u64) -> Option<Jacobian> {
    scan(table, digit)
}
