//! Hot reloading of certificate and key files.
//!
//! Certificates expire; a server should pick up a renewed certificate
//! without a restart, and a botched renewal must not take it down. This
//! module provides:
//!
//! * [`ReloadingResolver`]: a rustls [`ResolvesServerCert`] over one
//!   certificate chain file and one private key file. [`check_now`] (or a
//!   [`Watcher`] thread, or a rate-limited check on handshakes, see
//!   [`ReloadOptions::check_every`]) notices when either file changes (size,
//!   modification time, inode, change time, content digest), loads and
//!   **validates** the new pair and swaps it in atomically. Validation: the chain parses, the key
//!   parses (and decrypts), the key belongs to the end-entity certificate,
//!   the key type suits the stack (SM2 for [`Stack::Gm`], anything else for
//!   [`Stack::Standard`]) and the certificate is within its validity period.
//!   A pair that fails is reported ([`ReloadEvent::Failed`], a failure
//!   counter and [`ReloadingResolver::last_error`]) and the previous
//!   certificate keeps serving.
//! * [`ReloadingDualStack`]: the [`DualStack`](crate::server::DualStack)
//!   acceptor (same policies, same strict separation of the GM and standard
//!   configurations) over two reloading identities. Each accepted connection
//!   is pinned to the identity current when its ClientHello arrived, and the
//!   returned [`Selection`] says which certificate was served and which
//!   signature scheme signed the handshake.
//!
//! Writers should replace files atomically (write a temporary file, then
//! rename it over the old one, certificate and key in either order). Writers
//! that do not are handled too: a half-written PEM file does not parse, a
//! new certificate next to the old key (or the reverse) fails the key match,
//! a file that changes while it is being read is read again at the next
//! check, and [`ReloadOptions::settle`] can wait until the files have stopped
//! changing. None of these ever serves a half-updated pair.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use rustls_gm::reload::{CertFiles, ReloadEvent, ReloadOptions, ReloadingDualStack};
//!
//! let server = ReloadingDualStack::builder()
//!     .gm_files(CertFiles::new("sm2.crt", "sm2.key"))
//!     .standard_files(CertFiles::new("rsa.crt", "rsa.key"))
//!     .options(ReloadOptions::new().on_event(|event| match event {
//!         ReloadEvent::Loaded { stack, identity } => {
//!             eprintln!("{stack:?}: now serving {}", identity.summary().subject)
//!         }
//!         ReloadEvent::Failed { stack, error } => eprintln!("{stack:?}: kept the old certificate: {error}"),
//!         _ => {}
//!     }))
//!     .build()?;
//! let _watcher = server.watch(Duration::from_secs(5))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let (tls, selection) = server.accept(tcp).await?;
//!     println!("{:?} stack, served {}", selection.stack(), selection.identity().summary().subject);
//!     # drop(tls);
//! }
//! # }
//! ```
//!
//! [`check_now`]: ReloadingResolver::check_now

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use der::Decode as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{Accepted, AcceptedAlert, ClientHello, ResolvesServerCert};
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{ServerConfig, ServerConnection, SignatureAlgorithm, SignatureScheme};
use zeroize::Zeroizing;

use crate::error::{Error, KeyError};
use crate::server::{offers_gm, Policy, Stack};

/// How long before its `notBefore` a new certificate is accepted (clock
/// skew between the issuer and this host).
const NOT_BEFORE_SKEW: Duration = Duration::from_secs(300);

/// Turns the bytes of a key file into a private key (e.g. to decrypt a key
/// format this crate does not read). See [`CertFiles::key_decoder`].
pub type KeyDecoder =
    Arc<dyn Fn(&[u8]) -> Result<PrivateKeyDer<'static>, String> + Send + Sync + 'static>;

/// A certificate chain file and its private key file.
///
/// The chain file holds PEM `CERTIFICATE` blocks, end entity first (or one
/// DER certificate). The key file holds a PEM `PRIVATE KEY`,
/// `EC PRIVATE KEY`, `SM2 PRIVATE KEY` or `RSA PRIVATE KEY` block (or DER).
/// With [`password`](Self::password), an `ENCRYPTED PRIVATE KEY` SM2 key is
/// decrypted with [`crate::decrypt_sm2_private_key`]; other encrypted keys
/// need a [`key_decoder`](Self::key_decoder).
#[derive(Clone)]
pub struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    password: Option<Arc<Zeroizing<Vec<u8>>>>,
    decoder: Option<KeyDecoder>,
}

impl fmt::Debug for CertFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertFiles")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .field("password", &self.password.is_some())
            .field("decoder", &self.decoder.is_some())
            .finish()
    }
}

