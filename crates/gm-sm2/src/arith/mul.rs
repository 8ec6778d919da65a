//! Scalar multiplication.
//!
//! * [`mul_base`]: k·G, constant time. A fixed-base comb over signed
//!   (Booth) 6-bit digits: 43 windows, each with its own table of
//!   j·2^(6i)·G for j = 1..=32 in affine form, so the whole product is 43
//!   mixed additions and no doublings. Each table entry is read by a scan
//!   of all 32 entries with masks (32 bytes at a time with AVX2 on the
//!   x86-64 backend, see `scan_avx2`); a negative digit negates y with a
//!   mask.
//! * [`mul_base_batch`]: k·G for many k at once, constant time, in affine
//!   form (the nonce pool): the same comb, split into eight chains per
//!   scalar, with affine partial sums whose additions in each step share
//!   one inversion.
//! * [`mul_var`]: k·P, constant time. Signed 5-bit windows over a table of
//!   1..=16 P, five doublings and one complete addition per window.
//! * [`mul_double_vartime`]: s·G + t·P for signature verification, public
//!   inputs only: the comb for s·G, a width-5 wNAF for t·P.
//!
//! Scalars are 32-byte big-endian values below the group order; they are
//! recoded into digits without branches, and the digits are zeroized.

use std::sync::OnceLock;

use zeroize::Zeroize;

use super::field::{limbs_from_be, Fe};
use super::point::{batch_to_affine, Affine, Jacobian, TableEntry, ZPowers, G};

/// Comb window width for k·G.
const BASE_W: usize = 6;
/// Number of comb windows: 6 × 43 = 258 bits covers 256 bits plus the
/// Booth carry.
const BASE_WINDOWS: usize = 43;
/// Entries per comb table: digits 1..=2^(w-1).
const BASE_ENTRIES: usize = 1 << (BASE_W - 1);

/// Window width for k·P.
const VAR_W: usize = 5;
const VAR_WINDOWS: usize = 52;
const VAR_ENTRIES: usize = 1 << (VAR_W - 1);

type CombTable = [[Affine; BASE_ENTRIES]; BASE_WINDOWS];

/// The comb tables of G, built on first use (about 1,400 point additions
/// and one inversion; public data).
fn comb_table() -> &'static CombTable {
    static TABLE: OnceLock<Box<CombTable>> = OnceLock::new();
    TABLE.get_or_init(|| build_comb(&G))
}

/// A public point's comb tables (j·2^(6i)·P, 88 KiB), for repeated
/// variable-time multiplications by the same point (signature verification
/// with a long-lived key).
pub(crate) struct PointTable(Box<CombTable>);

impl PointTable {
    pub(crate) fn new(p: &Affine) -> PointTable {
        PointTable(build_comb(p))
    }
}

/// Comb tables for `point` (public): 43 windows of j·2^(6i)·point.
fn build_comb(point: &Affine) -> Box<CombTable> {
    let mut jac = Vec::with_capacity(BASE_WINDOWS * BASE_ENTRIES);
    let mut base = Jacobian::from_affine(point); // 2^(6i)·point
    for _ in 0..BASE_WINDOWS {
        let mut acc = base;
        jac.push(acc);
        for _ in 1..BASE_ENTRIES {
            acc = acc.add_vartime(&base);
            jac.push(acc);
        }
        for _ in 0..BASE_W {
            base = base.double();
        }
    }
    let affine = batch_to_affine(&jac);
    let mut table = Box::new([[Affine::default(); BASE_ENTRIES]; BASE_WINDOWS]);
    for (i, row) in table.iter_mut().enumerate() {
        row.copy_from_slice(&affine[i * BASE_ENTRIES..(i + 1) * BASE_ENTRIES]);
    }
    table
}

/// Bit `i` of the little-endian limbs (0 beyond the top).
#[inline(always)]
fn bit(limbs: &[u64; 4], i: usize) -> u64 {
    if i >= 256 {
        0
    } else {
        (limbs[i / 64] >> (i % 64)) & 1
    }
}

