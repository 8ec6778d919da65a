//! SM2 private and public keys (GB/T 32918.1 key validation).

use std::fmt;

use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::subtle::{Choice, ConstantTimeEq};
use sm2::elliptic_curve::PrimeField;
use sm2::{AffinePoint, FieldBytes, Scalar};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

/// Length of a private key (and of a coordinate) in bytes.
pub const SCALAR_LEN: usize = 32;
/// Length of an uncompressed point `04 || x || y` in bytes.
pub const POINT_LEN: usize = 65;

/// An SM2 private key: a secret scalar d in [1, n-2] and its public point.
///
/// The scalar is zeroized on drop and never printed by `Debug`.
#[derive(Clone)]
pub struct PrivateKey {
    secret: SecretScalar,
    public: PublicKey,
}

/// A secret scalar in [1, n-2], zeroized on drop.
#[derive(Clone)]
pub(crate) struct SecretScalar(Scalar);

impl SecretScalar {
    pub(crate) fn scalar(&self) -> &Scalar {
        &self.0
    }

    /// The scalar as 32 big-endian bytes, zeroized on drop.
    pub(crate) fn to_be_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        let mut out = Zeroizing::new([0u8; SCALAR_LEN]);
        let mut repr = self.0.to_repr();
        out.copy_from_slice(&repr);
        repr.zeroize();
        out
    }

    /// A scalar in [1, n-2] from big-endian bytes; the range check is
    /// constant-time and the one branch is on its verdict (not inlined, so
    /// the valgrind check can allow that branch by name).
    #[inline(never)]
    pub(crate) fn from_bytes(bytes: &[u8; SCALAR_LEN]) -> Result<Self> {
        let parsed = Scalar::from_repr(FieldBytes::from(*bytes));
        let in_range: Choice = parsed.is_some();
        let s = parsed.unwrap_or(Scalar::ZERO);
        // d != 0 and d != n - 1 (1 + d must be invertible for signing).
        let ok = in_range & !s.is_zero() & !(s + Scalar::ONE).is_zero();
        let secret = SecretScalar(s);
        if bool::from(ok) {
            Ok(secret)
        } else {
            Err(Error::ScalarOutOfRange {
                what: "private key",
            })
        }
    }

    /// Draws a uniform scalar in [1, n-2] from the OS RNG.
    pub(crate) fn random() -> Result<Self> {
        loop {
            let mut bytes = Zeroizing::new([0u8; SCALAR_LEN]);
            getrandom::fill(bytes.as_mut()).map_err(|_| Error::Rng)?;
            if let Ok(s) = Self::from_bytes(&bytes) {
                return Ok(s);
            }
        }
    }
}

impl Drop for SecretScalar {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl PrivateKey {
    /// Generates a key pair with the operating system's RNG.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_secret(SecretScalar::random()?))
    }

    /// A private key from its 32-byte big-endian scalar d, which must be in
    /// [1, n-2] (GB/T 32918.1).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let arr: &[u8; SCALAR_LEN] = bytes.try_into().map_err(|_| Error::InvalidLength {
            what: "private key",
            expected: SCALAR_LEN,
            got: bytes.len(),
        })?;
        Ok(Self::from_secret(SecretScalar::from_bytes(arr)?))
    }

    pub(crate) fn from_secret(secret: SecretScalar) -> Self {
        let point = crate::arith::mul_base_affine(&secret.to_be_bytes()).to_sm2();
        PrivateKey {
            secret,
            public: PublicKey { point },
        }
    }

    /// The 32-byte big-endian scalar d (secret: handle with care).
    pub fn to_bytes(&self) -> Zeroizing<[u8; SCALAR_LEN]> {
        let mut out = Zeroizing::new([0u8; SCALAR_LEN]);
        let mut repr = self.secret.scalar().to_repr();
        out.copy_from_slice(&repr);
        repr.zeroize();
        out
    }

    /// The public key `P = [d]G`.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn secret(&self) -> &SecretScalar {
        &self.secret
    }
}

impl ConstantTimeEq for PrivateKey {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.secret.0.ct_eq(&other.secret.0)
    }
}

impl PartialEq for PrivateKey {
    fn eq(&self, other: &Self) -> bool {
        self.ct_eq(other).into()
    }
}

impl Eq for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}

/// An SM2 public key: a point of sm2p256v1 other than the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    point: AffinePoint,
}

