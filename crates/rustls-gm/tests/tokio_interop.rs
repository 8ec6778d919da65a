//! The dual stack over real sockets on 127.0.0.1: tokio-rustls clients on
//! both stacks, and the system `openssl s_client` (OpenSSL 3, no SM suites)
//! negotiating a standard suite over TLS 1.3 and TLS 1.2.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pki, roots};
use rustls::pki_types::ServerName;
use rustls_gm::client::ClientBuilder;
use rustls_gm::server::{DualStack, Stack};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

fn dual_stack() -> Arc<DualStack> {
    // From the PEM files as OpenSSL wrote them (the SM2 key as SEC1
    // "SM2 PRIVATE KEY").
    let p = pki();
    let read = |path: &std::path::Path| std::fs::read(path).unwrap();
    Arc::new(
        DualStack::builder()
            .gm_identity_pem(
                &read(&p.sm2_server.cert_path),
                &read(&p.dir.join("sm2-server-sec1.key")),
            )
            .standard_identity_pem(
                &read(&p.rsa_server.cert_path),
                &read(&p.rsa_server.key_path),
            )
            .build()
            .unwrap(),
    )
}

#[test]
fn pem_identity_errors_surface_at_build() {
    let p = pki();
    let cert = std::fs::read(&p.sm2_server.cert_path).unwrap();
    let e = DualStack::builder()
        .gm_identity_pem(&cert, b"no key here")
        .standard_identity_pem(&cert, b"")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            e,
            rustls_gm::Error::Key {
                source: rustls_gm::KeyError::NoPrivateKey,
                ..
            }
        ),
        "{e}"
    );
    let key = std::fs::read(&p.sm2_server.key_path).unwrap();
    let e = DualStack::builder()
        .gm_identity_pem(b"", &key)
        .policy(rustls_gm::server::Policy::GmOnly)
        .build()
        .unwrap_err();
    assert!(matches!(e, rustls_gm::Error::Config(_)), "{e}");
}

/// Serves up to `n` connections: each gets one line naming its stack. The
/// stacks (or errors) are reported on the channel.
async fn serve(
    n: usize,
) -> (
    std::net::SocketAddr,
    mpsc::UnboundedReceiver<Result<Stack, String>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = dual_stack();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        for _ in 0..n {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let server = Arc::clone(&server);
            let tx = tx.clone();
            tokio::spawn(async move {
                match server.accept(tcp).await {
                    Ok((mut tls, stack)) => {
                        let _ = tls.write_all(format!("{stack:?}\n").as_bytes()).await;
                        let _ = tls.shutdown().await;
                        let _ = tx.send(Ok(stack));
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        }
    });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_clients_on_both_stacks() {
    let p = pki();
    let (addr, mut stacks) = serve(3).await;
    let name = ServerName::try_from("localhost").unwrap();

    // GM-preferring client through the strict `connect` helper.
    let gm = Arc::new(
        ClientBuilder::new(roots(&[&p.sm2_server.ca, &p.rsa_server.ca]))
            .build()
            .unwrap(),
    );
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = rustls_gm::client::connect(Arc::clone(&gm), name.clone(), tcp)
        .await
        .unwrap();
    let mut line = String::new();
    tls.read_to_string(&mut line).await.unwrap();
    assert_eq!(line, "Gm\n");
    assert_eq!(stacks.recv().await.unwrap().unwrap(), Stack::Gm);
    let (_, conn) = tls.get_ref();
    assert!(rustls_gm::suites::is_sm_suite(
        conn.negotiated_cipher_suite().unwrap().suite()
    ));

    // A plain aws-lc-rs tokio-rustls client.
    let std_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(p.rsa_server.roots())
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(std_config))
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    let mut line = String::new();
    tls.read_to_string(&mut line).await.unwrap();
    assert_eq!(line, "Standard\n");
    assert_eq!(stacks.recv().await.unwrap().unwrap(), Stack::Standard);

    // A client that trusts only the RSA CA but prefers GM: the GM stack's
    // SM2 certificate is then untrusted, so the handshake fails (no silent
    // downgrade by the server).
    let wrong_roots = Arc::new(ClientBuilder::new(p.rsa_server.roots()).build().unwrap());
    let tcp = TcpStream::connect(addr).await.unwrap();
    let err = rustls_gm::client::connect(wrong_roots, name, tcp)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("handshake"), "{err}");
    assert!(stacks.recv().await.unwrap().is_err());
}

/// Runs `openssl s_client` with `args` against `addr`, returning its output.
fn s_client(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let p = pki();
    let mut child = Command::new("openssl")
        .arg("s_client")
        .args([
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
            "-brief",
            "-ign_eof",
        ])
        .arg("-CAfile")
        .arg(&p.rsa_server.ca_path)
        .args(["-verify_return_error", "-verify_hostname", "localhost"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("openssl s_client did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "s_client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openssl_s_client_gets_the_standard_stack() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (addr, mut stacks) = rt.block_on(serve(2));

    let out = s_client(addr, &["-tls1_3"]);
    assert!(out.contains("Protocol version: TLSv1.3"), "{out}");
    assert!(out.contains("Ciphersuite: TLS_AES_"), "{out}");
    assert!(out.contains("Verification: OK"), "{out}");
    assert!(out.contains("Standard"), "{out}");
    assert_eq!(
        rt.block_on(stacks.recv()).unwrap().unwrap(),
        Stack::Standard
    );

    let out = s_client(addr, &["-tls1_2"]);
    assert!(out.contains("Protocol version: TLSv1.2"), "{out}");
    assert!(out.contains("Ciphersuite: ECDHE-RSA-"), "{out}");
    assert!(out.contains("Verification: OK"), "{out}");
    assert!(out.contains("Standard"), "{out}");
    assert_eq!(
        rt.block_on(stacks.recv()).unwrap().unwrap(),
        Stack::Standard
    );
}
