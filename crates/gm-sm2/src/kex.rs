//! SM2 key exchange (GB/T 32918.3-2016), both roles, with the optional
//! confirmation values S1/S2 (S_B/S_A).
//!
//! Initiator A and responder B each know their own key pair and ID and the
//! peer's public key and ID. Each side sends its ephemeral point R; B sends
//! S_B along with R_B if it wants confirmation, A answers with S_A.

use std::fmt;

use gm_sm3::digest::Digest;
use gm_sm3::Sm3;
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::subtle::ConstantTimeEq;
use sm2::elliptic_curve::PrimeField;
use sm2::{AffinePoint, FieldBytes, Scalar};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::key::{parse_point, point_bytes, PrivateKey, PublicKey, SecretScalar, POINT_LEN};
use crate::sign::z_value;

/// Which side of the exchange this party is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// User A, who starts the exchange by sending R_A.
    Initiator,
    /// User B, who answers with R_B (and S_B).
    Responder,
}

/// One party's state of an SM2 key exchange: its key, both IDs (as Z
/// values), the peer's public key and a fresh ephemeral key pair (r, R).
pub struct KeyExchange {
    role: Role,
    own_key: PrivateKey,
    peer_key: PublicKey,
    /// Z_A (initiator's), Z_B (responder's).
    z_a: [u8; 32],
    z_b: [u8; 32],
    ephemeral: SecretScalar,
    ephemeral_point: AffinePoint,
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("role", &self.role)
            .field("peer_key", &self.peer_key)
            .finish_non_exhaustive()
    }
}

/// The result of a key exchange: the shared key and the confirmation values.
pub struct KeyExchangeOutput {
    key: Zeroizing<Vec<u8>>,
    confirmation_to_send: [u8; 32],
    expected_confirmation: [u8; 32],
}

impl fmt::Debug for KeyExchangeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchangeOutput")
            .field("key_len", &self.key.len())
            .finish_non_exhaustive()
    }
}

impl KeyExchangeOutput {
    /// The shared key K (KDF output of the requested length).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The confirmation value this party sends: S_B (= S1) for the
    /// responder, S_A (= S2) for the initiator.
    pub fn confirmation(&self) -> &[u8; 32] {
        &self.confirmation_to_send
    }

    /// Checks the peer's confirmation value (S_B for the initiator, S_A for
    /// the responder) in constant time.
    #[inline(never)]
    pub fn verify_peer_confirmation(&self, peer: &[u8]) -> Result<()> {
        if peer.len() == 32 && bool::from(peer.ct_eq(&self.expected_confirmation[..])) {
            Ok(())
        } else {
            Err(Error::ConfirmationMismatch)
        }
    }
}

impl KeyExchange {
    /// Starts an exchange as `role`, with a fresh ephemeral key from the OS
    /// RNG. `own_id` and `peer_id` are the distinguishing IDs (e.g.
    /// [`crate::DEFAULT_ID`]).
    pub fn new(
        role: Role,
        own_key: &PrivateKey,
        own_id: &[u8],
        peer_key: &PublicKey,
        peer_id: &[u8],
    ) -> Result<Self> {
        Self::with_ephemeral(
            role,
            own_key,
            own_id,
            peer_key,
            peer_id,
            SecretScalar::random()?,
        )
    }

    pub(crate) fn with_ephemeral(
        role: Role,
        own_key: &PrivateKey,
        own_id: &[u8],
        peer_key: &PublicKey,
        peer_id: &[u8],
        ephemeral: SecretScalar,
    ) -> Result<Self> {
        let own_z = z_value(own_id, own_key.public_key())?;
        let peer_z = z_value(peer_id, peer_key)?;
        let (z_a, z_b) = match role {
            Role::Initiator => (own_z, peer_z),
            Role::Responder => (peer_z, own_z),
        };
        // A1-A3 / B1-B3: R = [r]G
        let ephemeral_point = crate::arith::mul_base_affine(&ephemeral.to_be_bytes()).to_sm2();
        Ok(KeyExchange {
            role,
            own_key: own_key.clone(),
            peer_key: *peer_key,
            z_a,
            z_b,
            ephemeral,
            ephemeral_point,
        })
    }

    /// This party's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The ephemeral point R to send to the peer, `04 || x || y`.
    pub fn ephemeral_public(&self) -> [u8; POINT_LEN] {
        point_bytes(&self.ephemeral_point)
    }