impl CertFiles {
    /// The chain at `cert` and the key at `key`.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        Self {
            cert: cert.into(),
            key: key.into(),
            password: None,
            decoder: None,
        }
    }

    /// The password of an encrypted SM2 key file (kept zeroized).
    #[must_use]
    pub fn password(mut self, password: impl Into<Vec<u8>>) -> Self {
        self.password = Some(Arc::new(Zeroizing::new(password.into())));
        self
    }

    /// Decodes the key file with `decoder` instead of the built-in reader
    /// (which handles plain PEM/DER keys and password-protected SM2 keys).
    #[must_use]
    pub fn key_decoder(
        mut self,
        decoder: impl Fn(&[u8]) -> Result<PrivateKeyDer<'static>, String> + Send + Sync + 'static,
    ) -> Self {
        self.decoder = Some(Arc::new(decoder));
        self
    }

    /// The certificate chain file.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// The private key file.
    pub fn key_path(&self) -> &Path {
        &self.key
    }

    fn decode_key(&self, data: &[u8]) -> Result<PrivateKeyDer<'static>, ReloadError> {
        let fail = |reason: String| ReloadError::Key {
            path: self.key.clone(),
            reason,
        };
        if let Some(decoder) = &self.decoder {
            return decoder(data).map_err(fail);
        }
        match crate::private_key_from_pem(data) {
            Ok(key) => Ok(key),
            Err(KeyError::Encrypted) => match &self.password {
                Some(pw) => crate::decrypt_sm2_private_key(data, pw).map_err(|e| {
                    fail(format!(
                        "cannot decrypt the key ({e}); only SM2 keys are decrypted without a custom key decoder"
                    ))
                }),
                None => Err(fail(
                    "the private key is encrypted and no password was given".into(),
                )),
            },
            Err(KeyError::NoPrivateKey) => {
                use rustls::pki_types::pem::PemObject as _;
                if let Ok(key) = PrivateKeyDer::from_pem_slice(data) {
                    return Ok(key);
                }
                if let Some(pw) = &self.password {
                    if let Ok(key) = crate::decrypt_sm2_private_key(data, pw) {
                        return Ok(key);
                    }
                }
                if !looks_like_pem(data) {
                    if let Ok(key) = PrivateKeyDer::try_from(data) {
                        return Ok(key.clone_key());
                    }
                }
                Err(fail("no private key found (expected PEM or DER)".into()))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    }
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Reads a certificate chain: PEM `CERTIFICATE` blocks, or one DER
/// certificate.
fn parse_chain(path: &Path, data: &[u8]) -> Result<Vec<CertificateDer<'static>>, ReloadError> {
    use rustls::pki_types::pem::PemObject as _;
    let fail = |reason: String| ReloadError::Certificate {
        path: path.to_path_buf(),
        reason,
    };
    if !looks_like_pem(data) {
        if data.first() == Some(&0x30) {
            return Ok(vec![CertificateDer::from(data.to_vec())]);
        }
        return Err(fail("neither PEM nor a DER certificate".into()));
    }
    let chain = CertificateDer::pem_slice_iter(data)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("bad PEM: {e}")))?;
    // A BEGIN line without its END line is a truncated file, whatever the
    // PEM parser made of it.
    let begins = count(data, b"-----BEGIN CERTIFICATE-----");
    let ends = count(data, b"-----END CERTIFICATE-----");
    if begins != ends || begins != chain.len() {
        return Err(fail(
            "truncated PEM (a CERTIFICATE block is incomplete)".into(),
        ));
    }
    if chain.is_empty() {
        return Err(fail("no CERTIFICATE block".into()));
    }
    Ok(chain)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// What a certificate says about itself, for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertSummary {
    /// The subject, RFC 4514 style (`CN=example,O=Org,C=CN`).
    pub subject: String,
    /// The issuer, same format.
    pub issuer: String,
    /// The serial number in hex.
    pub serial: String,
    /// The subject key: `SM2`, `RSA-2048`, `ECDSA P-256`, `Ed25519`...
    pub key_type: String,
    /// Start of the validity period.
    pub not_before: SystemTime,
    /// End of the validity period.
    pub not_after: SystemTime,
}

impl CertSummary {
    /// Parses a DER X.509 certificate.
    ///
    /// ```
    /// let bad = rustls::pki_types::CertificateDer::from(vec![0x30, 0x00]);
    /// assert!(rustls_gm::reload::CertSummary::parse(&bad).is_err());
    /// ```
    pub fn parse(cert: &CertificateDer<'_>) -> Result<Self, String> {
        let parsed = x509_cert::Certificate::from_der(cert.as_ref())
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let tbs = parsed.tbs_certificate();
        Ok(Self {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial: tbs.serial_number().to_string(),
            key_type: key_type(tbs.subject_public_key_info()),
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
        })
    }
}

/// Names the key in a SubjectPublicKeyInfo.
fn key_type(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> String {
    use der::asn1::ObjectIdentifier as Oid;
    const EC: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    const SM2: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
    const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    const P521: Oid = Oid::new_unwrap("1.3.132.0.35");
    const RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    const ED25519: Oid = Oid::new_unwrap("1.3.101.112");
    const ED448: Oid = Oid::new_unwrap("1.3.101.113");
    let alg = spki.algorithm.oid;
    let bits = spki.subject_public_key.raw_bytes();
    match alg {
        SM2 => "SM2".into(),
        EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<Oid>().ok());
            match curve {
                Some(SM2) => "SM2".into(),
                Some(P256) => "ECDSA P-256".into(),
                Some(P384) => "ECDSA P-384".into(),
                Some(P521) => "ECDSA P-521".into(),
                Some(other) => format!("EC ({other})"),
                None => "EC (unnamed curve)".into(),
            }
        }
        RSA | RSA_PSS => {
            let name = if alg == RSA { "RSA" } else { "RSA-PSS" };
            match rsa_modulus_bits(bits) {
                Some(n) => format!("{name}-{n}"),
                None => name.into(),
            }
        }
        ED25519 => "Ed25519".into(),
        ED448 => "Ed448".into(),
        other => format!("unknown ({other})"),
    }
}

