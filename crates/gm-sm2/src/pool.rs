//! Batched nonce precomputation for
//! [`SigningKey::enable_nonce_pool`](crate::SigningKey::enable_nonce_pool): nonces k are drawn in batches,
//! [k]G computed for the whole batch at once in affine form (the comb runs
//! as eight chains per nonce whose additions in each step share one
//! inversion, Montgomery's trick; see `arith::mul::mul_base_batch`), and
//! each signature consumes one pair.
//!
//! Everything here is constant time: an out-of-range candidate is replaced
//! by 1 for the arithmetic (k must be in [1, n-1] for the batched comb) and
//! marked invalid, as would be a nonce whose point the batched additions
//! could not compute; the only branch on secret-derived data is the verdict
//! "this pair gives a usable signature" in [`sign_pooled`], taken with
//! probability about 2^-32.

use std::sync::Mutex;

use gm_sm3::hmac::Mac;
use sm2::elliptic_curve::subtle::{Choice, ConditionallySelectable};
use sm2::elliptic_curve::PrimeField;
use sm2::{FieldBytes, Scalar};
use zeroize::{Zeroize, Zeroizing};

use crate::arith::mul_base_batch;
use crate::error::{Error, Result};
use crate::sign::{finish_signature, Signature, SignerSecrets};

/// Pairs computed per refill. Larger batches share each step's inversion
/// more widely (per nonce: 7.4 µs at 16, 6.9 µs at 32, 6.6 µs at 64,
/// 6.5 µs at 128 on a Zen 3 core), at the price of more secret nonces held
/// and a longer pause when a refill runs (about 0.45 ms at 64).
const BATCH: usize = 64;

/// Domain label of the pooled nonces' PRF input (label, 32 fresh bytes,
/// batch counter, index: 52 bytes, so HMAC-SM3's inner hash ends in one
/// compression; at most 55 leave room for SM3's padding).
const POOL_LABEL: &[u8; 8] = b"SM2 pool";
const _: () = assert!(
    POOL_LABEL.len() + 32 + size_of::<u64>() + size_of::<u32>() <= 55,
    "label, fresh bytes, batch counter and index fit one inner SM3 block"
);

/// One precomputed nonce: k, whether it is valid, and x of [k]G.
struct Entry {
    k: Scalar,
    valid: u8,
    x1: [u8; 32],
}

impl Drop for Entry {
    // Not inlined, so the zeroizing stores stay out of `sign_pooled`,
    // whose only secret-dependent branch is the verdict.
    #[inline(never)]
    fn drop(&mut self) {
        self.k.zeroize();
        self.x1.zeroize();
        self.valid = 0;
    }
}

/// The unused pairs and the batch counter.
#[derive(Default)]
pub(crate) struct NoncePool {
    entries: Vec<Entry>,
    batches: u64,
}

impl NoncePool {
    /// Computes a fresh batch of pairs.
    fn refill(&mut self, secrets: &SignerSecrets) -> Result<()> {
        let mut fresh = Zeroizing::new([0u8; 32]);
        getrandom::fill(fresh.as_mut()).map_err(|_| Error::Rng)?;
        self.batches = self.batches.wrapping_add(1);
        // Every buffer holding nonces or x1 values is zeroized when dropped;
        // `entries` is reserved up front so it never reallocates (which
        // would leave copies behind).
        self.entries.reserve_exact(BATCH);
        let mut ks = Zeroizing::new(Vec::with_capacity(BATCH));
        let mut k_bytes = Zeroizing::new(Vec::with_capacity(BATCH));
        for i in 0..BATCH as u32 {
            // One inner SM3 block (see POOL_LABEL). The label differs from
            // the hedged nonces' "SM2 nonce" in its fifth byte.
            let mut mac = secrets.nonce_prf.clone();
            mac.update(POOL_LABEL);
            mac.update(&fresh[..]);
            mac.update(&self.batches.to_be_bytes());
            mac.update(&i.to_be_bytes());
            let mut bytes: [u8; 32] = mac.finalize().into_bytes().into();
            let parsed = Scalar::from_repr(FieldBytes::from(bytes));
            bytes.zeroize();
            let valid = parsed.is_some() & !parsed.unwrap_or(Scalar::ZERO).is_zero();
            // An invalid candidate computes with k = 1 (never infinity)
            // and is discarded when used.
            let k = Scalar::conditional_select(&Scalar::ONE, &parsed.unwrap_or(Scalar::ONE), valid);
            k_bytes.push(<[u8; 32]>::from(k.to_repr()));
            ks.push((k, valid.unwrap_u8()));
        }
        let (points, unusable) = mul_base_batch(&k_bytes);
        let points = Zeroizing::new(points);
        let unusable = Zeroizing::new(unusable);
        for ((&(k, valid), p), &bad) in ks.iter().zip(points.iter()).zip(unusable.iter()) {
            // A point the batched additions could not compute (none for k in
            // [1, n-1] with the current layout, see mul_base_batch) makes
            // the nonce invalid.
            let usable = (!bad & 1) as u8;
            self.entries.push(Entry {
                k,
                valid: valid & usable,
                x1: p.x.to_bytes(),
            });
        }
        Ok(())
    }

    /// Takes one pair out, refilling when empty.
    fn take(&mut self, secrets: &SignerSecrets) -> Result<Entry> {
        if self.entries.is_empty() {
            self.refill(secrets)?;
        }
        self.entries.pop().ok_or(Error::Rng)
    }
}

/// Signs e with pooled nonces. Not inlined: the constant-time check under
/// valgrind allows its one verdict branch by name.
#[inline(never)]
pub(crate) fn sign_pooled(
    secrets: &SignerSecrets,
    pool: &Mutex<NoncePool>,
    e: &Scalar,
) -> Result<Signature> {
    loop {
        let entry = {
            let mut pool = pool.lock().unwrap_or_else(|p| p.into_inner());
            pool.take(secrets)?
        };
        let (ok, r, s) =
            finish_signature(secrets, e, &entry.k, Choice::from(entry.valid), &entry.x1);
        drop(entry);
        if bool::from(ok) {
            return Ok(Signature::from_valid_scalars(
                r.to_repr().into(),
                s.to_repr().into(),
            ));
        }
    }
}
