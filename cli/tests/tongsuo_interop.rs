//! Issue 4, must show: an independent TLS 1.3 SM peer handshakes with
//! `gmkit serve` and with `gmkit connect`, both directions, TLS_SM4_GCM_SM3
//! and TLS_SM4_CCM_SM3, with and without client certificates.
//!
//! The peer is BabaSSL 8.3.2 (OpenSSL 1.1.1 based, RFC 8998 suites) as
//! statically linked into the `tongsuopy==1.0.1` wheel, driven through its
//! libssl API by `tests/tongsuo/peer.py` (ctypes). It is configured TLS 1.3
//! only, group SM2 (= curveSM2) only, signature algorithm sm2sig_sm3 only,
//! with `SSL_CTX_enable_sm_tls13_strict`, so nothing but RFC 8998 can be
//! negotiated.
//!
//! Needs `python3 -m pip install tongsuopy==1.0.1` (`.ci/run` does it). Set
//! GMKIT_SKIP_TONGSUO=1 to skip these tests where it cannot be installed.

mod serve_support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serve_support::{
    connect_json, dual_args, make_pki, run_bounded, strs, LineChild, Server, TempDir,
};

const GCM: &str = "TLS_SM4_GCM_SM3";
const CCM: &str = "TLS_SM4_CCM_SM3";

fn python() -> String {
    std::env::var("GMKIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tongsuo/peer.py")
}

/// True if the peer is usable; false (skip) only with GMKIT_SKIP_TONGSUO=1.
fn tongsuo_available() -> bool {
    let mut cmd = Command::new(python());
    cmd.args(["-c", "import tongsuopy"]);
    let ok = match cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => {
            let mut child = child;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status.success();
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break false;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Err(_) => false,
    };
    if ok {
        return true;
    }
    if std::env::var("GMKIT_SKIP_TONGSUO").as_deref() == Ok("1") {
        eprintln!(
            "skipped: tongsuopy not importable by {} and GMKIT_SKIP_TONGSUO=1",
            python()
        );
        return false;
    }
    panic!(
        "the Tongsuo interop tests need tongsuopy: run `{} -m pip install tongsuopy==1.0.1` \
         (or set GMKIT_PYTHON to a python that has it, or GMKIT_SKIP_TONGSUO=1 to skip)",
        python()
    );
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `peer.py client ...` against 127.0.0.1:port.
fn tongsuo_client(port: u16, args: &[&str]) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg(peer_script())
        .args(["client", "--port", &port.to_string()])
        .args(["--timeout", "10", "--deadline", "40"])
        .args(args);
    run_bounded(cmd, Duration::from_secs(45))
}

/// A running `peer.py server` on 127.0.0.1 (free port). Killed on drop.
struct TongsuoServer {
    proc: LineChild,
    port: u16,
}

impl TongsuoServer {
    fn start(args: &[&str]) -> Self {
        let mut cmd = Command::new(python());
        cmd.arg(peer_script())
            .args([
                "server",
                "--port",
                "0",
                "--timeout",
                "10",
                "--deadline",
                "60",
            ])
            .args(args);
        let mut proc = LineChild::spawn(cmd);
        let ready = proc.next_line("Tongsuo server READY", |l| l.starts_with("READY"));
        let port = ready["READY ".len()..].trim().parse().expect("port");
        TongsuoServer { proc, port }
    }

