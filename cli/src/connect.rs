//! `gmkit connect`: a TLS client that prefers RFC 8998 (SM4, curveSM2,
//! SM2 certificates) and reaches ordinary servers too, and says what it
//! negotiated.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, ValueEnum};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};
use rustls_gm::client::ClientBuilder;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls_common::{
    self, load_certs, load_key, load_roots, recorded, CertView, Negotiated, RecordingVerifier,
    UsageError, EXIT_FAILURE, EXIT_USAGE,
};

/// What the client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// SM suites, curveSM2 and sm2sig_sm3 first, then the standard suites
    /// (TLS 1.3 and 1.2): GM servers get RFC 8998, others the usual.
    PreferGm,
    /// RFC 8998 only (TLS 1.3): servers without it fail the handshake.
    GmOnly,
    /// Standard suites only (aws-lc-rs), no SM suites at all.
    Standard,
}

/// Arguments of `gmkit connect`.
#[derive(Debug, Args)]
#[command(after_long_help = CONNECT_HELP)]
pub struct ConnectArgs {
    /// The server, HOST:PORT (a name or an IP address; `[v6]:PORT`).
    #[arg(value_name = "HOST:PORT")]
    pub target: String,
    /// Trusted CA certificates (PEM bundle; SM2, RSA and ECDSA CAs may be
    /// mixed). Default: the system bundle (/etc/ssl/certs/ca-certificates.crt
    /// or $SSL_CERT_FILE).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Client certificate chain (PEM), sent when the server asks for one.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key of the client certificate.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// File holding the password of an encrypted --key (else the
    /// GMKIT_PASSWORD environment variable).
    #[arg(long, value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
    /// What to offer.
    #[arg(long, value_enum, default_value = "prefer-gm")]
    pub policy: PolicyArg,
    /// Refuse an SM cipher suite with a non-SM2 server key or over a group
    /// other than curveSM2 (default).
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,
    /// Accept such misconfigured servers.
    #[arg(long, overrides_with = "strict")]
    pub no_strict: bool,
    /// Name to verify the certificate against (and send as SNI). Default:
    /// the HOST part.
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Send TEXT after the handshake and print what comes back.
    #[arg(long, value_name = "TEXT")]
    pub send: Option<String>,
    /// Give up after SECS seconds (connect, handshake and reply each).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub timeout: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const CONNECT_HELP: &str = "\
Prints the protocol, cipher suite, key exchange group, the server's
signature scheme, the server certificate (subject, key type) and, with
--send, the reply.

Exit codes:
  0  connected; the handshake and certificate verification succeeded
  1  the connection, the handshake or the verification failed (the message
     says why: unknown issuer, name mismatch, no common cipher suite, strict
     GM policy violated, ...)
  2  bad arguments or unusable files (--ca, --cert, --key)

Example:
  gmkit connect localhost:8443 --ca sm2-ca.pem --send hello";

/// The report of one connection.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectReport {
    /// The address connected to.
    pub address: String,
    /// Our end of the connection.
    pub local_address: Option<String>,
    /// What was negotiated.
    #[serde(flatten)]
    pub negotiated: Negotiated,
    /// The server's end-entity certificate.
    pub server_certificate: Option<CertView>,
    /// The client certificate configured (sent if the server asked for one).
    pub client_certificate: Option<CertView>,
    /// The reply to `--send`, if any.
    pub reply: Option<String>,
}

/// Why a connection failed (exit code 1).
#[derive(Debug)]
pub struct ConnectFailure(pub String);

