//! `gmkit key|csr|ca|cert`: end-to-end through the built binary, with exit
//! codes (0 ok, 1 failed, 2 usage/bad input) and JSON output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn gmkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gmkit"))
        .args(args)
        .current_dir(dir)
        .env_remove("GMKIT_PASSWORD")
        .output()
        .expect("run gmkit")
}

fn run(dir: &Path, args: &[&str], code: i32) -> Output {
    let out = gmkit(dir, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "gmkit {}\nstdout: {}\nstderr: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// A scratch directory, removed when the test passes (kept for inspection
/// when it fails).
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("gmkit-cli-pki-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

#[test]
fn full_flow_sm2() {
    let d = scratch("flow");
    run(
        &d,
        &[
            "ca",
            "init",
            "--dir",
            "root",
            "--subject",
            "CN=CLI Root,O=测试,C=CN",
            "--days",
            "3650",
        ],
        0,
    );
    let out = run(
        &d,
        &[
            "ca",
            "init",
            "--dir",
            "sub",
            "--parent",
            "root",
            "--subject",
            "CN=CLI Sub,C=CN",
            "--days",
            "1000",
            "--json",
        ],
        0,
    );
    let v = json(&out);
    assert_eq!(v["ok"], true);
    assert_eq!(v["certificate"]["is_ca"], true);
    assert_eq!(v["certificate"]["issuer"], "CN=CLI Root, O=测试, C=CN");

    run(
        &d,
        &["key", "gen", "--alg", "sm2", "--out", "server.key"],
        0,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    run(
        &d,
        &[
            "csr",
            "new",
            "--key",
            "server.key",
            "--subject",
            "CN=www.example.cn,O=Example,C=CN",
            "--san",
            "DNS:www.example.cn",
            "--san",
            "IP:10.0.0.1",
            "--out",
            "server.csr",
        ],
        0,
    );
    let v = json(&run(&d, &["csr", "show", "server.csr", "--json"], 0));
    assert_eq!(v["signature_ok"], true);
    assert_eq!(
        v["sans"],
        serde_json::json!(["DNS:www.example.cn", "IP:10.0.0.1"])
    );

    let v = json(&run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "sub",
            "--csr",
            "server.csr",
            "--profile",
            "server",
            "--days",
            "90",
            "--out",
            "server.pem",
            "--fullchain-out",
            "fullchain.pem",
            "--json",
        ],
        0,
    ));
    assert_eq!(v["certificate"]["days_left"], 90);

    // cert show: text and JSON.
    let out = run(&d, &["cert", "show", "server.pem"], 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Signature Algorithm: SM2-with-SM3"), "{text}");
    assert!(text.contains("90 days left"), "{text}");
    let v = json(&run(&d, &["cert", "show", "server.pem", "--json"], 0));
    for f in [
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "days_left",
        "key_alg",
        "sig_alg",
        "sans",
        "key_usage",
        "is_ca",
    ] {
        assert!(v.get(f).is_some(), "{f}: {v}");
    }
    assert_eq!(v["key_alg"], "SM2");
    assert_eq!(
        v["sans"],
        serde_json::json!(["DNS:www.example.cn", "IP:10.0.0.1"])
    );
    let all = json(&run(
        &d,
        &["cert", "show", "fullchain.pem", "--all", "--json"],
        0,
    ));
    assert_eq!(all.as_array().unwrap().len(), 2);

    // cert verify: OK with the chain inside the file, or with --chain.
    let out = run(
        &d,
        &[
            "cert",
            "verify",
            "fullchain.pem",
            "--roots",
            "root/ca.crt",
            "--name",
            "www.example.cn",
        ],
        0,
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "server.pem",
            "--chain",
            "sub/ca.crt",
            "--roots",
            "root/ca.crt",
            "--name",
            "10.0.0.1",
            "--json",
        ],
        0,
    ));
    assert_eq!(v["ok"], true);
    assert_eq!(v["chain"].as_array().unwrap().len(), 3);

    // Failures: exit 1 with a reason.
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "fullchain.pem",
            "--roots",
            "root/ca.crt",
            "--name",
            "evil.example.cn",
            "--json",
        ],
        1,
    ));
    assert_eq!(v["reason"], "name_mismatch");
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "server.pem",
            "--roots",
            "root/ca.crt",
            "--json",
        ],
        1,
    ));
    assert_eq!(v["reason"], "unknown_issuer");
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "fullchain.pem",
            "--roots",
            "root/ca.crt",
            "--sm2-id",
            "other",
            "--json",
        ],
        1,
    ));
    assert_eq!(v["reason"], "wrong_sm2_id", "{v}");
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "fullchain.pem",
            "--roots",
            "root/ca.crt",
            "--min-days",
            "100",
            "--json",
        ],
        1,
    ));
    assert_eq!(v["reason"], "expiring_soon");
    let out = run(
        &d,
        &[
            "cert",
            "verify",
            "fullchain.pem",
            "--roots",
            "root/ca.crt",
            "--name",
            "evil.example.cn",
        ],
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("name mismatch"));

    // Refuses to overwrite without --force (usage error), then with it.
    run(&d, &["key", "gen", "--out", "server.key"], 2);
    run(&d, &["key", "gen", "--out", "server.key", "--force"], 0);
    run(
        &d,
        &["ca", "init", "--dir", "root", "--subject", "CN=Again"],
        2,
    );
}

