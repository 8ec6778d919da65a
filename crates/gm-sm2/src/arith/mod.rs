//! Dedicated arithmetic for sm2p256v1: the field mod p with Montgomery
//! multiplication on 64-bit limbs ([`field`], with a MULX/ADX assembly
//! backend in `field_adx`) and constant-time safegcd inversion (`inv`),
//! Jacobian point formulas for a = -3 ([`point`]) and scalar multiplication
//! ([`mul`]): a constant-time fixed-base comb for k·G (also batched, for
//! the nonce pool), constant-time signed windows for k·P, and a
//! variable-time double-base product for verification. Table scans use
//! AVX2 on the x86-64 backend (`scan_avx2`).
//!
//! Everything that touches a secret is branch-free and reads tables by
//! scanning them with masks; `crates/ct-check` checks this under valgrind.
//! The RustCrypto `sm2` types stay at the public API edge: the helpers here
//! convert to and from them.

// Points are 64-96 bytes: conversions take them by reference on purpose.
#![allow(clippy::wrong_self_convention)]

pub(crate) mod field;
#[cfg(target_arch = "x86_64")]
mod field_adx;
mod inv;
pub(crate) mod mul;
pub(crate) mod point;
#[cfg(target_arch = "x86_64")]
mod scan_avx2;

use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::{AffinePoint, FieldBytes};

pub(crate) use mul::{
    mul_base, mul_base_batch, mul_double_vartime, mul_double_vartime_table, mul_var, PointTable,
};

/// k·G in affine form, constant time (k in [1, n-1], so never infinity).
pub(crate) fn mul_base_affine(k: &[u8; 32]) -> Affine {
    mul_base(k).to_affine_ct()
}

/// k·P in affine form, constant time (k in [1, n-1] and P valid, so
/// never infinity: the cofactor is 1).
pub(crate) fn mul_var_affine(k: &[u8; 32], p: &Affine) -> Affine {
    mul_var(k, p).to_affine_ct()
}

impl zeroize::Zeroize for field::Fe {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::Zeroize for Affine {
    fn zeroize(&mut self) {
        self.x.zeroize();
        self.y.zeroize();
    }
}

impl zeroize::Zeroize for Jacobian {
    fn zeroize(&mut self) {
        self.x.zeroize();
        self.y.zeroize();
        self.z.zeroize();
    }
}
pub(crate) use point::{Affine, Jacobian};

/// The arithmetic in use: `"mulx-adx+avx2"` or `"mulx-adx"` (x86-64
/// field assembly, with or without AVX2 table scans; chosen at run time)
/// or `"portable"`.
pub(crate) fn field_backend() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if field_adx::avx2_scans() {
        return "mulx-adx+avx2";
    }
    #[cfg(target_arch = "x86_64")]
    if field_adx::available() {
        return "mulx-adx";
    }
    "portable"
}

/// See [`crate::use_portable_arithmetic`].
pub(crate) fn use_portable_arithmetic(portable: bool) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    field_adx::set_portable(portable);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = portable;
    field_backend()
}

/// See [`crate::hazmat::enable_adx_from_proc_cpuinfo`].
pub(crate) fn enable_adx_from_proc_cpuinfo(avx2_scans: bool) -> bool {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    return field_adx::enable_from_proc_cpuinfo(avx2_scans);
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        let _ = avx2_scans;
        false
    }
}

/// The group order n, big-endian.
pub(crate) const N_BYTES: [u8; 32] = [
    0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x72, 0x03, 0xdf, 0x6b, 0x21, 0xc6, 0x05, 0x2b, 0x53, 0xbb, 0xf4, 0x09, 0x39, 0xd5, 0x41, 0x23,
];

impl Affine {
    /// Our form of a RustCrypto point other than the identity (the
    /// identity, which no caller passes, would become (0, 0)).
    pub(crate) fn from_sm2(p: &AffinePoint) -> Affine {
        let x: [u8; 32] = p.x().into();
        let y: [u8; 32] = crate::key::point_bytes(p)[33..]
            .try_into()
            .expect("32-byte coordinate");
        // A RustCrypto AffinePoint has canonical coordinates (below p) of a
        // point on the curve, so they are converted without checks (and
        // without branches: a key derived from a secret passes through here
        // before anything declassifies it).
        Affine {
            x: field::Fe::from_canonical(field::limbs_from_be(&x)),
            y: field::Fe::from_canonical(field::limbs_from_be(&y)),
        }
    }

    /// Big-endian x and y.
    pub(crate) fn to_xy_bytes(&self) -> ([u8; 32], [u8; 32]) {
        (self.x.to_bytes(), self.y.to_bytes())
    }

    /// `04 || x || y`.
    pub(crate) fn to_sec1(&self) -> [u8; 65] {
        let (x, y) = self.to_xy_bytes();
        let mut out = [0u8; 65];
        out[0] = 0x04;
        out[1..33].copy_from_slice(&x);
        out[33..].copy_from_slice(&y);
        out
    }

    /// The RustCrypto form of this point, without a branch on the
    /// (possibly secret-derived) coordinates: an invalid point, which the
    /// callers rule out, would become the identity.
    pub(crate) fn to_sm2(&self) -> AffinePoint {
        let (x, y) = self.to_xy_bytes();
        AffinePoint::from_coordinates(&FieldBytes::from(x), &FieldBytes::from(y))
            .unwrap_or(AffinePoint::IDENTITY)
    }
}

#[cfg(test)]
mod tests;
