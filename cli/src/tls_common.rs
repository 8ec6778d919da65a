//! Shared pieces of `gmkit serve`, `gmkit connect` and `gmkit demo`: file
//! loading with clear errors, names for what a TLS connection negotiated,
//! and a server certificate verifier that records the signature scheme.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CipherSuite, CommonState, DigitallySignedStruct, NamedGroup, ProtocolVersion};
use rustls::{RootCertStore, SignatureScheme};
use rustls_gm::codepoints;
use rustls_gm::reload::CertSummary;
use serde::Serialize;
use zeroize::Zeroizing;

/// Environment variable holding the private key password.
pub const PASSWORD_ENV: &str = "GMKIT_PASSWORD";

/// Exit code: the handshake, the certificate verification or the connection
/// failed.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code: bad arguments or unusable input files.
pub const EXIT_USAGE: u8 = 2;

/// A problem with the command line or the input files (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for UsageError {
    fn from(s: String) -> Self {
        UsageError(s)
    }
}

/// The key password: the first line of `file`, else GMKIT_PASSWORD (the
/// rule every gmkit command shares, [`crate::outcome::password_from`]).
pub fn read_password(file: Option<&Path>) -> Result<Option<Zeroizing<Vec<u8>>>, UsageError> {
    crate::outcome::password_from(file, Some(PASSWORD_ENV)).map_err(UsageError)
}

/// Decodes a private key file: PEM or DER; PKCS#8, SEC1 (`EC`/`SM2 PRIVATE
/// KEY`) or PKCS#1; encrypted PKCS#8 with `password` (SM2 keys as GmSSL or
/// OpenSSL encrypt them, RSA and P-256 keys as OpenSSL does).
pub fn decode_key(data: &[u8], password: Option<&[u8]>) -> Result<PrivateKeyDer<'static>, String> {
    use rustls::pki_types::pem::PemObject as _;
    match rustls_gm::private_key_from_pem(data) {
        Ok(key) => return Ok(key),
        Err(rustls_gm::KeyError::NoPrivateKey) => {
            if let Ok(key) = PrivateKeyDer::from_pem_slice(data) {
                return Ok(key);
            }
        }
        Err(rustls_gm::KeyError::Encrypted) => {}
        Err(e) => return Err(e.to_string()),
    }
    let is_pem = data.windows(11).any(|w| w == b"-----BEGIN ");
    if !is_pem {
        if let Ok(key) = PrivateKeyDer::try_from(data) {
            return Ok(key.clone_key());
        }
    }
    if data.is_empty() {
        return Err("the key file is empty".into());
    }
    // Encrypted PKCS#8 in PEM, or DER that is not a plain key (maybe an
    // EncryptedPrivateKeyInfo).
    let encrypted = if is_pem {
        data.windows(21).any(|w| w == b"ENCRYPTED PRIVATE KEY")
    } else {
        data[0] == 0x30
    };
    if !encrypted {
        return Err("no private key found (expected a PEM or DER private key)".into());
    }
    let Some(password) = password else {
        return Err(format!(
            "the private key is encrypted: give --key-password-file or set {PASSWORD_ENV}"
        ));
    };
    match rustls_gm::decrypt_sm2_private_key(data, password) {
        Ok(key) => Ok(key),
        Err(rustls_gm::KeyError::WrongPassword) => {
            Err("wrong password (or corrupted encrypted key)".into())
        }
        Err(sm2_err) => {
            // Not SM2: RSA or P-256 in encrypted PKCS#8.
            let key = gm_pki::KeyPair::load(data, Some(password))
                .map_err(|e| format!("cannot read the private key: {e} ({sm2_err})"))?;
            let der = key
                .to_pkcs8_der()
                .map_err(|e| format!("cannot re-encode the private key: {e}"))?;
            Ok(PrivateKeyDer::Pkcs8(der.to_vec().into()))
        }
    }
}

