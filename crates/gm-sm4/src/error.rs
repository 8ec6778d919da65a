//! The crate's error type.

use core::fmt;

use crate::Backend;

/// What went wrong in an SM4 operation.
///
/// Every variant names the offending quantity, so a caller can report it
/// without guessing. Authentication failures carry no detail on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The requested backend is not supported by this CPU (or this build).
    BackendUnavailable(Backend),
    /// A backend name that this crate does not know.
    UnknownBackend,
    /// The key is not 16 bytes long.
    InvalidKeyLength {
        /// Length that was supplied.
        got: usize,
    },
    /// The nonce / IV length is not allowed by the mode.
    InvalidNonceLength {
        /// Length that was supplied, in bytes.
        got: usize,
        /// What the mode accepts, in words.
        allowed: &'static str,
    },
    /// The tag length is not allowed by the mode.
    InvalidTagLength {
        /// Length that was supplied, in bytes.
        got: usize,
        /// What the mode accepts, in words.
        allowed: &'static str,
    },
    /// The message is longer than the mode can process with these parameters.
    MessageTooLong {
        /// Length that was supplied, in bytes.
        got: u64,
        /// The largest length the mode accepts with these parameters.
        max: u64,
    },
    /// The associated data is longer than the mode allows.
    AadTooLong,
    /// The input is not a whole number of 16-byte blocks.
    NotBlockAligned {
        /// Length that was supplied, in bytes.
        got: usize,
    },
    /// The authentication tag does not match: the ciphertext, associated
    /// data, nonce or tag was altered, or the key is wrong. No plaintext is
    /// released.
    TagMismatch,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BackendUnavailable(b) => {
                write!(f, "SM4 backend `{}` is not available on this CPU", b.name())
            }
            Error::UnknownBackend => write!(
                f,
                "unknown SM4 backend name (expected one of: soft, aesni-avx2, vaes-avx2, gfni-avx512, auto)"
            ),
            Error::InvalidKeyLength { got } => {
                write!(f, "SM4 key must be 16 bytes, got {got}")
            }
            Error::InvalidNonceLength { got, allowed } => {
                write!(f, "nonce length {got} bytes is not allowed ({allowed})")
            }
            Error::InvalidTagLength { got, allowed } => {
                write!(f, "tag length {got} bytes is not allowed ({allowed})")
            }
            Error::MessageTooLong { got, max } => {
                write!(
                    f,
                    "message of {got} bytes exceeds the mode limit of {max} bytes"
                )
            }
            Error::AadTooLong => write!(f, "associated data exceeds the mode limit"),
            Error::NotBlockAligned { got } => {
                write!(
                    f,
                    "input of {got} bytes is not a multiple of the 16-byte block"
                )
            }
            Error::TagMismatch => write!(f, "authentication tag mismatch"),
        }
    }
}

impl std::error::Error for Error {}