/// Outputs written together are published together: when the second one
/// cannot be written, the first is not left new (created, or replaced with
/// --force), and the error names the file that failed.
#[test]
fn outputs_are_all_or_nothing() {
    let d = scratch("all-or-nothing");
    // A non-empty directory where the public key should go.
    std::fs::create_dir_all(d.join("pub.pem/inside")).unwrap();
    let out = run(
        &d,
        &[
            "key", "gen", "--out", "k.pem", "--pubout", "pub.pem", "--force",
        ],
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pub.pem"));
    assert!(!d.join("k.pem").exists(), "the key was left behind");

    run(&d, &["key", "gen", "--out", "k.pem"], 0);
    let before = std::fs::read(d.join("k.pem")).unwrap();
    run(
        &d,
        &[
            "key", "gen", "--out", "k.pem", "--pubout", "pub.pem", "--force",
        ],
        1,
    );
    assert_eq!(
        std::fs::read(d.join("k.pem")).unwrap(),
        before,
        "the old key was not restored"
    );
    let names: Vec<_> = std::fs::read_dir(&*d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(".tmp.")),
        "temporary files left: {names:?}"
    );
}

#[test]
fn encrypted_keys_and_passwords() {
    let d = scratch("pw");
    std::fs::write(d.join("pw.txt"), "correct horse\n").unwrap();
    std::fs::write(d.join("wrong.txt"), "wrong\n").unwrap();
    for alg in ["sm2", "rsa", "p256"] {
        let key = format!("{alg}.key");
        run(
            &d,
            &[
                "key",
                "gen",
                "--alg",
                alg,
                "--out",
                &key,
                "--password-file",
                "pw.txt",
                "--pubout",
                &format!("{alg}.pub"),
            ],
            0,
        );
        let pem = std::fs::read_to_string(d.join(&key)).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let csr = format!("{alg}.csr");
        // No password: bad input (2). Wrong password: 2.
        run(
            &d,
            &[
                "csr",
                "new",
                "--key",
                &key,
                "--subject",
                "CN=a.example",
                "--out",
                &csr,
            ],
            2,
        );
        run(
            &d,
            &[
                "csr",
                "new",
                "--key",
                &key,
                "--subject",
                "CN=a.example",
                "--out",
                &csr,
                "--password-file",
                "wrong.txt",
            ],
            2,
        );
        run(
            &d,
            &[
                "csr",
                "new",
                "--key",
                &key,
                "--subject",
                "CN=a.example",
                "--out",
                &csr,
                "--password-file",
                "pw.txt",
            ],
            0,
        );
        // The environment variable works too.
        let out = Command::new(env!("CARGO_BIN_EXE_gmkit"))
            .args([
                "csr",
                "new",
                "--key",
                &key,
                "--subject",
                "CN=b.example",
                "--out",
                &format!("{alg}-env.csr"),
            ])
            .current_dir(&*d)
            .env("GMKIT_PASSWORD", "correct horse")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A CA with an encrypted key.
    run(
        &d,
        &[
            "ca",
            "init",
            "--dir",
            "ca",
            "--subject",
            "CN=PW Root",
            "--alg",
            "p256",
            "--password-file",
            "pw.txt",
        ],
        0,
    );
    run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--csr",
            "sm2.csr",
            "--profile",
            "client",
            "--out",
            "c.pem",
        ],
        2,
    );
    run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--csr",
            "sm2.csr",
            "--profile",
            "client",
            "--out",
            "c.pem",
            "--password-file",
            "pw.txt",
        ],
        0,
    );
    let v = json(&run(&d, &["cert", "show", "c.pem", "--json"], 0));
    assert_eq!(v["sig_alg"], "ecdsa-with-SHA256");
    assert_eq!(v["ext_key_usage"], serde_json::json!(["clientAuth"]));
}

