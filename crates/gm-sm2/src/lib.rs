//! SM2 (GB/T 32918-2016, GM/T 0003-2012) on the recommended curve
//! sm2p256v1, with dedicated constant-time arithmetic for the SM2 prime
//! (Montgomery multiplication using the special form of p, a fixed-base
//! comb for k·G, constant-time windows for k·P) and the RustCrypto [`sm2`]
//! types at the API edge:
//!
//! * **signatures** with SM3 and any distinguishing ID ([`SigningKey`],
//!   [`VerifyingKey`], [`Signature`] in DER or `r || s`), implementing the
//!   [`signature`] crate's traits; hedged nonces (HMAC-SM3 keyed with the
//!   private key over the digest and fresh OS randomness);
//! * **encryption** (GB/T 32918.4) with the ciphertext layout chosen
//!   explicitly ([`CiphertextFormat`]: C1C3C2, C1C2C3, with or without the
//!   0x04 prefix, GM/T 0009 DER);
//! * **ephemeral ECDH** for TLS 1.3 curveSM2 ([`ecdh::EphemeralSecret`]);
//! * **key exchange** (GB/T 32918.3), both roles, with confirmation
//!   values ([`KeyExchange`]);
//! * **key formats**: PKCS#8 (plain, and PBES2-encrypted with
//!   PBKDF2-HMAC-SM3/SM4-CBC as GmSSL writes or HMAC-SHA256/AES-256-CBC as
//!   OpenSSL writes), SEC1, SubjectPublicKeyInfo, in DER or PEM, detected
//!   automatically ([`PrivateKey::load`], [`PublicKey::load`]).
//!
//! Every failure is a typed [`Error`]; no input makes this crate panic.
//! Private scalars are zeroized on drop and never printed.
//!
//! ```
//! use gm_sm2::{CiphertextFormat, PrivateKey, SigningKey, VerifyingKey, DEFAULT_ID};
//!
//! let key = PrivateKey::generate()?;
//!
//! // Sign and verify with the default ID 1234567812345678.
//! let signer = SigningKey::new(&key, DEFAULT_ID)?;
//! let sig = signer.sign_message(b"hello")?;
//! let verifier = VerifyingKey::new(key.public_key(), DEFAULT_ID)?;
//! verifier.verify_message(b"hello", &gm_sm2::Signature::from_der(&sig.to_der())?)?;
//!
//! // The `signature` crate's traits work too.
//! use gm_sm2::signature::{Signer, Verifier};
//! let sig2: gm_sm2::Signature = signer.try_sign(b"hello")?;
//! verifier.verify(b"hello", &sig2)?;
//!
//! // Encrypt with an explicitly chosen layout.
//! let ct = key.public_key().encrypt(b"secret", CiphertextFormat::C1C3C2)?;
//! assert_eq!(&key.decrypt(&ct, CiphertextFormat::C1C3C2)?[..], b"secret");
//!
//! // Key files: PEM or DER, plain or encrypted, detected automatically.
//! let pem = key.to_pkcs8_pem();
//! assert_eq!(PrivateKey::load(pem.as_bytes(), None)?, key);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// No unsafe code, except the x86-64 backend behind run-time CPU checks:
// the MULX/ADX field multiplication in `arith::field_adx` (inline
// assembly) and the AVX2 table scans in `arith::scan_avx2` (intrinsics).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod arith;
mod der;
pub mod ecdh;
mod encrypt;
mod error;
mod formats;
pub mod hazmat;
mod kex;
mod key;
mod oid;
mod pbes2;
mod pool;
mod sign;

pub use encrypt::{Ciphertext, CiphertextFormat};

/// Which arithmetic backend this process uses: `"mulx-adx+avx2"` (x86-64
/// field assembly and AVX2 constant-time table scans), `"mulx-adx"` (the
/// assembly on a CPU without AVX2), picked at run time when the CPU has
/// BMI2 and ADX, or `"portable"` (portable field code and portable table
/// scans). Setting `GMKIT_SM2_FIELD=portable` in
/// the environment before the first SM2 operation forces the portable code
/// (for side-by-side measurements).
///
/// ```
/// let backends = ["mulx-adx+avx2", "mulx-adx", "portable"];
/// assert!(backends.contains(&gm_sm2::field_backend()));
/// ```
pub fn field_backend() -> &'static str {
    arith::field_backend()
}

/// For side-by-side measurements in one process: `true` switches to the
/// portable arithmetic, `false` back to the x86-64 backend where the CPU
/// has it (whatever `GMKIT_SM2_FIELD` said). Returns
/// [`field_backend`] after the switch. Both backends compute the same
/// results in constant time, so switching while other threads work is
/// harmless.
///
/// ```
/// assert_eq!(gm_sm2::use_portable_arithmetic(true), "portable");
/// let native = gm_sm2::use_portable_arithmetic(false);
/// assert!(["mulx-adx+avx2", "mulx-adx", "portable"].contains(&native));
/// ```
pub fn use_portable_arithmetic(portable: bool) -> &'static str {
    arith::use_portable_arithmetic(portable)
}
pub use error::{Error, Result};
pub use kex::{KeyExchange, KeyExchangeOutput, Role};
pub use key::{PrivateKey, PublicKey, POINT_LEN, SCALAR_LEN};
pub use pbes2::{Pbes2Cipher, Pbes2Params, Pbkdf2Prf, MAX_ITERATIONS};
pub use sign::{z_value, Signature, SigningKey, VerifyingKey, DEFAULT_ID, TLS13_ID};
pub use signature;
pub use zeroize::Zeroizing;
