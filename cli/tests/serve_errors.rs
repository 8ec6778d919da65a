//! Bad inputs to `gmkit serve` and `gmkit connect`: exit code 2 and a
//! message that names the file and the problem. Nothing panics.

mod serve_support;

use serve_support::{gmkit, make_pki, stderr, TempDir};

/// Runs `gmkit ARGS`, expects exit 2 and every `needles` in stderr.
fn usage_error(args: &[&str], needles: &[&str]) {
    let out = gmkit(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: missing {n:?} in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn serve_rejects_bad_files_with_exit_2() {
    let dir = TempDir::new("errors");
    make_pki(&dir);
    let p = |n: &str| dir.p(n);
    let serve = |extra: &[String]| {
        let mut v: Vec<String> = vec!["serve".into(), "--listen".into(), "127.0.0.1:0".into()];
        v.extend_from_slice(extra);
        v
    };
    let run = |extra: &[&str], needles: &[&str]| {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let args = serve(&extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        usage_error(&refs, needles);
    };

    // Missing files.
    run(
        &[
            "--sm2-cert",
            &p("nope.pem"),
            "--sm2-key",
            &p("sm2-server.key"),
        ],
        &["nope.pem", "No such file"],
    );
    run(
        &[
            "--rsa-cert",
            &p("rsa-server.pem"),
            "--rsa-key",
            &p("nope.key"),
        ],
        &["nope.key"],
    );
    // Garbage PEM.
    run(
        &[
            "--sm2-cert",
            &p("garbage.pem"),
            "--sm2-key",
            &p("sm2-server.key"),
        ],
        &["garbage.pem", "certificate"],
    );
    std::fs::write(
        dir.path("garbage.key"),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    run(
        &[
            "--sm2-cert",
            &p("sm2-server.pem"),
            "--sm2-key",
            &p("garbage.key"),
        ],
        &["garbage.key"],
    );
    std::fs::write(dir.path("empty.key"), "").unwrap();
    std::fs::write(dir.path("text.key"), "just some text\n").unwrap();
    run(
        &[
            "--rsa-cert",
            &p("rsa-server.pem"),
            "--rsa-key",
            &p("text.key"),
        ],
        &["text.key", "no private key"],
    );
    run(
        &[
            "--rsa-cert",
            &p("rsa-server.pem"),
            "--rsa-key",
            &p("empty.key"),
        ],
        &["empty.key", "empty"],
    );
    // The wrong key for the certificate.
    run(
        &[
            "--sm2-cert",
            &p("sm2-server.pem"),
            "--sm2-key",
            &p("sm2-server2.key"),
        ],
        &["does not belong", "sm2-server.pem"],
    );
    // Keys of the wrong kind in each slot.
    run(
        &[
            "--sm2-cert",
            &p("rsa-server.pem"),
            "--sm2-key",
            &p("rsa-server.key"),
        ],
        &["not an SM2 key", "--sm2-cert"],
    );
    run(
        &[
            "--rsa-cert",
            &p("sm2-server.pem"),
            "--rsa-key",
            &p("sm2-server.key"),
        ],
        &["SM2 key", "--rsa-cert"],
    );
    // Policy without the identity it needs.
    run(
        &[
            "--sm2-cert",
            &p("sm2-server.pem"),
            "--sm2-key",
            &p("sm2-server.key"),
            "--policy",
            "prefer-gm",
        ],
        &["--rsa-cert"],
    );
    run(&["--policy", "standard"], &["--rsa-cert"]);
    run(&[], &["--sm2-cert"]);
    // Client CA garbage.
    run(
        &[
            "--sm2-cert",
            &p("sm2-server.pem"),
            "--sm2-key",
            &p("sm2-server.key"),
            "--client-ca",
            &p("garbage.pem"),
        ],
        &["garbage.pem"],
    );
    // Argument errors (clap): also 2.
    usage_error(&["serve", "--listen", "not-an-address"], &["--listen"]);
    usage_error(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sm2-cert",
            &p("sm2-server.pem"),
        ],
        &["--sm2-key"],
    );
    usage_error(
        &["serve", "--listen", "127.0.0.1:0", "--policy", "weird"],
        &["weird"],
    );
}

#[test]
fn connect_rejects_bad_inputs_with_exit_2() {
    let dir = TempDir::new("connect-errors");
    make_pki(&dir);
    let p = |n: &str| dir.p(n);
    usage_error(
        &["connect", "localhost", "--ca", &p("sm2-ca.pem")],
        &["HOST:PORT"],
    );
    usage_error(
        &["connect", "localhost:99999", "--ca", &p("sm2-ca.pem")],
        &["HOST:PORT"],
    );
    usage_error(
        &["connect", "localhost:443", "--ca", &p("nope.pem")],
        &["nope.pem"],
    );
    usage_error(
        &["connect", "localhost:443", "--ca", &p("garbage.pem")],
        &["garbage.pem"],
    );
    usage_error(
        &[
            "connect",
            "localhost:443",
            "--ca",
            &p("sm2-ca.pem"),
            "--cert",
            &p("sm2-client.pem"),
            "--key",
            &p("garbage.pem"),
        ],
        &["garbage.pem"],
    );
    usage_error(
        &[
            "connect",
            "localhost:443",
            "--ca",
            &p("sm2-ca.pem"),
            "--cert",
            &p("sm2-client.pem"),
        ],
        &["--key"],
    );
    usage_error(
        &[
            "connect",
            "localhost:443",
            "--ca",
            &p("sm2-ca.pem"),
            "--server-name",
            "bad name!",
        ],
        &["server name"],
    );
    // JSON mode reports usage errors as JSON.
    let out = gmkit(&["connect", "--json", "localhost:443", "--ca", &p("nope.pem")]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error_kind"], "usage");
}

#[test]
fn connect_failures_exit_1() {
    let dir = TempDir::new("connect-fail");
    make_pki(&dir);
    // Nothing listening: bind a port, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = gmkit(&[
        "connect",
        &format!("127.0.0.1:{port}"),
        "--ca",
        &dir.p("sm2-ca.pem"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("connecting to"), "{}", stderr(&out));
}

#[test]
fn help_documents_exit_codes() {
    for cmd in ["serve", "connect", "demo"] {
        let out = gmkit(&[cmd, "--help"]);
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Exit codes"), "{cmd}: {text}");
    }
}