impl PublicKey {
    /// Parses an SEC1 point: uncompressed `04 || x || y` (65 bytes) or
    /// compressed `02/03 || x` (33 bytes). The point is validated
    /// (coordinates below p, on the curve, not the identity).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self> {
        parse_point(bytes, "public key").map(|point| PublicKey { point })
    }

    /// The uncompressed SEC1 encoding `04 || x || y`.
    pub fn to_sec1_bytes(&self) -> [u8; POINT_LEN] {
        point_bytes(&self.point)
    }

    /// `x || y`, 64 bytes (the form hashed into Z and some raw formats).
    pub(crate) fn xy(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(&self.to_sec1_bytes()[1..]);
        out
    }

    pub(crate) fn point(&self) -> &AffinePoint {
        &self.point
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self
            .to_sec1_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        write!(f, "PublicKey({hex})")
    }
}

/// `04 || x || y` of a non-identity affine point.
pub(crate) fn point_bytes(p: &AffinePoint) -> [u8; POINT_LEN] {
    let mut out = [0u8; POINT_LEN];
    out[0] = 0x04;
    out[1..33].copy_from_slice(&p.x());
    out[33..].copy_from_slice(&p.y());
    out
}

/// A validated affine point from 32-byte coordinates.
pub(crate) fn point_from_xy(x: &[u8; 32], y: &[u8; 32], what: &'static str) -> Result<AffinePoint> {
    Option::from(AffinePoint::from_coordinates(
        &FieldBytes::from(*x),
        &FieldBytes::from(*y),
    ))
    .ok_or(Error::PointNotOnCurve { what })
}

/// x and y of an uncompressed SEC1 point `04 || x || y` (unchecked
/// values); `None` for any other length or prefix.
pub(crate) fn uncompressed_xy(bytes: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    match bytes {
        [0x04, rest @ ..] if rest.len() == 2 * SCALAR_LEN => {
            let (x, y) = rest.split_at(SCALAR_LEN);
            Some((x.try_into().ok()?, y.try_into().ok()?))
        }
        _ => None,
    }
}

/// Parses a SEC1 point (uncompressed or compressed), rejecting the identity.
pub(crate) fn parse_point(bytes: &[u8], what: &'static str) -> Result<AffinePoint> {
    use sm2::elliptic_curve::point::DecompressPoint;
    match bytes.first() {
        Some(0x04) => match uncompressed_xy(bytes) {
            Some((x, y)) => point_from_xy(&x, &y, what),
            None => Err(Error::InvalidPointEncoding { what }),
        },
        Some(tag @ (0x02 | 0x03)) if bytes.len() == 33 => {
            let mut x = [0u8; 32];
            x.copy_from_slice(&bytes[1..]);
            Option::from(AffinePoint::decompress(
                &FieldBytes::from(x),
                Choice::from(tag & 1),
            ))
            .ok_or(Error::PointNotOnCurve { what })
        }
        Some(0x00) if bytes.len() == 1 => Err(Error::IdentityPoint { what }),
        _ => Err(Error::InvalidPointEncoding { what }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_key_range() {
        let n_minus_1 =
            hex::decode("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54122")
                .unwrap();
        let n_minus_2 =
            hex::decode("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54121")
                .unwrap();
        let n = hex::decode("fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123")
            .unwrap();
        assert!(PrivateKey::from_bytes(&[0u8; 32]).is_err());
        assert!(PrivateKey::from_bytes(&n_minus_1).is_err());
        assert!(PrivateKey::from_bytes(&n).is_err());
        assert!(PrivateKey::from_bytes(&[0xff; 32]).is_err());
        assert!(PrivateKey::from_bytes(&[1u8; 31]).is_err());
        assert!(PrivateKey::from_bytes(&n_minus_2).is_ok());
        let mut one = [0u8; 32];
        one[31] = 1;
        let k = PrivateKey::from_bytes(&one).unwrap();
        // [1]G = G
        assert_eq!(
            hex::encode(k.public_key().to_sec1_bytes()),
            concat!(
                "04",
                "32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7",
                "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0"
            )
        );
        let dbg = format!("{k:?}");
        assert!(
            dbg.starts_with("PrivateKey { public_key: PublicKey(04"),
            "{dbg}"
        );
    }

    #[test]
    fn compressed_points() {
        let k = PrivateKey::generate().unwrap();
        let unc = k.public_key().to_sec1_bytes();
        let mut comp = [0u8; 33];
        comp[0] = 2 | (unc[64] & 1);
        comp[1..].copy_from_slice(&unc[1..33]);
        assert_eq!(PublicKey::from_sec1_bytes(&comp).unwrap(), *k.public_key());
        assert_eq!(
            PublicKey::from_sec1_bytes(&[0]),
            Err(Error::IdentityPoint { what: "public key" })
        );
        let mut off = unc;
        off[64] ^= 1;
        assert_eq!(
            PublicKey::from_sec1_bytes(&off),
            Err(Error::PointNotOnCurve { what: "public key" })
        );
    }
}
