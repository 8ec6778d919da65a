//! The one error type of this crate.

use std::fmt;

/// What went wrong in an SM2 operation. Every variant names the thing that
/// was wrong; none of them carries secret material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Malformed (or non-canonical) DER: `field` names the ASN.1 field being
    /// read, `reason` what was wrong with it.
    Der {
        /// The field being parsed, e.g. `"SM2Signature.r"`.
        field: &'static str,
        /// What was wrong, e.g. `"non-minimal INTEGER encoding"`.
        reason: &'static str,
    },
    /// Malformed PEM (RFC 7468), or a PEM block this crate does not read.
    Pem(String),
    /// The input is neither a PEM document nor a DER structure of the
    /// expected kind.
    UnrecognizedFormat(&'static str),
    /// An algorithm, curve, PRF or cipher that is not supported; names its
    /// object identifier.
    UnsupportedAlgorithm {
        /// What the identifier was for, e.g. `"PBES2 encryption scheme"`.
        what: &'static str,
        /// The dotted object identifier (with its usual name when known).
        oid: String,
    },
    /// A point encoding of the wrong length or with an unknown first byte.
    InvalidPointEncoding {
        /// What the point was, e.g. `"public key"` or `"C1"`.
        what: &'static str,
    },
    /// Coordinates that are not a point of sm2p256v1 (or not below p).
    PointNotOnCurve {
        /// What the point was, e.g. `"public key"` or `"C1"`.
        what: &'static str,
    },
    /// The point at infinity where a proper point is required.
    IdentityPoint {
        /// What the point was.
        what: &'static str,
    },
    /// A scalar outside its allowed range, e.g. a private key not in
    /// [1, n-2] or a signature component not in [1, n-1].
    ScalarOutOfRange {
        /// Which scalar: `"private key"`, `"r"`, `"s"`, ...
        what: &'static str,
    },
    /// An input of the wrong length.
    InvalidLength {
        /// What the input was.
        what: &'static str,
        /// The length that was expected (or the minimum).
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// The distinguishing identifier is longer than 8191 bytes (ENTL is a
    /// 16-bit count of bits).
    IdTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The signature does not verify (wrong key, message, ID or signature).
    SignatureMismatch,
    /// t = (r + s) mod n is zero (GB/T 32918.2 step B5): the signature is invalid.
    SignatureTZero,
    /// Decryption: the KDF output t is all zero (GB/T 32918.4 step B4).
    KdfOutputZero,
    /// Decryption: C3 does not match the hash of the recovered plaintext
    /// (wrong key or corrupted ciphertext).
    HashMismatch,
    /// Encryption or decryption of an empty message (not defined by
    /// GB/T 32918.4).
    EmptyMessage,
    /// The key is encrypted and no password was given.
    PasswordRequired,
    /// The password is wrong, or the encrypted key is corrupted.
    WrongPassword,
    /// Key exchange: the peer's confirmation value (S_B or S_A) does not match.
    ConfirmationMismatch,
    /// A requested output length that is zero or too large.
    OutputLength {
        /// The requested length in bytes.
        requested: usize,
    },
    /// A PBKDF2 iteration count of zero or above [`crate::MAX_ITERATIONS`]
    /// was asked for.
    InvalidIterationCount(u32),
    /// Inconsistent key material, e.g. a SEC1 key whose embedded public key
    /// does not belong to its private key.
    KeyMismatch,
    /// The operating system's random number generator failed.
    Rng,
}

impl Error {
    pub(crate) const fn der(field: &'static str, reason: &'static str) -> Self {
        Error::Der { field, reason }
    }

    pub(crate) fn unsupported(what: &'static str, oid_content: &[u8]) -> Self {
        Error::UnsupportedAlgorithm {
            what,
            oid: crate::oid::describe(oid_content),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Der { field, reason } => write!(f, "bad DER in {field}: {reason}"),
            Error::Pem(why) => write!(f, "bad PEM: {why}"),
            Error::UnrecognizedFormat(what) => write!(f, "unrecognized input: {what}"),
            Error::UnsupportedAlgorithm { what, oid } => write!(f, "unsupported {what}: {oid}"),
            Error::InvalidPointEncoding { what } => write!(f, "{what}: invalid point encoding"),
            Error::PointNotOnCurve { what } => write!(f, "{what}: point not on the SM2 curve"),
            Error::IdentityPoint { what } => write!(f, "{what}: point at infinity"),
            Error::ScalarOutOfRange { what } => write!(f, "{what} out of range"),
            Error::InvalidLength {
                what,
                expected,
                got,
            } => write!(f, "{what}: expected {expected} bytes, got {got}"),
            Error::IdTooLong { len } => write!(
                f,
                "distinguishing ID of {len} bytes is too long (at most 8191)"
            ),
            Error::SignatureMismatch => write!(f, "SM2 signature does not verify"),
            Error::SignatureTZero => write!(f, "SM2 signature invalid: (r + s) mod n = 0"),
            Error::KdfOutputZero => write!(f, "SM2 decryption: KDF output is all zero"),
            Error::HashMismatch => write!(f, "SM2 decryption: C3 hash mismatch"),
            Error::EmptyMessage => write!(f, "SM2 encryption of an empty message"),
            Error::PasswordRequired => write!(f, "the private key is encrypted: password needed"),
            Error::WrongPassword => write!(f, "wrong password (or corrupted encrypted key)"),
            Error::ConfirmationMismatch => {
                write!(f, "SM2 key exchange: peer confirmation value mismatch")
            }
            Error::OutputLength { requested } => {
                write!(f, "requested output length {requested} is not allowed")
            }
            Error::InvalidIterationCount(n) => write!(
                f,
                "PBKDF2 iteration count {n} is not allowed (1 to {})",
                crate::MAX_ITERATIONS
            ),
            Error::KeyMismatch => write!(f, "public key does not match the private key"),
            Error::Rng => write!(f, "operating system random number generator failed"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for signature::Error {
    fn from(e: Error) -> Self {
        signature::Error::from_source(e)
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
