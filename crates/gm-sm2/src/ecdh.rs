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

use crate::arith::{mul_base, mul_var, Affine};
use crate::error::{Error, Result};
use crate::key::{SecretScalar, POINT_LEN, SCALAR_LEN};

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
        let public = mul_base(&secret.to_be_bytes()).to_affine_ct().to_sec1();
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
        if peer.len() != POINT_LEN || peer[0] != 0x04 {
            return Err(Error::InvalidPointEncoding { what });
        }
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        x.copy_from_slice(&peer[1..33]);
        y.copy_from_slice(&peer[33..]);
        let q = Affine::from_bytes(&x, &y).ok_or(Error::PointNotOnCurve { what })?;
        let mut shared = mul_var(&self.secret.to_be_bytes(), &q).to_affine_ct();
        let out = Zeroizing::new(shared.x.to_bytes());
        shared.x.0.zeroize();
        shared.y.0.zeroize();
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