#[test]
fn profiles_and_fallback_algorithms() {
    let d = scratch("profiles");
    run(
        &d,
        &[
            "ca",
            "init",
            "--dir",
            "ca",
            "--subject",
            "CN=Prof Root,C=CN",
        ],
        0,
    );
    run(&d, &["key", "gen", "--out", "k"], 0);
    run(
        &d,
        &[
            "csr",
            "new",
            "--key",
            "k",
            "--subject",
            "CN=dual.example.cn,C=CN",
            "--out",
            "r.csr",
        ],
        0,
    );
    for (profile, ku) in [
        (
            "sign",
            serde_json::json!(["digitalSignature", "nonRepudiation"]),
        ),
        (
            "enc",
            serde_json::json!(["keyEncipherment", "dataEncipherment", "keyAgreement"]),
        ),
        ("client", serde_json::json!(["digitalSignature"])),
        ("server", serde_json::json!(["digitalSignature"])),
    ] {
        let out = format!("{profile}.pem");
        run(
            &d,
            &[
                "ca",
                "issue",
                "--dir",
                "ca",
                "--csr",
                "r.csr",
                "--profile",
                profile,
                "--out",
                &out,
            ],
            0,
        );
        let v = json(&run(&d, &["cert", "show", &out, "--json"], 0));
        assert_eq!(v["key_usage"], ku, "{profile}");
    }
    // The encryption certificate is refused for TLS server use.
    let v = json(&run(
        &d,
        &[
            "cert",
            "verify",
            "enc.pem",
            "--roots",
            "ca/ca.crt",
            "--name",
            "dual.example.cn",
            "--json",
        ],
        1,
    ));
    assert_eq!(v["reason"], "key_usage");
    // An RSA CA for the fallback certificates.
    run(
        &d,
        &[
            "ca",
            "init",
            "--dir",
            "rsa-ca",
            "--subject",
            "CN=RSA Root",
            "--alg",
            "rsa",
        ],
        0,
    );
    run(&d, &["key", "gen", "--alg", "rsa", "--out", "rk"], 0);
    run(
        &d,
        &[
            "csr",
            "new",
            "--key",
            "rk",
            "--subject",
            "CN=fallback.example.com",
            "--out",
            "rr.csr",
        ],
        0,
    );
    run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "rsa-ca",
            "--csr",
            "rr.csr",
            "--profile",
            "server",
            "--out",
            "rsa.pem",
        ],
        0,
    );
    run(
        &d,
        &[
            "cert",
            "verify",
            "rsa.pem",
            "--roots",
            "rsa-ca/ca.crt",
            "--name",
            "fallback.example.com",
        ],
        0,
    );
}

#[test]
fn bad_input_is_exit_2() {
    let d = scratch("bad");
    std::fs::write(
        d.join("junk.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    std::fs::write(d.join("empty"), "").unwrap();
    run(&d, &["cert", "show", "missing.pem"], 2);
    run(&d, &["cert", "show", "junk.pem"], 2);
    let v = json(&run(&d, &["cert", "show", "empty", "--json"], 2));
    assert_eq!(v["ok"], false);
    run(&d, &["csr", "show", "junk.pem"], 2);
    run(
        &d,
        &["cert", "verify", "junk.pem", "--roots", "junk.pem"],
        2,
    );
    run(&d, &["key", "gen", "--alg", "dsa", "--out", "x"], 2);
    run(
        &d,
        &["ca", "init", "--dir", "ca", "--subject", "C=China"],
        2,
    );
    run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "nope",
            "--csr",
            "x",
            "--profile",
            "server",
            "--out",
            "y",
        ],
        2,
    );
    run(&d, &["key", "gen", "--out", "k"], 0);
    run(
        &d,
        &[
            "csr",
            "new",
            "--key",
            "k",
            "--subject",
            "CN=x",
            "--san",
            "DNS:bad name",
            "--out",
            "r",
        ],
        2,
    );
    run(&d, &["ca", "issue"], 2);
}

#[test]
fn tampered_csr_is_rejected_with_exit_1() {
    let d = scratch("tamper");
    run(
        &d,
        &["ca", "init", "--dir", "ca", "--subject", "CN=T Root"],
        0,
    );
    run(&d, &["key", "gen", "--out", "k"], 0);
    run(
        &d,
        &[
            "csr",
            "new",
            "--key",
            "k",
            "--subject",
            "CN=victim.example.cn",
            "--out",
            "r.pem",
        ],
        0,
    );
    // DER-level tamper: change the subject.
    let pem = std::fs::read_to_string(d.join("r.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut der = base64_decode(&b64);
    let pos = der.windows(6).position(|w| w == b"victim").unwrap();
    der[pos] = b'V';
    std::fs::write(d.join("bad.der"), &der).unwrap();
    let v = json(&run(&d, &["csr", "show", "bad.der", "--json"], 1));
    assert_eq!(v["reason"], "bad_signature");
    run(
        &d,
        &[
            "ca",
            "issue",
            "--dir",
            "ca",
            "--csr",
            "bad.der",
            "--profile",
            "server",
            "--out",
            "c.pem",
        ],
        1,
    );
    assert!(!d.join("c.pem").exists());
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = T.iter().position(|t| *t == c).unwrap() as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn help_documents_exit_codes() {
    let d = scratch("help");
    for cmd in [
        &["key", "gen", "--help"][..],
        &["csr", "new", "--help"],
        &["ca", "init", "--help"],
        &["ca", "issue", "--help"],
        &["cert", "show", "--help"],
        &["cert", "verify", "--help"],
    ] {
        let out = run(&d, cmd, 0);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Exit status: 0 success; 1"),
            "{cmd:?}: {text}"
        );
    }
}
