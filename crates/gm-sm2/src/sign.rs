//! SM2 digital signatures with SM3 (GB/T 32918.2-2016).

use std::fmt;

use gm_sm3::digest::Digest;
use gm_sm3::hmac::{KeyInit, Mac};
use gm_sm3::{HmacSm3, Sm3};
use signature::hazmat::{PrehashSigner, PrehashVerifier, RandomizedPrehashSigner};
use signature::rand_core::TryCryptoRng;
use signature::{
    Keypair, MultipartSigner, MultipartVerifier, RandomizedMultipartSigner, RandomizedSigner,
    SignatureEncoding, Signer, Verifier,
};
use sm2::elliptic_curve::ops::Reduce;
use sm2::elliptic_curve::subtle::Choice;
use sm2::elliptic_curve::PrimeField;
use sm2::{FieldBytes, Scalar};
use zeroize::{Zeroize, Zeroizing};

use crate::der;
use crate::error::{Error, Result};
use crate::key::{PrivateKey, PublicKey, SCALAR_LEN};

/// The default distinguishing identifier of GM/T 0009-2012 and RFC 8998
/// (certificates): `1234567812345678`.
pub const DEFAULT_ID: &[u8] = b"1234567812345678";

/// The distinguishing identifier of TLS 1.3 CertificateVerify signatures
/// (RFC 8998 section 3.2.1): `TLSv1.3+GM+Cipher+Suite`.
pub const TLS13_ID: &[u8] = b"TLSv1.3+GM+Cipher+Suite";

/// Longest distinguishing ID: ENTL counts bits in 16 bits.
const MAX_ID_LEN: usize = 0xffff / 8;

/// sm2p256v1 a, b, G (GB/T 32918.5-2017), hashed into Z.
const CURVE_A: [u8; 32] = hex32("fffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffc");
const CURVE_B: [u8; 32] = hex32("28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93");
const GEN_X: [u8; 32] = hex32("32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7");
const GEN_Y: [u8; 32] = hex32("bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0");

const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("bad hex constant"),
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

/// Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the user
/// information hash of GB/T 32918.2 section 5.5, for any ID bytes.
///
/// Fails with [`Error::IdTooLong`] for IDs longer than 8191 bytes.
pub fn z_value(id: &[u8], public_key: &PublicKey) -> Result<[u8; 32]> {
    if id.len() > MAX_ID_LEN {
        return Err(Error::IdTooLong { len: id.len() });
    }
    let entl = (id.len() * 8) as u16;
    let mut h = Sm3::new();
    h.update(entl.to_be_bytes());
    h.update(id);
    h.update(CURVE_A);
    h.update(CURVE_B);
    h.update(GEN_X);
    h.update(GEN_Y);
    h.update(public_key.xy());
    Ok(h.finalize().into())
}

/// e = SM3(Z || M).
fn message_digest(z: &[u8; 32], msg: &[&[u8]]) -> [u8; 32] {
    let mut h = Sm3::new();
    h.update(z);
    for part in msg {
        h.update(part);
    }
    h.finalize().into()
}

/// An SM2 signature (r, s), with 1 <= r, s <= n - 1 guaranteed by every
/// constructor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    r: [u8; 32],
    s: [u8; 32],
}

impl Signature {
    /// A signature from scalars the signer has already checked to be in
    /// [1, n-1].
    pub(crate) fn from_valid_scalars(r: [u8; 32], s: [u8; 32]) -> Self {
        Signature { r, s }
    }

    /// Length of the fixed `r || s` encoding.
    pub const BYTE_LEN: usize = 64;

    /// A signature from its two 32-byte big-endian components; each must be
    /// in [1, n-1].
    pub fn from_scalars(r: &[u8; 32], s: &[u8; 32]) -> Result<Self> {
        check_range(r, "r")?;
        check_range(s, "s")?;
        Ok(Signature { r: *r, s: *s })
    }