/// The bit length of an RSAPublicKey's modulus.
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    use der::Reader as _;
    let mut reader = der::SliceReader::new(der).ok()?;
    let modulus = reader
        .sequence(|r| {
            let n = der::asn1::UintRef::decode(r)?;
            let _e = der::asn1::UintRef::decode(r)?;
            Ok::<_, der::Error>(n.as_bytes().to_vec())
        })
        .ok()?;
    let first = *modulus.first()?;
    Some(modulus.len() * 8 - first.leading_zeros() as usize)
}

/// Formats a time as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn utc(t: SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(dt) => dt.to_string(),
        Err(_) => format!("{t:?}"),
    }
}

/// Why a certificate/key pair was not loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReloadError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// The certificate file does not hold a usable chain.
    Certificate {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file does not hold a usable private key.
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key is of the wrong kind for the stack (an RSA key for the GM
    /// stack, an SM2 key for the standard one).
    WrongKeyType {
        /// The key file.
        path: PathBuf,
        /// The stack it was meant for.
        stack: Stack,
    },
    /// The private key does not belong to the end-entity certificate.
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// The end-entity certificate has expired.
    Expired {
        /// The certificate file.
        path: PathBuf,
        /// Its `notAfter`.
        not_after: SystemTime,
    },
    /// The end-entity certificate is not valid yet.
    NotYetValid {
        /// The certificate file.
        path: PathBuf,
        /// Its `notBefore`.
        not_before: SystemTime,
    },
    /// The files changed while they were being read; they are read again at
    /// the next check. Not counted as a failure.
    Changing,
    /// A configuration could not be built.
    Config(String),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReloadError::Io { path, message } => write!(f, "{}: {message}", path.display()),
            ReloadError::Certificate { path, reason } => {
                write!(f, "{}: certificate: {reason}", path.display())
            }
            ReloadError::Key { path, reason } => {
                write!(f, "{}: private key: {reason}", path.display())
            }
            ReloadError::WrongKeyType { path, stack } => match stack {
                Stack::Gm => write!(
                    f,
                    "{}: not an SM2 key; the GM identity needs an SM2 key and certificate",
                    path.display()
                ),
                Stack::Standard => write!(
                    f,
                    "{}: an SM2 key; the standard identity needs an RSA, ECDSA or Ed25519 key",
                    path.display()
                ),
            },
            ReloadError::KeyMismatch { cert, key } => write!(
                f,
                "the private key {} does not belong to the certificate {}",
                key.display(),
                cert.display()
            ),
            ReloadError::Expired { path, not_after } => write!(
                f,
                "{}: certificate expired at {}",
                path.display(),
                utc(*not_after)
            ),
            ReloadError::NotYetValid { path, not_before } => write!(
                f,
                "{}: certificate not valid before {}",
                path.display(),
                utc(*not_before)
            ),
            ReloadError::Changing => f.write_str("the files changed while being read"),
            ReloadError::Config(what) => write!(f, "invalid configuration: {what}"),
        }
    }
}

impl std::error::Error for ReloadError {}

impl From<Error> for ReloadError {
    fn from(e: Error) -> Self {
        ReloadError::Config(e.to_string())
    }
}

/// A validated certificate chain and key, as served.
pub struct LoadedIdentity {
    certified_key: Arc<CertifiedKey>,
    summary: CertSummary,
    generation: u64,
    loaded_at: SystemTime,
}

impl fmt::Debug for LoadedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedIdentity")
            .field("summary", &self.summary)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl LoadedIdentity {
    /// The chain and signing key.
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.certified_key
    }

    /// The end-entity certificate.
    pub fn end_entity(&self) -> &CertificateDer<'static> {
        // Never empty: `load_pair` refuses empty chains.
        &self.certified_key.cert[0]
    }

    /// Subject, issuer, key type and validity of the end-entity certificate.
    pub fn summary(&self) -> &CertSummary {
        &self.summary
    }

    /// 1 for the pair loaded at start-up, +1 for each reload.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When this pair was loaded.
    pub fn loaded_at(&self) -> SystemTime {
        self.loaded_at
    }
}

/// A chain, its key and what the end-entity certificate says.
type ValidPair = (
    Vec<CertificateDer<'static>>,
    Arc<dyn SigningKey>,
    CertSummary,
);

