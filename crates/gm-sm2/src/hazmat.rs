//! Hazardous entry points that take the secret nonce or ephemeral scalar
//! from the caller. **For known-answer tests only** (GB/T 32918.5 annexes):
//! reusing or predicting k leaks the private key. Real code uses
//! [`SigningKey`](crate::SigningKey), [`PublicKey::encrypt`](crate::PublicKey::encrypt)
//! [`KeyExchange::new`](crate::KeyExchange::new) and
//! [`EphemeralSecret::generate`](crate::ecdh::EphemeralSecret::generate),
//! which draw their own.

use crate::error::{Error, Result};
use crate::kex::{KeyExchange, Role};
use crate::key::{PrivateKey, PublicKey, SecretScalar};
use crate::sign::Signature;
use crate::{Ciphertext, SCALAR_LEN};

/// Signs the digest e = SM3(Z || M) with the given nonce `k`
/// (GB/T 32918.2 A4-A7). Test-only: see the module documentation.
pub fn sign_digest_with_k(
    key: &PrivateKey,
    e: &[u8; 32],
    k: &[u8; SCALAR_LEN],
) -> Result<Signature> {
    crate::sign::sign_digest_with_k(key, e, k)
}

/// Encrypts `msg` with the given ephemeral scalar `k` (GB/T 32918.4 A1-A8).
/// Fails with [`Error::KdfOutputZero`] where the standard would draw a new
/// k. Test-only: see the module documentation.
pub fn encrypt_with_k(key: &PublicKey, msg: &[u8], k: &[u8; SCALAR_LEN]) -> Result<Ciphertext> {
    let k = SecretScalar::from_bytes(k).map_err(|_| Error::ScalarOutOfRange { what: "k" })?;
    crate::encrypt::encrypt_with_k(key, msg, &k)?.ok_or(Error::KdfOutputZero)
}

/// Starts a key exchange with the given ephemeral scalar `r` (r_A or r_B).
/// Test-only: see the module documentation.
pub fn key_exchange_with_ephemeral(
    role: Role,
    own_key: &PrivateKey,
    own_id: &[u8],
    peer_key: &PublicKey,
    peer_id: &[u8],
    r: &[u8; SCALAR_LEN],
) -> Result<KeyExchange> {
    let r = SecretScalar::from_bytes(r).map_err(|_| Error::ScalarOutOfRange {
        what: "ephemeral r",
    })?;
    KeyExchange::with_ephemeral(role, own_key, own_id, peer_key, peer_id, r)
}

/// An ECDH secret from the given scalar (in [1, n-2]) instead of a random
/// one. Test-only: see the module documentation.
pub fn ecdh_with_secret(secret: &[u8; SCALAR_LEN]) -> Result<crate::ecdh::EphemeralSecret> {
    let secret = SecretScalar::from_bytes(secret).map_err(|_| Error::ScalarOutOfRange {
        what: "ECDH secret",
    })?;
    Ok(crate::ecdh::EphemeralSecret::from_secret(secret))
}

/// Makes the SM2 field arithmetic use its MULX/ADX assembly when the
/// kernel's `/proc/cpuinfo` lists `bmi2` and `adx`, even if CPUID as this
/// process sees it does not. For the valgrind constant-time check only:
/// valgrind executes these instructions but hides ADX from CPUID, so
/// without this the check would only ever see the portable code. With
/// `avx2_scans` the constant-time table scans use AVX2 where CPUID reports
/// it (as they do outside valgrind); without, they stay portable, the
/// combination a CPU with ADX but no AVX2 (or a VM hiding AVX2) runs.
/// Returns whether the assembly is now in use (always `false` off x86-64
/// Linux).
pub fn enable_adx_from_proc_cpuinfo(avx2_scans: bool) -> bool {
    crate::arith::enable_adx_from_proc_cpuinfo(avx2_scans)
}