    /// Parses the fixed 64-byte `r || s` encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != Self::BYTE_LEN {
            return Err(Error::InvalidLength {
                what: "raw SM2 signature (r || s)",
                expected: Self::BYTE_LEN,
                got: bytes.len(),
            });
        }
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Self::from_scalars(&r, &s)
    }

    /// Parses strict DER `SEQUENCE { r INTEGER, s INTEGER }` (GM/T 0009):
    /// minimal, non-negative integers, definite minimal lengths, nothing
    /// after the SEQUENCE.
    pub fn from_der(der_bytes: &[u8]) -> Result<Self> {
        let content = der::parse_single(der_bytes, der::SEQUENCE, "SM2Signature")?;
        let mut seq = der::Reader::new(content);
        let r = der::uint32(seq.read(der::INTEGER, "SM2Signature.r")?, "SM2Signature.r")?;
        let s = der::uint32(seq.read(der::INTEGER, "SM2Signature.s")?, "SM2Signature.s")?;
        seq.finish("SM2Signature")?;
        Self::from_scalars(&r, &s)
    }

    /// The DER encoding `SEQUENCE { r INTEGER, s INTEGER }`.
    pub fn to_der(&self) -> Vec<u8> {
        der::tlv(der::SEQUENCE, &[&der::uint(&self.r), &der::uint(&self.s)])
    }

    /// The fixed 64-byte encoding `r || s`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// r, 32 bytes big-endian.
    pub fn r(&self) -> &[u8; 32] {
        &self.r
    }

    /// s, 32 bytes big-endian.
    pub fn s(&self) -> &[u8; 32] {
        &self.s
    }

    fn scalars(&self) -> (Scalar, Scalar) {
        // In range by construction; `unwrap_or` keeps this total.
        let r = Scalar::from_repr(FieldBytes::from(self.r)).unwrap_or(Scalar::ZERO);
        let s = Scalar::from_repr(FieldBytes::from(self.s)).unwrap_or(Scalar::ZERO);
        (r, s)
    }
}

