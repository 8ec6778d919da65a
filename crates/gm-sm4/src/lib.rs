//! Constant-time SM4 (GB/T 32907-2016) with SM4-GCM and SM4-CCM.
//!
//! * [`Sm4`] implements the RustCrypto [`cipher`] traits (`KeyInit`,
//!   `BlockCipherEncrypt`, `BlockCipherDecrypt`, 16 parallel blocks), so the
//!   RustCrypto mode crates work with it: see [`modes`] for SM4-CBC and SM4-CTR.
//! * [`Sm4Gcm`] and [`Sm4Ccm`] are the RFC 8998 TLS profiles (12-byte nonce,
//!   16-byte tag; CCM with q = 3) behind the [`aead`] traits.
//! * [`Sm4GcmGeneric`] and [`Sm4CcmGeneric`] take any nonce and tag length the
//!   modes allow (NIST SP 800-38D / 38C), for test suites and other protocols.
//!
//! No path indexes memory or branches on a key, plaintext or nonce byte: the
//! S-box is computed (bitsliced field inversion, the AES-NI affine
//! isomorphism, or GFNI affine instructions), never looked up.
//!
//! # Backends
//!
//! The fastest backend the CPU supports is picked at run time
//! ([`Backend::detect`]). Force one with [`Sm4::new_with_backend`], or for a
//! whole process with the environment variable `GMKIT_SM4_BACKEND`
//! (`soft`, `aesni-avx2`, `vaes-avx2`, `gfni-avx512` or `auto`); an unavailable or unknown
//! name there falls back to detection.
//!
//! # Example
//!
//! ```
//! use gm_sm4::{Sm4, Sm4Gcm};
//! use gm_sm4::cipher::{BlockCipherEncrypt, KeyInit};
//! use gm_sm4::aead::{Aead, Nonce};
//!
//! // GB/T 32907-2016, example 1.
//! let key = hex_literal(b"0123456789abcdeffedcba9876543210");
//! let sm4 = Sm4::new(&key.into());
//! let mut block = key.into();
//! sm4.encrypt_block(&mut block);
//! assert_eq!(block[..], hex_literal(b"681edf34d206965e86b3e94f536e4246"));
//!
//! // SM4-GCM as used by TLS_SM4_GCM_SM3.
//! let gcm = Sm4Gcm::new(&key.into());
//! let nonce = Nonce::<Sm4Gcm>::from([7u8; 12]);
//! let sealed = gcm.encrypt(&nonce, &b"hello"[..]).unwrap();
//! assert_eq!(gcm.decrypt(&nonce, &sealed[..]).unwrap(), b"hello");
//! # fn hex_literal(h: &[u8]) -> [u8; 16] {
//! #     let mut out = [0u8; 16];
//! #     for i in 0..16 {
//! #         let n = |c: u8| (c as char).to_digit(16).unwrap() as u8;
//! #         out[i] = n(h[2 * i]) << 4 | n(h[2 * i + 1]);
//! #     }
//! #     out
//! # }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use aead;
pub use cipher;

mod backend;
mod ccm;
mod consts;
mod error;
mod gcm;
mod ghash;
mod keystream;
pub mod modes;
mod sm4;
mod tls_profile;

pub use backend::Backend;

pub use ccm::{Sm4Ccm, Sm4CcmGeneric};
pub use error::Error;
pub use gcm::{Sm4Gcm, Sm4GcmGeneric};

pub use sm4::Sm4;

/// One SM4 block.
pub(crate) type RawBlock = [u8; 16];