/// Reads and validates a pair for `stack`.
fn load_pair(
    files: &CertFiles,
    stack: Stack,
    now: SystemTime,
    snapshot: &Snapshot,
) -> Result<ValidPair, ReloadError> {
    let cert_data = snapshot.cert.as_ref().map_err(Clone::clone)?;
    let key_data = snapshot.key.as_ref().map_err(Clone::clone)?;
    let chain = parse_chain(&files.cert, cert_data)?;
    let summary = CertSummary::parse(&chain[0]).map_err(|reason| ReloadError::Certificate {
        path: files.cert.clone(),
        reason,
    })?;
    let key_der = files.decode_key(key_data)?;
    let key_fail = |reason: String| ReloadError::Key {
        path: files.key.clone(),
        reason,
    };
    let wrong_type = || ReloadError::WrongKeyType {
        path: files.key.clone(),
        stack,
    };
    let key: Arc<dyn SigningKey> = match (stack, crate::load_sm2_key(&key_der)) {
        (Stack::Gm, Ok(key)) => key,
        (Stack::Gm, Err(KeyError::NotSm2)) | (Stack::Standard, Ok(_)) => return Err(wrong_type()),
        (Stack::Gm, Err(e)) => return Err(key_fail(e.to_string())),
        (Stack::Standard, Err(_)) => crate::standard_provider()
            .key_provider
            .load_private_key(key_der)
            .map_err(|e| key_fail(e.to_string()))?,
    };
    if !key_matches(stack, &chain[0], key.as_ref()) {
        return Err(ReloadError::KeyMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
        });
    }
    if now > summary.not_after {
        return Err(ReloadError::Expired {
            path: files.cert.clone(),
            not_after: summary.not_after,
        });
    }
    if now + NOT_BEFORE_SKEW < summary.not_before {
        return Err(ReloadError::NotYetValid {
            path: files.cert.clone(),
            not_before: summary.not_before,
        });
    }
    Ok((chain, key, summary))
}

/// Whether `key` is the private half of `cert`'s subject key. SM2 keys are
/// compared by point only, since SM2 certificates name the algorithm in two
/// ways (`id-ecPublicKey` + `sm2p256v1`, or `sm2p256v1` alone).
fn key_matches(stack: Stack, cert: &CertificateDer<'_>, key: &dyn SigningKey) -> bool {
    let Some(key_spki) = key.public_key() else {
        return false;
    };
    let Ok(key_spki) = x509_cert::spki::SubjectPublicKeyInfoRef::try_from(key_spki.as_ref()) else {
        return false;
    };
    let Ok(parsed) = x509_cert::Certificate::from_der(cert.as_ref()) else {
        return false;
    };
    let cert_spki = parsed.tbs_certificate().subject_public_key_info();
    if cert_spki.subject_public_key.raw_bytes() != key_spki.subject_public_key.raw_bytes() {
        return false;
    }
    match stack {
        Stack::Gm => crate::sm2::is_sm2_certificate(cert),
        Stack::Standard => cert_spki.algorithm.oid == key_spki.algorithm.oid,
    }
}