/// Reads a key file (see [`decode_key`]).
pub fn load_key(
    path: &Path,
    password: Option<&[u8]>,
) -> Result<PrivateKeyDer<'static>, UsageError> {
    let data = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?,
    );
    decode_key(&data, password).map_err(|e| UsageError(format!("{}: {e}", path.display())))
}

/// Reads PEM `CERTIFICATE` blocks (or one DER certificate), checking each
/// parses as X.509.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, UsageError> {
    use rustls::pki_types::pem::PemObject as _;
    let fail = |why: String| UsageError(format!("{}: {why}", path.display()));
    let data = std::fs::read(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let certs: Vec<CertificateDer<'static>> = if data.windows(11).any(|w| w == b"-----BEGIN ") {
        CertificateDer::pem_slice_iter(&data)
            .collect::<Result<_, _>>()
            .map_err(|e| fail(format!("bad PEM: {e}")))?
    } else {
        vec![CertificateDer::from(data)]
    };
    if certs.is_empty() {
        return Err(fail("no CERTIFICATE block found".into()));
    }
    for cert in &certs {
        CertSummary::parse(cert).map_err(fail)?;
    }
    Ok(certs)
}

/// A root store from a PEM bundle.
pub fn load_roots(path: &Path) -> Result<RootCertStore, UsageError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| UsageError(format!("{}: unusable CA certificate: {e}", path.display())))?;
    }
    Ok(roots)
}

/// Whether a certificate's key is SM2.
pub fn is_sm2(cert: &CertificateDer<'_>) -> bool {
    CertSummary::parse(cert).is_ok_and(|s| s.key_type == "SM2")
}

/// `TLSv1.3`, `TLSv1.2`.
pub fn protocol_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        other => format!("{other:?}"),
    }
}

/// IANA names: `TLS_SM4_GCM_SM3`, `TLS_AES_256_GCM_SHA384`,
/// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`...
pub fn suite_name(s: CipherSuite) -> String {
    if s == codepoints::TLS_SM4_GCM_SM3 {
        return "TLS_SM4_GCM_SM3".into();
    }
    if s == codepoints::TLS_SM4_CCM_SM3 {
        return "TLS_SM4_CCM_SM3".into();
    }
    let name = format!("{s:?}");
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// `curveSM2`, `X25519`, `secp256r1`, `X25519MLKEM768`...
pub fn group_name(g: NamedGroup) -> String {
    if g == codepoints::CURVE_SM2 {
        return "curveSM2".into();
    }
    format!("{g:?}")
}

/// IANA names: `sm2sig_sm3`, `rsa_pss_rsae_sha256`, `ecdsa_secp256r1_sha256`...
pub fn scheme_name(s: SignatureScheme) -> String {
    if s == codepoints::SM2SIG_SM3 {
        return "sm2sig_sm3".into();
    }
    match s {
        SignatureScheme::RSA_PKCS1_SHA1 => "rsa_pkcs1_sha1",
        SignatureScheme::ECDSA_SHA1_Legacy => "ecdsa_sha1",
        SignatureScheme::RSA_PKCS1_SHA256 => "rsa_pkcs1_sha256",
        SignatureScheme::RSA_PKCS1_SHA384 => "rsa_pkcs1_sha384",
        SignatureScheme::RSA_PKCS1_SHA512 => "rsa_pkcs1_sha512",
        SignatureScheme::ECDSA_NISTP256_SHA256 => "ecdsa_secp256r1_sha256",
        SignatureScheme::ECDSA_NISTP384_SHA384 => "ecdsa_secp384r1_sha384",
        SignatureScheme::ECDSA_NISTP521_SHA512 => "ecdsa_secp521r1_sha512",
        SignatureScheme::RSA_PSS_SHA256 => "rsa_pss_rsae_sha256",
        SignatureScheme::RSA_PSS_SHA384 => "rsa_pss_rsae_sha384",
        SignatureScheme::RSA_PSS_SHA512 => "rsa_pss_rsae_sha512",
        SignatureScheme::ED25519 => "ed25519",
        SignatureScheme::ED448 => "ed448",
        other => return format!("{other:?}"),
    }
    .into()
}

/// A certificate, described for logs.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CertView {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Key type (`SM2`, `RSA-2048`, `ECDSA P-256`...).
    pub key_type: String,
    /// Serial number, hex.
    pub serial: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
}

