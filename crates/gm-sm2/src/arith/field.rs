//! Arithmetic modulo the SM2 prime
//! p = 2^256 - 2^224 - 2^96 + 2^64 - 1, in Montgomery form with R = 2^256.
//!
//! Four 64-bit limbs, least significant first. Every operation is
//! branch-free and free of secret-dependent memory indexes: carries and
//! final subtractions are resolved with masks. Values are kept fully
//! reduced (in [0, p)) after every operation.
//!
//! p ≡ -1 (mod 2^64), so the Montgomery constant -p^-1 mod 2^64 is 1 and
//! each reduction step multiplies by the low limb itself.

/// The SM2 prime, least significant limb first.
pub(crate) const P: [u64; 4] = [
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// R^2 mod p, to convert into Montgomery form.
const R2: [u64; 4] = [
    0x0000_0002_0000_0003,
    0x0000_0002_ffff_ffff,
    0x0000_0001_0000_0001,
    0x0000_0004_0000_0002,
];

/// A field element mod p in Montgomery form (a·R mod p), fully reduced.
#[derive(Clone, Copy, Debug, Default)]
#[repr(transparent)]
pub(crate) struct Fe(pub(crate) [u64; 4]);

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{_addcarry_u64, _subborrow_u64};

/// a·b + c + carry as (low, high); never overflows 128 bits.
#[inline(always)]
const fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) * (c as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// a + b + carry bit, with the carry bit out (ADC on x86-64).
#[inline(always)]
fn addc(a: u64, b: u64, carry: u8) -> (u64, u8) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut out = 0;
        let c = _addcarry_u64(carry, a, b, &mut out);
        (out, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let t = (a as u128) + (b as u128) + (carry as u128);
        (t as u64, (t >> 64) as u8)
    }
}

/// a - b - borrow bit, with the borrow bit out (SBB on x86-64).
#[inline(always)]
fn subb(a: u64, b: u64, borrow: u8) -> (u64, u8) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut out = 0;
        let c = _subborrow_u64(borrow, a, b, &mut out);
        (out, c)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let t = (a as u128).wrapping_sub((b as u128) + (borrow as u128));
        (t as u64, ((t >> 64) as u8) & 1)
    }
}