/// Size, times and identity of a file, to notice replacements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl FileStamp {
    fn of(path: &Path) -> Option<Self> {
        // Follows symlinks, so a Kubernetes-style `..data` symlink swap is
        // seen as a new inode.
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Some(Self {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            inode: (m.dev(), m.ino()),
            #[cfg(unix)]
            changed: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// What a file looked like: its stamp and the SM3 digest of its content
/// (so a same-size rewrite within the file system's timestamp granularity
/// is still noticed); `None` if it could not be read.
type FileState = Option<(FileStamp, [u8; 32])>;

/// The states of the certificate and key files.
type Fingerprint = [FileState; 2];

fn read_file(path: &Path) -> Result<Vec<u8>, ReloadError> {
    std::fs::read(path).map_err(|e| ReloadError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Both files, read once, with their fingerprint.
struct Snapshot {
    cert: Result<Vec<u8>, ReloadError>,
    key: Result<Zeroizing<Vec<u8>>, ReloadError>,
    fingerprint: Fingerprint,
}

impl Snapshot {
    /// Reads both files. `None` if either changed while being read (a
    /// writer is at work; whatever was read may be a mix).
    fn take(files: &CertFiles) -> Option<Self> {
        let before = [FileStamp::of(&files.cert), FileStamp::of(&files.key)];
        let cert = read_file(&files.cert);
        let key = read_file(&files.key).map(Zeroizing::new);
        let after = [FileStamp::of(&files.cert), FileStamp::of(&files.key)];
        if before != after {
            return None;
        }
        let state =
            |stamp: Option<FileStamp>, data: Option<&[u8]>| Some((stamp?, gm_sm3::sm3(data?)));
        let fingerprint = [
            state(before[0], cert.as_ref().ok().map(Vec::as_slice)),
            state(before[1], key.as_ref().ok().map(|k| k.as_slice())),
        ];
        Some(Self {
            cert,
            key,
            fingerprint,
        })
    }

    /// [`take`](Self::take), retried a few times while the files change.
    fn take_settled(files: &CertFiles) -> Self {
        for _ in 0..20 {
            if let Some(s) = Self::take(files) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        // Still changing: read once more and let validation decide.
        Self {
            cert: read_file(&files.cert),
            key: read_file(&files.key).map(Zeroizing::new),
            fingerprint: [None, None],
        }
    }
}

/// Called on every successful reload and every reported failure.
pub type EventListener = Arc<dyn Fn(&ReloadEvent<'_>) + Send + Sync + 'static>;

/// What a check found, for [`ReloadOptions::on_event`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ReloadEvent<'a> {
    /// A new pair was validated and is now served.
    Loaded {
        /// The identity's stack.
        stack: Stack,
        /// The new pair.
        identity: &'a LoadedIdentity,
    },
    /// The files changed but the new pair was refused; the previous pair is
    /// still served. Reported once per change of the files.
    Failed {
        /// The identity's stack.
        stack: Stack,
        /// Why.
        error: &'a ReloadError,
    },
}

/// How and when to reload.
#[derive(Clone, Default)]
#[must_use]
pub struct ReloadOptions {
    check_every: Option<Duration>,
    settle: Duration,
    listener: Option<EventListener>,
}

impl fmt::Debug for ReloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadOptions")
            .field("check_every", &self.check_every)
            .field("settle", &self.settle)
            .field("listener", &self.listener.is_some())
            .finish()
    }
}

impl ReloadOptions {
    /// No lazy checks, no settling time, no listener.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also checks the files while resolving a certificate for a handshake,
    /// at most once per `interval` (the handshake that triggers the check
    /// waits for it). Without this, only [`ReloadingResolver::check_now`]
    /// and [`Watcher`]s check.
    pub fn check_every(mut self, interval: Duration) -> Self {
        self.check_every = Some(interval);
        self
    }

    /// Loads changed files only after they have stayed unchanged for
    /// `settle` (for writers that do not replace files atomically). Default
    /// zero: load at the first check that sees the change.
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Calls `listener` on every reload and every refused pair. It runs on
    /// the checking thread while the check holds its lock, so it should be
    /// quick, must not panic and must not call
    /// [`ReloadingResolver::check_now`].
    pub fn on_event(mut self, listener: impl Fn(&ReloadEvent<'_>) + Send + Sync + 'static) -> Self {
        self.listener = Some(Arc::new(listener));
        self
    }
}

/// The result of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The files have not changed (or hold the pair already served).
    Unchanged,
    /// A new pair is served; its generation.
    Reloaded(u64),
    /// The files changed but were refused; the previous pair is served.
    Failed(ReloadError),
    /// The files are still changing (see [`ReloadOptions::settle`]); check
    /// again in about this long.
    Settling(Duration),
}

/// Counters for monitoring.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadStats {
    /// Generation of the pair being served (1 = loaded at start-up).
    pub generation: u64,
    /// Successful reloads since start-up.
    pub reloads: u64,
    /// Refused pairs since start-up.
    pub failures: u64,
    /// Why the files on disk are not served, if the last change was
    /// refused; cleared by a successful reload.
    pub last_error: Option<ReloadError>,
}

struct PollState {
    /// The files' state last loaded or last refused.
    seen: Fingerprint,
    /// A change waiting to settle, and when it was first seen.
    pending: Option<(Fingerprint, Instant)>,
    last_check: Instant,
}

/// A [`ResolvesServerCert`] that serves one certificate/key pair and
/// reloads it when its files change. See the [module docs](self).
pub struct ReloadingResolver {
    stack: Stack,
    files: CertFiles,
    options: ReloadOptions,
    current: RwLock<Arc<LoadedIdentity>>,
    poll: Mutex<PollState>,
    reloads: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<ReloadError>>,
}

impl fmt::Debug for ReloadingResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingResolver")
            .field("stack", &self.stack)
            .field("files", &self.files)
            .field("generation", &self.current().generation)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReloadingResolver {
    /// Loads and validates `files` for `stack` (an SM2 pair for
    /// [`Stack::Gm`], an RSA/ECDSA/Ed25519 pair for [`Stack::Standard`]).
    /// Fails if the initial pair is not valid.
    pub fn new(
        stack: Stack,
        files: CertFiles,
        options: ReloadOptions,
    ) -> Result<Arc<Self>, ReloadError> {
        let snapshot = Snapshot::take_settled(&files);
        let seen = snapshot.fingerprint;
        let (chain, key, summary) = load_pair(&files, stack, SystemTime::now(), &snapshot)?;
        let identity = LoadedIdentity {
            certified_key: Arc::new(CertifiedKey::new(chain, key)),
            summary,
            generation: 1,
            loaded_at: SystemTime::now(),
        };
        Ok(Arc::new(Self {
            stack,
            files,
            options,
            current: RwLock::new(Arc::new(identity)),
            poll: Mutex::new(PollState {
                seen,
                pending: None,
                last_check: Instant::now(),
            }),
            reloads: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            last_error: Mutex::new(None),
        }))
    }

    /// The stack this identity serves.
    pub fn stack(&self) -> Stack {
        self.stack
    }

    /// The files.
    pub fn files(&self) -> &CertFiles {
        &self.files
    }

    /// The pair being served.
    pub fn current(&self) -> Arc<LoadedIdentity> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Why the files on disk are not being served, if their last change was
    /// refused.
    pub fn last_error(&self) -> Option<ReloadError> {
        lock(&self.last_error).clone()
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> ReloadStats {
        ReloadStats {
            generation: self.current().generation,
            reloads: self.reloads.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            last_error: self.last_error(),
        }
    }

    /// Checks the files now and reloads them if they changed.
    pub fn check_now(&self) -> CheckOutcome {
        let mut poll = lock(&self.poll);
        self.check_locked(&mut poll)
    }

    /// The rate-limited check of [`ReloadOptions::check_every`]; skipped
    /// when another thread is checking.
    fn maybe_check(&self) {
        let Some(every) = self.options.check_every else {
            return;
        };
        let Ok(mut poll) = self.poll.try_lock() else {
            return;
        };
        if poll.last_check.elapsed() >= every {
            self.check_locked(&mut poll);
        }
    }

    fn check_locked(&self, poll: &mut PollState) -> CheckOutcome {
        let now = Instant::now();
        poll.last_check = now;
        let Some(snapshot) = Snapshot::take(&self.files) else {
            // A writer is still at work; look again soon.
            poll.pending = None;
            return CheckOutcome::Settling(Duration::ZERO);
        };
        let fingerprint = snapshot.fingerprint;
        if fingerprint == poll.seen {
            poll.pending = None;
            return CheckOutcome::Unchanged;
        }
        let settle = self.options.settle;
        if !settle.is_zero() {
            match poll.pending {
                Some((fp, since)) if fp == fingerprint => {
                    let waited = now.saturating_duration_since(since);
                    if waited < settle {
                        return CheckOutcome::Settling(settle - waited);
                    }
                }
                _ => {
                    poll.pending = Some((fingerprint, now));
                    return CheckOutcome::Settling(settle);
                }
            }
        }
        let result = load_pair(&self.files, self.stack, SystemTime::now(), &snapshot);
        poll.seen = fingerprint;
        poll.pending = None;
        match result {
            Ok((chain, key, summary)) => {
                let current = self.current();
                let same = current.certified_key.cert == chain
                    && current.certified_key.key.public_key() == key.public_key();
                *lock(&self.last_error) = None;
                if same {
                    return CheckOutcome::Unchanged;
                }
                let identity = Arc::new(LoadedIdentity {
                    certified_key: Arc::new(CertifiedKey::new(chain, key)),
                    summary,
                    generation: current.generation + 1,
                    loaded_at: SystemTime::now(),
                });
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::clone(&identity);
                self.reloads.fetch_add(1, Ordering::Relaxed);
                if let Some(listener) = &self.options.listener {
                    listener(&ReloadEvent::Loaded {
                        stack: self.stack,
                        identity: &identity,
                    });
                }
                CheckOutcome::Reloaded(identity.generation)
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                *lock(&self.last_error) = Some(error.clone());
                if let Some(listener) = &self.options.listener {
                    listener(&ReloadEvent::Failed {
                        stack: self.stack,
                        error: &error,
                    });
                }
                CheckOutcome::Failed(error)
            }
        }
    }

    /// Checks this resolver's files every `interval` on a background thread.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> std::io::Result<Watcher> {
        Watcher::spawn(vec![Arc::clone(self)], interval)
    }
}

impl ResolvesServerCert for ReloadingResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.maybe_check();
        Some(Arc::clone(&self.current().certified_key))
    }
}

/// A background thread checking resolvers' files. Stops when dropped.
#[derive(Debug)]
pub struct Watcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Checks every resolver's files every `interval` (sooner while a change
    /// settles).
    pub fn spawn(
        resolvers: Vec<Arc<ReloadingResolver>>,
        interval: Duration,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = interval.max(Duration::from_millis(10));
        let thread = std::thread::Builder::new()
            .name("rustls-gm-reload".into())
            .spawn(move || {
                let mut wait = interval;
                loop {
                    match stopped.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    wait = interval;
                    for resolver in &resolvers {
                        if let CheckOutcome::Settling(again) = resolver.check_now() {
                            wait = wait.min(again.max(Duration::from_millis(10)));
                        }
                    }
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Which identity and signature scheme a connection was given.
#[derive(Clone, Debug)]
pub struct Selection {
    stack: Stack,
    identity: Arc<LoadedIdentity>,
    scheme: Arc<Mutex<Option<SignatureScheme>>>,
}

impl Selection {
    /// The stack that finished (or is finishing) the handshake.
    pub fn stack(&self) -> Stack {
        self.stack
    }

    /// The certificate chain and key offered to this connection. A resumed
    /// session sends no certificate (the client keeps the one from the
    /// original handshake, and [`signature_scheme`](Self::signature_scheme)
    /// stays `None`).
    pub fn identity(&self) -> &Arc<LoadedIdentity> {
        &self.identity
    }

    /// The scheme the server signed the handshake with; `None` before the
    /// signature, or when there is none (a resumed session).
    pub fn signature_scheme(&self) -> Option<SignatureScheme> {
        *lock(&self.scheme)
    }
}

/// Serves one fixed pair and records the signature scheme used.
#[derive(Debug)]
struct PinnedResolver(Arc<CertifiedKey>);

impl ResolvesServerCert for PinnedResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// A signing key that remembers which scheme it was asked to sign with.
struct RecordingKey {
    inner: Arc<dyn SigningKey>,
    scheme: Arc<Mutex<Option<SignatureScheme>>>,
}

impl fmt::Debug for RecordingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingKey")
            .field("algorithm", &self.inner.algorithm())
            .finish_non_exhaustive()
    }
}

impl SigningKey for RecordingKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let signer = self.inner.choose_scheme(offered)?;
        *lock(&self.scheme) = Some(signer.scheme());
        Some(signer)
    }

    fn public_key(&self) -> Option<rustls::pki_types::SubjectPublicKeyInfoDer<'_>> {
        self.inner.public_key()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.inner.algorithm()
    }
}

