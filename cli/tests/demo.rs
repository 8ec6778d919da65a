//! `gmkit demo`: no arguments, no files, exit 0, both columns.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gmkit");

fn run(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gmkit demo");
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gmkit demo overran 90 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn demo_negotiates_gm_and_standard_side_by_side() {
    let out = run(&["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = text
        .lines()
        .find(|l| l.contains("GM client"))
        .unwrap_or_else(|| panic!("no header:\n{text}"));
    assert!(header.contains("standard client"), "{header}");
    let row = |label: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} row:\n{text}"));
        line[label.len()..]
            .split("   ")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    assert_eq!(row("protocol"), ["TLSv1.3", "TLSv1.3"]);
    let suites = row("cipher suite");
    assert_eq!(suites[0], "TLS_SM4_GCM_SM3");
    assert!(suites[1].starts_with("TLS_AES_") || suites[1].starts_with("TLS_CHACHA20"));
    let groups = row("key exchange group");
    assert_eq!(groups[0], "curveSM2");
    assert!(["X25519", "secp256r1", "X25519MLKEM768"].contains(&groups[1].as_str()));
    let schemes = row("signature scheme");
    assert_eq!(schemes[0], "sm2sig_sm3");
    assert!(schemes[1].starts_with("rsa_pss"), "{schemes:?}");
    let keys = row("certificate key");
    assert_eq!(keys[0], "SM2");
    assert!(keys[1].starts_with("RSA"), "{keys:?}");
    assert_eq!(row("server stack"), ["gm", "standard"]);
    assert_eq!(row("echo"), ["ok", "ok"]);
    assert!(text.contains("OK:"), "{text}");
}

#[test]
fn demo_json_and_keep() {
    let dir = std::env::temp_dir().join(format!("gmkit-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = run(&["demo", "--json", "--keep", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["gm"]["client"]["suite"], "TLS_SM4_GCM_SM3");
    assert_eq!(v["gm"]["server"]["stack"], "gm");
    assert_eq!(v["standard"]["server"]["stack"], "standard");
    assert_eq!(v["failures"].as_array().map(Vec::len), Some(0));
    for f in [
        "sm2-ca.pem",
        "sm2-server.pem",
        "sm2-server.key",
        "rsa-ca.pem",
        "rsa-server.pem",
        "rsa-server.key",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