/// Runs the command.
pub fn main(args: ConnectArgs) -> ExitCode {
    let json = args.json;
    let prepared = match prepare(&args) {
        Ok(p) => p,
        Err(e) => {
            report_error(json, "usage", &e.0);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report_error(json, "runtime", &e.to_string());
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    match runtime.block_on(run(prepared, args.send.as_deref(), timeout)) {
        Ok(report) => {
            print_report(&report, json);
            ExitCode::SUCCESS
        }
        Err(ConnectFailure(e)) => {
            report_error(json, "failed", &e);
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

fn report_error(json: bool, kind: &str, message: &str) {
    if json {
        crate::out!(
            "{}",
            serde_json::json!({ "ok": false, "error_kind": kind, "error": message })
        );
    } else {
        crate::errln!("gmkit connect: {message}");
    }
}

/// A client ready to connect.
pub struct Prepared {
    /// The client configuration.
    pub config: Arc<ClientConfig>,
    /// Where the server signature scheme is recorded.
    pub scheme: Arc<Mutex<Option<SignatureScheme>>>,
    /// Run [`rustls_gm::client::verify_negotiated`] after the handshake.
    pub strict: bool,
    /// SNI / verified name.
    pub server_name: ServerName<'static>,
    /// HOST:PORT.
    pub target: String,
    /// Whether a client certificate is configured.
    pub client_cert: Option<CertView>,
}

fn split_target(target: &str) -> Result<(String, u16), UsageError> {
    let bad = || UsageError(format!("{target:?} is not HOST:PORT"));
    let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    Ok((host.to_string(), port))
}

fn system_roots() -> Result<RootCertStore, UsageError> {
    let path = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/ssl/certs/ca-certificates.crt"));
    if !path.exists() {
        return Err(UsageError(format!(
            "no --ca given and no system CA bundle at {}",
            path.display()
        )));
    }
    // The system bundle may hold certificates rustls cannot use; skip them.
    let mut roots = RootCertStore::empty();
    let certs = load_certs(&path)?;
    let _ = roots.add_parsable_certificates(certs);
    Ok(roots)
}

/// Builds the client from the arguments.
fn prepare(args: &ConnectArgs) -> Result<Prepared, UsageError> {
    let (host, _) = split_target(&args.target)?;
    let name = args.server_name.clone().unwrap_or(host);
    let server_name = ServerName::try_from(name.clone())
        .map_err(|_| UsageError(format!("{name:?} is not a valid server name")))?;
    let roots = match &args.ca {
        Some(path) => load_roots(path)?,
        None => system_roots()?,
    };
    let identity = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            Some(load_identity(cert, key, args.key_password_file.as_deref())?)
        }
        _ => None,
    };
    let strict = !args.no_strict;
    client_config(
        args.policy,
        roots,
        identity,
        strict,
        server_name,
        args.target.clone(),
    )
}

type Identity = (
    Vec<rustls::pki_types::CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
);

fn load_identity(cert: &Path, key: &Path, pw_file: Option<&Path>) -> Result<Identity, UsageError> {
    let password = tls_common::read_password(pw_file)?;
    let chain = load_certs(cert)?;
    let key = load_key(key, password.as_ref().map(|p| &p[..]))?;
    Ok((chain, key))
}

/// A client config for `policy`. `prefer-gm` and `gm-only` come from
/// [`ClientBuilder`]; `standard` is rustls with aws-lc-rs alone.
///
/// The config's certificate verifier is wrapped by one that records the
/// server's signature scheme. For the GM policies it wraps the builder's own
/// (strict) verifier, so the strict GM check still runs during the
/// handshake; [`rustls_gm::client::verify_negotiated`] checks the result
/// again right after it, before any application data is sent.
pub fn client_config(
    policy: PolicyArg,
    roots: RootCertStore,
    identity: Option<Identity>,
    strict: bool,
    server_name: ServerName<'static>,
    target: String,
) -> Result<Prepared, UsageError> {
    let client_cert = identity
        .as_ref()
        .and_then(|(chain, _)| chain.first())
        .map(CertView::of);
    let scheme = Arc::new(Mutex::new(None));
    let config = match policy {
        PolicyArg::PreferGm | PolicyArg::GmOnly => {
            let recorded = Arc::clone(&scheme);
            let mut b = ClientBuilder::new(roots)
                .strict(strict)
                .wrap_verifier(move |inner| Arc::new(RecordingVerifier::wrapping(inner, recorded)));
            if policy == PolicyArg::GmOnly {
                b = b.gm_only();
            }
            if let Some((chain, key)) = identity {
                b = b.client_auth(chain, key);
            }
            b.build()
                .map_err(|e| UsageError(format!("cannot build the client: {e}")))?
        }
        PolicyArg::Standard => {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let recorder =
                RecordingVerifier::webpki(roots, Arc::clone(&provider), Arc::clone(&scheme))?;
            let b = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| UsageError(format!("cannot build the client: {e}")))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(recorder));
            match identity {
                Some((chain, key)) => b
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| UsageError(format!("cannot use the client certificate: {e}")))?,
                None => b.with_no_client_auth(),
            }
        }
    };
    Ok(Prepared {
        config: Arc::new(config),
        scheme,
        strict: strict && policy != PolicyArg::Standard,
        server_name,
        target,
        client_cert,
    })
}