type ConfigHook = Box<dyn Fn(Stack, &mut ServerConfig) + Send + Sync>;

/// Builds a [`ReloadingDualStack`].
#[must_use]
pub struct ReloadingDualStackBuilder {
    gm: Option<CertFiles>,
    standard: Option<CertFiles>,
    policy: Policy,
    gm_client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    standard_client_verifier: Option<Arc<dyn ClientCertVerifier>>,
    alpn: Vec<Vec<u8>>,
    hook: Option<ConfigHook>,
    options: ReloadOptions,
}

impl fmt::Debug for ReloadingDualStackBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingDualStackBuilder")
            .field("gm", &self.gm)
            .field("standard", &self.standard)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ReloadingDualStackBuilder {
    /// The SM2 certificate chain and key files.
    pub fn gm_files(mut self, files: CertFiles) -> Self {
        self.gm = Some(files);
        self
    }

    /// The RSA/ECDSA/Ed25519 certificate chain and key files.
    pub fn standard_files(mut self, files: CertFiles) -> Self {
        self.standard = Some(files);
        self
    }

    /// The policy (default [`Policy::PreferGm`]), as for
    /// [`DualStack`](crate::server::DualStack).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Requires client certificates on the GM stack (see
    /// [`crate::server::gm_client_verifier`]).
    pub fn gm_client_auth(mut self, verifier: Arc<dyn ClientCertVerifier>) -> Self {
        self.gm_client_verifier = Some(verifier);
        self
    }

    /// Requires client certificates on the standard stack.
    pub fn standard_client_auth(mut self, verifier: Arc<dyn ClientCertVerifier>) -> Self {
        self.standard_client_verifier = Some(verifier);
        self
    }

    /// ALPN protocols for both stacks, most preferred first.
    pub fn alpn_protocols(mut self, protocols: Vec<Vec<u8>>) -> Self {
        self.alpn = protocols;
        self
    }

    /// Reload options for both identities.
    pub fn options(mut self, options: ReloadOptions) -> Self {
        self.options = options;
        self
    }

    /// Adjusts each stack's `ServerConfig` after it is built; must not
    /// replace `cert_resolver`.
    pub fn configure(
        mut self,
        hook: impl Fn(Stack, &mut ServerConfig) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Loads and validates the identities the policy needs and builds both
    /// configurations.
    pub fn build(self) -> Result<ReloadingDualStack, ReloadError> {
        let (need_gm, need_std) = match self.policy {
            Policy::PreferGm => (true, true),
            Policy::GmOnly => (true, false),
            Policy::StandardOnly => (false, true),
        };
        let missing = |what: &str| ReloadError::Config(format!("this policy needs {what}"));
        let gm = match (need_gm, &self.gm) {
            (false, _) => None,
            (true, None) => return Err(missing("the GM (SM2) certificate and key")),
            (true, Some(files)) => {
                let resolver =
                    ReloadingResolver::new(Stack::Gm, files.clone(), self.options.clone())?;
                let config = self.finish(Stack::Gm, gm_config(&resolver, &self)?)?;
                Some((resolver, config))
            }
        };
        let standard = match (need_std, &self.standard) {
            (false, _) => None,
            (true, None) => return Err(missing("the standard (RSA/ECDSA) certificate and key")),
            (true, Some(files)) => {
                let resolver =
                    ReloadingResolver::new(Stack::Standard, files.clone(), self.options.clone())?;
                let config = self.finish(Stack::Standard, standard_config(&resolver, &self)?)?;
                Some((resolver, config))
            }
        };
        let (default, gm_alternative) = match (gm, standard) {
            (Some(gm), Some(standard)) => (standard, Some(gm)),
            (Some(only), None) | (None, Some(only)) => (only, None),
            (None, None) => return Err(ReloadError::Config("no identity given".into())),
        };
        Ok(ReloadingDualStack {
            default,
            gm_alternative,
            policy: self.policy,
        })
    }

    fn finish(
        &self,
        stack: Stack,
        mut config: ServerConfig,
    ) -> Result<Arc<ServerConfig>, ReloadError> {
        config.alpn_protocols.clone_from(&self.alpn);
        if let Some(hook) = &self.hook {
            let resolver = Arc::clone(&config.cert_resolver);
            hook(stack, &mut config);
            if !Arc::ptr_eq(&resolver, &config.cert_resolver) {
                return Err(ReloadError::Config(
                    "the configure() hook replaced the certificate resolver".into(),
                ));
            }
        }
        Ok(Arc::new(config))
    }
}

fn gm_config(
    resolver: &Arc<ReloadingResolver>,
    b: &ReloadingDualStackBuilder,
) -> Result<ServerConfig, Error> {
    Ok(
        crate::server::gm_config_builder(b.gm_client_verifier.clone())?
            .with_cert_resolver(Arc::clone(resolver) as Arc<dyn ResolvesServerCert>),
    )
}

fn standard_config(
    resolver: &Arc<ReloadingResolver>,
    b: &ReloadingDualStackBuilder,
) -> Result<ServerConfig, Error> {
    Ok(
        crate::server::standard_config_builder(b.standard_client_verifier.clone())?
            .with_cert_resolver(Arc::clone(resolver) as Arc<dyn ResolvesServerCert>),
    )
}

/// The dual-stack acceptor over hot-reloaded certificate files. See the
/// [module docs](self) and [`DualStack`](crate::server::DualStack).
pub struct ReloadingDualStack {
    /// The stack used unless `gm_alternative` applies: the standard stack
    /// (PreferGm, StandardOnly) or the GM one (GmOnly).
    default: Pair,
    /// The GM stack under PreferGm.
    gm_alternative: Option<Pair>,
    policy: Policy,
}

type Pair = (Arc<ReloadingResolver>, Arc<ServerConfig>);

impl fmt::Debug for ReloadingDualStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingDualStack")
            .field("policy", &self.policy)
            .field("default", &self.default.0)
            .field(
                "gm_alternative",
                &self.gm_alternative.as_ref().map(|(r, _)| r),
            )
            .finish()
    }
}

