//! `gmkit demo`: the dual stack in one command.
//!
//! In a temporary directory it makes an SM2 CA with an SM2 server
//! certificate and an RSA CA with an RSA server certificate (gm-pki, no
//! external tools), starts the dual-stack echo server of `gmkit serve` on a
//! free loopback port, connects once as a GM-preferring client and once as
//! a standard client (aws-lc-rs only, no SM suites) and prints side by side
//! what each negotiated. It fails (exit 1) if either connection did not get
//! what it should.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use gm_pki::{CertificateAuthority, IssueRequest, KeyAlgorithm, KeyPair, Profile, SubjectAltName};
use rustls::pki_types::ServerName;
use rustls::RootCertStore;
use rustls_gm::reload::{CertFiles, ReloadOptions, ReloadingDualStack};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::connect::{self, ConnectReport, PolicyArg};
use crate::serve::{self, ConnRecord, ServeOptions};
use crate::tls_common::{self, EXIT_FAILURE};

/// Arguments of `gmkit demo`.
#[derive(Debug, Args)]
#[command(after_long_help = DEMO_HELP)]
pub struct DemoArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Keep the generated certificates and keys in DIR (created if needed)
    /// instead of a temporary directory that is removed at the end.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

const DEMO_HELP: &str = "\
Expected: the GM client gets TLSv1.3, TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3
and the SM2 certificate; the standard client gets TLSv1.3 with an AES or
ChaCha20 suite, X25519 (or its ML-KEM hybrid) or P-256, an RSA signature and
the RSA certificate. Both from the same port.

Exit codes: 0 if both connections negotiated what they should, 1 otherwise
(the failed checks are listed), 2 for bad arguments.";

const MESSAGE: &str = "hello from gmkit demo";