    /// Waits (bounded) for the server to exit after its connections:
    /// (exit code, every stdout line, stderr).
    fn finish(mut self) -> (Option<i32>, String, String) {
        let (_, out, _) = self.proc.wait_exit(Duration::from_secs(20));
        (
            out.status.code(),
            self.proc.seen.join("\n"),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// (a) Tongsuo client -> `gmkit serve --policy gm-only`.
fn tongsuo_client_to_gmkit_serve(suite: &str, client_cert: bool) {
    if !tongsuo_available() {
        return;
    }
    let dir = TempDir::new("tongsuo-a");
    make_pki(&dir);
    let (sm2_cert, sm2_key, ca) = (
        dir.p("sm2-server.pem"),
        dir.p("sm2-server.key"),
        dir.p("sm2-ca.pem"),
    );
    let mut args = vec![
        "--sm2-cert",
        &sm2_cert,
        "--sm2-key",
        &sm2_key,
        "--policy",
        "gm-only",
    ];
    if client_cert {
        args.extend(["--client-ca", &ca]);
    }
    let mut server = Server::start(&args);

    let (ccert, ckey) = (dir.p("sm2-client.pem"), dir.p("sm2-client.key"));
    let send = format!("hello from Tongsuo over {suite}");
    let mut cargs = vec!["--ca", &ca, "--suite", suite, "--send", &send];
    if client_cert {
        cargs.extend(["--cert", &ccert, "--key", &ckey]);
    }
    let out = tongsuo_client(server.port, &cargs);
    let t = text(&out);
    assert!(out.status.success(), "Tongsuo client failed:\n{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("CIPHER {suite}\n")), "{t}");
    assert!(stdout.contains("VERSION TLSv1.3\n"), "{t}");
    assert!(stdout.contains("PEER_SIG_TYPE SM2\n"), "{t}");
    assert!(stdout.contains("VERIFY 0\n"), "{t}");
    assert!(stdout.contains(&format!("REPLY {send}\n")), "{t}");

    let rec = server.next_connection();
    assert_eq!(rec["ok"], true, "{rec}");
    assert_eq!(rec["stack"], "gm", "{rec}");
    assert_eq!(rec["protocol"], "TLSv1.3", "{rec}");
    assert_eq!(rec["suite"], suite, "{rec}");
    assert_eq!(rec["group"], "curveSM2", "{rec}");
    assert_eq!(rec["signature_scheme"], "sm2sig_sm3", "{rec}");
    assert_eq!(rec["certificate"]["key_type"], "SM2", "{rec}");
    assert_eq!(rec["bytes"], send.len(), "{rec}");
    if client_cert {
        assert_eq!(rec["client_certificate"]["key_type"], "SM2", "{rec}");
        assert!(
            rec["client_certificate"]["subject"]
                .as_str()
                .unwrap()
                .contains("OU=SM2 client"),
            "{rec}"
        );
    } else {
        assert!(rec["client_certificate"].is_null(), "{rec}");
    }
}

/// (b) `gmkit connect --policy gm-only` -> Tongsuo server.
fn gmkit_connect_to_tongsuo_server(suite: &str, client_cert: bool) {
    if !tongsuo_available() {
        return;
    }
    let dir = TempDir::new("tongsuo-b");
    make_pki(&dir);
    let (sm2_cert, sm2_key, ca) = (
        dir.p("sm2-server.pem"),
        dir.p("sm2-server.key"),
        dir.p("sm2-ca.pem"),
    );
    let mut sargs = vec![
        "--cert", &sm2_cert, "--key", &sm2_key, "--suite", suite, "--count", "1",
    ];
    if client_cert {
        sargs.extend(["--ca", &ca]);
    }
    let server = TongsuoServer::start(&sargs);

    let addr = format!("127.0.0.1:{}", server.port);
    let (ccert, ckey) = (dir.p("sm2-client.pem"), dir.p("sm2-client.key"));
    let send = format!("hello from gmkit over {suite}");
    let mut args = vec![
        &addr[..],
        "--ca",
        &ca,
        "--policy",
        "gm-only",
        "--send",
        &send,
    ];
    if client_cert {
        args.extend(["--cert", &ccert, "--key", &ckey]);
    }
    let (code, v, err) = connect_json(&args);
    let (scode, sout, serr) = server.finish();
    let ctx = format!("gmkit: {v}\n{err}\nTongsuo server ({scode:?}):\n{sout}\n{serr}");
    assert_eq!(code, Some(0), "{ctx}");
    assert_eq!(v["ok"], true, "{ctx}");
    assert_eq!(v["protocol"], "TLSv1.3", "{ctx}");
    assert_eq!(v["suite"], suite, "{ctx}");
    assert_eq!(v["group"], "curveSM2", "{ctx}");
    assert_eq!(v["signature_scheme"], "sm2sig_sm3", "{ctx}");
    assert_eq!(v["server_certificate"]["key_type"], "SM2", "{ctx}");
    assert_eq!(v["reply"], send.as_str(), "{ctx}");
    if client_cert {
        assert_eq!(v["client_certificate"]["key_type"], "SM2", "{ctx}");
    } else {
        assert!(v["client_certificate"].is_null(), "{ctx}");
    }

    assert_eq!(scode, Some(0), "{ctx}");
    assert!(sout.contains(&format!("CIPHER {suite}")), "{ctx}");
    assert!(sout.contains("VERSION TLSv1.3"), "{ctx}");
    assert!(sout.contains(&format!("ECHOED {}", send.len())), "{ctx}");
    assert_eq!(
        sout.contains("CLIENT_CERT /C=CN/O=gmkit tests/OU=SM2 client/CN=localhost verify=0"),
        client_cert,
        "{ctx}"
    );
}

#[test]
fn tongsuo_client_to_gmkit_serve_gcm() {
    tongsuo_client_to_gmkit_serve(GCM, false);
}

#[test]
fn tongsuo_client_to_gmkit_serve_gcm_client_cert() {
    tongsuo_client_to_gmkit_serve(GCM, true);
}

#[test]
fn tongsuo_client_to_gmkit_serve_ccm() {
    tongsuo_client_to_gmkit_serve(CCM, false);
}

#[test]
fn tongsuo_client_to_gmkit_serve_ccm_client_cert() {
    tongsuo_client_to_gmkit_serve(CCM, true);
}

#[test]
fn gmkit_connect_to_tongsuo_server_gcm() {
    gmkit_connect_to_tongsuo_server(GCM, false);
}

#[test]
fn gmkit_connect_to_tongsuo_server_gcm_client_cert() {
    gmkit_connect_to_tongsuo_server(GCM, true);
}

#[test]
fn gmkit_connect_to_tongsuo_server_ccm() {
    gmkit_connect_to_tongsuo_server(CCM, false);
}

#[test]
fn gmkit_connect_to_tongsuo_server_ccm_client_cert() {
    gmkit_connect_to_tongsuo_server(CCM, true);
}

/// The dual-stack (prefer-gm) server recognises Tongsuo's ClientHello as GM,
/// and bulk data (many records each way) survives both AEADs.
#[test]
fn tongsuo_client_gets_gm_from_the_dual_stack_and_bulk_data_round_trips() {
    if !tongsuo_available() {
        return;
    }
    let dir = TempDir::new("tongsuo-dual");
    make_pki(&dir);
    let mut server = Server::start(&strs(&dual_args(&dir)));
    for suite in [GCM, CCM] {
        let out = tongsuo_client(
            server.port,
            &[
                "--ca",
                &dir.p("sm2-ca.pem"),
                "--suite",
                suite,
                "--send",
                "0123456789abcdef",
                "--size",
                "100000",
            ],
        );
        let t = text(&out);
        assert!(out.status.success(), "{t}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(&format!("CIPHER {suite}\n")), "{t}");
        assert!(stdout.contains("REPLY 100000 bytes\n"), "{t}");
        let rec = server.next_connection();
        assert_eq!(rec["ok"], true, "{rec}");
        assert_eq!(rec["stack"], "gm", "{rec}");
        assert_eq!(rec["suite"], suite, "{rec}");
        assert_eq!(rec["group"], "curveSM2", "{rec}");
        assert_eq!(rec["certificate"]["key_type"], "SM2", "{rec}");
        assert_eq!(rec["bytes"], 100000, "{rec}");
    }
}

/// Verification is live on both sides: wrong trust anchors and missing
/// client certificates fail, with the peer's own reason.
#[test]
fn tongsuo_interop_failures_are_real() {
    if !tongsuo_available() {
        return;
    }
    let dir = TempDir::new("tongsuo-neg");
    make_pki(&dir);

    // Tongsuo client trusting another CA refuses gmkit's certificate.
    let mut server = Server::start(&[
        "--sm2-cert",
        &dir.p("sm2-server.pem"),
        "--sm2-key",
        &dir.p("sm2-server.key"),
        "--client-ca",
        &dir.p("sm2-ca.pem"),
        "--policy",
        "gm-only",
    ]);
    let out = tongsuo_client(
        server.port,
        &["--ca", &dir.p("other-ca.pem"), "--send", "x"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("certificate verify failed"), "{t}");
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");

    // gmkit serve requiring a client certificate refuses a Tongsuo client
    // without one.
    let out = tongsuo_client(server.port, &["--ca", &dir.p("sm2-ca.pem"), "--send", "x"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");
    drop(server);

    // Tongsuo server requiring a client certificate refuses gmkit connect
    // without one.
    let tserver = TongsuoServer::start(&[
        "--cert",
        &dir.p("sm2-server.pem"),
        "--key",
        &dir.p("sm2-server.key"),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--count",
        "1",
    ]);
    let addr = format!("127.0.0.1:{}", tserver.port);
    let (code, v, err) = connect_json(&[
        &addr,
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--policy",
        "gm-only",
        "--send",
        "x",
    ]);
    let (scode, sout, serr) = tserver.finish();
    let ctx = format!("gmkit: {v}\n{err}\nTongsuo server ({scode:?}):\n{sout}\n{serr}");
    assert_eq!(code, Some(1), "{ctx}");
    assert_eq!(scode, Some(1), "{ctx}");
    assert!(sout.contains("peer did not return a certificate"), "{ctx}");

    // gmkit connect trusting another CA refuses the Tongsuo server.
    let tserver = TongsuoServer::start(&[
        "--cert",
        &dir.p("sm2-server.pem"),
        "--key",
        &dir.p("sm2-server.key"),
        "--count",
        "1",
    ]);
    let addr = format!("127.0.0.1:{}", tserver.port);
    let (code, v, err) =
        connect_json(&[&addr, "--ca", &dir.p("other-ca.pem"), "--policy", "gm-only"]);
    let (scode, sout, serr) = tserver.finish();
    let ctx = format!("gmkit: {v}\n{err}\nTongsuo server ({scode:?}):\n{sout}\n{serr}");
    assert_eq!(code, Some(1), "{ctx}");
    assert_eq!(v["ok"], false, "{ctx}");
    assert_eq!(scode, Some(1), "{ctx}");
}