    /// Completes the exchange with the peer's ephemeral point (SEC1, checked
    /// to be on the curve) and derives `key_len` bytes of shared key.
    /// Consumes the exchange, so an ephemeral key is used for one peer
    /// point only.
    ///
    /// Fails if the shared point is the identity (GB/T 32918.3 A8/B7), the
    /// only branch on a secret-derived value (a permitted leak: the failure
    /// is visible anyway).
    #[inline(never)]
    pub fn finish(self, peer_ephemeral: &[u8], key_len: usize) -> Result<KeyExchangeOutput> {
        if key_len == 0 {
            return Err(Error::OutputLength { requested: 0 });
        }
        let peer_r = parse_point(peer_ephemeral, "peer ephemeral point")?;
        // t = (d + x̄ · r) mod n with x̄ from our own R
        let x_own = x_bar(&self.ephemeral_point);
        let mut t = *self.own_key.secret().scalar() + x_own * self.ephemeral.scalar();
        // U = [h · t](P_peer + [x̄_peer] R_peer), h = 1
        let x_peer = x_bar(&peer_r);
        // The base P_peer + [x̄_peer]R_peer is public: variable time.
        use crate::arith::{mul_var, Affine, Jacobian};
        let base = mul_var(&x_peer.to_repr().into(), &Affine::from_sm2(&peer_r)).add_vartime(
            &Jacobian::from_affine(&Affine::from_sm2(self.peer_key.point())),
        );
        let Some(base) = base.to_affine() else {
            t.zeroize();
            return Err(Error::IdentityPoint {
                what: "shared point U/V",
            });
        };
        let mut t_bytes = Zeroizing::new([0u8; 32]);
        t_bytes.copy_from_slice(&t.to_repr());
        t.zeroize();
        let shared = mul_var(&t_bytes, &base);
        if shared.is_infinity_vartime() {
            return Err(Error::IdentityPoint {
                what: "shared point U/V",
            });
        }
        let (x, y) = shared.to_affine_ct().to_xy_bytes();
        let xu = Zeroizing::new(x);
        let yu = Zeroizing::new(y);

        // K = KDF(xU || yU || Z_A || Z_B, klen)
        let mut z = Zeroizing::new([0u8; 128]);
        z[..32].copy_from_slice(&xu[..]);
        z[32..64].copy_from_slice(&yu[..]);
        z[64..96].copy_from_slice(&self.z_a);
        z[96..].copy_from_slice(&self.z_b);
        let mut key = Zeroizing::new(vec![0u8; key_len]);
        gm_sm3::kdf(&z[..], &mut key).map_err(|_| Error::OutputLength { requested: key_len })?;

        // (x1, y1) = R_A, (x2, y2) = R_B
        let (ra, rb) = match self.role {
            Role::Initiator => (self.ephemeral_point, peer_r),
            Role::Responder => (peer_r, self.ephemeral_point),
        };
        // inner = SM3(xU || Z_A || Z_B || x1 || y1 || x2 || y2)
        let mut h = Sm3::new();
        h.update(&xu[..]);
        h.update(self.z_a);
        h.update(self.z_b);
        h.update(&point_bytes(&ra)[1..]);
        h.update(&point_bytes(&rb)[1..]);
        let inner: [u8; 32] = h.finalize().into();
        let confirm = |tag: u8| -> [u8; 32] {
            let mut h = Sm3::new();
            h.update([tag]);
            h.update(&yu[..]);
            h.update(inner);
            h.finalize().into()
        };
        // S_B = S1 = SM3(0x02 || yU || inner); S_A = S2 = SM3(0x03 || yU || inner)
        let s_b = confirm(0x02);
        let s_a = confirm(0x03);
        let (confirmation_to_send, expected_confirmation) = match self.role {
            Role::Initiator => (s_a, s_b),
            Role::Responder => (s_b, s_a),
        };
        Ok(KeyExchangeOutput {
            key,
            confirmation_to_send,
            expected_confirmation,
        })
    }
}

/// x̄ = 2^w + (x mod 2^w) with w = 127 (GB/T 32918.3 section 6.1 A4).
fn x_bar(p: &AffinePoint) -> Scalar {
    let x = p.x();
    let mut bytes = [0u8; 32];
    bytes[16..].copy_from_slice(&x[16..]);
    bytes[16] |= 0x80;
    <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(bytes))
}
