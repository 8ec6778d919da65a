//! `gmkit cfca` and `gmkit rotate` as an operator (or cron) runs them:
//! outputs, JSON, and the documented exit statuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gmkit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gmkit"))
        .current_dir(dir)
        .args(args)
        .env_remove("GMKIT_PASSWORD")
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gmkit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/gm-pki/tests/data/cfca")
        .join(name)
}

#[test]
fn cfca_import_export_round_trip_and_exit_codes() {
    let dir = scratch("cfca");
    std::fs::write(dir.join("pw"), "123456\n").unwrap();
    std::fs::write(dir.join("bad"), "654321\n").unwrap();
    let sample = fixture("sadk_sample.sm2");
    let sample = sample.to_str().unwrap();

    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            sample,
            "--password-file",
            "pw",
            "--key-out",
            "k.pem",
            "--cert-out",
            "c.pem",
            "--json",
        ],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["certificate"]["issuer"]
        .as_str()
        .unwrap()
        .contains("CFCA TEST SM2 OCA1"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.join("k.pem"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );

    // Wrong password, existing outputs, no password at all: exit 2.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            sample,
            "--password-file",
            "bad",
            "--key-out",
            "k2.pem",
            "--cert-out",
            "c2.pem",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong password"));
    assert!(!dir.join("k2.pem").exists());
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            sample,
            "--password-file",
            "pw",
            "--key-out",
            "k.pem",
            "--cert-out",
            "c.pem",
        ],
    );
    assert_eq!(code(&o), 2);
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            sample,
            "--key-out",
            "k3.pem",
            "--cert-out",
            "c3.pem",
        ],
    );
    assert_eq!(code(&o), 2);
    // No password option on the command line exists at all.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            sample,
            "--password",
            "123456",
            "--key-out",
            "k3.pem",
            "--cert-out",
            "c3.pem",
        ],
    );
    assert_eq!(code(&o), 2);

    // Export with the same password: the CFCA file comes back (base64,
    // byte-identical after removing line breaks), with the warning.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "export",
            "--key",
            "k.pem",
            "--cert",
            "c.pem",
            "--password-file",
            "pw",
            "--out",
            "x.sm2",
            "--base64",
        ],
    );
    assert_eq!(code(&o), 0);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no salt"));
    let flat = |p: &Path| -> String {
        std::fs::read_to_string(p)
            .unwrap()
            .split_whitespace()
            .collect()
    };
    assert_eq!(flat(&dir.join("x.sm2")), flat(Path::new(sample)));
    // Binary export, re-import.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "export",
            "--key",
            "k.pem",
            "--cert",
            "c.pem",
            "--password-file",
            "bad",
            "--out",
            "x.der",
        ],
    );
    assert_eq!(code(&o), 0);
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "import",
            "x.der",
            "--password-file",
            "bad",
            "--key-out",
            "k4.pem",
            "--cert-out",
            "c4.pem",
        ],
    );
    assert_eq!(code(&o), 0);
    assert_eq!(
        std::fs::read(dir.join("k4.pem")).unwrap(),
        std::fs::read(dir.join("k.pem")).unwrap()
    );

    // A key that is not the certificate's.
    let o = gmkit(&dir, &["key", "gen", "--alg", "sm2", "--out", "other.pem"]);
    assert_eq!(code(&o), 0);
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "export",
            "--key",
            "other.pem",
            "--cert",
            "c.pem",
            "--password-file",
            "pw",
            "--out",
            "y.sm2",
        ],
    );
    assert_eq!(code(&o), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cfca_dual_csr_and_escrow_decrypt() {
    let dir = scratch("dual");
    std::fs::write(dir.join("pw"), "111111\n").unwrap();
    assert_eq!(
        code(&gmkit(
            &dir,
            &["key", "gen", "--alg", "sm2", "--out", "sign.pem"]
        )),
        0
    );
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "csr",
            "--dual",
            "--key",
            "sign.pem",
            "--subject",
            "CN=certRequisition,O=CFCA TEST CA,C=CN",
            "--password-file",
            "pw",
            "--out",
            "req.csr",
            "--temp-key-out",
            "tmp.pem",
        ],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let o = gmkit(&dir, &["cfca", "show-csr", "req.csr", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dual"], true);
    assert!(v["subject"].as_str().unwrap().contains("certRequisition"));
    // Without --dual: usage.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "csr",
            "--key",
            "sign.pem",
            "--subject",
            "CN=x",
            "--password-file",
            "pw",
            "--out",
            "r2.csr",
            "--temp-key-out",
            "t2.pem",
        ],
    );
    assert_eq!(code(&o), 2);

    // CFCA's response from the gmsm fixtures, with its temporary key.
    let tmp_hex = std::fs::read_to_string(fixture("gmsm_escrow_temp_key.hex")).unwrap();
    let tmp = gm_sm2::PrivateKey::from_bytes(&hex_decode(tmp_hex.trim())).unwrap();
    std::fs::write(dir.join("gmsm-tmp.pem"), tmp.to_pkcs8_pem().as_bytes()).unwrap();
    let resp = fixture("gmsm_escrow_commas.txt");
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "escrow-decrypt",
            resp.to_str().unwrap(),
            "--temp-key",
            "gmsm-tmp.pem",
            "--out",
            "enc.pem",
        ],
    );
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    let enc = gm_sm2::PrivateKey::load(&std::fs::read(dir.join("enc.pem")).unwrap(), None).unwrap();
    assert_eq!(
        hex(&enc.to_bytes()[..]),
        "f6e02c941a0dfdac58d8b3b1bc1bd136f179741b7465ebc7b0b25bb381840a3b"
    );
    // The wrong temporary key: exit 2 and no output file.
    let o = gmkit(
        &dir,
        &[
            "cfca",
            "escrow-decrypt",
            resp.to_str().unwrap(),
            "--temp-key",
            "tmp.pem",
            "--out",
            "enc2.pem",
        ],
    );
    assert_eq!(code(&o), 2);
    assert!(!dir.join("enc2.pem").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn rotate_plan_apply_rollback_exit_codes() {
    let dir = scratch("rotate");
    assert_eq!(
        code(&gmkit(
            &dir,
            &[
                "ca",
                "init",
                "--dir",
                "ca",
                "--subject",
                "CN=CLI Test Root,C=CN"
            ]
        )),
        0
    );
    std::fs::write(
        dir.join("rotate.toml"),
        r#"
[[cert]]
name = "gw"
cert = "live/gw.crt"
key = "live/gw.key"
chain = "live/chain.crt"
renew_before_days = 30
subject = "CN=gw.example.cn,O=Bank,C=CN"
sans = ["DNS:gw.example.cn"]
issuer = "local-ca"
ca_dir = "ca"
hook = "echo reload $GMKIT_ROTATE_VERSION >> hook.log"
"#,
    )
    .unwrap();
    let cfg = ["--config", "rotate.toml"];
    let run = |sub: &str, extra: &[&str]| {
        let mut args = vec!["rotate", sub];
        args.extend_from_slice(&cfg);
        args.extend_from_slice(extra);
        gmkit(&dir, &args)
    };
    // Missing: renewal needed.
    let o = run("plan", &["--json"]);
    assert_eq!(code(&o), 3);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"][0]["status"], "missing");
    assert_eq!(v["renewal_needed"], true);
    // Dry run: nothing written, still due.
    assert_eq!(code(&run("apply", &["--dry-run"])), 0);
    assert!(!dir.join("live/gw.crt").exists());
    assert!(!dir.join("hook.log").exists());
    // Apply, then all is well.
    let o = run("apply", &["--json"]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stdout));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"][0]["action"], "renewed");
    assert_eq!(v["items"][0]["hook"]["success"], true);
    assert_eq!(code(&run("plan", &[])), 0);
    assert_eq!(code(&run("apply", &["--force"])), 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("hook.log")).unwrap(),
        "reload 1\nreload 2\n"
    );
    // Rollback to v1, then nothing older: exit 1.
    let o = run("rollback", &["--json"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"][0]["version"], 1);
    assert_eq!(code(&run("rollback", &["--name", "gw"])), 1);
    // Usage errors: 2.
    assert_eq!(code(&run("plan", &["--name", "nope"])), 2);
    assert_eq!(
        code(&gmkit(
            &dir,
            &["rotate", "plan", "--config", "missing.toml"]
        )),
        2
    );
    assert_eq!(
        code(&run("install", &["--name", "gw", "--cert", "live/gw.crt"])),
        2
    );
    // A failing hook: the switch happens, exit 1, plan asks for attention (3).
    let text = std::fs::read_to_string(dir.join("rotate.toml")).unwrap();
    std::fs::write(
        dir.join("rotate.toml"),
        text.replace("echo reload $GMKIT_ROTATE_VERSION >> hook.log", "exit 4"),
    )
    .unwrap();
    let o = run("apply", &["--force", "--json"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["items"][0]["action"], "renewed");
    assert_eq!(v["items"][0]["hook"]["exit_code"], 4);
    assert_eq!(code(&run("plan", &[])), 3);
    let _ = std::fs::remove_dir_all(&dir);
}