/// Connects, runs the handshake, optionally sends `send` and reads the
/// reply.
pub async fn run(
    p: Prepared,
    send: Option<&str>,
    timeout: Duration,
) -> Result<ConnectReport, ConnectFailure> {
    let fail = |what: &str, e: &dyn std::fmt::Display| ConnectFailure(format!("{what}: {e}"));
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(&p.target))
        .await
        .map_err(|_| ConnectFailure(format!("connecting to {}: timed out", p.target)))?
        .map_err(|e| fail(&format!("connecting to {}", p.target), &e))?;
    let address = tcp
        .peer_addr()
        .map_or_else(|_| p.target.clone(), |a: SocketAddr| a.to_string());
    let local_address = tcp.local_addr().ok().map(|a| a.to_string());
    let _ = tcp.set_nodelay(true);
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&p.config));
    let mut tls = tokio::time::timeout(timeout, connector.connect(p.server_name.clone(), tcp))
        .await
        .map_err(|_| ConnectFailure("TLS handshake: timed out".into()))?
        .map_err(|e| ConnectFailure(format!("TLS handshake: {}", explain(&e))))?;
    let conn = tls.get_ref().1;
    if p.strict {
        if let Err(e) = rustls_gm::client::verify_negotiated(conn) {
            let _ = tls.shutdown().await;
            return Err(fail("refused", &e));
        }
    }
    let negotiated = Negotiated::of(conn, recorded(&p.scheme));
    let server_certificate = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(CertView::of);
    let reply = match send {
        Some(text) => Some(exchange(&mut tls, text, timeout).await?),
        None => None,
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), tls.shutdown()).await;
    Ok(ConnectReport {
        address,
        local_address,
        negotiated,
        server_certificate,
        client_certificate: p.client_cert,
        reply,
    })
}

/// The error, with a hint for the common causes.
fn explain(e: &std::io::Error) -> String {
    use rustls::{AlertDescription, CertificateError, Error};
    let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) else {
        return e.to_string();
    };
    let hint = match tls {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the server certificate does not chain to a CA in --ca"
        }
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the server certificate does not cover this name (see --server-name)",
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the server certificate has expired",
        Error::AlertReceived(AlertDescription::HandshakeFailure) => {
            "the server found nothing in common with this client (e.g. a GM-only server and --policy standard)"
        }
        Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (--cert/--key)"
        }
        Error::AlertReceived(
            AlertDescription::UnknownCA | AlertDescription::BadCertificate,
        ) => "the server refused the client certificate",
        Error::PeerIncompatible(_) => "the server does not support what this client offers",
        _ => return tls.to_string(),
    };
    format!("{tls} ({hint})")
}

/// Sends `text` and reads until as many bytes came back, the server closes,
/// or the timeout.
async fn exchange<S>(tls: &mut S, text: &str, timeout: Duration) -> Result<String, ConnectFailure>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    tls.write_all(text.as_bytes())
        .await
        .map_err(|e| ConnectFailure(format!("sending: {e}")))?;
    tls.flush()
        .await
        .map_err(|e| ConnectFailure(format!("sending: {e}")))?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + timeout;
    while reply.len() < text.len() {
        match tokio::time::timeout_at(deadline, tls.read(&mut buf)).await {
            Err(_) => break,
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if reply.is_empty() => {
                return Err(ConnectFailure(format!("reading the reply: {e}")))
            }
            Ok(Err(_)) => break,
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

fn print_report(r: &ConnectReport, json: bool) {
    if json {
        let mut v = serde_json::to_value(r).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("ok".into(), true.into());
        }
        crate::out!("{v}");
        return;
    }
    let n = &r.negotiated;
    crate::out!("connected to        {}", r.address);
    crate::out!("protocol            {}", n.protocol);
    crate::out!("cipher suite        {}", n.suite);
    crate::out!("group               {}", n.group.as_deref().unwrap_or("-"));
    crate::out!(
        "signature scheme    {}",
        n.signature_scheme.as_deref().unwrap_or("- (resumed)")
    );
    if let Some(alpn) = &n.alpn {
        crate::out!("alpn                {alpn}");
    }
    match &r.server_certificate {
        Some(c) => {
            crate::out!("server certificate  {}", c.subject);
            crate::out!("  key               {}", c.key_type);
            crate::out!("  issuer            {}", c.issuer);
            crate::out!("  not after         {}", c.not_after);
        }
        None => crate::out!("server certificate  -"),
    }
    if let Some(c) = &r.client_certificate {
        crate::out!("client certificate  {} ({})", c.subject, c.key_type);
    }
    if let Some(reply) = &r.reply {
        crate::out!("reply               {reply}");
    }
}
