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
    for alg in [
        "sm4-ecb",
        "sm4-gcm-seal",
        "sm4-ccm-open",
        "sm4-cbc-encrypt",
        "sm3",
        "hmac-sm3",
        "sm2-sign",
        "sm2-sign-pooled",
        "sm2-verify",
        "sm2-verify-precomputed",
        "sm2-ecdh",
        "tls13-handshake-gm",
        "tls13-handshake-aws-lc",
        "tls13-bulk-gm",
        "tls13-bulk-aws-lc",
    ] {
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
