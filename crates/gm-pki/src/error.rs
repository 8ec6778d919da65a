//! The error type of the issuing, parsing and file APIs. Chain verification
//! has its own, more detailed [`crate::VerifyError`].

use std::fmt;
use std::path::PathBuf;

/// What went wrong while reading, building, signing or storing keys,
/// requests and certificates. No variant carries secret material.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Malformed DER or PEM, or a structure that is not what it should be:
    /// `what` names the object ("certificate", "CSR", ...).
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// An algorithm, curve or key type that is not supported here.
    UnsupportedAlgorithm(String),
    /// An SM2 key or signature error from gm-sm2 (including wrong or
    /// missing passwords for encrypted SM2 keys).
    Sm2(gm_sm2::Error),
    /// An RSA or ECDSA key was rejected by aws-lc-rs.
    KeyRejected(String),
    /// The private key is encrypted and no password was given.
    PasswordRequired,
    /// The password is wrong (or the encrypted key is corrupted).
    WrongPassword,
    /// A distinguished name string that cannot be parsed
    /// (expected `CN=..,O=..,C=CN` or `/C=CN/O=../CN=..`).
    InvalidName(String),
    /// A subject alternative name that cannot be parsed (expected
    /// `DNS:name`, `IP:address` or `EMAIL:address`).
    InvalidSan(String),
    /// A validity period that is empty, inverted or not representable.
    InvalidValidity(String),
    /// The CSR's self-signature does not verify: the requester does not hold
    /// the private key, or the CSR was altered.
    CsrSignatureInvalid(String),
    /// A certificate and a private key that do not belong together.
    KeyMismatch,
    /// The request does not fit the profile (e.g. a CA profile for a leaf
    /// request, or an issuer that is not a CA).
    Profile(String),
    /// Signing failed (the key could not produce a signature).
    Signing(String),
    /// The OS random number generator failed.
    Rng,
    /// A file that would be overwritten (pass `force` to allow it).
    AlreadyExists(PathBuf),
    /// A file system error, with the path it concerns.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    /// [`Error::AlreadyExists`] for a file that [`crate::atomic::write_files`]
    /// would not replace, else [`Error::Io`].
    pub(crate) fn from_file_error(e: crate::atomic::FileError) -> Self {
        if e.exists {
            Error::AlreadyExists(e.path)
        } else {
            Error::io(e.path, e.source)
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { what, reason } => write!(f, "malformed {what}: {reason}"),
            Error::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm: {a}"),
            Error::Sm2(e) => write!(f, "SM2: {e}"),
            Error::KeyRejected(why) => write!(f, "key rejected: {why}"),
            Error::PasswordRequired => write!(f, "the private key is encrypted: password needed"),
            Error::WrongPassword => write!(f, "wrong password (or corrupted encrypted key)"),
            Error::InvalidName(why) => write!(f, "invalid distinguished name: {why}"),
            Error::InvalidSan(why) => write!(f, "invalid subject alternative name: {why}"),
            Error::InvalidValidity(why) => write!(f, "invalid validity: {why}"),
            Error::CsrSignatureInvalid(why) => write!(f, "CSR signature does not verify: {why}"),
            Error::KeyMismatch => write!(f, "the certificate does not match the private key"),
            Error::Profile(why) => write!(f, "profile: {why}"),
            Error::Signing(why) => write!(f, "signing failed: {why}"),
            Error::Rng => write!(f, "operating system random number generator failed"),
            Error::AlreadyExists(p) => write!(
                f,
                "{} already exists (use --force to overwrite)",
                p.display()
            ),
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sm2(e) => Some(e),
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<gm_sm2::Error> for Error {
    fn from(e: gm_sm2::Error) -> Self {
        match e {
            gm_sm2::Error::PasswordRequired => Error::PasswordRequired,
            gm_sm2::Error::WrongPassword => Error::WrongPassword,
            other => Error::Sm2(other),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
