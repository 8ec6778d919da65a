//! Points of sm2p256v1 (y^2 = x^3 - 3x + b) in Jacobian coordinates
//! (x, y) = (X/Z^2, Y/Z^3); Z = 0 is the point at infinity.
//!
//! The formulas are from the Explicit-Formulas Database (dbl-2001-b for
//! a = -3, madd-2007-bl, add-2007-bl). The `_ct` variants resolve every
//! exceptional case (infinity inputs, P = Q) with masks, never branches.

use super::field::Fe;

/// An affine point (never the point at infinity). `repr(C)`: the AVX2
/// table scans read it as two 32-byte vectors.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

/// A point in Jacobian coordinates. `repr(C)`: the AVX2 table scans read
/// it as three 32-byte vectors. The default (all zero) is a point at
/// infinity.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

/// The curve coefficient b in Montgomery form.
pub(crate) const B: Fe = Fe([
    0x90d2_3063_2bc0_dd42,
    0x71cf_379a_e9b5_37ab,
    0x5279_8150_5ea5_1c3c,
    0x240f_e188_ba20_e2c8,
]);

/// The generator G in Montgomery form.
pub(crate) const G: Affine = Affine {
    x: Fe([
        0x6132_8990_f418_029e,
        0x3e79_81ed_dca6_c050,
        0xd6a1_ed99_ac24_c3c3,
        0x9116_7a5e_e1c1_3b05,
    ]),
    y: Fe([
        0xc135_4e59_3c2d_0ddd,
        0xc1f5_e578_8d32_95fa,
        0x8d4c_fb06_6e2a_48f8,
        0x63cd_65d4_81d7_35bd,
    ]),
};

/// A point type that tables are made of, for the constant-time scans in
/// `mul`.
pub(crate) trait TableEntry: Copy + Default {
    /// ORs `other` ANDed with `mask` into every word of self.
    fn or_masked(&mut self, other: &Self, mask: u64);
    /// The SIMD scan of `table` for this type (see `mul::scan`), or `None`
    /// where there is none or the CPU lacks it.
    fn scan_simd<const N: usize>(table: &[Self; N], mag: u64) -> Option<Self>;
}

impl TableEntry for Affine {
    #[inline(always)]
    fn or_masked(&mut self, other: &Self, mask: u64) {
        self.x.or_masked(&other.x, mask);
        self.y.or_masked(&other.y, mask);
    }

    #[inline(always)]
    fn scan_simd<const N: usize>(table: &[Self; N], mag: u64) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return super::scan_avx2::scan_affine(table, mag);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (table, mag);
            None
        }
    }
}

impl TableEntry for Jacobian {
    #[inline(always)]
    fn or_masked(&mut self, other: &Self, mask: u64) {
        self.x.or_masked(&other.x, mask);
        self.y.or_masked(&other.y, mask);
        self.z.or_masked(&other.z, mask);
    }

    #[inline(always)]
    fn scan_simd<const N: usize>(table: &[Self; N], mag: u64) -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return super::scan_avx2::scan_jacobian(table, mag);
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (table, mag);
            None
        }
    }
}

impl Affine {
    /// Parses affine coordinates (big-endian), checking that they are
    /// below p and that the point is on the curve.
    pub(crate) fn from_bytes(x: &[u8; 32], y: &[u8; 32]) -> Option<Affine> {
        let p = Affine {
            x: Fe::from_bytes(x)?,
            y: Fe::from_bytes(y)?,
        };
        p.is_on_curve().then_some(p)
    }

    /// y^2 == x^3 - 3x + b (variable time: for public points).
    pub(crate) fn is_on_curve(&self) -> bool {
        let x3 = self.x.square().mul(&self.x);
        let three_x = self.x.double().add(&self.x);
        let rhs = x3.sub(&three_x).add(&B);
        self.y.square().eq_vartime(&rhs)
    }

    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }

    /// `b` where `mask` is all ones, else `a`; constant time.
    #[inline(always)]
    pub(crate) fn select(a: &Affine, b: &Affine, mask: u64) -> Affine {
        Affine {
            x: Fe::select(&a.x, &b.x, mask),
            y: Fe::select(&a.y, &b.y, mask),
        }
    }

    /// Negates when `mask` is all ones; constant time.
    #[inline(always)]
    pub(crate) fn cond_neg(&self, mask: u64) -> Affine {
        Affine {
            x: self.x,
            y: Fe::select(&self.y, &self.y.neg(), mask),
        }
    }
}

impl Jacobian {
    pub(crate) const INFINITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    pub(crate) fn from_affine(p: &Affine) -> Jacobian {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }

    /// All ones if this is the point at infinity.
    #[inline(always)]
    pub(crate) fn is_infinity_mask(&self) -> u64 {
        self.z.is_zero_mask()
    }

