//! `gmkit serve`: a dual-stack TLS echo server.
//!
//! GM clients (offering an RFC 8998 suite, `sm2sig_sm3` and curveSM2) get
//! TLS 1.3 with SM4 and the SM2 certificate; everyone else gets the standard
//! suites (TLS 1.3 or 1.2) and the RSA/ECDSA certificate, on the same port
//! (`rustls_gm::reload::ReloadingDualStack`). The certificate and key files
//! are watched and reloaded when they change; a broken new pair is logged
//! and the previous one keeps serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use rustls::pki_types::CertificateDer;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_gm::reload::{
    CertFiles, ReloadError, ReloadEvent, ReloadOptions, ReloadingDualStack, Selection,
};
use rustls_gm::server::{Policy, Stack};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::tls_common::{
    self, load_certs, now_rfc3339, quote, CertView, Negotiated, UsageError, EXIT_FAILURE,
    EXIT_USAGE,
};

/// Which stacks the server offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// RFC 8998 for GM clients, standard suites for everyone else (needs
    /// both identities).
    PreferGm,
    /// RFC 8998 only; other clients fail the handshake.
    GmOnly,
    /// Standard suites only.
    Standard,
}

impl PolicyArg {
    /// The rustls-gm policy.
    pub fn policy(self) -> Policy {
        match self {
            PolicyArg::PreferGm => Policy::PreferGm,
            PolicyArg::GmOnly => Policy::GmOnly,
            PolicyArg::Standard => Policy::StandardOnly,
        }
    }
}

/// Arguments of `gmkit serve`.
#[derive(Debug, Args)]
#[command(after_long_help = SERVE_HELP)]
pub struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:8443 (port 0 picks a free port;
    /// the first log line says which).
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// SM2 certificate chain (PEM, end entity first) for GM clients.
    #[arg(long, value_name = "FILE", requires = "sm2_key")]
    pub sm2_cert: Option<PathBuf>,
    /// Private key of the SM2 certificate.
    #[arg(long, value_name = "FILE", requires = "sm2_cert")]
    pub sm2_key: Option<PathBuf>,
    /// RSA (or ECDSA) certificate chain (PEM) for standard clients.
    #[arg(long, value_name = "FILE", requires = "rsa_key")]
    pub rsa_cert: Option<PathBuf>,
    /// Private key of the RSA/ECDSA certificate.
    #[arg(long, value_name = "FILE", requires = "rsa_cert")]
    pub rsa_key: Option<PathBuf>,
    /// Require client certificates issued by these CAs (PEM bundle): SM2
    /// CAs on the GM stack, the others on the standard stack.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// Stack policy. Default: prefer-gm with both identities, otherwise
    /// the one stack whose identity is given.
    #[arg(long, value_enum)]
    pub policy: Option<PolicyArg>,
    /// Check the certificate and key files for changes every SECS seconds
    /// (0 disables reloading).
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub reload_interval: f64,
    /// Serve at most N connections at a time (others wait in the backlog).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections: usize,
    /// Close connections idle for SECS seconds (handshakes get at most 10).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub idle_timeout: u64,
    /// File holding the password of encrypted key files (else the
    /// GMKIT_PASSWORD environment variable).
    #[arg(long, value_name = "FILE")]
    pub key_password_file: Option<PathBuf>,
    /// Log JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
}

const SERVE_HELP: &str = "\
Logs one line per connection on stdout when it closes: peer, stack, protocol,
cipher suite, key exchange group, signature scheme, the certificate served
(subject and key type), the client certificate if any, bytes echoed. Reloads
of the certificate files and refused new files are logged too.

Exit codes: 0 after a clean shutdown (Ctrl-C or SIGTERM), 1 if the listener
fails, 2 for bad arguments or unusable certificate/key files at start-up.

Example:
  gmkit serve --listen 0.0.0.0:8443 --sm2-cert sm2.pem --sm2-key sm2.key \\
              --rsa-cert rsa.pem --rsa-key rsa.key";

