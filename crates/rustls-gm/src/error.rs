//! Typed errors.

use core::fmt;

/// Why a private key could not be loaded as an SM2 signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The DER structure named here could not be parsed.
    Malformed(&'static str),
    /// A SEC1 key that names no curve and embeds no public key: it cannot be
    /// told apart from a key on another 256-bit curve.
    AmbiguousCurve,
    /// The private scalar is empty, longer than 32 bytes, zero, or not below
    /// the SM2 group order.
    InvalidScalar,
    /// The public key embedded in the file does not belong to the private key.
    PublicKeyMismatch,
    /// The key is valid but not SM2 (RSA, ECDSA on another curve, Ed25519...),
    /// and the provider in use signs with SM2 only.
    NotSm2,
    /// The operating system's random source failed.
    Random,
    /// The PEM text holds no private key.
    NoPrivateKey,
    /// The key is password-protected (`ENCRYPTED PRIVATE KEY`): use
    /// [`crate::decrypt_sm2_private_key`].
    Encrypted,
    /// The password does not decrypt the key (or the file is corrupted).
    WrongPassword,
    /// The key file uses an algorithm, curve or cipher that is not supported.
    Unsupported,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Malformed(what) => write!(f, "malformed {what}"),
            KeyError::AmbiguousCurve => f.write_str(
                "the SEC1 key names no curve and embeds no public key, so it may not be SM2",
            ),
            KeyError::InvalidScalar => f.write_str("the private scalar is not a valid SM2 private key"),
            KeyError::PublicKeyMismatch => {
                f.write_str("the embedded public key does not match the private key")
            }
            KeyError::NotSm2 => f.write_str(
                "not an SM2 key; the GM-only provider signs with SM2 only (use rustls_gm::fallback_provider() for RSA/ECDSA keys)",
            ),
            KeyError::Random => f.write_str("the operating system's random source failed"),
            KeyError::NoPrivateKey => f.write_str("no PRIVATE KEY, EC PRIVATE KEY or SM2 PRIVATE KEY block found"),
            KeyError::Encrypted => f.write_str(
                "the private key is encrypted; load it with rustls_gm::decrypt_sm2_private_key",
            ),
            KeyError::WrongPassword => f.write_str("wrong password (or corrupted encrypted key)"),
            KeyError::Unsupported => f.write_str("unsupported algorithm in the key file"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<KeyError> for rustls::Error {
    fn from(e: KeyError) -> Self {
        rustls::Error::General(format!("rustls-gm: private key: {e}"))
    }
}

/// How a connection broke the strict GM client policy (RFC 8998 pairs the SM
/// suites with SM2 certificates and curveSM2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrictViolation {
    /// An SM suite was negotiated but the server's end-entity key is not SM2.
    SmSuiteWithNonSm2Key,
    /// An SM suite was negotiated over a key exchange group other than
    /// curveSM2.
    SmSuiteWithoutCurveSm2 {
        /// The group the server picked.
        group: rustls::NamedGroup,
    },
    /// The handshake is not complete, or the server sent no certificate.
    NoPeerCertificate,
}

impl fmt::Display for StrictViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrictViolation::SmSuiteWithNonSm2Key => {
                f.write_str("SM cipher suite negotiated with a non-SM2 server key")
            }
            StrictViolation::SmSuiteWithoutCurveSm2 { group } => {
                write!(
                    f,
                    "SM cipher suite negotiated over {group:?} instead of curveSM2"
                )
            }
            StrictViolation::NoPeerCertificate => {
                f.write_str("no server certificate to check (handshake not complete?)")
            }
        }
    }
}

impl std::error::Error for StrictViolation {}

/// Errors from building configurations or running the dual-stack acceptor.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A private key could not be loaded.
    Key {
        /// What was being loaded.
        context: &'static str,
        /// Why it failed.
        source: KeyError,
    },
    /// rustls refused a configuration or a connection.
    Rustls {
        /// What was being done.
        context: &'static str,
        /// The rustls error.
        source: rustls::Error,
    },
    /// A configuration that cannot work, e.g. a policy that needs an identity
    /// that was not given.
    Config(&'static str),
    /// The strict GM client policy rejected the negotiated parameters.
    Strict(StrictViolation),
    /// An I/O error while accepting or connecting.
    Io {
        /// What was being done.
        context: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Key { context, source } => write!(f, "{context}: {source}"),
            Error::Rustls { context, source } => write!(f, "{context}: {source}"),
            Error::Config(what) => write!(f, "invalid configuration: {what}"),
            Error::Strict(v) => write!(f, "strict GM policy: {v}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Key { source, .. } => Some(source),
            Error::Rustls { source, .. } => Some(source),
            Error::Io { source, .. } => Some(source),
            Error::Config(_) | Error::Strict(_) => None,
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io { source, .. } => source,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}

/// Attaches context to a rustls error.
pub(crate) fn rustls_err(context: &'static str) -> impl FnOnce(rustls::Error) -> Error {
    move |source| Error::Rustls { context, source }
}