    pub(crate) fn is_infinity_vartime(&self) -> bool {
        self.is_infinity_mask() != 0
    }

    #[inline(always)]
    pub(crate) fn select(a: &Jacobian, b: &Jacobian, mask: u64) -> Jacobian {
        Jacobian {
            x: Fe::select(&a.x, &b.x, mask),
            y: Fe::select(&a.y, &b.y, mask),
            z: Fe::select(&a.z, &b.z, mask),
        }
    }

    /// Negates when `mask` is all ones; constant time.
    #[inline(always)]
    pub(crate) fn cond_neg(&self, mask: u64) -> Jacobian {
        Jacobian {
            x: self.x,
            y: Fe::select(&self.y, &self.y.neg(), mask),
            z: self.z,
        }
    }

    /// 2P (dbl-2001-b, a = -3): 3M + 5S. Infinity doubles to infinity;
    /// the curve has no point of order two.
    #[inline(always)]
    pub(crate) fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        let alpha = t.mul_small(3);
        let beta4 = beta.mul_small(4);
        let x3 = alpha.square().sub(&beta.mul_small(8));
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2 = gamma.square();
        let gamma2_8 = gamma2.mul_small(8);
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2_8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// self + q for affine q (madd-2007-bl, 7M + 4S), without exceptional
    /// cases: wrong if self is infinity or self = ±q.
    #[inline]
    fn add_affine_unchecked(&self, q: &Affine) -> Jacobian {
        let (z1z1, u2, s2) = self.affine_operands(q);
        self.add_affine_from(z1z1, u2, s2)
    }

    /// Z1², U2 = x2·Z1² and S2 = y2·Z1³: the first steps of a mixed
    /// addition, which also tell the exceptional cases apart (U2 = X1 when
    /// self = ±q).
    #[inline(always)]
    fn affine_operands(&self, q: &Affine) -> (Fe, Fe, Fe) {
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        (z1z1, u2, s2)
    }