/// The (w+1)-bit window of `limbs` whose lowest bit is bit `start - 1`
/// (bit -1 counts as 0). The positions are public; only values are secret.
#[inline(always)]
fn window(limbs: &[u64; 4], start: usize, w: usize) -> u64 {
    let mut v = 0u64;
    for j in 0..=w {
        let pos = start + j;
        if pos >= 1 {
            v |= bit(limbs, pos - 1) << j;
        }
    }
    v
}

/// Booth recoding of a (w+1)-bit window: returns (|digit|, negative mask).
/// Digit = b[-1] + b[0] + 2 b[1] + ... + 2^(w-2) b[w-2] - 2^(w-1) b[w-1],
/// in [-2^(w-1), 2^(w-1)]. Branch-free.
#[inline(always)]
fn booth(v: u64, w: usize) -> (u64, u64) {
    // The barrier keeps the mask opaque, so its uses stay masked selects.
    let neg = core::hint::black_box(0u64.wrapping_sub((v >> w) & 1));
    let flipped = ((1u64 << (w + 1)) - 1 - v) & neg | v & !neg;
    let mag = (flipped >> 1) + (flipped & 1);
    (mag, neg)
}

/// All ones if a == b (no optimisation barrier: see the callers).
#[inline(always)]
fn eq_mask_raw(a: u64, b: u64) -> u64 {
    let x = a ^ b;
    // x | -x has its top bit set iff x != 0.
    ((x | x.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// All ones if a == b; constant time, opaque to the optimiser.
#[inline(always)]
fn eq_mask(a: u64, b: u64) -> u64 {
    core::hint::black_box(eq_mask_raw(a, b))
}

/// Reads `table[mag - 1]` by scanning every entry; (0, 0) if mag = 0.
#[inline(always)]
fn lookup_affine(table: &[Affine; BASE_ENTRIES], mag: u64) -> Affine {
    scan(table, mag)
}

/// Reads `table[mag - 1]` by scanning every entry; infinity if mag = 0.
#[inline(always)]
fn lookup_jacobian(table: &[Jacobian; VAR_ENTRIES], mag: u64) -> Jacobian {
    let mut p = scan(table, mag);
    // mag = 0 selected nothing: OR in infinity's coordinates.
    p.or_masked(
        &Jacobian::INFINITY,
        core::hint::black_box(eq_mask_raw(mag, 0)),
    );
    p
}

/// `table[mag - 1]`, or all-zero words if mag = 0, reading every entry:
/// with AVX2 on the x86-64 backend, else [`scan_portable`].
#[inline(always)]
fn scan<T: TableEntry, const N: usize>(table: &[T; N], mag: u64) -> T {
    #[cfg(target_arch = "x86_64")]
    if super::field_adx::avx2_scans() {
        if let Some(p) = T::scan_simd(table, mag) {
            return p;
        }
    }
    scan_portable(table, mag)
}

/// [`scan`] on 64-bit words, for any CPU: ORs every entry into the result
/// under a mask that is all ones only for entry `mag - 1`. The masks are
/// computed first and pass the optimisation barrier together, so the masked
/// accumulation stays branch-free and can be vectorised.
#[inline(always)]
fn scan_portable<T: TableEntry, const N: usize>(table: &[T; N], mag: u64) -> T {
    let mut masks = [0u64; N];
    for (j, m) in masks.iter_mut().enumerate() {
        *m = eq_mask_raw(mag, j as u64 + 1);
    }
    let masks = core::hint::black_box(masks);
    let mut out = T::default();
    for (entry, &m) in table.iter().zip(masks.iter()) {
        out.or_masked(entry, m);
    }
    out
}

/// The comb's point for window `w` of the scalar `limbs`: ±table entry
/// for the window's Booth digit, and the all-ones mask when the digit is 0
/// (the point is then (0, 0) and must not be added). Constant time.
#[inline(always)]
fn comb_point(row: &[Affine; BASE_ENTRIES], limbs: &[u64; 4], w: usize) -> (Affine, u64) {
    let (mag, neg) = booth(window(limbs, BASE_W * w, BASE_W), BASE_W);
    (lookup_affine(row, mag).cond_neg(neg), eq_mask(mag, 0))
}

/// k·G in constant time. `k` is big-endian and must be below the group
/// order n; k = 0 gives infinity.
pub(crate) fn mul_base(k: &[u8; 32]) -> Jacobian {
    let table = comb_table();
    let mut limbs = limbs_from_be(k);
    let mut acc = Jacobian::INFINITY;
    for (i, row) in table.iter().enumerate() {
        let (q, zero) = comb_point(row, &limbs, i);
        // For 0 < k < n the partial sum never equals ±q (its magnitude
        // stays below 2^(6i) ≤ |digit|·2^(6i), and below n), so the
        // incomplete mixed addition is exact; an infinite partial sum
        // (all lower digits zero) is handled inside.
        acc = acc.add_affine_ct(&q, zero);
    }
    limbs.zeroize();
    acc
}

/// Independent comb chains per scalar in [`mul_base_batch`] (a power of
/// two): chain c sums windows c·CHAIN_STEPS .. (c+1)·CHAIN_STEPS, and the
/// chains are then added pairwise, in log2(CHAINS) steps.
const CHAINS: usize = 8;
/// Windows per chain (the last chain is shorter: 8 × 6 = 48 ≥ 43).
const CHAIN_STEPS: usize = BASE_WINDOWS.div_ceil(CHAINS);
const _: () = assert!(CHAINS.is_power_of_two() && (CHAINS - 1) * CHAIN_STEPS < BASE_WINDOWS);

/// k·G for a batch of scalars in constant time, in affine form: the same
/// comb as [`mul_base`], but with affine partial sums whose additions share
/// inversions (Montgomery's trick), so an addition costs about 6
/// multiplications instead of 11. Each scalar's 43 windows are split into
/// [`CHAINS`] chains summed side by side, so one inversion serves up to
/// (`CHAINS` - 1) × batch additions (the last chain holds only the top
/// window): each chain starts at its first window's point, then 5 steps
/// over the other windows plus 3 to add the chains make 8 inversions per
/// batch instead of 43, for the same 42 additions per scalar (7.7 µs per
/// scalar became 6.6 µs in a batch of 64).
///
/// Every `k` is big-endian and must be in [1, n-1]. Returns the points and,
/// per point, a mask that is all ones when the point is unusable: k = 0
/// (infinity), or an addition that met equal x coordinates (a doubling or
/// a sum at infinity, which the chord formula cannot do), whose
/// denominator is then replaced by 1 so that the other points of the
/// batch stay right. For k in [1, n-1] the second never happens with this
/// layout: the test `batched_comb_never_meets_equal_x_below_n` searches
/// every k for it. The mask is the safety net should the layout change;
/// the caller discards such a point (the nonce pool marks the nonce
/// invalid).
pub(crate) fn mul_base_batch(ks: &[[u8; 32]]) -> (Vec<Affine>, Vec<u64>) {
    let table = comb_table();
    let n = ks.len();
    let lanes = CHAINS * n;
    let mut limbs: Vec<[u64; 4]> = ks.iter().map(limbs_from_be).collect();
    // Lane c·n + i is chain c of scalar i. Each chain starts at its first
    // window's point, infinity where that digit is zero.
    let mut acc = vec![Affine::default(); lanes];
    let mut inf = vec![0u64; lanes];
    for c in 0..CHAINS {
        let w = c * CHAIN_STEPS;
        let lanes = (acc[c * n..].iter_mut()).zip(inf[c * n..].iter_mut());
        for ((a, z), l) in lanes.zip(&limbs) {
            (*a, *z) = comb_point(&table[w], l, w);
        }
    }
    let mut bad = vec![0u64; lanes];
    let mut q = vec![Affine::default(); lanes];
    let mut skip = vec![0u64; lanes];
    let mut den = vec![Fe::ZERO; lanes];
    let mut prefix = vec![Fe::ZERO; lanes];
    for step in 1..CHAIN_STEPS {
        // The chains that still have a window at this step: a prefix of
        // the lanes (only the last chain can be shorter).
        let active = (0..CHAINS)
            .take_while(|c| c * CHAIN_STEPS + step < BASE_WINDOWS)
            .count();
        for c in 0..active {
            let w = c * CHAIN_STEPS + step;
            let lanes = (q[c * n..].iter_mut()).zip(skip[c * n..].iter_mut());
            for ((p, z), l) in lanes.zip(&limbs) {
                (*p, *z) = comb_point(&table[w], l, w);
            }
        }
        let m = active * n;
        add_affine_batch(
            &mut acc[..m],
            &mut inf[..m],
            &q[..m],
            &skip[..m],
            &mut bad[..m],
            &mut den,
            &mut prefix,
        );
    }
    // Add the chains pairwise: the upper half of the lanes into the lower.
    let mut live = lanes;
    while live > n {
        let half = live / 2;
        let (lo, hi) = acc[..live].split_at_mut(half);
        let (lo_inf, hi_inf) = inf[..live].split_at_mut(half);
        let (lo_bad, hi_bad) = bad[..live].split_at_mut(half);
        // An infinite chain adds nothing.
        add_affine_batch(lo, lo_inf, hi, hi_inf, lo_bad, &mut den, &mut prefix);
        for (b, h) in lo_bad.iter_mut().zip(hi_bad.iter()) {
            *b |= h;
        }
        live = half;
    }
    // k = 0 leaves every chain at infinity.
    for (b, z) in bad.iter_mut().zip(&inf).take(n) {
        *b |= z;
    }
    limbs.zeroize();
    q.zeroize();
    den.zeroize();
    prefix.zeroize();
    // Which digits were zero, and where the sums were still infinite.
    inf.zeroize();
    skip.zeroize();
    for p in &mut acc[n..] {
        p.zeroize();
    }
    acc.truncate(n);
    bad[n..].zeroize();
    bad.truncate(n);
    (acc, bad)
}

/// One step of affine additions over a batch of lanes, sharing one
/// inversion (Montgomery's trick): acc[j] += q[j], except that skip[j]
/// (all ones) leaves acc[j] as it is and inf[j] (acc[j] is infinity) gives
/// q[j]. A lane with x_q = x_acc (both finite) would need a doubling or
/// give infinity: its denominator is replaced by 1, so that it does not
/// spoil the shared inversion, and the lane is flagged in `bad` (its result
/// is garbage). Constant time; `den` and `prefix` are scratch space of at
/// least `acc.len()` elements.
fn add_affine_batch(
    acc: &mut [Affine],
    inf: &mut [u64],
    q: &[Affine],
    skip: &[u64],
    bad: &mut [u64],
    den: &mut [Fe],
    prefix: &mut [Fe],
) {
    let mut product = Fe::ONE;
    for j in 0..acc.len() {
        let d = q[j].x.sub(&acc[j].x);
        let unused = inf[j] | skip[j];
        bad[j] |= d.is_zero_mask() & !unused;
        den[j] = Fe::select(&d, &Fe::ONE, unused | d.is_zero_mask());
        product = product.mul(&den[j]);
        prefix[j] = product;
    }
    let mut inv = product.invert();
    for j in (0..acc.len()).rev() {
        // inv = 1 / (den[0]·…·den[j]) here.
        let den_inv = if j == 0 { inv } else { inv.mul(&prefix[j - 1]) };
        inv = inv.mul(&den[j]);
        let a = acc[j];
        let lambda = q[j].y.sub(&a.y).mul(&den_inv);
        let x3 = lambda.square().sub(&a.x).sub(&q[j].x);
        let y3 = lambda.mul(&a.x.sub(&x3)).sub(&a.y);
        let sum = Affine { x: x3, y: y3 };
        let sum = Affine::select(&sum, &q[j], inf[j]);
        acc[j] = Affine::select(&sum, &a, skip[j]);
        inf[j] &= skip[j];
    }
}

/// (n - 1) / 2, least significant limb first.
const HALF_N: [u64; 4] = [
    0xa9dd_fa04_9cea_a091,
    0xb901_efb5_90e3_0295,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_7fff_ffff,
];
/// The group order n, least significant limb first.
const N: [u64; 4] = [
    0x53bb_f409_39d5_4123,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// a - b over four limbs with the final borrow (0 or 1); branch-free.
#[inline(always)]
fn sub4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d, b1) = a[i].overflowing_sub(b[i]);
        let (d, b2) = d.overflowing_sub(borrow);
        out[i] = d;
        borrow = (b1 | b2) as u64;
    }
    (out, borrow)
}

/// Replaces k (< n) by n - k when k > (n-1)/2, in constant time; returns
/// the all-ones mask when it did (the product must then be negated).
#[inline(always)]
fn fold_to_lower_half(limbs: &mut [u64; 4]) -> u64 {
    let (_, high) = sub4(&HALF_N, limbs);
    let mask = core::hint::black_box(0u64.wrapping_sub(high));
    let (mut neg, _) = sub4(&N, limbs);
    for i in 0..4 {
        limbs[i] ^= (limbs[i] ^ neg[i]) & mask;
    }
    neg.zeroize();
    mask
}

/// k·P in constant time (for secret k; P public or secret). `k` is
/// big-endian and must be below the group order.
///
/// k is first folded into [0, (n-1)/2] (k or n - k, negating the result),
/// which rules out the doubling case of the window additions: at window
/// i ≥ 1 the partial sum's multiple of P is below n/32 in magnitude and a
/// multiple of 32, so never ±digit; at window 0 a collision would need
/// k = n - 2|d0| ≥ n - 32. So the additions only handle infinity.
pub(crate) fn mul_var(k: &[u8; 32], p: &Affine) -> Jacobian {
    let mut table = [Jacobian::INFINITY; VAR_ENTRIES];
    table[0] = Jacobian::from_affine(p);
    for j in 1..VAR_ENTRIES {
        // (j+1)·P: doubling for even multiples, adding P for odd ones.
        // Complete addition keeps this exact for any P.
        table[j] = if (j + 1) % 2 == 0 {
            table[j / 2].double()
        } else {
            table[j - 1].add_ct(&table[0])
        };
    }
    let mut limbs = limbs_from_be(k);
    let negate = fold_to_lower_half(&mut limbs);
    let (mag, _) = booth(window(&limbs, VAR_W * (VAR_WINDOWS - 1), VAR_W), VAR_W);
    let mut acc = lookup_jacobian(&table, mag);
    for i in (0..VAR_WINDOWS - 1).rev() {
        for _ in 0..VAR_W {
            acc = acc.double();
        }
        let (mag, neg) = booth(window(&limbs, VAR_W * i, VAR_W), VAR_W);
        let q = lookup_jacobian(&table, mag).cond_neg(neg);
        acc = acc.add_ct_distinct(&q);
    }
    let acc = acc.cond_neg(negate);
    limbs.zeroize();
    table.zeroize();
    acc
}

/// Width-5 non-adjacent form of a public scalar: digits odd in [-15, 15]
/// or zero, least significant first.
pub(super) fn wnaf(k: &[u8; 32]) -> [i8; 257] {
    const W: u32 = VAR_W as u32;
    let limbs = limbs_from_be(k);
    // 64 bits of k from bit `at` on (zeros past bit 255).
    let bits64 = |at: usize| -> u64 {
        let (l, s) = (at / 64, (at % 64) as u32);
        let lo = limbs.get(l).map_or(0, |&v| v >> s);
        let hi = match limbs.get(l + 1) {
            Some(&v) if s != 0 => v << (64 - s),
            _ => 0,
        };
        lo | hi
    };
    let mut out = [0i8; 257];
    // Skip to the next bit that differs from the carry, take W bits there
    // as a digit in (-2^(W-1), 2^(W-1)) (odd), and continue past them.
    let (mut at, mut carry) = (0usize, 0u64);
    while at < out.len() {
        let run = (bits64(at) ^ carry.wrapping_neg()).trailing_zeros() as usize;
        at += run;
        if run == 64 || at >= out.len() {
            continue;
        }
        let len = W.min((out.len() - at) as u32);
        let word = (bits64(at) & ((1 << len) - 1)) + carry;
        carry = (word >> (W - 1)) & 1;
        out[at] = (word as i64 - ((carry as i64) << W)) as i8;
        at += len as usize;
    }
    out
}

/// acc + k·(the table's point) with the comb, variable time (public k).
fn comb_vartime(table: &CombTable, k: &[u8; 32], mut acc: Jacobian) -> Jacobian {
    let limbs = limbs_from_be(k);
    for (i, row) in table.iter().enumerate() {
        let (mag, neg) = booth(window(&limbs, BASE_W * i, BASE_W), BASE_W);
        if mag != 0 {
            let mut q = row[mag as usize - 1];
            if neg != 0 {
                q = q.neg();
            }
            acc = acc.add_affine_vartime(&q);
        }
    }
    acc
}

/// s·G + t·P in variable time from P's precomputed comb tables: no
/// doublings at all, 86 mixed additions at most.
pub(crate) fn mul_double_vartime_table(s: &[u8; 32], t: &[u8; 32], p: &PointTable) -> Jacobian {
    let sg = comb_vartime(comb_table(), s, Jacobian::INFINITY);
    comb_vartime(&p.0, t, sg)
}

/// s·G + t·P in variable time, for signature verification (public inputs
/// only). Both scalars big-endian, below the group order.
pub(crate) fn mul_double_vartime(s: &[u8; 32], t: &[u8; 32], p: &Affine) -> Jacobian {
    // s·G from the comb tables, reading entries directly.
    let sg = comb_vartime(comb_table(), s, Jacobian::INFINITY);

    // t·P with wNAF over the odd multiples P, 3P, ..., 15P.
    let p1 = Jacobian::from_affine(p);
    let p2 = p1.double();
    let mut odd = [p1; 8];
    for j in 1..8 {
        odd[j] = odd[j - 1].add_vartime(&p2);
    }
    // Z² and Z³ of each entry (negation leaves Z alone).
    let zs = odd.map(|q| ZPowers::of(&q));
    let digits = wnaf(t);
    let top = digits.iter().rposition(|&d| d != 0);
    let mut tp = Jacobian::INFINITY;
    if let Some(top) = top {
        for i in (0..=top).rev() {
            tp = tp.double();
            let d = digits[i];
            if d != 0 {
                let j = (d.unsigned_abs() / 2) as usize;
                let q = if d > 0 {
                    odd[j]
                } else {
                    odd[j].cond_neg(u64::MAX)
                };
                tp = tp.add_vartime_with(&q, &zs[j]);
            }
        }
    }
    sg.add_vartime(&tp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_affine(p: &Affine) -> [u64; 8] {
        let (x, y) = (p.x.0, p.y.0);
        [x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3]]
    }

    fn words_jacobian(p: &Jacobian) -> [u64; 12] {
        let mut w = [0u64; 12];
        w[..4].copy_from_slice(&p.x.0);
        w[4..8].copy_from_slice(&p.y.0);
        w[8..].copy_from_slice(&p.z.0);
        w
    }

    /// Every digit 0..=32 (and some past the end) picks the right entry,
    /// or nothing, from the portable scans and, where the CPU has AVX2,
    /// from the AVX2 scans.
    #[test]
    fn table_scans_pick_the_digit_entry_on_every_backend() {
        let comb = comb_table();
        let mut var = [Jacobian::from_affine(&G); VAR_ENTRIES];
        for j in 1..VAR_ENTRIES {
            var[j] = var[j - 1].add_vartime(&var[0]);
        }
        for row in [&comb[0], &comb[BASE_WINDOWS - 1]] {
            for mag in 0..=(BASE_ENTRIES as u64 + 3) {
                let want = match mag as usize {
                    0 => [0; 8],
                    m if m <= BASE_ENTRIES => words_affine(&row[m - 1]),
                    _ => [0; 8],
                };
                assert_eq!(words_affine(&scan_portable(row, mag)), want, "{mag}");
                if let Some(got) = Affine::scan_simd(row, mag) {
                    assert_eq!(words_affine(&got), want, "AVX2 {mag}");
                }
            }
        }
        for mag in 0..=(VAR_ENTRIES as u64 + 3) {
            let want = match mag as usize {
                0 => [0; 12],
                m if m <= VAR_ENTRIES => words_jacobian(&var[m - 1]),
                _ => [0; 12],
            };
            assert_eq!(words_jacobian(&scan_portable(&var, mag)), want, "{mag}");
            if let Some(got) = Jacobian::scan_simd(&var, mag) {
                assert_eq!(words_jacobian(&got), want, "AVX2 {mag}");
            }
        }
        #[cfg(target_arch = "x86_64")]
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("AVX2 scans not tested: this CPU has no AVX2");
        }
        #[cfg(not(target_arch = "x86_64"))]
        eprintln!("AVX2 scans not tested: not an x86-64 build");
    }

    /// No addition of [`mul_base_batch`] meets equal x coordinates for a
    /// scalar in [1, n-1] with this chain layout (so its `bad` mask is a
    /// safety net that never fires). The two operands of each addition
    /// are X and Y, sums of Booth digits times 2^(6i) over disjoint sets of
    /// windows: x_q = x_acc needs X ≡ ±Y (mod n). X = ±Y as integers only
    /// when both are 0 (the lowest nonzero digit would have to be a
    /// multiple of 64), which is the infinity case, handled apart; and
    /// |X ± Y| < 2n, so what remains is X ± Y ∈ {±n, ±2n}. This counts,
    /// by an exhaustive search over the digits of every k in [0, 2^256),
    /// the scalars that reach each of those equations: none, except k = n
    /// itself for the last addition.
    #[test]
    fn batched_comb_never_meets_equal_x_below_n() {
        use num_bigint::BigInt;
        use std::collections::HashMap;
        type Memo = HashMap<(usize, BigInt, i64), u64>;
        /// Digit sequences from window `i` on with Σ sign[j]·d_j·64^(j-i) = r,
        /// given the borrow bit `pb` from window i - 1.
        fn go(i: usize, r: BigInt, pb: i64, sign: &[i64], memo: &mut Memo) -> u64 {
            if i == BASE_WINDOWS {
                return u64::from(r == BigInt::from(0));
            }
            if let Some(&c) = memo.get(&(i, r.clone(), pb)) {
                return c;
            }
            // k < 2^256: the top window holds bits 252..255 only.
            let bits = (256 - BASE_W * i).min(BASE_W);
            let bound = BigInt::from(1) << (BASE_W * (BASE_WINDOWS - i));
            let mut total = 0;
            let half = 1i64 << (BASE_W - 1);
            for v in 0..1i64 << bits {
                let top = (v >> (BASE_W - 1)) & 1;
                let d = pb + (v & (half - 1)) - half * top;
                let rest = &r - sign[i] * d;
                if &rest % 64 != BigInt::from(0) {
                    continue;
                }
                let r2: BigInt = rest / 64;
                if r2.magnitude() <= bound.magnitude() {
                    total += go(i + 1, r2, top, sign, memo);
                }
            }
            memo.insert((i, r, pb), total);
            total
        }
        let n = BigInt::from_bytes_be(num_bigint::Sign::Plus, &super::super::N_BYTES);
        let chain = |c: usize| c * CHAIN_STEPS..((c + 1) * CHAIN_STEPS).min(BASE_WINDOWS);
        // Every addition as (windows of X, windows of Y).
        let mut additions: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
        for c in 0..CHAINS {
            for w in chain(c).skip(1) {
                additions.push((chain(c).filter(|&v| v < w).collect(), vec![w]));
            }
        }
        let mut groups: Vec<Vec<usize>> = (0..CHAINS).map(|c| chain(c).collect()).collect();
        while groups.len() > 1 {
            let upper = groups.split_off(groups.len() / 2);
            for (g, u) in groups.iter_mut().zip(upper) {
                additions.push((g.clone(), u.clone()));
                g.extend(u);
            }
        }
        assert_eq!(
            additions.len(),
            BASE_WINDOWS - 1,
            "one addition per window after the first"
        );
        for (x, y) in &additions {
            let everything = x.len() + y.len() == BASE_WINDOWS;
            for y_sign in [1i64, -1] {
                let mut sign = [0i64; BASE_WINDOWS];
                x.iter().for_each(|&w| sign[w] = 1);
                y.iter().for_each(|&w| sign[w] = y_sign);
                for m in [1i64, -1, 2, -2] {
                    let t = &n * m;
                    let found = go(0, t, 0, &sign, &mut Memo::new());
                    // X + Y over all windows is k itself: k = n, out of range.
                    let allowed = u64::from(everything && y_sign == 1 && m == 1);
                    assert_eq!(found, allowed, "X {x:?} {y_sign:+} Y {y:?} = {m}n");
                }
            }
        }
    }

    /// The batched addition step on every case in one batch: a plain sum,
    /// an infinite partial sum, a skipped lane, and the two cases the chord
    /// formula cannot do (x_q = x_acc: a doubling and a sum at infinity),
    /// which must be flagged without spoiling the shared inversion for the
    /// other lanes.
    #[test]
    fn batched_addition_flags_equal_x_and_keeps_the_other_lanes_right() {
        let aff = |p: Jacobian| p.to_affine().expect("finite");
        let (p, q) = (G, aff(Jacobian::from_affine(&G).double()));
        let sum = aff(Jacobian::from_affine(&p).add_vartime(&Jacobian::from_affine(&q)));
        let none = u64::MAX;
        // (acc, acc infinite, q, skip, want, want flagged)
        let cases = [
            (p, 0, q, 0, Some(sum), 0),
            (Affine::default(), none, q, 0, Some(q), 0),
            (p, 0, q, none, Some(p), 0),
            (p, 0, p, 0, None, none),
            (p, 0, p.neg(), 0, None, none),
            (q, 0, p, 0, Some(sum), 0),
        ];
        let mut acc: Vec<Affine> = cases.iter().map(|c| c.0).collect();
        let mut inf: Vec<u64> = cases.iter().map(|c| c.1).collect();
        let qs: Vec<Affine> = cases.iter().map(|c| c.2).collect();
        let skip: Vec<u64> = cases.iter().map(|c| c.3).collect();
        let mut bad = vec![0; cases.len()];
        let mut den = vec![Fe::ZERO; cases.len()];
        let mut prefix = den.clone();
        add_affine_batch(
            &mut acc,
            &mut inf,
            &qs,
            &skip,
            &mut bad,
            &mut den,
            &mut prefix,
        );
        for (j, c) in cases.iter().enumerate() {
            assert_eq!(bad[j], c.5, "lane {j}");
            if let Some(want) = c.4 {
                assert_eq!(words_affine(&acc[j]), words_affine(&want), "lane {j}");
                assert_eq!(inf[j], 0, "lane {j}");
            }
        }
    }
}
