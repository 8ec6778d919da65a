//! `gmkit serve` and `gmkit connect` end to end on 127.0.0.1: both stacks,
//! mutual TLS, encrypted keys, hot reload, bad clients, clean shutdown.

mod serve_support;

use std::io::{Read as _, Write as _};
use std::time::Duration;

use serve_support::{
    connect_json, dual_args, echo_gm, gm_client_config, gmkit, install, make_pki, open_gm, stderr,
    stdout, strs, Server, TempDir, PASSWORD,
};

#[test]
fn gm_and_standard_clients_on_one_port() {
    let dir = TempDir::new("both");
    make_pki(&dir);
    let args = dual_args(&dir);
    let mut server = Server::start(&strs(&args));

    // GM-preferring client (the default policy).
    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--send",
        "hello gm",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["protocol"], "TLSv1.3");
    assert_eq!(v["suite"], "TLS_SM4_GCM_SM3");
    assert_eq!(v["group"], "curveSM2");
    assert_eq!(v["signature_scheme"], "sm2sig_sm3");
    assert_eq!(v["server_certificate"]["key_type"], "SM2");
    assert!(v["server_certificate"]["subject"]
        .as_str()
        .unwrap()
        .contains("OU=SM2 server"));
    assert_eq!(v["reply"], "hello gm");
    let rec = server.next_connection();
    assert_eq!(rec["stack"], "gm", "{rec}");
    assert_eq!(rec["suite"], "TLS_SM4_GCM_SM3");
    assert_eq!(rec["group"], "curveSM2");
    assert_eq!(rec["signature_scheme"], "sm2sig_sm3");
    assert_eq!(rec["certificate"]["key_type"], "SM2");
    assert_eq!(rec["client_certificate"], serde_json::Value::Null);
    assert_eq!(rec["bytes"], 8);
    assert!(rec["peer"].as_str().unwrap().starts_with("127.0.0.1:"));

    // Standard client: no SM suites at all.
    let (code, v, err) = connect_json(&[
        &server.addr(),
        "--server-name",
        "localhost",
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--policy",
        "standard",
        "--send",
        "hello std",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["protocol"], "TLSv1.3");
    assert!(v["suite"].as_str().unwrap().starts_with("TLS_AES_"), "{v}");
    assert!(
        v["signature_scheme"]
            .as_str()
            .unwrap()
            .starts_with("rsa_pss"),
        "{v}"
    );
    assert_eq!(v["server_certificate"]["key_type"], "RSA-2048");
    assert_eq!(v["reply"], "hello std");
    let rec = server.next_connection();
    assert_eq!(rec["stack"], "standard", "{rec}");
    assert_eq!(rec["certificate"]["key_type"], "RSA-2048");

    // GM-preferring client against the same port, trusting only the RSA CA:
    // it still gets GM (the server picks by ClientHello), so verification
    // fails: exit 1 with the reason.
    let (code, v, _) = connect_json(&[&server.localhost(), "--ca", &dir.p("rsa-ca.pem")]);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("UnknownIssuer"),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("--ca"), "{v}");

    // Text output.
    let out = gmkit(&[
        "connect",
        &server.localhost(),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--send",
        "hi",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "protocol            TLSv1.3",
        "cipher suite        TLS_SM4_GCM_SM3",
        "group               curveSM2",
        "signature scheme    sm2sig_sm3",
        "  key               SM2",
        "reply               hi",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

#[test]
fn policies_and_strictness() {
    let dir = TempDir::new("policies");
    make_pki(&dir);
    // A standard-only server.
    let mut server = Server::start(&[
        "--rsa-cert",
        &dir.p("rsa-server.pem"),
        "--rsa-key",
        &dir.p("rsa-server.key"),
    ]);
    // A GM-only client cannot talk to it: exit 1.
    let (code, v, _) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--policy",
        "gm-only",
    ]);
    assert_eq!(code, Some(1), "{v}");
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false);
    // A GM-preferring client falls back to the standard suites.
    let (code, v, err) = connect_json(&[&server.localhost(), "--ca", &dir.p("rsa-ca.pem")]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert!(v["suite"].as_str().unwrap().starts_with("TLS_AES_"), "{v}");
    // --no-strict / --strict parse.
    let (code, _, _) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--no-strict",
    ]);
    assert_eq!(code, Some(0));
    let (code, _, _) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--strict",
    ]);
    assert_eq!(code, Some(0));
}