fn check_range(v: &[u8; 32], what: &'static str) -> Result<()> {
    let parsed = Option::<Scalar>::from(Scalar::from_repr(FieldBytes::from(*v)));
    match parsed {
        Some(x) if !bool::from(x.is_zero()) => Ok(()),
        _ => Err(Error::ScalarOutOfRange { what }),
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = |b: &[u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        f.debug_struct("Signature")
            .field("r", &hex(&self.r))
            .field("s", &hex(&self.s))
            .finish()
    }
}

impl TryFrom<&[u8]> for Signature {
    type Error = signature::Error;

    /// The fixed 64-byte `r || s` form.
    fn try_from(bytes: &[u8]) -> core::result::Result<Self, signature::Error> {
        Signature::from_bytes(bytes).map_err(Into::into)
    }
}

impl From<Signature> for [u8; 64] {
    fn from(sig: Signature) -> [u8; 64] {
        sig.to_bytes()
    }
}

impl TryFrom<[u8; 64]> for Signature {
    type Error = signature::Error;

    fn try_from(bytes: [u8; 64]) -> core::result::Result<Self, signature::Error> {
        Signature::from_bytes(&bytes).map_err(Into::into)
    }
}

impl SignatureEncoding for Signature {
    type Repr = [u8; 64];
}

/// The secrets a signer needs: (1 + d)^-1 and the nonce PRF keyed with d
/// (HMAC-SM3 with its padded key blocks absorbed once per key), zeroized
/// on drop. (s needs no d of its own: see `finish_signature`.)
#[derive(Clone)]
pub(crate) struct SignerSecrets {
    pub(crate) d_plus_1_inv: Scalar,
    pub(crate) nonce_prf: HmacSm3,
}

impl Drop for SignerSecrets {
    fn drop(&mut self) {
        self.d_plus_1_inv.zeroize();
    }
}

/// An SM2 signing key bound to a distinguishing ID: a [`PrivateKey`] plus
/// the precomputed Z and (1 + d)^-1.
///
/// Implements the `signature` crate's [`Signer`], [`RandomizedSigner`],
/// [`MultipartSigner`] and (for a precomputed e = SM3(Z || M))
/// [`PrehashSigner`]. Nonces are HMAC-SM3 keyed with d over e and 32 fresh
/// bytes from the OS RNG (or the given RNG), so a weak RNG does not expose
/// the key.
#[derive(Clone)]
pub struct SigningKey {
    key: PrivateKey,
    secrets: SignerSecrets,
    verifying: VerifyingKey,
    /// Precomputed (k, x1) pairs when the nonce pool is on (shared by
    /// clones; each pair is taken out once).
    pool: Option<std::sync::Arc<std::sync::Mutex<crate::pool::NoncePool>>>,
}

impl SigningKey {
    /// A signing key for `key` with distinguishing ID `id` (use
    /// [`DEFAULT_ID`] unless a protocol says otherwise).
    pub fn new(key: &PrivateKey, id: &[u8]) -> Result<Self> {
        let mut d = *key.secret().scalar();
        // d is in [1, n-2], so 1 + d is invertible.
        let d_plus_1_inv = (d + Scalar::ONE).invert().unwrap_or(Scalar::ZERO);
        let mut d_block = Zeroizing::new([0u8; 64]);
        d_block[..32].copy_from_slice(&d.to_repr());
        let nonce_prf = <HmacSm3 as KeyInit>::new(&(*d_block).into());
        d.zeroize();
        Ok(SigningKey {
            key: key.clone(),
            secrets: SignerSecrets {
                d_plus_1_inv,
                nonce_prf,
            },
            verifying: VerifyingKey::new(key.public_key(), id)?,
            pool: None,
        })
    }

    /// Turns on batched nonce precomputation: nonces are drawn 64 at a
    /// time, their points k·G computed together in affine form (each
    /// step's additions, up to seven per nonce, share one inversion, so
    /// they cost about half as much), and each signature takes one (k, x1)
    /// pair out of the pool.
    ///
    /// The trade-off: pooled nonces are drawn before the message is known,
    /// so they are not bound to it. Each is HMAC-SM3 keyed with d over 32
    /// fresh OS random bytes per batch and a counter, and is used at most
    /// once (taken out of the pool under a lock); the plain
    /// [`sign_digest`](Self::sign_digest) additionally binds the nonce to
    /// the message, which still protects a key if the OS RNG repeats
    /// itself. The pool (up to 64 secret nonces) is zeroized on drop.
    /// Clones share the pool.
    ///
    /// ```
    /// # use gm_sm2::{PrivateKey, SigningKey, DEFAULT_ID};
    /// let key = PrivateKey::generate()?;
    /// let mut signer = SigningKey::new(&key, DEFAULT_ID)?;
    /// signer.enable_nonce_pool();
    /// let sig = signer.sign_message(b"payment 42")?;
    /// signer.verifying_key().verify_message(b"payment 42", &sig)?;
    /// # Ok::<(), gm_sm2::Error>(())
    /// ```
    pub fn enable_nonce_pool(&mut self) {
        if self.pool.is_none() {
            self.pool = Some(std::sync::Arc::new(std::sync::Mutex::new(
                crate::pool::NoncePool::default(),
            )));
        }
    }

    /// The matching verifying key (same ID).
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.key
    }

    /// Z for this key and ID.
    pub fn z(&self) -> &[u8; 32] {
        &self.verifying.z
    }

    /// e = SM3(Z || msg), the digest that is actually signed.
    pub fn digest(&self, msg: &[u8]) -> [u8; 32] {
        message_digest(&self.verifying.z, &[msg])
    }

    /// Signs `msg` (hashing Z || msg), with a hedged nonce from the OS RNG.
    pub fn sign_message(&self, msg: &[u8]) -> Result<Signature> {
        self.sign_digest(&self.digest(msg))
    }

    /// Signs a precomputed e = SM3(Z || M) (e.g. from a TLS stack that
    /// hashes itself), with a hedged nonce from the OS RNG.
    pub fn sign_digest(&self, e: &[u8; 32]) -> Result<Signature> {
        if let Some(pool) = &self.pool {
            let e_scalar = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
            return crate::pool::sign_pooled(&self.secrets, pool, &e_scalar);
        }
        let mut extra = Zeroizing::new([0u8; 32]);
        getrandom::fill(extra.as_mut()).map_err(|_| Error::Rng)?;
        Ok(self.sign_digest_with_extra(e, &extra))
    }

    /// Signs e with nonces derived from (d, e, extra).
    fn sign_digest_with_extra(&self, e: &[u8; 32], extra: &[u8; 32]) -> Signature {
        let e_scalar = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
        let nonces = NonceStream {
            prf: &self.secrets.nonce_prf,
            e: e_scalar.to_repr().into(),
            extra,
            counter: 0,
        };
        sign_with_nonces(&self.secrets, &e_scalar, nonces)
    }
}