impl CertView {
    /// Describes a DER certificate (an unparsable one is described as such).
    pub fn of(cert: &CertificateDer<'_>) -> Self {
        match CertSummary::parse(cert) {
            Ok(s) => Self::from_summary(&s),
            Err(e) => CertView {
                subject: format!("<unparsable: {e}>"),
                issuer: String::new(),
                key_type: "unknown".into(),
                serial: String::new(),
                not_after: String::new(),
            },
        }
    }

    /// From a summary.
    pub fn from_summary(s: &CertSummary) -> Self {
        CertView {
            subject: s.subject.clone(),
            issuer: s.issuer.clone(),
            key_type: s.key_type.clone(),
            serial: s.serial.clone(),
            not_after: gm_pki::rfc3339(s.not_after),
        }
    }
}

/// What a connection negotiated.
#[derive(Clone, Debug, Serialize)]
pub struct Negotiated {
    /// `TLSv1.3` / `TLSv1.2`.
    pub protocol: String,
    /// IANA cipher suite name.
    pub suite: String,
    /// Key exchange group (none when a TLS 1.2 session was resumed).
    pub group: Option<String>,
    /// The scheme of the server's handshake signature; none on resumption.
    pub signature_scheme: Option<String>,
    /// ALPN protocol, if any.
    pub alpn: Option<String>,
    /// Whether the session was resumed.
    pub resumed: bool,
}

impl Negotiated {
    /// Reads a finished connection; `scheme` comes from a recorder.
    pub fn of(conn: &CommonState, scheme: Option<SignatureScheme>) -> Self {
        Negotiated {
            protocol: conn
                .protocol_version()
                .map_or_else(|| "unknown".into(), protocol_name),
            suite: conn
                .negotiated_cipher_suite()
                .map_or_else(|| "unknown".into(), |s| suite_name(s.suite())),
            group: conn
                .negotiated_key_exchange_group()
                .map(|g| group_name(g.name())),
            signature_scheme: scheme.map(scheme_name),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        }
    }
}

/// Delegates to `inner` and remembers the signature scheme of the server's
/// handshake signature (rustls does not expose it on the connection).
#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    scheme: Arc<Mutex<Option<SignatureScheme>>>,
}

impl RecordingVerifier {
    /// A webpki verifier over `roots`, with `provider`'s algorithms,
    /// storing into `scheme`.
    pub fn webpki(
        roots: RootCertStore,
        provider: Arc<rustls::crypto::CryptoProvider>,
        scheme: Arc<Mutex<Option<SignatureScheme>>>,
    ) -> Result<Self, UsageError> {
        let inner =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| UsageError(format!("cannot build the certificate verifier: {e}")))?;
        Ok(Self::wrapping(inner, scheme))
    }

    /// Records around an existing verifier (e.g. the strict GM verifier of
    /// [`rustls_gm::client::ClientBuilder`]), storing into `scheme`.
    pub fn wrapping(
        inner: Arc<dyn ServerCertVerifier>,
        scheme: Arc<Mutex<Option<SignatureScheme>>>,
    ) -> Self {
        Self { inner, scheme }
    }

    fn record(&self, scheme: SignatureScheme) {
        if let Ok(mut s) = self.scheme.lock() {
            *s = Some(scheme);
        }
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.record(dss.scheme);
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Reads the recorded scheme.
pub fn recorded(scheme: &Mutex<Option<SignatureScheme>>) -> Option<SignatureScheme> {
    scheme.lock().ok().and_then(|s| *s)
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    gm_pki::rfc3339(std::time::SystemTime::now())
}

/// Quotes a value for `key=value` logs when it has spaces or quotes.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && !s.contains([' ', '"', '=', '\\']) {
        return s.to_string();
    }
    format!("{s:?}")
}

/// `println!` that ignores a closed stdout instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` that ignores a closed stderr instead of panicking.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