/// a + b + carry where carry is a full word (the high half of a product).
#[inline(always)]
const fn adc_word(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// Subtracts p from (hi:r) if the value is >= p; (hi:r) < 2p.
#[inline(always)]
fn sub_p_if_needed(r: [u64; 4], hi: u8) -> [u64; 4] {
    let (s0, b) = subb(r[0], P[0], 0);
    let (s1, b) = subb(r[1], P[1], b);
    let (s2, b) = subb(r[2], P[2], b);
    let (s3, b) = subb(r[3], P[3], b);
    let (_, b) = subb(hi as u64, 0, b);
    // b = 1: the value was below p, keep r.
    let keep = 0u64.wrapping_sub(b as u64);
    [
        (r[0] & keep) | (s0 & !keep),
        (r[1] & keep) | (s1 & !keep),
        (r[2] & keep) | (s2 & !keep),
        (r[3] & keep) | (s3 & !keep),
    ]
}

/// One Montgomery step on the low half alone: with k = d[0],
/// (d + k·p) / 2^64. Since k·p = k·2^256 - k·(2^224 + 2^96 - 2^64 + 1),
/// the quotient is [d1, d2, d3, k] - (k·(2^32 - 1) + k·2^160), which is
/// non-negative and below 2^256, so it needs no carry beyond four limbs:
/// shifts and one borrow chain, no multiplications.
#[inline(always)]
fn reduce_step(d: [u64; 4]) -> [u64; 4] {
    let k = d[0];
    let k_shl = k << 32;
    let k_shr = k >> 32;
    // u = k·(2^32 - 1) as a 96-bit value (u_hi:u_lo).
    let (u_lo, b) = subb(k_shl, k, 0);
    let u_hi = k_shr.wrapping_sub(b as u64);
    let (r0, b) = subb(d[1], u_lo, 0);
    let (r1, b) = subb(d[2], u_hi, b);
    let (r2, b) = subb(d[3], k_shl, b);
    let (r3, _) = subb(k, k_shr, b);
    [r0, r1, r2, r3]
}

/// Montgomery reduction of a 512-bit product t < p·2^256: t·R^-1 mod p.
/// Four [`reduce_step`]s fold the low half into a value at most p without
/// touching the high half; [`Fe::add`] of the two halves (one conditional
/// subtraction of p) finishes, as their sum is below 2p.
#[inline(always)]
fn montgomery_reduce(t: [u64; 8]) -> [u64; 4] {
    let l = reduce_step([t[0], t[1], t[2], t[3]]);
    let l = reduce_step(l);
    let l = reduce_step(l);
    let l = reduce_step(l);
    Fe(l).add(&Fe([t[4], t[5], t[6], t[7]])).0
}

#[cfg(test)]
pub(crate) fn montgomery_reduce_for_tests(t: [u64; 8]) -> Fe {
    Fe(montgomery_reduce(t))
}

/// The generic Montgomery reduction (multiply-accumulate by p), kept as
/// the reference the special-form reduction is tested against.
#[cfg(test)]
pub(crate) fn montgomery_reduce_generic(t: [u64; 8]) -> [u64; 4] {
    // -p^-1 mod 2^64 = 1, so the multiplier of each step is the limb itself.
    let k = t[0];
    let (_, c) = mac(t[0], k, P[0], 0);
    let (r1, c) = mac(t[1], k, P[1], c);
    let (r2, c) = mac(t[2], k, P[2], c);
    let (r3, c) = mac(t[3], k, P[3], c);
    let (r4, c2) = adc_word(t[4], 0, c);

    let k = r1;
    let (_, c) = mac(r1, k, P[0], 0);
    let (r2, c) = mac(r2, k, P[1], c);
    let (r3, c) = mac(r3, k, P[2], c);
    let (r4, c) = mac(r4, k, P[3], c);
    let (r5, c2) = adc_word(t[5], c2, c);

    let k = r2;
    let (_, c) = mac(r2, k, P[0], 0);
    let (r3, c) = mac(r3, k, P[1], c);
    let (r4, c) = mac(r4, k, P[2], c);
    let (r5, c) = mac(r5, k, P[3], c);
    let (r6, c2) = adc_word(t[6], c2, c);

    let k = r3;
    let (_, c) = mac(r3, k, P[0], 0);
    let (r4, c) = mac(r4, k, P[1], c);
    let (r5, c) = mac(r5, k, P[2], c);
    let (r6, c) = mac(r6, k, P[3], c);
    let (r7, c2) = adc_word(t[7], c2, c);

    sub_p_if_needed([r4, r5, r6, r7], c2 as u8)
}

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; 4]);
    /// 1 in Montgomery form (R mod p).
    pub(crate) const ONE: Fe = Fe([
        0x0000_0000_0000_0001,
        0x0000_0000_ffff_ffff,
        0x0000_0000_0000_0000,
        0x0000_0001_0000_0000,
    ]);

    /// Converts canonical limbs (must be < p) into Montgomery form.
    #[inline]
    pub(crate) fn from_canonical(limbs: [u64; 4]) -> Fe {
        Fe(limbs).mul(&Fe(R2))
    }

    /// Parses a big-endian 32-byte value; `None` if it is not below p.
    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Option<Fe> {
        let limbs = limbs_from_be(bytes);
        // In range iff limbs - p borrows.
        let (_, b) = subb(limbs[0], P[0], 0);
        let (_, b) = subb(limbs[1], P[1], b);
        let (_, b) = subb(limbs[2], P[2], b);
        let (_, b) = subb(limbs[3], P[3], b);
        (b == 1).then(|| Fe::from_canonical(limbs))
    }

    /// The canonical value as limbs, least significant first.
    #[inline]
    pub(crate) fn to_canonical(self) -> [u64; 4] {
        let t = self.0;
        montgomery_reduce([t[0], t[1], t[2], t[3], 0, 0, 0, 0])
    }

    /// Big-endian 32-byte encoding of the canonical value.
    pub(crate) fn to_bytes(self) -> [u8; 32] {
        limbs_to_be(&self.to_canonical())
    }

    #[inline(always)]
    pub(crate) fn add(&self, rhs: &Fe) -> Fe {
        let (r0, c) = addc(self.0[0], rhs.0[0], 0);
        let (r1, c) = addc(self.0[1], rhs.0[1], c);
        let (r2, c) = addc(self.0[2], rhs.0[2], c);
        let (r3, c) = addc(self.0[3], rhs.0[3], c);
        Fe(sub_p_if_needed([r0, r1, r2, r3], c))
    }

    #[inline(always)]
    pub(crate) fn sub(&self, rhs: &Fe) -> Fe {
        let (r0, b) = subb(self.0[0], rhs.0[0], 0);
        let (r1, b) = subb(self.0[1], rhs.0[1], b);
        let (r2, b) = subb(self.0[2], rhs.0[2], b);
        let (r3, b) = subb(self.0[3], rhs.0[3], b);
        // Add p back if it borrowed.
        let m = 0u64.wrapping_sub(b as u64);
        let (r0, c) = addc(r0, P[0] & m, 0);
        let (r1, c) = addc(r1, P[1] & m, c);
        let (r2, c) = addc(r2, P[2] & m, c);
        let (r3, _) = addc(r3, P[3] & m, c);
        Fe([r0, r1, r2, r3])
    }

    /// c·self for a small constant c (at most 2^32), with one reduction:
    /// the 5-limb product h·2^256 + l is folded with
    /// 2^256 ≡ 2^224 + 2^96 - 2^64 + 1 (mod p), then p is subtracted at most
    /// twice. Branch-free.
    #[inline(always)]
    pub(crate) fn mul_small(&self, c: u64) -> Fe {
        let (l0, k) = mac(0, self.0[0], c, 0);
        let (l1, k) = mac(0, self.0[1], c, k);
        let (l2, k) = mac(0, self.0[2], c, k);
        let (l3, h) = mac(0, self.0[3], c, k);
        // h < 2^32: h·(2^224 + 2^96 - 2^64 + 1) = h + (h << 96) + (h << 224) - (h << 64),
        // as limbs: [h, (h << 32) - h (with borrow), 0, h << 32] (all small).
        let (f1, b) = subb(h << 32, h, 0);
        let f2 = 0u64.wrapping_sub(b as u64);
        let f3 = (h << 32).wrapping_sub(b as u64);
        // f = [h, f1, f2, f3] is h·(2^224 + 2^96 - 2^64 + 1) < 2^256.
        let (r0, c0) = addc(l0, h, 0);
        let (r1, c0) = addc(l1, f1, c0);
        let (r2, c0) = addc(l2, f2, c0);
        let (r3, c0) = addc(l3, f3, c0);
        // r + c0·2^256 < 2^257; fold the carry once more with
        // 2^256 mod p = [1, 2^32 - 1, 0, 2^32] (limbs), then subtract p
        // if needed: the total stays below 2^256 + 2^225 < 2p.
        let cm = 0u64.wrapping_sub(c0 as u64);
        let (s0, c1) = addc(r0, 1 & cm, 0);
        let (s1, c1) = addc(r1, 0xffff_ffff & cm, c1);
        let (s2, c1) = addc(r2, 0, c1);
        let (s3, c1) = addc(r3, 0x1_0000_0000 & cm, c1);
        Fe(sub_p_if_needed([s0, s1, s2, s3], c1))
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    #[inline(always)]
    pub(crate) fn double(&self) -> Fe {
        self.add(self)
    }

    /// Montgomery multiplication: schoolbook product, special-form
    /// reduction. Uses the MULX/ADX backend where the CPU has it.
    #[inline(always)]
    pub(crate) fn mul(&self, rhs: &Fe) -> Fe {
        #[cfg(target_arch = "x86_64")]
        if super::field_adx::available() {
            return Fe(super::field_adx::mont_mul(&self.0, &rhs.0));
        }
        self.mul_portable(rhs)
    }

    /// [`Fe::mul`] without the assembly backend.
    #[inline(always)]
    pub(crate) fn mul_portable(&self, rhs: &Fe) -> Fe {
        let a = &self.0;
        let b = &rhs.0;
        let (t0, c) = mac(0, a[0], b[0], 0);
        let (t1, c) = mac(0, a[0], b[1], c);
        let (t2, c) = mac(0, a[0], b[2], c);
        let (t3, t4) = mac(0, a[0], b[3], c);

        let (t1, c) = mac(t1, a[1], b[0], 0);
        let (t2, c) = mac(t2, a[1], b[1], c);
        let (t3, c) = mac(t3, a[1], b[2], c);
        let (t4, t5) = mac(t4, a[1], b[3], c);

        let (t2, c) = mac(t2, a[2], b[0], 0);
        let (t3, c) = mac(t3, a[2], b[1], c);
        let (t4, c) = mac(t4, a[2], b[2], c);
        let (t5, t6) = mac(t5, a[2], b[3], c);

        let (t3, c) = mac(t3, a[3], b[0], 0);
        let (t4, c) = mac(t4, a[3], b[1], c);
        let (t5, c) = mac(t5, a[3], b[2], c);
        let (t6, t7) = mac(t6, a[3], b[3], c);

        Fe(montgomery_reduce([t0, t1, t2, t3, t4, t5, t6, t7]))
    }

    /// Montgomery squaring. Uses the MULX/ADX backend where the CPU has it.
    #[inline(always)]
    pub(crate) fn square(&self) -> Fe {
        #[cfg(target_arch = "x86_64")]
        if super::field_adx::available() {
            return Fe(super::field_adx::mont_sqr(&self.0));
        }
        self.square_portable()
    }

    /// [`Fe::square`] without the assembly backend (off-diagonal products
    /// computed once).
    #[inline(always)]
    pub(crate) fn square_portable(&self) -> Fe {
        let a = &self.0;
        // Off-diagonal products once, doubled, then the squares.
        let (t1, c) = mac(0, a[0], a[1], 0);
        let (t2, c) = mac(0, a[0], a[2], c);
        let (t3, t4) = mac(0, a[0], a[3], c);

        let (t3, c) = mac(t3, a[1], a[2], 0);
        let (t4, t5) = mac(t4, a[1], a[3], c);

        let (t5, t6) = mac(t5, a[2], a[3], 0);

        let t7 = t6 >> 63;
        let t6 = (t6 << 1) | (t5 >> 63);
        let t5 = (t5 << 1) | (t4 >> 63);
        let t4 = (t4 << 1) | (t3 >> 63);
        let t3 = (t3 << 1) | (t2 >> 63);
        let t2 = (t2 << 1) | (t1 >> 63);
        let t1 = t1 << 1;

        let (t0, c) = mac(0, a[0], a[0], 0);
        let (t1, c) = adc_word(t1, 0, c);
        let (t2, c) = mac(t2, a[1], a[1], c);
        let (t3, c) = adc_word(t3, 0, c);
        let (t4, c) = mac(t4, a[2], a[2], c);
        let (t5, c) = adc_word(t5, 0, c);
        let (t6, c) = mac(t6, a[3], a[3], c);
        let (t7, _) = adc_word(t7, 0, c);

        Fe(montgomery_reduce([t0, t1, t2, t3, t4, t5, t6, t7]))
    }

    /// self^(2^n).
    #[cfg(test)]
    #[inline]
    pub(crate) fn square_n(&self, n: usize) -> Fe {
        let mut x = *self;
        for _ in 0..n {
            x = x.square();
        }
        x
    }

    /// self^-1, constant time; 0 maps to 0. Bernstein–Yang divsteps
    /// (see `arith::inv`) with R^2 folded in, so a Montgomery input aR
    /// gives the Montgomery form a^-1·R directly.
    pub(crate) fn invert(&self) -> Fe {
        Fe(super::inv::invert_adjusted(&self.0, &R2))
    }

    /// self^(p-2) (Fermat's little theorem): the inverse by an addition
    /// chain of 255 squarings and 14 multiplications. Test oracle for
    /// [`Fe::invert`].
    #[cfg(test)]
    pub(crate) fn invert_fermat(&self) -> Fe {
        // p - 2 in binary, from the top: 31 ones, 0, 128 ones, 32 zeros,
        // 62 ones, 0, 1.
        let x1 = *self;
        let x2 = x1.square().mul(&x1);
        let x3 = x2.square().mul(&x1);
        let x6 = x3.square_n(3).mul(&x3);
        let x12 = x6.square_n(6).mul(&x6);
        let x24 = x12.square_n(12).mul(&x12);
        let x30 = x24.square_n(6).mul(&x6);
        let x31 = x30.square().mul(&x1);
        let x32 = x31.square().mul(&x1);

        let mut t = x31.square(); // 31 ones, then a 0
        for _ in 0..4 {
            t = t.square_n(32).mul(&x32); // 128 ones
        }
        t = t.square_n(32); // 32 zeros
        t = t.square_n(31).mul(&x31);
        t = t.square_n(31).mul(&x31); // 62 ones
        t = t.square(); // 0
        t.square().mul(&x1) // 1
    }

    /// All-ones mask if self == 0, else zero; constant time.
    #[inline(always)]
    pub(crate) fn is_zero_mask(&self) -> u64 {
        let v = self.0[0] | self.0[1] | self.0[2] | self.0[3];
        // (v | -v) has its top bit set iff v != 0. The barrier keeps LLVM
        // from turning the masked selects that use this into branches (the
        // valgrind check caught exactly that in the complete addition).
        core::hint::black_box(((v | v.wrapping_neg()) >> 63).wrapping_sub(1))
    }

    /// Variable-time equality, for public values only.
    pub(crate) fn eq_vartime(&self, rhs: &Fe) -> bool {
        self.0 == rhs.0
    }

    /// ORs `other & mask` into every limb (constant-time table scans).
    #[inline(always)]
    pub(crate) fn or_masked(&mut self, other: &Fe, mask: u64) {
        for (w, o) in self.0.iter_mut().zip(other.0) {
            *w |= o & mask;
        }
    }

    /// `a` where mask is zero, `b` where mask is all ones.
    #[inline(always)]
    pub(crate) fn select(a: &Fe, b: &Fe, mask: u64) -> Fe {
        Fe([
            a.0[0] ^ ((a.0[0] ^ b.0[0]) & mask),
            a.0[1] ^ ((a.0[1] ^ b.0[1]) & mask),
            a.0[2] ^ ((a.0[2] ^ b.0[2]) & mask),
            a.0[3] ^ ((a.0[3] ^ b.0[3]) & mask),
        ])
    }
}

/// Big-endian bytes to limbs, least significant limb first.
pub(crate) fn limbs_from_be(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let off = 32 - 8 * (i + 1);
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[off..off + 8]);
        *limb = u64::from_be_bytes(w);
    }
    limbs
}

/// Limbs, least significant first, to big-endian bytes.
pub(crate) fn limbs_to_be(limbs: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        let off = 32 - 8 * (i + 1);
        out[off..off + 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}