/// Draws nonce candidates until one gives a valid signature. The only
/// secret-dependent branch is on the verdict "this candidate k gives a
/// usable (r, s)", false with probability about 2^-32 per candidate; the
/// rest is constant-time.
#[inline(never)]
fn sign_with_nonces(secrets: &SignerSecrets, e: &Scalar, mut nonces: NonceStream<'_>) -> Signature {
    loop {
        let k = nonces.next_candidate();
        let (ok, r, s) = sign_candidate(secrets, e, &k);
        if bool::from(ok) {
            return Signature {
                r: r.to_repr().into(),
                s: s.to_repr().into(),
            };
        }
    }
}

/// GB/T 32918.2 steps A4-A6 for the candidate nonce `k_bytes`, without
/// branches: `ok` is false if k is not in [1, n-1], r = 0, r + k = n or s = 0.
fn sign_candidate(
    secrets: &SignerSecrets,
    e: &Scalar,
    k_bytes: &[u8; 32],
) -> (Choice, Scalar, Scalar) {
    let parsed = Scalar::from_repr(FieldBytes::from(*k_bytes));
    let k_in_range = parsed.is_some();
    let mut k = parsed.unwrap_or(Scalar::ZERO);
    let k_ok = k_in_range & !k.is_zero();
    // A4: (x1, y1) = [k]G (an out-of-range k became 0 and is rejected below)
    let mut k_bytes_checked: [u8; 32] = k.to_repr().into();
    let x1 = crate::arith::mul_base_affine(&k_bytes_checked).x.to_bytes();
    k_bytes_checked.zeroize();
    let out = finish_signature(secrets, e, &k, k_ok, &x1);
    k.zeroize();
    out
}

/// GB/T 32918.2 steps A5-A6 from k and the x coordinate of [k]G, without
/// branches: `ok` is false if `k_ok` is, or r = 0, r + k = n or s = 0.
pub(crate) fn finish_signature(
    secrets: &SignerSecrets,
    e: &Scalar,
    k: &Scalar,
    k_ok: Choice,
    x1: &[u8; 32],
) -> (Choice, Scalar, Scalar) {
    // A5: r = (e + x1) mod n; reject r = 0 or r + k = n
    let r = *e + <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*x1));
    let r_plus_k = r + k;
    let r_ok = !r.is_zero() & !r_plus_k.is_zero();
    // A6: s = ((1 + d)^-1 * (k - r * d)) mod n; reject s = 0. Computed as
    // (1 + d)^-1 * (k + r) - r, the same value (k - r·d = (k + r) - r·(1 + d))
    // with one multiplication.
    let s = secrets.d_plus_1_inv * r_plus_k - r;
    let ok = k_ok & r_ok & !s.is_zero();
    (ok, r, s)
}