impl ReloadingDualStack {
    /// Starts building.
    pub fn builder() -> ReloadingDualStackBuilder {
        ReloadingDualStackBuilder {
            gm: None,
            standard: None,
            policy: Policy::default(),
            gm_client_verifier: None,
            standard_client_verifier: None,
            alpn: Vec::new(),
            hook: None,
            options: ReloadOptions::default(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    fn pairs(&self) -> impl Iterator<Item = &Pair> {
        std::iter::once(&self.default).chain(self.gm_alternative.as_ref())
    }

    fn pair(&self, stack: Stack) -> Option<&Pair> {
        self.pairs().find(|(r, _)| r.stack() == stack)
    }

    /// The reloading identity of `stack`, if the policy uses that stack.
    pub fn resolver(&self, stack: Stack) -> Option<&Arc<ReloadingResolver>> {
        self.pair(stack).map(|(r, _)| r)
    }

    /// The shared configuration of `stack` (its resolver is the reloading
    /// one), for use without [`select`](Self::select).
    pub fn config(&self, stack: Stack) -> Option<Arc<ServerConfig>> {
        self.pair(stack).map(|(_, c)| Arc::clone(c))
    }

    /// Checks every identity's files now.
    pub fn check_now(&self) -> Vec<(Stack, CheckOutcome)> {
        self.pairs()
            .map(|(r, _)| (r.stack(), r.check_now()))
            .collect()
    }

    /// Checks every identity's files every `interval` on a background
    /// thread, until the returned [`Watcher`] is dropped.
    pub fn watch(&self, interval: Duration) -> std::io::Result<Watcher> {
        Watcher::spawn(self.pairs().map(|(r, _)| Arc::clone(r)).collect(), interval)
    }

    /// The stack for a ClientHello (same rule as `DualStack::select`) and a
    /// configuration pinned to that stack's current pair: a cheap clone of
    /// the stack's shared `ServerConfig` (session cache, ticketer and
    /// verifiers stay shared) whose resolver always returns that pair, so a
    /// reload during the handshake cannot change what this connection
    /// serves, and the [`Selection`] names exactly what was served.
    pub fn select(&self, hello: &ClientHello<'_>) -> (Arc<ServerConfig>, Selection) {
        let (resolver, base) = match &self.gm_alternative {
            Some(gm) if offers_gm(hello) => gm,
            _ => &self.default,
        };
        resolver.maybe_check();
        let identity = resolver.current();
        let scheme = Arc::new(Mutex::new(None));
        let key = RecordingKey {
            inner: Arc::clone(&identity.certified_key.key),
            scheme: Arc::clone(&scheme),
        };
        let mut pinned = CertifiedKey::new(identity.certified_key.cert.clone(), Arc::new(key));
        pinned.ocsp.clone_from(&identity.certified_key.ocsp);
        let mut config = ServerConfig::clone(base);
        config.cert_resolver = Arc::new(PinnedResolver(Arc::new(pinned)));
        let selection = Selection {
            stack: resolver.stack(),
            identity,
            scheme,
        };
        (Arc::new(config), selection)
    }

    /// Finishes a handshake started with [`rustls::server::Acceptor`].
    pub fn accept_connection(
        &self,
        accepted: Accepted,
    ) -> Result<(ServerConnection, Selection), (rustls::Error, AcceptedAlert)> {
        let (config, selection) = self.select(&accepted.client_hello());
        accepted
            .into_connection(config)
            .map(|conn| (conn, selection))
    }

    /// Accepts a TLS connection over `io` with tokio-rustls'
    /// `LazyConfigAcceptor` and runs the handshake to completion.
    #[cfg(feature = "tokio")]
    pub async fn accept<IO>(
        &self,
        io: IO,
    ) -> Result<(tokio_rustls::server::TlsStream<IO>, Selection), Error>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io)
            .await
            .map_err(|source| Error::Io {
                context: "reading the ClientHello",
                source,
            })?;
        let (config, selection) = self.select(&start.client_hello());
        let stream = start
            .into_stream(config)
            .await
            .map_err(|source| Error::Io {
                context: "TLS handshake",
                source,
            })?;
        Ok((stream, selection))
    }
}
