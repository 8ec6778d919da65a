//! Plain ephemeral elliptic-curve Diffie-Hellman on sm2p256v1, as TLS 1.3
//! uses it for the curveSM2 group (RFC 8998 section 3.1): each side sends an
//! uncompressed point and the shared secret is the x coordinate of d·Q.
//!
//! ```
//! use gm_sm2::ecdh::EphemeralSecret;
//!
//! let alice = EphemeralSecret::generate()?;
//! let bob = EphemeralSecret::generate()?;
//! let alice_public = *alice.public_key();
//! let shared_a = alice.diffie_hellman(bob.public_key())?;
//! let shared_b = bob.diffie_hellman(&alice_public)?;
//! assert_eq!(*shared_a, *shared_b);
//! # Ok::<(), gm_sm2::Error>(())
//! ```

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::arith::{mul_base_affine, mul_var_affine, Affine};
use crate::error::{Error, Result};
use crate::key::{uncompressed_xy, SecretScalar, POINT_LEN, SCALAR_LEN};

/// A one-use ECDH secret scalar in [1, n-2] with its public point.
/// The scalar is zeroized on drop; `diffie_hellman` consumes the value.
pub struct EphemeralSecret {
    secret: SecretScalar,
    public: [u8; POINT_LEN],
}

impl EphemeralSecret {
    /// Draws a secret from the OS RNG and computes its public point
    /// (constant time).
    pub fn generate() -> Result<Self> {
        Ok(Self::from_secret(SecretScalar::random()?))
    }

    pub(crate) fn from_secret(secret: SecretScalar) -> Self {
        let public = mul_base_affine(&secret.to_be_bytes()).to_sec1();
        EphemeralSecret { secret, public }
    }

    /// The public point, uncompressed: `04 || x || y`.
    pub fn public_key(&self) -> &[u8; POINT_LEN] {
        &self.public
    }

    /// The shared secret with the peer's uncompressed point: the x
    /// coordinate of d·Q, computed in constant time.
    ///
    /// The peer point must be `04 || x || y` with x, y below p and on the
    /// curve ([`Error::InvalidPointEncoding`], [`Error::PointNotOnCurve`]).
    /// The cofactor is 1 and d is in [1, n-1], so the result is never the
    /// point at infinity.
    pub fn diffie_hellman(self, peer: &[u8]) -> Result<Zeroizing<[u8; SCALAR_LEN]>> {
        let what = "peer ECDH point";
        let (x, y) = uncompressed_xy(peer).ok_or(Error::InvalidPointEncoding { what })?;
        let q = Affine::from_bytes(&x, &y).ok_or(Error::PointNotOnCurve { what })?;
        let mut shared = mul_var_affine(&self.secret.to_be_bytes(), &q);
        let out = Zeroizing::new(shared.x.to_bytes());
        shared.zeroize();
        Ok(out)
    }
}

impl fmt::Debug for EphemeralSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EphemeralSecret")
            .field("public_key", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_and_match_rustcrypto() {
        use sm2::elliptic_curve::point::AffineCoordinates;
        let a = EphemeralSecret::generate().unwrap();
        let b = EphemeralSecret::generate().unwrap();
        let (pa, pb) = (*a.public_key(), *b.public_key());
        // RustCrypto's arithmetic as the reference: d_a · P_b.
        let d_a = a.secret.scalar().to_owned();
        let peer = sm2::PublicKey::from_sec1_bytes(&pb).unwrap();
        let expect = (peer.to_projective() * d_a).to_affine().x();
        let za = a.diffie_hellman(&pb).unwrap();
        let zb = b.diffie_hellman(&pa).unwrap();
        assert_eq!(*za, *zb);
        assert_eq!(za[..], expect[..]);
    }

    #[test]
    fn bad_peer_points_are_typed_errors() {
        let fresh = || EphemeralSecret::generate().unwrap();
        let good = *fresh().public_key();
        // Wrong lengths and prefixes, compressed and identity encodings.
        for bad in [
            &good[..64],
            &[good.as_slice(), &[0]].concat()[..],
            &[0x00][..],
            &[&[0x02], &good[1..33]].concat()[..],
            &[],
        ] {
            assert!(
                matches!(
                    fresh().diffie_hellman(bad),
                    Err(Error::InvalidPointEncoding { .. })
                ),
                "{bad:02x?}"
            );
        }
        let mut wrong_prefix = good;
        wrong_prefix[0] = 0x06;
        assert!(matches!(
            fresh().diffie_hellman(&wrong_prefix),
            Err(Error::InvalidPointEncoding { .. })
        ));
        // Off the curve (y + 1), x >= p, all zero.
        let mut off = good;
        off[64] ^= 1;
        let mut big_x = good;
        big_x[1..33].copy_from_slice(&[0xff; 32]);
        let mut zero = [0u8; 65];
        zero[0] = 0x04;
        for bad in [off, big_x, zero] {
            assert!(matches!(
                fresh().diffie_hellman(&bad),
                Err(Error::PointNotOnCurve { .. })
            ));
        }
    }
}