/// Signs e with the given nonce k (GB/T 32918.2 A4-A6). Fails if k is not in
/// [1, n-1] or gives r = 0, r + k = n or s = 0. For known-answer tests only:
/// see [`crate::hazmat`].
#[inline(never)]
pub(crate) fn sign_digest_with_k(
    key: &PrivateKey,
    e: &[u8; 32],
    k: &[u8; 32],
) -> Result<Signature> {
    let signer = SigningKey::new(key, b"")?;
    let e_scalar = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
    let (ok, r, s) = sign_candidate(&signer.secrets, &e_scalar, k);
    if bool::from(ok) {
        Ok(Signature {
            r: r.to_repr().into(),
            s: s.to_repr().into(),
        })
    } else {
        Err(Error::ScalarOutOfRange { what: "nonce k" })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("verifying_key", &self.verifying)
            .finish_non_exhaustive()
    }
}

/// Hedged nonce candidates: k_i = HMAC-SM3(d, "SM2 nonce" || e || extra ||
/// i), with `extra` 32 fresh random bytes. Secret (d) and fresh randomness
/// both go in, so neither a broken RNG nor a repeated message alone repeats
/// a nonce; the PRF key schedule is computed once per signing key, so a
/// candidate costs three SM3 compressions.
struct NonceStream<'a> {
    prf: &'a HmacSm3,
    e: [u8; 32],
    extra: &'a [u8; 32],
    counter: u32,
}

impl NonceStream<'_> {
    fn next_candidate(&mut self) -> Zeroizing<[u8; 32]> {
        let mut mac = self.prf.clone();
        mac.update(b"SM2 nonce");
        mac.update(&self.e);
        mac.update(self.extra);
        mac.update(&self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        Zeroizing::new(mac.finalize().into_bytes().into())
    }
}

/// An SM2 verifying key bound to a distinguishing ID: a [`PublicKey`] plus
/// its precomputed Z.
///
/// Verification checks r, s in [1, n-1] (at parse time) and
/// t = (r + s) mod n != 0 (GB/T 32918.2 B1, B2, B5).
#[derive(Clone)]
pub struct VerifyingKey {
    key: PublicKey,
    id: Vec<u8>,
    z: [u8; 32],
    /// The key in the dedicated arithmetic's form, converted once.
    point: crate::arith::Affine,
    /// Comb tables of the key, when [`VerifyingKey::precompute`] was
    /// called (shared between clones).
    table: Option<std::sync::Arc<crate::arith::PointTable>>,
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        // z and point follow from key and id.
        self.key == other.key && self.id == other.id
    }
}

impl Eq for VerifyingKey {}

impl VerifyingKey {
    /// A verifying key for `key` and distinguishing ID `id`.
    pub fn new(key: &PublicKey, id: &[u8]) -> Result<Self> {
        Ok(VerifyingKey {
            key: *key,
            id: id.to_vec(),
            z: z_value(id, key)?,
            point: crate::arith::Affine::from_sm2(key.point()),
            table: None,
        })
    }

    /// Precomputes tables of multiples of this key (88 KiB, about the cost
    /// of five verifications) so that every later verification needs no
    /// point doublings: several times faster for a key that verifies many
    /// signatures (a CA key, a peer's long-lived key). Results are
    /// identical; clones share the tables.
    ///
    /// ```
    /// # use gm_sm2::{PrivateKey, SigningKey, VerifyingKey, DEFAULT_ID};
    /// let key = PrivateKey::generate()?;
    /// let sig = SigningKey::new(&key, DEFAULT_ID)?.sign_message(b"m")?;
    /// let mut vk = VerifyingKey::new(key.public_key(), DEFAULT_ID)?;
    /// vk.precompute();
    /// vk.verify_message(b"m", &sig)?;
    /// # Ok::<(), gm_sm2::Error>(())
    /// ```
    pub fn precompute(&mut self) {
        if self.table.is_none() {
            self.table = Some(std::sync::Arc::new(crate::arith::PointTable::new(
                &self.point,
            )));
        }
    }

