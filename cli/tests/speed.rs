//! `gmkit speed`: every algorithm runs and reports in JSON, bad arguments
//! exit 2. (Only the shape of the report is checked; speed itself is
//! measured with `gmkit speed` and `cli/bench/compare.sh`, never here.)

use std::process::Command;

fn gmkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gmkit"))
}

#[test]
fn every_algorithm_reports_in_json() {
    let out = gmkit()
        .args([
            "speed",
            "--json",
            "--seconds",
            "0.02",
            "--sizes",
            "64",
            "--backend",
            "all",
        ])
        .output()
        .expect("run gmkit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON");
    // The list gmkit itself knows (clap's possible values in its
    // unknown-algorithm message), so a new row cannot be left out here.
    let known = gmkit()
        .args(["speed", "no-such-algorithm"])
        .output()
        .expect("run gmkit");
    let stderr = String::from_utf8_lossy(&known.stderr);
    let list = stderr
        .split("[possible values: ")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .unwrap_or_else(|| panic!("no algorithm list in: {stderr}"));
    let algorithms: Vec<&str> = list.split(", ").collect();
    assert!(algorithms.len() >= 18, "{algorithms:?}");
    for alg in algorithms {
        let row = rows
            .iter()
            .find(|r| r["algorithm"] == alg)
            .unwrap_or_else(|| panic!("{alg} missing"));
        assert!(row["value"].as_f64().expect("number") > 0.0, "{alg}: {row}");
        assert!(
            row["backend"].is_string() && row["unit"].is_string(),
            "{alg}: {row}"
        );
    }
    // SM4 rows come once per available backend; the portable one always.
    assert!(rows
        .iter()
        .any(|r| r["algorithm"] == "sm4-gcm-seal" && r["backend"] == "soft"));
    // SM2 rows: the arithmetic in use, plus the portable one if that is not it.
    let sm2: Vec<&str> = rows
        .iter()
        .filter(|r| r["algorithm"] == "sm2-sign")
        .map(|r| r["backend"].as_str().unwrap())
        .collect();
    assert_eq!(sm2.last(), Some(&"portable"), "{sm2:?}");
    assert_eq!(
        sm2.len(),
        if sm2[0] == "portable" { 1 } else { 2 },
        "{sm2:?}"
    );
    // The RustCrypto baseline rows run once: they do not use our arithmetic.
    for alg in ["sm2-sign-rustcrypto", "sm2-verify-rustcrypto"] {
        let backends: Vec<&str> = rows
            .iter()
            .filter(|r| r["algorithm"] == alg)
            .map(|r| r["backend"].as_str().unwrap())
            .collect();
        assert_eq!(backends, ["rustcrypto-sm2"], "{alg}");
    }
}

#[test]
fn bad_arguments_exit_2() {
    for args in [
        &["speed", "no-such-algorithm"][..],
        &["speed", "--sizes", "15"][..],
        &["speed", "--seconds", "0"][..],
    ] {
        let out = gmkit().args(args).output().expect("run gmkit");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// `gmkit speed | head -1`: a reader that goes away early ends gmkit with
/// the SIGPIPE status, not a panic and a backtrace.
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::process::Stdio;
    let mut child = gmkit()
        .args([
            "speed",
            "sm3",
            "hmac-sm3",
            "--seconds",
            "0.05",
            "--sizes",
            "64",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gmkit");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(141), "{stderr}");
}