/// Runs the command.
pub fn main(args: DemoArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("gmkit demo: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let dir = match WorkDir::new(args.keep.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            crate::errln!("gmkit demo: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let outcome = runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(60), run(&dir.path)).await });
    match outcome {
        Err(_) => {
            crate::errln!("gmkit demo: timed out");
            ExitCode::from(EXIT_FAILURE)
        }
        Ok(Err(e)) => {
            crate::errln!("gmkit demo: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
        Ok(Ok(result)) => {
            let failures = result.failures();
            if args.json {
                let v = serde_json::json!({
                    "ok": failures.is_empty(),
                    "gm": result.gm,
                    "standard": result.standard,
                    "failures": failures,
                    "directory": args.keep.as_ref().map(|d| d.display().to_string()),
                });
                crate::out!("{v}");
            } else {
                print_table(&result, &failures, args.keep.as_deref());
            }
            if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// The working directory; removed on drop unless kept.
struct WorkDir {
    path: PathBuf,
    remove: bool,
}

impl WorkDir {
    fn new(keep: Option<&Path>) -> Result<Self, String> {
        let (path, remove) = match keep {
            Some(dir) => (dir.to_path_buf(), false),
            None => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos());
                let dir =
                    std::env::temp_dir().join(format!("gmkit-demo-{}-{nanos}", std::process::id()));
                (dir, true)
            }
        };
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Self { path, remove })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// One side of the table: the client's view and the server's log record.
#[derive(Debug, Serialize)]
struct Side {
    client: ConnectReport,
    server: Option<ConnRecord>,
}

struct DemoResult {
    gm: Side,
    standard: Side,
}

impl DemoResult {
    /// Checks both connections against what the dual stack promises.
    fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |who: &str, ok: bool, what: String| {
            if !ok {
                out.push(format!("{who}: {what}"));
            }
        };
        let gm = &self.gm.client;
        let n = &gm.negotiated;
        check(
            "GM client",
            n.protocol == "TLSv1.3",
            format!("protocol {} (want TLSv1.3)", n.protocol),
        );
        check(
            "GM client",
            n.suite == "TLS_SM4_GCM_SM3",
            format!("suite {} (want TLS_SM4_GCM_SM3)", n.suite),
        );
        check(
            "GM client",
            n.group.as_deref() == Some("curveSM2"),
            format!("group {:?} (want curveSM2)", n.group),
        );
        check(
            "GM client",
            n.signature_scheme.as_deref() == Some("sm2sig_sm3"),
            format!(
                "signature scheme {:?} (want sm2sig_sm3)",
                n.signature_scheme
            ),
        );
        let key = gm.server_certificate.as_ref().map(|c| c.key_type.as_str());
        check(
            "GM client",
            key == Some("SM2"),
            format!("server key {key:?} (want SM2)"),
        );
        check(
            "GM client",
            gm.reply.as_deref() == Some(MESSAGE),
            format!("echo {:?}", gm.reply),
        );

        let st = &self.standard.client;
        let n = &st.negotiated;
        check(
            "standard client",
            n.protocol == "TLSv1.3",
            format!("protocol {} (want TLSv1.3)", n.protocol),
        );
        check(
            "standard client",
            [
                "TLS_AES_128_GCM_SHA256",
                "TLS_AES_256_GCM_SHA384",
                "TLS_CHACHA20_POLY1305_SHA256",
            ]
            .contains(&n.suite.as_str()),
            format!(
                "suite {} (want an AES-GCM or ChaCha20 TLS 1.3 suite)",
                n.suite
            ),
        );
        check(
            "standard client",
            matches!(
                n.group.as_deref(),
                Some("X25519" | "secp256r1" | "X25519MLKEM768")
            ),
            format!(
                "group {:?} (want X25519, X25519MLKEM768 or secp256r1)",
                n.group
            ),
        );
        check(
            "standard client",
            n.signature_scheme
                .as_deref()
                .is_some_and(|s| s.starts_with("rsa_")),
            format!(
                "signature scheme {:?} (want an RSA scheme)",
                n.signature_scheme
            ),
        );
        let key = st.server_certificate.as_ref().map(|c| c.key_type.as_str());
        check(
            "standard client",
            key.is_some_and(|k| k.starts_with("RSA")),
            format!("server key {key:?} (want RSA)"),
        );
        check(
            "standard client",
            st.reply.as_deref() == Some(MESSAGE),
            format!("echo {:?}", st.reply),
        );

        for (who, side, want) in [
            ("GM", &self.gm, "gm"),
            ("standard", &self.standard, "standard"),
        ] {
            match &side.server {
                Some(r) => check(
                    &format!("server ({who} connection)"),
                    r.ok && r.stack == Some(want),
                    format!("stack {:?}, error {:?}", r.stack, r.error),
                ),
                None => check(
                    &format!("server ({who} connection)"),
                    false,
                    "no log record".into(),
                ),
            }
        }
        out
    }
}

/// Makes the PKI, runs the server and both clients.
async fn run(dir: &Path) -> Result<DemoResult, String> {
    let files = make_pki(dir).map_err(|e| format!("making the demo PKI: {e}"))?;

    let server = ReloadingDualStack::builder()
        .gm_files(CertFiles::new(&files.sm2_cert, &files.sm2_key))
        .standard_files(CertFiles::new(&files.rsa_cert, &files.rsa_key))
        .options(ReloadOptions::new())
        .build()
        .map_err(|e| format!("starting the dual stack: {e}"))?;
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    let records: Arc<Mutex<Vec<ConnRecord>>> = Arc::default();
    let sink = {
        let records = Arc::clone(&records);
        move |r: ConnRecord| {
            if let Ok(mut v) = records.lock() {
                v.push(r);
            }
        }
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        max_connections: 8,
        idle_timeout: Duration::from_secs(10),
    };
    let server_task = tokio::spawn(serve::serve_until(
        listener,
        Arc::new(server),
        options,
        sink,
        async move {
            let _ = stop_rx.await;
        },
    ));

    let target = addr.to_string();
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(10);

    // The GM client trusts both CAs and prefers GM on its own.
    let mut roots = RootCertStore::empty();
    for path in [&files.sm2_ca, &files.rsa_ca] {
        for cert in tls_common::load_certs(path).map_err(|e| e.0)? {
            roots.add(cert).map_err(|e| e.to_string())?;
        }
    }
    let gm_client = connect::client_config(
        PolicyArg::PreferGm,
        roots,
        None,
        true,
        name.clone(),
        target.clone(),
    )
    .map_err(|e| e.0)?;
    let gm = connect::run(gm_client, Some(MESSAGE), timeout)
        .await
        .map_err(|e| format!("GM client: {}", e.0))?;

    // The standard client: aws-lc-rs only, trusting the RSA CA.
    let roots = tls_common::load_roots(&files.rsa_ca).map_err(|e| e.0)?;
    let std_client = connect::client_config(PolicyArg::Standard, roots, None, true, name, target)
        .map_err(|e| e.0)?;
    let standard = connect::run(std_client, Some(MESSAGE), timeout)
        .await
        .map_err(|e| format!("standard client: {}", e.0))?;

    // Let the server log both connections, then stop it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while records.lock().map_or(0, |r| r.len()) < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop_tx.send(());
    let _ = server_task.await;

    let records = records.lock().map(|r| r.clone()).unwrap_or_default();
    let find = |local: &Option<String>| {
        records
            .iter()
            .find(|r| local.as_deref() == Some(r.peer.as_str()))
            .cloned()
    };
    Ok(DemoResult {
        gm: Side {
            server: find(&gm.local_address),
            client: gm,
        },
        standard: Side {
            server: find(&standard.local_address),
            client: standard,
        },
    })
}

struct PkiFiles {
    sm2_ca: PathBuf,
    sm2_cert: PathBuf,
    sm2_key: PathBuf,
    rsa_ca: PathBuf,
    rsa_cert: PathBuf,
    rsa_key: PathBuf,
}

/// An SM2 CA + SM2 server certificate and an RSA CA + RSA server
/// certificate for localhost / 127.0.0.1, written as PEM files.
fn make_pki(dir: &Path) -> Result<PkiFiles, Box<dyn std::error::Error>> {
    let write = |name: &str, data: &str| -> Result<PathBuf, String> {
        let path = dir.join(name);
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    };
    let mut out = Vec::new();
    for (alg, label) in [(KeyAlgorithm::Sm2, "sm2"), (KeyAlgorithm::Rsa2048, "rsa")] {
        let ca = CertificateAuthority::init(
            &format!(
                "CN=gmkit demo {} CA,O=gmkit demo,C=CN",
                label.to_uppercase()
            )
            .parse()?,
            30,
            KeyPair::generate(alg)?,
        )?;
        let key = KeyPair::generate(alg)?;
        let req = IssueRequest::new(
            format!(
                "CN=localhost,OU={} server,O=gmkit demo,C=CN",
                label.to_uppercase()
            )
            .parse()?,
            key.public_key().clone(),
            Profile::TlsServer,
        )
        .days(7)
        .san(SubjectAltName::Dns("localhost".into()))
        .san(SubjectAltName::Ip([127, 0, 0, 1].into()));
        let cert = ca.issue(&req)?;
        let ca_path = write(&format!("{label}-ca.pem"), &ca.certificate().to_pem())?;
        let cert_path = write(&format!("{label}-server.pem"), &cert.to_pem())?;
        let key_path = write(&format!("{label}-server.key"), &key.to_pkcs8_pem()?)?;
        out.push((ca_path, cert_path, key_path));
    }
    let mut it = out.into_iter();
    match (it.next(), it.next()) {
        (Some((sm2_ca, sm2_cert, sm2_key)), Some((rsa_ca, rsa_cert, rsa_key))) => Ok(PkiFiles {
            sm2_ca,
            sm2_cert,
            sm2_key,
            rsa_ca,
            rsa_cert,
            rsa_key,
        }),
        _ => Err("demo PKI incomplete".into()),
    }
}

fn print_table(r: &DemoResult, failures: &[String], kept: Option<&Path>) {
    let row = |side: &Side| -> Vec<String> {
        let c = &side.client;
        let n = &c.negotiated;
        let cert = c.server_certificate.as_ref();
        vec![
            n.protocol.clone(),
            n.suite.clone(),
            n.group.clone().unwrap_or_else(|| "-".into()),
            n.signature_scheme.clone().unwrap_or_else(|| "-".into()),
            cert.map_or("-".into(), |c| c.key_type.clone()),
            cert.map_or("-".into(), |c| c.subject.clone()),
            cert.map_or("-".into(), |c| c.issuer.clone()),
            side.server
                .as_ref()
                .and_then(|s| s.stack)
                .unwrap_or("-")
                .to_string(),
            match &c.reply {
                Some(reply) if reply == MESSAGE => "ok".into(),
                other => format!("{other:?}"),
            },
        ]
    };
    let labels = [
        "protocol",
        "cipher suite",
        "key exchange group",
        "signature scheme",
        "certificate key",
        "certificate subject",
        "certificate issuer",
        "server stack",
        "echo",
    ];
    let (gm, st) = (row(&r.gm), row(&r.standard));
    let w0 = labels.iter().map(|l| l.len()).max().unwrap_or(0);
    let w1 = gm
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max("GM client".len());
    crate::out!(
        "gmkit demo: one dual-stack server on {}",
        r.gm.client.address
    );
    crate::out!("");
    crate::out!(
        "{:w0$}   {:w1$}   standard client (aws-lc-rs)",
        "",
        "GM client"
    );
    for ((label, a), b) in labels.iter().zip(&gm).zip(&st) {
        crate::out!("{label:w0$}   {a:w1$}   {b}");
    }
    crate::out!("");
    if let Some(dir) = kept {
        crate::out!("certificates and keys kept in {}", dir.display());
    }
    if failures.is_empty() {
        crate::out!("OK: GM client got SM4/curveSM2/SM2, standard client got a standard suite and the RSA certificate.");
    } else {
        crate::out!("FAILED:");
        for f in failures {
            crate::out!("  {f}");
        }
    }
}