    /// Whether [`precompute`](Self::precompute) has been called.
    pub fn is_precomputed(&self) -> bool {
        self.table.is_some()
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The distinguishing ID.
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// Z for this key and ID.
    pub fn z(&self) -> &[u8; 32] {
        &self.z
    }

    /// e = SM3(Z || msg).
    pub fn digest(&self, msg: &[u8]) -> [u8; 32] {
        message_digest(&self.z, &[msg])
    }

    /// Verifies `sig` over `msg` (hashing Z || msg).
    pub fn verify_message(&self, msg: &[u8], sig: &Signature) -> Result<()> {
        self.verify_digest(&self.digest(msg), sig)
    }

    /// Verifies `sig` over a precomputed e = SM3(Z || M).
    pub fn verify_digest(&self, e: &[u8; 32], sig: &Signature) -> Result<()> {
        // B1, B2: r, s in [1, n-1] hold for every `Signature`.
        let (r, s) = sig.scalars();
        // B5: t = (r + s) mod n, t != 0
        let t = r + s;
        if bool::from(t.is_zero()) {
            return Err(Error::SignatureTZero);
        }
        // B6: (x1', y1') = [s]G + [t]P (public data: variable time is fine)
        let (s, t) = (s.to_repr().into(), t.to_repr().into());
        let point = match &self.table {
            Some(table) => crate::arith::mul_double_vartime_table(&s, &t, table),
            None => crate::arith::mul_double_vartime(&s, &t, &self.point),
        };
        if point.is_infinity_vartime() {
            return Err(Error::SignatureMismatch);
        }
        // B7: R = (e + x1') mod n == r, i.e. x1' ≡ r - e (mod n), checked
        // on the Jacobian coordinates without an inversion.
        let e_scalar = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*e));
        let c: [u8; 32] = (r - e_scalar).to_repr().into();
        if point.x_mod_n_equals_vartime(&c) {
            Ok(())
        } else {
            Err(Error::SignatureMismatch)
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("public_key", &self.key)
            .field("id", &String::from_utf8_lossy(&self.id))
            .finish()
    }
}

fn digest_arg(prehash: &[u8]) -> core::result::Result<[u8; 32], signature::Error> {
    prehash.try_into().map_err(|_| {
        Error::InvalidLength {
            what: "SM2 digest e",
            expected: SCALAR_LEN,
            got: prehash.len(),
        }
        .into()
    })
}

impl Signer<Signature> for SigningKey {
    fn try_sign(&self, msg: &[u8]) -> core::result::Result<Signature, signature::Error> {
        self.sign_message(msg).map_err(Into::into)
    }
}

impl MultipartSigner<Signature> for SigningKey {
    fn try_multipart_sign(
        &self,
        msg: &[&[u8]],
    ) -> core::result::Result<Signature, signature::Error> {
        self.sign_digest(&message_digest(&self.verifying.z, msg))
            .map_err(Into::into)
    }
}

impl RandomizedSigner<Signature> for SigningKey {
    fn try_sign_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        msg: &[u8],
    ) -> core::result::Result<Signature, signature::Error> {
        self.try_multipart_sign_with_rng(rng, &[msg])
    }
}

impl RandomizedMultipartSigner<Signature> for SigningKey {
    fn try_multipart_sign_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        msg: &[&[u8]],
    ) -> core::result::Result<Signature, signature::Error> {
        self.sign_prehash_with_rng(rng, &message_digest(&self.verifying.z, msg))
    }
}

impl PrehashSigner<Signature> for SigningKey {
    /// `prehash` is e = SM3(Z || M), 32 bytes.
    fn sign_prehash(&self, prehash: &[u8]) -> core::result::Result<Signature, signature::Error> {
        self.sign_digest(&digest_arg(prehash)?).map_err(Into::into)
    }
}