/// Runs the command.
pub fn main(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("gmkit serve: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: ServeArgs) -> ExitCode {
    let log = Logger { json: args.json };
    let server = match build_server(&args, log) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            crate::errln!("gmkit serve: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let _watcher = if args.reload_interval > 0.0 {
        let interval =
            Duration::try_from_secs_f64(args.reload_interval).unwrap_or(Duration::from_secs(5));
        match server.watch(interval) {
            Ok(w) => Some(w),
            Err(e) => {
                crate::errln!("gmkit serve: cannot start the reload thread: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else {
        None
    };
    let listener = match TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            crate::errln!("gmkit serve: cannot listen on {}: {e}", args.listen);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    log.listening(addr, &server);
    let options = ServeOptions {
        max_connections: args.max_connections.max(1),
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
    };
    let sink = move |record: ConnRecord| log.connection(&record);
    match serve_until(listener, server, options, sink, shutdown_signal()).await {
        Ok(()) => {
            log.event("shutdown", "clean shutdown");
            ExitCode::SUCCESS
        }
        Err(e) => {
            crate::errln!("gmkit serve: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Builds the reloading dual stack from the arguments.
fn build_server(args: &ServeArgs, log: Logger) -> Result<ReloadingDualStack, UsageError> {
    let password = tls_common::read_password(args.key_password_file.as_deref())?;
    let files = |cert: &PathBuf, key: &PathBuf| {
        let pw = password.clone();
        CertFiles::new(cert, key)
            .key_decoder(move |data| tls_common::decode_key(data, pw.as_ref().map(|p| &p[..])))
    };
    let gm = match (&args.sm2_cert, &args.sm2_key) {
        (Some(c), Some(k)) => Some(files(c, k)),
        _ => None,
    };
    let standard = match (&args.rsa_cert, &args.rsa_key) {
        (Some(c), Some(k)) => Some(files(c, k)),
        _ => None,
    };
    let policy = match (args.policy, gm.is_some(), standard.is_some()) {
        (Some(p), _, _) => p,
        (None, true, true) => PolicyArg::PreferGm,
        (None, true, false) => PolicyArg::GmOnly,
        (None, false, true) => PolicyArg::Standard,
        (None, false, false) => {
            return Err(UsageError(
                "give --sm2-cert/--sm2-key and/or --rsa-cert/--rsa-key".into(),
            ))
        }
    };
    match policy {
        PolicyArg::PreferGm | PolicyArg::GmOnly if gm.is_none() => {
            return Err(UsageError(format!(
                "--policy {} needs --sm2-cert and --sm2-key",
                policy_name(policy)
            )))
        }
        PolicyArg::PreferGm | PolicyArg::Standard if standard.is_none() => {
            return Err(UsageError(format!(
                "--policy {} needs --rsa-cert and --rsa-key",
                policy_name(policy)
            )))
        }
        _ => {}
    }
    let mut builder = ReloadingDualStack::builder()
        .policy(policy.policy())
        .options(ReloadOptions::new().on_event(move |e| log.reload(e)));
    if let Some(f) = gm {
        builder = builder.gm_files(f);
    }
    if let Some(f) = standard {
        builder = builder.standard_files(f);
    }
    if let Some(path) = &args.client_ca {
        let (gm_verifier, std_verifier) = client_verifiers(load_certs(path)?, path)?;
        builder = builder
            .gm_client_auth(gm_verifier)
            .standard_client_auth(std_verifier);
    }
    builder
        .build()
        .map_err(|e| UsageError(describe_build_error(&e)))
}

fn describe_build_error(e: &ReloadError) -> String {
    match e {
        ReloadError::WrongKeyType {
            stack: Stack::Gm, ..
        } => format!("{e} (--sm2-cert/--sm2-key)"),
        ReloadError::WrongKeyType {
            stack: Stack::Standard,
            ..
        } => format!("{e} (--rsa-cert/--rsa-key)"),
        other => other.to_string(),
    }
}

fn policy_name(p: PolicyArg) -> &'static str {
    match p {
        PolicyArg::PreferGm => "prefer-gm",
        PolicyArg::GmOnly => "gm-only",
        PolicyArg::Standard => "standard",
    }
}

/// The GM and the standard client certificate verifiers.
type VerifierPair = (Arc<dyn ClientCertVerifier>, Arc<dyn ClientCertVerifier>);

/// Client verifiers: the SM2 CAs for the GM stack, the others for the
/// standard stack. A stack with no CA of its kind gets all of them, which
/// fails closed (no client of that stack can authenticate).
fn client_verifiers(
    cas: Vec<CertificateDer<'static>>,
    path: &std::path::Path,
) -> Result<VerifierPair, UsageError> {
    let (sm2, other): (Vec<_>, Vec<_>) = cas.iter().cloned().partition(tls_common::is_sm2);
    let store = |certs: &[CertificateDer<'static>]| -> Result<RootCertStore, UsageError> {
        let certs = if certs.is_empty() { &cas[..] } else { certs };
        let mut roots = RootCertStore::empty();
        for c in certs {
            roots.add(c.clone()).map_err(|e| {
                UsageError(format!("{}: unusable CA certificate: {e}", path.display()))
            })?;
        }
        Ok(roots)
    };
    let gm = rustls_gm::server::gm_client_verifier(store(&sm2)?)
        .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let standard = WebPkiClientVerifier::builder_with_provider(
        Arc::new(store(&other)?),
        Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
    )
    .build()
    .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    Ok((gm, standard))
}

/// Limits for [`serve_until`].
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Concurrent connections.
    pub max_connections: usize,
    /// Idle timeout after the handshake.
    pub idle_timeout: Duration,
}

/// What happened on one connection.
#[derive(Clone, Debug, Serialize)]
pub struct ConnRecord {
    /// The client's address.
    pub peer: String,
    /// `gm` or `standard`, once the ClientHello was read.
    pub stack: Option<&'static str>,
    /// Whether the handshake succeeded.
    pub ok: bool,
    /// Why the handshake failed.
    pub error: Option<String>,
    /// What was negotiated.
    #[serde(flatten)]
    pub negotiated: Option<Negotiated>,
    /// The certificate served (none on resumption or failure).
    pub certificate: Option<CertView>,
    /// The client's certificate, if it sent one.
    pub client_certificate: Option<CertView>,
    /// Bytes echoed back.
    pub bytes: u64,
    /// How the connection ended after the handshake.
    pub close: Option<String>,
    /// Connection lifetime in milliseconds.
    pub duration_ms: u64,
}

/// Accepts connections until `shutdown` resolves, then closes the open
/// ones (close_notify) and waits up to five seconds for them.
pub async fn serve_until<F>(
    listener: TcpListener,
    server: Arc<ReloadingDualStack>,
    options: ServeOptions,
    sink: F,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    F: Fn(ConnRecord) + Send + Sync + 'static,
{
    let sink = Arc::new(sink);
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off briefly.
                if is_fatal_accept_error(&e) {
                    return Err(e);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (server, sink, stop) = (Arc::clone(&server), Arc::clone(&sink), stop_rx.clone());
        tasks.spawn(async move {
            let record = handle(tcp, peer, &server, options, stop).await;
            sink(record);
            drop(permit);
        });
        // Reap finished tasks so the set does not grow.
        while tasks.try_join_next().is_some() {}
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    Ok(())
}

fn is_fatal_accept_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::NotConnected
    )
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

async fn handle(
    tcp: TcpStream,
    peer: SocketAddr,
    server: &ReloadingDualStack,
    options: ServeOptions,
    mut stop: watch::Receiver<bool>,
) -> ConnRecord {
    let started = Instant::now();
    let _ = tcp.set_nodelay(true);
    let mut record = ConnRecord {
        peer: peer.to_string(),
        stack: None,
        ok: false,
        error: None,
        negotiated: None,
        certificate: None,
        client_certificate: None,
        bytes: 0,
        close: None,
        duration_ms: 0,
    };
    let handshake = tokio::time::timeout(
        HANDSHAKE_TIMEOUT.min(options.idle_timeout),
        accept(server, tcp),
    );
    let result = tokio::select! {
        r = handshake => r,
        _ = stop.changed() => {
            record.error = Some("server shutting down".into());
            record.duration_ms = elapsed_ms(started);
            return record;
        }
    };
    let (mut tls, selection) = match result {
        Err(_) => {
            record.error = Some("handshake timed out".into());
            record.duration_ms = elapsed_ms(started);
            return record;
        }
        Ok(Err((stack, e))) => {
            record.stack = stack.map(stack_name);
            record.error = Some(e);
            record.duration_ms = elapsed_ms(started);
            return record;
        }
        Ok(Ok(ok)) => ok,
    };
    {
        let conn = tls.get_ref().1;
        let scheme = selection.signature_scheme();
        record.stack = Some(stack_name(selection.stack()));
        record.ok = true;
        record.negotiated = Some(Negotiated::of(conn, scheme));
        // A resumed session sends no certificate.
        if scheme.is_some() {
            record.certificate = Some(CertView::from_summary(selection.identity().summary()));
        }
        record.client_certificate = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(CertView::of);
    }
    let mut buf = vec![0u8; 16 * 1024];
    let close = loop {
        let read = tokio::select! {
            r = tokio::time::timeout(options.idle_timeout, tls.read(&mut buf)) => r,
            _ = stop.changed() => break "server shutting down".to_string(),
        };
        match read {
            Err(_) => break "idle timeout".to_string(),
            Ok(Ok(0)) => break "closed by client".to_string(),
            Ok(Ok(n)) => {
                if let Err(e) = tls.write_all(&buf[..n]).await {
                    break format!("write error: {e}");
                }
                record.bytes += n as u64;
            }
            Ok(Err(e)) => break format!("read error: {e}"),
        }
    };
    // close_notify, bounded in time.
    let _ = tokio::time::timeout(Duration::from_secs(2), tls.shutdown()).await;
    record.close = Some(close);
    record.duration_ms = elapsed_ms(started);
    record
}

type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// The handshake, with the stack reported even when it fails.
async fn accept(
    server: &ReloadingDualStack,
    tcp: TcpStream,
) -> Result<(TlsStream, Selection), (Option<Stack>, String)> {
    let start = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp)
        .await
        .map_err(|e| (None, format!("reading the ClientHello: {e}")))?;
    let (config, selection) = server.select(&start.client_hello());
    let stack = selection.stack();
    let tls = start
        .into_stream(config)
        .await
        .map_err(|e| (Some(stack), format!("TLS handshake: {e}")))?;
    Ok((tls, selection))
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// `gm` / `standard`.
pub fn stack_name(s: Stack) -> &'static str {
    match s {
        Stack::Gm => "gm",
        Stack::Standard => "standard",
    }
}

/// Writes log lines to stdout, as text or JSON.
#[derive(Clone, Copy, Debug)]
struct Logger {
    json: bool,
}

impl Logger {
    fn emit_json(value: serde_json::Value) {
        crate::out!("{value}");
    }

    fn listening(self, addr: SocketAddr, server: &ReloadingDualStack) {
        let identity = |stack| {
            server
                .resolver(stack)
                .map(|r| CertView::from_summary(r.current().summary()))
        };
        let (gm, standard) = (identity(Stack::Gm), identity(Stack::Standard));
        let policy = match server.policy() {
            Policy::GmOnly => "gm-only",
            Policy::StandardOnly => "standard",
            _ => "prefer-gm",
        };
        if self.json {
            Self::emit_json(serde_json::json!({
                "time": now_rfc3339(), "event": "listening", "addr": addr.to_string(),
                "policy": policy, "gm_certificate": gm, "standard_certificate": standard,
            }));
        } else {
            let show = |c: &Option<CertView>| {
                c.as_ref().map_or_else(
                    || "-".to_string(),
                    |c| format!("{} ({})", c.subject, c.key_type),
                )
            };
            crate::out!(
                "{} listening on {addr} policy={policy} gm_cert={} standard_cert={}",
                now_rfc3339(),
                quote(&show(&gm)),
                quote(&show(&standard))
            );
        }
    }

    fn event(self, event: &str, message: &str) {
        if self.json {
            Self::emit_json(serde_json::json!({
                "time": now_rfc3339(), "event": event, "message": message,
            }));
        } else {
            crate::out!("{} {event}: {message}", now_rfc3339());
        }
    }

    fn reload(self, e: &ReloadEvent<'_>) {
        let (stack, ok, generation, detail) = match e {
            ReloadEvent::Loaded { stack, identity } => (
                *stack,
                true,
                Some(identity.generation()),
                format!(
                    "{} ({})",
                    identity.summary().subject,
                    identity.summary().key_type
                ),
            ),
            ReloadEvent::Failed { stack, error } => (*stack, false, None, error.to_string()),
            _ => return,
        };
        if self.json {
            Self::emit_json(serde_json::json!({
                "time": now_rfc3339(), "event": "reload", "stack": stack_name(stack),
                "ok": ok, "generation": generation,
                "certificate": if ok { Some(&detail) } else { None },
                "error": if ok { None } else { Some(&detail) },
            }));
        } else if ok {
            crate::out!(
                "{} reload stack={} generation={} cert={}",
                now_rfc3339(),
                stack_name(stack),
                generation.unwrap_or_default(),
                quote(&detail)
            );
        } else {
            crate::out!(
                "{} reload-failed stack={} keeping the previous certificate: {}",
                now_rfc3339(),
                stack_name(stack),
                detail
            );
        }
    }

    fn connection(self, r: &ConnRecord) {
        if self.json {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("time".into(), now_rfc3339().into());
                obj.insert("event".into(), "connection".into());
            }
            Self::emit_json(v);
            return;
        }
        let mut line = format!("{} conn peer={}", now_rfc3339(), r.peer);
        line += &format!(" stack={}", r.stack.unwrap_or("-"));
        if let Some(e) = &r.error {
            line += &format!(" result=failed error={}", quote(e));
        } else {
            line += " result=ok";
        }
        if let Some(n) = &r.negotiated {
            line += &format!(
                " protocol={} suite={} group={} sig={}",
                n.protocol,
                n.suite,
                n.group.as_deref().unwrap_or("-"),
                n.signature_scheme.as_deref().unwrap_or("-")
            );
            if n.resumed {
                line += " resumed=yes";
            }
            if let Some(alpn) = &n.alpn {
                line += &format!(" alpn={}", quote(alpn));
            }
        }
        if let Some(c) = &r.certificate {
            line += &format!(
                " cert={} cert_key={}",
                quote(&c.subject),
                quote(&c.key_type)
            );
        }
        if r.ok {
            match &r.client_certificate {
                Some(c) => {
                    line += &format!(
                        " client_cert={} client_key={}",
                        quote(&c.subject),
                        quote(&c.key_type)
                    )
                }
                None => line += " client_cert=-",
            }
            line += &format!(" bytes={}", r.bytes);
        }
        if let Some(c) = &r.close {
            line += &format!(" close={}", quote(c));
        }
        line += &format!(" ms={}", r.duration_ms);
        crate::out!("{line}");
    }
}