    /// The rest of madd-2007-bl from [`Jacobian::affine_operands`].
    #[inline(always)]
    fn add_affine_from(&self, z1z1: Fe, u2: Fe, s2: Fe) -> Jacobian {
        let h = u2.sub(&self.x);
        let hh = h.square();
        let i = hh.mul_small(4);
        let j = h.mul(&i);
        let r = s2.sub(&self.y).double();
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// self + q for affine q, constant time, where the caller guarantees
    /// self != ±q (see the fixed-base comb). `skip` (all ones) returns self
    /// unchanged, for a zero digit; an infinite self yields q.
    #[inline]
    pub(crate) fn add_affine_ct(&self, q: &Affine, skip: u64) -> Jacobian {
        let sum = self.add_affine_unchecked(q);
        let sum = Jacobian::select(&sum, &Jacobian::from_affine(q), self.is_infinity_mask());
        Jacobian::select(&sum, self, skip)
    }

    /// self + q (add-2007-bl, 11M + 5S) without exceptional cases: wrong
    /// if either is infinity or self = q.
    #[inline]
    fn add_unchecked(&self, q: &Jacobian) -> (Jacobian, Fe, Fe) {
        self.add_unchecked_with(q, &ZPowers::of(q))
    }

    /// [`Jacobian::add_unchecked`] given q's Z² and Z³.
    #[inline]
    fn add_unchecked_with(&self, q: &Jacobian, qz: &ZPowers) -> (Jacobian, Fe, Fe) {
        let z1z1 = self.z.square();
        let z2z2 = qz.0;
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&qz.1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let i = h.double().square();
        let j = h.mul(&i);
        let r = s2.sub(&s1).double();
        let v = u1.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&j).double());
        let z3 = self.z.add(&q.z).square().sub(&z1z1).sub(&z2z2).mul(&h);
        (
            Jacobian {
                x: x3,
                y: y3,
                z: z3,
            },
            h,
            r,
        )
    }

    /// self + q in constant time for self != q: infinity on either side
    /// and self = -q (infinity) are handled with masks, the doubling case
    /// is not (the caller rules it out; see `mul::mul_var`).
    #[inline]
    pub(crate) fn add_ct_distinct(&self, q: &Jacobian) -> Jacobian {
        let (sum, _, _) = self.add_unchecked(q);
        let out = Jacobian::select(&sum, q, self.is_infinity_mask());
        Jacobian::select(&out, self, q.is_infinity_mask())
    }

    /// self + q for any inputs, constant time: infinity on either side,
    /// self = q (doubling) and self = -q (infinity) are all handled with
    /// masks.
    pub(crate) fn add_ct(&self, q: &Jacobian) -> Jacobian {
        let (sum, h, r) = self.add_unchecked(q);
        let dbl = self.double();
        // H = 0 and r = 0 with both finite: the points are equal.
        let same = h.is_zero_mask() & r.is_zero_mask();
        let mut out = Jacobian::select(&sum, &dbl, same);
        out = Jacobian::select(&out, q, self.is_infinity_mask());
        Jacobian::select(&out, self, q.is_infinity_mask())
    }

    /// self + q for any inputs, variable time (public data only).
    #[inline(always)]
    pub(crate) fn add_vartime(&self, q: &Jacobian) -> Jacobian {
        self.add_vartime_with(q, &ZPowers::of(q))
    }

    /// [`Jacobian::add_vartime`] given q's Z² and Z³ ([`ZPowers::of`]), for
    /// a point added many times (a table entry).
    #[inline(always)]
    pub(crate) fn add_vartime_with(&self, q: &Jacobian, qz: &ZPowers) -> Jacobian {
        if self.is_infinity_vartime() {
            return *q;
        }
        if q.is_infinity_vartime() {
            return *self;
        }
        let (sum, h, r) = self.add_unchecked_with(q, qz);
        if h.is_zero_mask() != 0 {
            return if r.is_zero_mask() != 0 {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        sum
    }

    /// self + q for affine q, variable time (public data only).
    #[inline(always)]
    pub(crate) fn add_affine_vartime(&self, q: &Affine) -> Jacobian {
        if self.is_infinity_vartime() {
            return Jacobian::from_affine(q);
        }
        let (z1z1, u2, s2) = self.affine_operands(q);
        if u2.eq_vartime(&self.x) {
            return if s2.eq_vartime(&self.y) {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        self.add_affine_from(z1z1, u2, s2)
    }

    /// The affine point in constant time; infinity maps to (0, 0), so
    /// callers must know the point is finite (or discard the result).
    pub(crate) fn to_affine_ct(&self) -> Affine {
        self.scaled_by(&self.z.invert())
    }

    /// (X·zinv², Y·zinv³): the affine point, given zinv = 1/Z.
    #[inline(always)]
    fn scaled_by(&self, zinv: &Fe) -> Affine {
        let zinv2 = zinv.square();
        Affine {
            x: self.x.mul(&zinv2),
            y: self.y.mul(&zinv2).mul(zinv),
        }
    }

    /// Whether the affine x of this (public, finite) point, reduced mod n,
    /// equals `c` (< n): X == c·Z^2 or, when c + n < p, X == (c + n)·Z^2.
    /// Avoids the inversion in signature verification. Variable time.
    pub(crate) fn x_mod_n_equals_vartime(&self, c: &[u8; 32]) -> bool {
        let Some(c_fe) = Fe::from_bytes(c) else {
            return false;
        };
        let z2 = self.z.square();
        if self.x.eq_vartime(&c_fe.mul(&z2)) {
            return true;
        }
        // p - n, big-endian.
        const P_MINUS_N: [u8; 32] = [
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x8d, 0xfc, 0x20, 0x93, 0xde, 0x39,
            0xfa, 0xd5, 0xac, 0x44, 0x0b, 0xf6, 0xc6, 0x2a, 0xbe, 0xdc,
        ];
        if c[..] >= P_MINUS_N[..] {
            return false;
        }
        let n_fe = Fe::from_canonical(super::field::limbs_from_be(&super::N_BYTES));
        self.x.eq_vartime(&c_fe.add(&n_fe).mul(&z2))
    }

    /// The affine point, or `None` for infinity. Constant time apart from
    /// the final infinity check.
    pub(crate) fn to_affine(&self) -> Option<Affine> {
        let p = self.to_affine_ct();
        (self.is_infinity_mask() == 0).then_some(p)
    }
}

/// Z² and Z³ of a Jacobian point, kept with a table entry so that adding
/// it saves a squaring and a multiplication.
#[derive(Clone, Copy)]
pub(crate) struct ZPowers(Fe, Fe);

impl ZPowers {
    #[inline(always)]
    pub(crate) fn of(p: &Jacobian) -> ZPowers {
        let z2 = p.z.square();
        ZPowers(z2, z2.mul(&p.z))
    }
}

/// Converts many Jacobian points to affine with one inversion
/// (Montgomery's trick). Every input must be finite.
pub(crate) fn batch_to_affine(points: &[Jacobian]) -> Vec<Affine> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
    for p in points {
        prefix.push(acc);
        acc = acc.mul(&p.z);
    }
    let mut inv = acc.invert();
    let mut out = vec![Affine::default(); points.len()];
    for (i, p) in points.iter().enumerate().rev() {
        let zinv = inv.mul(&prefix[i]);
        inv = inv.mul(&p.z);
        out[i] = p.scaled_by(&zinv);
    }
    out
}