impl RandomizedPrehashSigner<Signature> for SigningKey {
    fn sign_prehash_with_rng<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        prehash: &[u8],
    ) -> core::result::Result<Signature, signature::Error> {
        let e = digest_arg(prehash)?;
        let mut extra = Zeroizing::new([0u8; 32]);
        rng.try_fill_bytes(extra.as_mut())
            .map_err(|_| signature::Error::from(Error::Rng))?;
        Ok(self.sign_digest_with_extra(&e, &extra))
    }
}

impl Keypair for SigningKey {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.verifying.clone()
    }
}

impl Verifier<Signature> for VerifyingKey {
    fn verify(&self, msg: &[u8], sig: &Signature) -> core::result::Result<(), signature::Error> {
        self.verify_message(msg, sig).map_err(Into::into)
    }
}

impl MultipartVerifier<Signature> for VerifyingKey {
    fn multipart_verify(
        &self,
        msg: &[&[u8]],
        sig: &Signature,
    ) -> core::result::Result<(), signature::Error> {
        self.verify_digest(&message_digest(&self.z, msg), sig)
            .map_err(Into::into)
    }
}

impl PrehashVerifier<Signature> for VerifyingKey {
    /// `prehash` is e = SM3(Z || M), 32 bytes.
    fn verify_prehash(
        &self,
        prehash: &[u8],
        sig: &Signature,
    ) -> core::result::Result<(), signature::Error> {
        self.verify_digest(&digest_arg(prehash)?, sig)
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precomputed_verification_agrees() {
        let key = PrivateKey::generate().unwrap();
        let sk = SigningKey::new(&key, DEFAULT_ID).unwrap();
        let mut vk = sk.verifying_key().clone();
        vk.precompute();
        assert!(vk.is_precomputed() && !sk.verifying_key().is_precomputed());
        for i in 0..20u8 {
            let e = sk.digest(&[i]);
            let sig = sk.sign_digest(&e).unwrap();
            vk.verify_digest(&e, &sig).unwrap();
            let wrong = sk.digest(&[i, 1]);
            assert_eq!(
                vk.verify_digest(&wrong, &sig),
                Err(Error::SignatureMismatch)
            );
            assert_eq!(
                sk.verifying_key().verify_digest(&wrong, &sig),
                Err(Error::SignatureMismatch)
            );
        }
    }

    #[test]
    fn pooled_signing_gives_valid_distinct_signatures() {
        let key = PrivateKey::generate().unwrap();
        let mut sk = SigningKey::new(&key, DEFAULT_ID).unwrap();
        sk.enable_nonce_pool();
        let clone = sk.clone();
        let mut rs = std::collections::HashSet::new();
        // Three batches' worth, alternating between the key and its clone
        // (they share the pool, so no nonce may come out twice).
        for i in 0..100u8 {
            let signer = if i % 2 == 0 { &sk } else { &clone };
            let e = sk.digest(&[i]);
            let sig = signer.sign_digest(&e).unwrap();
            sk.verifying_key().verify_digest(&e, &sig).unwrap();
            assert!(rs.insert(*sig.r()), "repeated r: nonce reused");
        }
    }

    #[test]
    fn nonces_are_deterministic_and_hedged() {
        let key = PrivateKey::generate().unwrap();
        let sk = SigningKey::new(&key, DEFAULT_ID).unwrap();
        let e = sk.digest(b"abc");
        let a = sk.sign_digest_with_extra(&e, &[7; 32]);
        let b = sk.sign_digest_with_extra(&e, &[7; 32]);
        let c = sk.sign_digest_with_extra(&e, &[8; 32]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        sk.verifying_key().verify_digest(&e, &a).unwrap();
        sk.verifying_key().verify_digest(&e, &c).unwrap();
    }

    #[test]
    fn id_length_limit() {
        let key = PrivateKey::generate().unwrap();
        assert!(z_value(&[0u8; 8191], key.public_key()).is_ok());
        assert_eq!(
            z_value(&[0u8; 8192], key.public_key()),
            Err(Error::IdTooLong { len: 8192 })
        );
    }
}
