//! Issue 4, must show: the system `openssl s_client` (OpenSSL 3, no SM
//! suites) connects to `gmkit serve` and gets a standard suite and the RSA
//! certificate, over TLS 1.3 and over TLS 1.2, while GM clients on the same
//! port get RFC 8998.

mod serve_support;

use std::process::Command;
use std::time::Duration;

use serve_support::{connect_json, dual_args, make_pki, run_bounded, strs, Server, TempDir};

fn s_client(dir: &TempDir, server: &Server, version: &str) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &server.addr(),
        "-servername",
        "localhost",
    ])
    .args([
        "-CAfile",
        &dir.p("rsa-ca.pem"),
        "-verify_return_error",
        version,
    ]);
    let out = run_bounded(cmd, Duration::from_secs(20));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openssl s_client {version} failed:\n{text}"
    );
    text
}

#[test]
fn openssl_s_client_gets_a_standard_suite_and_the_rsa_certificate_over_tls13_and_tls12() {
    if Command::new("openssl").arg("version").output().is_err() {
        panic!("the openssl CLI is required for this test");
    }
    let dir = TempDir::new("openssl");
    make_pki(&dir);
    let mut server = Server::start(&strs(&dual_args(&dir)));

    // TLS 1.3.
    let text = s_client(&dir, &server, "-tls1_3");
    assert!(text.contains("New, TLSv1.3, Cipher is TLS_AES_"), "{text}");
    assert!(text.contains("OU = RSA server"), "{text}");
    assert!(text.contains("Server public key is 2048 bit"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    let rec = server.next_connection();
    assert_eq!(rec["ok"], true, "{rec}");
    assert_eq!(rec["stack"], "standard");
    assert_eq!(rec["protocol"], "TLSv1.3");
    assert!(
        rec["suite"].as_str().unwrap().starts_with("TLS_AES_"),
        "{rec}"
    );
    assert_eq!(rec["certificate"]["key_type"], "RSA-2048");

    // TLS 1.2.
    let text = s_client(&dir, &server, "-tls1_2");
    assert!(text.contains("Protocol  : TLSv1.2"), "{text}");
    assert!(
        text.contains("Cipher is ECDHE-RSA-AES256-GCM-SHA384")
            || text.contains("Cipher is ECDHE-RSA-AES128-GCM-SHA256")
            || text.contains("Cipher is ECDHE-RSA-CHACHA20-POLY1305"),
        "{text}"
    );
    assert!(text.contains("OU = RSA server"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    let rec = server.next_connection();
    assert_eq!(rec["stack"], "standard");
    assert_eq!(rec["protocol"], "TLSv1.2");
    assert!(
        rec["suite"]
            .as_str()
            .unwrap()
            .starts_with("TLS_ECDHE_RSA_WITH_"),
        "{rec}"
    );

    // Meanwhile a GM client on the same port gets RFC 8998.
    let (code, v, err) = connect_json(&[&server.localhost(), "--ca", &dir.p("sm2-ca.pem")]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["suite"], "TLS_SM4_GCM_SM3");
    assert_eq!(v["group"], "curveSM2");
    assert_eq!(v["server_certificate"]["key_type"], "SM2");
}

#[test]
fn gm_only_server_refuses_openssl_and_keeps_serving() {
    let dir = TempDir::new("openssl-gm-only");
    make_pki(&dir);
    let mut server = Server::start(&[
        "--sm2-cert",
        &dir.p("sm2-server.pem"),
        "--sm2-key",
        &dir.p("sm2-server.key"),
        "--policy",
        "gm-only",
    ]);
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect", &server.addr(), "-tls1_3"]);
    let out = run_bounded(cmd, Duration::from_secs(20));
    assert!(!out.status.success());
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");
    assert_eq!(rec["stack"], "gm");
    assert!(
        rec["error"].as_str().unwrap().contains("TLS handshake"),
        "{rec}"
    );

    // Still up for GM clients.
    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--policy",
        "gm-only",
        "--send",
        "still here",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["reply"], "still here");
}