#[test]
fn mutual_tls_on_both_stacks() {
    let dir = TempDir::new("mtls");
    make_pki(&dir);
    let mut args = dual_args(&dir);
    args.extend(["--client-ca".into(), dir.p("client-cas.pem")]);
    let mut server = Server::start(&strs(&args));

    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--cert",
        &dir.p("sm2-client.pem"),
        "--key",
        &dir.p("sm2-client.key"),
        "--send",
        "mtls",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["suite"], "TLS_SM4_GCM_SM3");
    assert_eq!(v["reply"], "mtls");
    let rec = server.next_connection();
    assert_eq!(rec["stack"], "gm");
    assert_eq!(rec["client_certificate"]["key_type"], "SM2", "{rec}");
    assert!(rec["client_certificate"]["subject"]
        .as_str()
        .unwrap()
        .contains("OU=SM2 client"));

    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--policy",
        "standard",
        "--cert",
        &dir.p("rsa-client.pem"),
        "--key",
        &dir.p("rsa-client.key"),
        "--send",
        "mtls",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    let rec = server.next_connection();
    assert_eq!(rec["stack"], "standard");
    assert_eq!(rec["client_certificate"]["key_type"], "RSA-2048", "{rec}");

    // No client certificate: refused, exit 1, and the server logs why.
    let (code, v, _) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--send",
        "x",
    ]);
    assert_eq!(code, Some(1), "{v}");
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");
}

#[test]
fn encrypted_keys_from_password_file_or_environment() {
    let dir = TempDir::new("enc");
    make_pki(&dir);
    std::fs::write(dir.path("pw"), format!("{PASSWORD}\n")).unwrap();
    let args = [
        "--sm2-cert",
        &dir.p("sm2-server.pem"),
        "--sm2-key",
        &dir.p("sm2-server-enc.key"),
        "--rsa-cert",
        &dir.p("rsa-server.pem"),
        "--rsa-key",
        &dir.p("rsa-server-enc.key"),
    ];
    // No password: exit 2, and the message says how to give one.
    let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(&args);
    let out = gmkit(&all);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("encrypted"), "{}", stderr(&out));
    assert!(stderr(&out).contains("GMKIT_PASSWORD"), "{}", stderr(&out));
    // Wrong password: exit 2.
    std::fs::write(dir.path("bad-pw"), "nope").unwrap();
    let mut bad = all.clone();
    let bad_pw = dir.p("bad-pw");
    bad.extend_from_slice(&["--key-password-file", &bad_pw]);
    let out = gmkit(&bad);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let pw = dir.p("pw");
    let mut with_file = args.to_vec();
    with_file.extend_from_slice(&["--key-password-file", &pw]);
    let server = Server::start(&with_file);
    let (code, v, err) = connect_json(&[&server.localhost(), "--ca", &dir.p("sm2-ca.pem")]);
    assert_eq!(code, Some(0), "{v} {err}");
    drop(server);

    let server = Server::start_with_env(&args, &[("GMKIT_PASSWORD", PASSWORD)]);
    let (code, v, err) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--policy",
        "standard",
    ]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["server_certificate"]["key_type"], "RSA-2048");
}

#[test]
fn certificate_files_are_hot_reloaded() {
    let dir = TempDir::new("reload");
    make_pki(&dir);
    // Serve copies, so the test can replace them.
    for f in [
        "sm2-server.pem",
        "sm2-server.key",
        "rsa-server.pem",
        "rsa-server.key",
    ] {
        std::fs::copy(dir.path(f), dir.path(&format!("live-{f}"))).unwrap();
    }
    let mut server = Server::start(&[
        "--sm2-cert",
        &dir.p("live-sm2-server.pem"),
        "--sm2-key",
        &dir.p("live-sm2-server.key"),
        "--rsa-cert",
        &dir.p("live-rsa-server.pem"),
        "--rsa-key",
        &dir.p("live-rsa-server.key"),
        "--reload-interval",
        "0.1",
    ]);
    let subject = |v: &serde_json::Value| {
        v["server_certificate"]["subject"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let gm = |server: &Server| {
        connect_json(&[
            &server.localhost(),
            "--ca",
            &dir.p("sm2-ca.pem"),
            "--send",
            "x",
        ])
    };
    let (code, v, _) = gm(&server);
    assert_eq!(code, Some(0));
    assert!(subject(&v).contains("OU=SM2 server,"), "{v}");
    server.next_connection();

    // A connection opened before the rotation keeps working after it.
    let tls = gm_client_config(&dir.path("sm2-ca.pem"));
    let mut before = open_gm(&tls, &server.addr()).expect("connection before the rotation");
    echo_gm(&mut before, b"before the rotation").unwrap();

    // Atomic rotation of the SM2 pair.
    install(
        &dir.path("sm2-server2.pem"),
        &dir.path("live-sm2-server.pem"),
    );
    install(
        &dir.path("sm2-server2.key"),
        &dir.path("live-sm2-server.key"),
    );
    let ev = server.wait_for(|v| v["event"] == "reload" && v["ok"] == true);
    assert_eq!(ev["stack"], "gm");
    assert_eq!(ev["generation"], 2);
    let (code, v, err) = gm(&server);
    assert_eq!(code, Some(0), "{err}");
    assert!(subject(&v).contains("OU=SM2 server 2"), "{v}");

    // A broken file: reported, the previous certificate keeps serving.
    std::fs::write(dir.path("junk"), "-----BEGIN CERTIFICATE-----\nAAAA").unwrap();
    install(&dir.path("junk"), &dir.path("live-sm2-server.pem"));
    let ev = server.wait_for(|v| v["event"] == "reload" && v["ok"] == false);
    assert_eq!(ev["stack"], "gm");
    assert!(
        ev["error"]
            .as_str()
            .unwrap()
            .contains("live-sm2-server.pem"),
        "{ev}"
    );
    let (code, v, err) = gm(&server);
    assert_eq!(code, Some(0), "{err}");
    assert!(subject(&v).contains("OU=SM2 server 2"), "{v}");

    // A certificate that does not match the key: refused too.
    install(
        &dir.path("sm2-server.pem"),
        &dir.path("live-sm2-server.pem"),
    );
    let ev = server.wait_for(|v| v["event"] == "reload" && v["ok"] == false);
    assert!(
        ev["error"].as_str().unwrap().contains("does not belong"),
        "{ev}"
    );
    let (code, v, _) = gm(&server);
    assert_eq!(code, Some(0));
    assert!(subject(&v).contains("OU=SM2 server 2"), "{v}");

    // The RSA identity reloads the same way (swap in the SM2 pair: refused).
    install(
        &dir.path("sm2-server.pem"),
        &dir.path("live-rsa-server.pem"),
    );
    install(
        &dir.path("sm2-server.key"),
        &dir.path("live-rsa-server.key"),
    );
    let ev = server.wait_for(|v| v["event"] == "reload" && v["stack"] == "standard");
    assert_eq!(ev["ok"], false, "{ev}");
    let (code, v, _) = connect_json(&[
        &server.localhost(),
        "--ca",
        &dir.p("rsa-ca.pem"),
        "--policy",
        "standard",
    ]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["server_certificate"]["key_type"], "RSA-2048");

    // The connection opened before the rotation still works.
    echo_gm(&mut before, b"after the rotation").unwrap();
    before.conn.send_close_notify();
    let _ = before.flush();
    drop(before);
    let rec = server.wait_for(|v| v["event"] == "connection" && v["bytes"] == 37);
    assert!(
        rec["certificate"]["subject"]
            .as_str()
            .unwrap()
            .contains("OU=SM2 server,"),
        "{rec}"
    );
}

#[test]
fn bad_clients_are_logged_and_the_server_keeps_going() {
    let dir = TempDir::new("bad-clients");
    make_pki(&dir);
    let args = dual_args(&dir);
    let mut server = Server::start(&strs(&args));

    // Plain HTTP at a TLS port.
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    tcp.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let _ = tcp.read(&mut [0u8; 64]);
    drop(tcp);
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false);
    assert!(
        rec["error"].as_str().unwrap().contains("ClientHello"),
        "{rec}"
    );

    // Connect and hang up without a byte.
    drop(std::net::TcpStream::connect(server.addr()).unwrap());
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");

    // A truncated ClientHello, then EOF.
    let mut tcp = std::net::TcpStream::connect(server.addr()).unwrap();
    tcp.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00])
        .unwrap();
    drop(tcp);
    let rec = server.next_connection();
    assert_eq!(rec["ok"], false, "{rec}");

    // Still serving.
    let (code, v, err) = connect_json(&[&server.localhost(), "--ca", &dir.p("sm2-ca.pem")]);
    assert_eq!(code, Some(0), "{v} {err}");
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_cleanly() {
    let dir = TempDir::new("sigterm");
    make_pki(&dir);
    let args = dual_args(&dir);
    let server = Server::start(&strs(&args));
    // An idle connection open at shutdown.
    let _idle = std::net::TcpStream::connect(server.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (status, rest) = server.terminate();
    assert_eq!(status.code(), Some(0), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("\"shutdown\"")), "{rest:?}");
}

#[test]
fn text_log_has_one_line_per_connection() {
    let dir = TempDir::new("text");
    make_pki(&dir);
    let args = dual_args(&dir);
    // Start in text mode by hand (the helper uses --json).
    let mut cmd = std::process::Command::new(serve_support::BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    use std::io::BufRead as _;
    out.read_line(&mut first).unwrap();
    let port = first
        .split_whitespace()
        .find_map(|w| w.strip_prefix("127.0.0.1:"))
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let (code, _, _) = connect_json(&[
        &format!("localhost:{port}"),
        "--ca",
        &dir.p("sm2-ca.pem"),
        "--send",
        "abc",
    ]);
    assert_eq!(code, Some(0));
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    for want in [
        " conn peer=127.0.0.1:",
        "stack=gm",
        "protocol=TLSv1.3",
        "suite=TLS_SM4_GCM_SM3",
        "group=curveSM2",
        "sig=sm2sig_sm3",
        "cert=\"CN=localhost,OU=SM2 server,O=gmkit tests,C=CN\"",
        "cert_key=SM2",
        "client_cert=-",
        "bytes=3",
    ] {
        assert!(line.contains(want), "missing {want:?} in {line}");
    }
}
