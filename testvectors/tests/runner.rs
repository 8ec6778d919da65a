//! Runner tests: the bundled files pass, corrupted and malformed files are
//! reported (naming the vector or line), and nothing panics.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gm_sm4::Backend;
use gm_testvectors::{
    run_path, run_paths, run_str, FileReport, Format, RunError, RunOptions, BUNDLED_DATA_DIR,
};

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("gm-testvectors-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(name);
        fs::write(&p, content).expect("write temp file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn bundled(name: &str) -> PathBuf {
    Path::new(BUNDLED_DATA_DIR).join(name)
}

fn read(name: &str) -> String {
    fs::read_to_string(bundled(name)).expect("bundled file")
}

fn opts() -> RunOptions {
    RunOptions::default()
}

fn run_text(name: &str, text: &str) -> Result<FileReport, RunError> {
    run_str(Path::new(name), text, &opts())
}

/// Every bundled file, each vector on the detected backend: zero failures,
/// zero skips, and each Wycheproof file runs every one of its cases.
#[test]
fn bundled_vectors_all_pass() {
    let report = run_paths(&[PathBuf::from(BUNDLED_DATA_DIR)], &opts());
    for f in &report.files {
        assert!(
            f.is_success() && f.skipped == 0,
            "{}: {:?} {:?} {:?}",
            f.path.display(),
            f.error,
            f.failures,
            f.skips
        );
    }
    assert!(report.is_success());
    assert_eq!(report.failed, 0);
    assert_eq!(report.skipped, 0);

    let by_name = |n: &str| {
        report
            .files
            .iter()
            .find(|f| f.path.ends_with(n))
            .unwrap_or_else(|| panic!("{n} not run"))
    };
    // The unmodified Wycheproof files: every case must run and pass.
    assert_eq!(by_name("wycheproof/sm4_gcm_test.json").passed, 104);
    assert_eq!(by_name("wycheproof/sm4_ccm_test.json").passed, 184);
    assert_eq!(by_name("wycheproof/hmac_sm3_test.json").passed, 174);
    for n in [
        "sm3_test.json",
        "sm4_block_kat_test.json",
        "sm4_ecb_test.json",
        "sm4_cbc_test.json",
        "sm4_ctr_test.json",
        "sm4_ofb_test.json",
        "sm4_cfb_test.json",
        "sm4_xts_test.json",
        "sm4_gcm_test.json",
        "sm4_ccm_test.json",
        "hmac_sm3_test.json",
        "hkdf_sm3_test.json",
        "evp_sm4.txt",
        "evp_sm3.txt",
        "evp_hmac_sm3.txt",
    ] {
        assert!(by_name(n).passed > 0, "{n}");
    }
    assert_eq!(by_name("evp_sm4.txt").format, Format::OpensslEvp);
    assert_eq!(by_name("sm4_gcm_test.json").format, Format::WycheproofAead);
}

/// The SM4 vectors on every backend this CPU has (the iterated block KAT,
/// which dominates the run time, is covered by the test above).
#[test]
fn bundled_sm4_vectors_pass_on_every_backend() {
    let files: Vec<PathBuf> = [
        "sm4_ecb_test.json",
        "sm4_cbc_test.json",
        "sm4_ctr_test.json",
        "sm4_ofb_test.json",
        "sm4_cfb_test.json",
        "sm4_xts_test.json",
        "sm4_gcm_test.json",
        "sm4_ccm_test.json",
        "evp_sm4.txt",
        "wycheproof/sm4_gcm_test.json",
        "wycheproof/sm4_ccm_test.json",
    ]
    .iter()
    .map(|n| bundled(n))
    .collect();
    for b in Backend::available() {
        let o = RunOptions::with_backend(b).expect("available backend");
        let report = run_paths(&files, &o);
        assert_eq!(report.backend, b.name());
        assert!(
            report.is_success(),
            "backend {}: {:?}",
            b.name(),
            report
                .files
                .iter()
                .flat_map(|f| f.failures.iter())
                .collect::<Vec<_>>()
        );
        assert_eq!(report.files.len(), files.len());
    }
}

#[test]
fn corrupted_json_vector_fails_naming_its_tc_id() {
    let mut v: serde_json::Value =
        serde_json::from_str(&read("wycheproof/sm4_gcm_test.json")).expect("json");
    // The first test with a non-empty ciphertext; flip one ciphertext digit.
    let tests = v["testGroups"][0]["tests"].as_array_mut().expect("tests");
    let test = tests
        .iter_mut()
        .find(|t| t["ct"].as_str().is_some_and(|c| c.len() > 8))
        .expect("a test with ciphertext");
    let tc_id = test["tcId"].as_u64().expect("tcId");
    let ct = test["ct"].as_str().expect("ct").to_string();
    let flipped = if ct.starts_with('0') { "1" } else { "0" };
    test["ct"] = serde_json::Value::String(format!("{flipped}{}", &ct[1..]));

    let dir = TempDir::new("corrupt-json");
    let path = dir.write("sm4_gcm_test.json", v.to_string());
    let r = run_path(&path, &opts()).expect("file still parses");
    assert_eq!(r.failed, 1, "{:?}", r.failures);
    assert_eq!(r.passed, 103);
    let f = &r.failures[0];
    assert!(
        f.comment.is_none(),
        "Wycheproof comment is empty for this test"
    );
    assert_eq!(f.id, format!("tcId {tc_id}"));
    assert!(f.reason.contains("ciphertext mismatch"), "{}", f.reason);
    assert!(!r.is_success());

    // The same through the directory walker.
    let report = run_paths(std::slice::from_ref(&dir.0), &opts());
    assert_eq!(report.failed, 1);
    assert!(!report.is_success());
}

#[test]
fn corrupted_evp_stanza_fails_naming_its_line() {
    let text = read("evp_sm3.txt");
    let abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0";
    let lines: Vec<&str> = text.lines().collect();
    let out_idx = lines
        .iter()
        .position(|l| *l == format!("Output = {abc}"))
        .expect("abc vector present");
    let start = (0..out_idx)
        .rev()
        .find(|&i| lines[i].starts_with("Digest ="))
        .expect("stanza start");
    let corrupted = text.replacen(
        &format!("Output = {abc}"),
        &format!("Output = {}1", &abc[..63]),
        1,
    );
    let dir = TempDir::new("corrupt-evp");
    let path = dir.write("evp_sm3.txt", corrupted);
    let r = run_path(&path, &opts()).expect("file still parses");
    assert_eq!(r.failed, 1, "{:?}", r.failures);
    assert_eq!(r.failures[0].id, format!("line {}", start + 1));
    assert!(r.failures[0].reason.contains("digest mismatch"));
    assert!(r.failures[0]
        .comment
        .as_deref()
        .is_some_and(|c| c.contains("gbt32905-example1-abc")));
}

#[test]
fn corrupted_negative_vector_is_caught() {
    // Turn a tampered-tag evp stanza into one that claims success.
    let text = read("evp_sm4.txt");
    let corrupted = text.replacen("Result = CIPHERFINAL_ERROR\n", "\n", 1);
    let r = run_text("evp_sm4.txt", &corrupted).expect("parses");
    assert_eq!(r.failed, 1, "{:?}", r.failures);
    assert!(
        r.failures[0].reason.contains("decryption"),
        "{}",
        r.failures[0].reason
    );

    // A valid AEAD vector relabelled invalid: decryption succeeds, which
    // must be reported.
    let mut v: serde_json::Value =
        serde_json::from_str(&read("wycheproof/sm4_ccm_test.json")).expect("json");
    v["testGroups"][0]["tests"][0]["result"] = "invalid".into();
    let r = run_text("x.json", &v.to_string()).expect("parses");
    assert_eq!(r.failed, 1);
    assert!(r.failures[0].reason.contains("decryption succeeded"));

    // "acceptable" may go either way.
    v["testGroups"][0]["tests"][0]["result"] = "acceptable".into();
    let r = run_text("x.json", &v.to_string()).expect("parses");
    assert_eq!(r.failed, 0);
}

#[test]
fn unknown_format_is_reported_clearly() {
    let e = run_text("notes.txt", "hello world\nthis is not a vector file\n").unwrap_err();
    assert!(matches!(e, RunError::UnknownFormat { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("notes.txt") && msg.contains("unknown vector file format"),
        "{msg}"
    );
    assert!(msg.contains("line 1"), "{msg}");

    let e = run_text(
        "x.json",
        r#"{"schema": "rsassa_pss_verify_schema.json", "testGroups": []}"#,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("rsassa_pss_verify_schema.json") && msg.contains("not supported"),
        "{msg}"
    );

    let e = run_text("x.json", r#"{"algorithm": "SM4"}"#).unwrap_err();
    assert!(
        e.to_string().contains("not a Wycheproof-style vector file"),
        "{e}"
    );

    let e = run_text("empty.txt", "# only a comment\n\n").unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");

    // Through run_paths the file becomes one failure named "file".
    let dir = TempDir::new("unknown");
    dir.write("README.txt", "Just prose.\n");
    dir.write("ignored.md", "not a vector file extension\n");
    let report = run_paths(std::slice::from_ref(&dir.0), &opts());
    assert_eq!(report.files.len(), 1);
    let f = &report.files[0];
    assert_eq!(f.format, Format::Unknown);
    assert_eq!(f.failed, 1);
    assert_eq!(f.failures[0].id, "file");
    assert!(f.error.as_deref().is_some_and(|e| e.contains("README.txt")));
    assert!(!report.is_success());
}

#[test]
fn unsupported_algorithms_are_skipped_with_a_reason() {
    let wy = r#"{"algorithm": "AES-GCM", "schema": "aead_test_schema_v1.json", "numberOfTests": 2,
      "testGroups": [{"type": "AeadTest", "ivSize": 96, "keySize": 128, "tagSize": 128, "tests": [
        {"tcId": 1, "comment": "", "key": "00", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
        {"tcId": 2, "comment": "", "key": "00", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"}]}]}"#;
    let r = run_text("aes_gcm_test.json", wy).expect("parses");
    assert_eq!((r.passed, r.failed, r.skipped), (0, 0, 2));
    assert!(r.skips[0].reason.contains("AES-GCM"));
    assert_eq!(r.skips[1].id, "tcId 2");

    let evp = "Cipher = AES-128-GCM\nKey = 00\nPlaintext = \nCiphertext = \n\n\
               Digest = SHA256\nInput = \"abc\"\nOutput = 00\n\n\
               MAC = HMAC\nAlgorithm = SHA256\nKey = 00\nInput = 00\nOutput = 00\n\n\
               Cipher = SM4-XTS\nKey = 00\nIV = 00\nPlaintext = 00\nCiphertext = 00\n\n\
               Cipher = SM4-CBC\nKey = 00\nIV = 00\nPlaintext = 00\nCiphertext = 00\nCTSMode = CS1\n\n\
               PrivateKey = k\n-----BEGIN PRIVATE KEY-----\nMIGH=\n-----END PRIVATE KEY-----\n";
    let r = run_text("evp.txt", evp).expect("parses");
    assert_eq!(
        (r.passed, r.failed, r.skipped),
        (0, 0, 6),
        "{:?}",
        r.failures
    );
    let reasons: Vec<&str> = r.skips.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons[0].contains("AES-128-GCM"));
    assert!(reasons[1].contains("SHA256"));
    assert!(reasons[2].contains("SHA256"));
    assert!(reasons[3].contains("GB/T 17964"));
    assert!(reasons[4].contains("CTSMode"));
    assert!(reasons[5].contains("PrivateKey"));
    assert_eq!(r.skips[0].id, "line 1");
}

/// Malformed input of every kind: an error or failures, never a panic.
#[test]
fn malformed_files_give_errors_not_panics() {
    let json_cases: &[&str] = &[
        "{",
        "[1, 2]",
        "{\"schema\": 5}",
        r#"{"schema": "aead_test_schema.json"}"#,
        r#"{"schema": "aead_test_schema.json", "algorithm": "SM4-GCM", "testGroups": {}}"#,
        r#"{"schema": "aead_test_schema.json", "algorithm": "SM4-GCM", "testGroups": []}"#,
        r#"{"schema": "aead_test_schema.json", "algorithm": 7, "testGroups": [{"tests": []}]}"#,
    ];
    for c in json_cases {
        let e = run_text("bad.json", c).expect_err(c);
        assert!(!e.to_string().is_empty());
    }

    // Per-vector problems are failures naming the vector; the rest still runs.
    let per_test = r#"{"schema": "aead_test_schema.json", "algorithm": "SM4-GCM", "numberOfTests": 99,
      "testGroups": [
        {"type": "AeadTest", "tests": [
          {"tcId": 1, "key": "zz", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
          {"tcId": 2, "key": "0", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
          {"tcId": 3, "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
          {"tcId": 4, "key": 5, "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
          {"tcId": 5, "key": "00", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "maybe"},
          {"key": "00112233445566778899aabbccddeeff", "iv": "", "aad": "", "msg": "", "ct": "", "tag": "", "result": "valid"},
          {"tcId": 7, "key": "00112233445566778899aabbccddeeff", "iv": "000000000000000000000000", "aad": "", "msg": "", "ct": "", "tag": "00", "result": "valid"},
          "not an object"
        ]},
        {"type": "MacTest", "tests": [{"tcId": 9}]},
        {"type": "AeadTest"}
      ]}"#;
    let r = run_text("bad.json", per_test).expect("parses as a file");
    let ids: Vec<&str> = r.failures.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"tcId 1") && ids.contains(&"tcId 5") && ids.contains(&"tcId 7"));
    assert!(ids.contains(&"testGroups[0].tests[5]"), "{ids:?}");
    assert!(ids.contains(&"testGroups[0].tests[7]"), "{ids:?}");
    assert!(ids.contains(&"testGroups[1]") && ids.contains(&"testGroups[2]"));
    assert!(ids.contains(&"numberOfTests"));
    assert!(
        r.failures[0].reason.contains("malformed vector") && r.failures[0].reason.contains("`key`")
    );
    assert_eq!(r.passed, 0);

    // Resource limits and odd sizes.
    let limits = r#"{"schema": "hash_test_schema.json", "algorithm": "SM3", "testGroups": [{"type": "HashTest", "tests": [
        {"tcId": 1, "msgRepeat": {"pattern": "61", "count": 18446744073709551615}, "md": "00", "result": "valid"},
        {"tcId": 2, "msgRepeat": {"pattern": "61"}, "md": "00", "result": "valid"},
        {"tcId": 3, "msg": "61", "msgRepeat": {"pattern": "61", "count": 1}, "md": "00", "result": "valid"},
        {"tcId": 4, "md": "00", "result": "invalid"}
      ]}]}"#;
    let r = run_text("limits.json", limits).expect("parses");
    assert_eq!(r.failed, 4, "{:?}", r.failures);
    assert!(r.failures[0].reason.contains("limit"));

    let hkdf = r#"{"schema": "hkdf_test_schema.json", "algorithm": "HKDF-SM3", "testGroups": [{"type": "HkdfTest", "tests": [
        {"tcId": 1, "ikm": "00", "salt": "", "info": "", "size": 18446744073709551615, "okm": "", "result": "invalid"},
        {"tcId": 2, "ikm": "00", "salt": "", "info": "", "size": -1, "okm": "", "result": "invalid"}
      ]}]}"#;
    let r = run_text("hkdf.json", hkdf).expect("parses");
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.failures);

    let kat = r#"{"schema": "block_cipher_kat_test_schema.json", "algorithm": "SM4", "testGroups": [{"type": "BlockCipherKatTest", "tests": [
        {"tcId": 1, "key": "00", "pt": "00", "ct": "00", "iterations": 0, "result": "valid"},
        {"tcId": 2, "key": "00", "pt": "00", "ct": "00", "iterations": 1000000000000, "result": "valid"},
        {"tcId": 3, "key": "00112233445566778899aabbccddeeff", "pt": "00", "ct": "00", "result": "valid"}
      ]}]}"#;
    let r = run_text("kat.json", kat).expect("parses");
    assert_eq!(r.failed, 3, "{:?}", r.failures);

    let evp_cases: &[(&str, &str)] = &[
        (
            "Cipher = SM4-CBC\nKey = xy\nIV = 00\nPlaintext = 00\nCiphertext = 00\n",
            "invalid hex",
        ),
        (
            "Cipher = SM4-CBC\nIV = 00\nPlaintext = 00\nCiphertext = 00\n",
            "missing `Key`",
        ),
        (
            "Cipher = SM4-CBC\nKey = 00\nKey = 00\nPlaintext = 00\nCiphertext = 00\n",
            "duplicate",
        ),
        (
            "Cipher = SM4-GCM\nKey = 00\nPlaintext = 00\nCiphertext = 00\nOperation = SIDEWAYS\n",
            "Operation",
        ),
        (
            "Digest = SM3\nCount = 3\nInput = 61\nOutput = 00\n",
            "before any `Input`",
        ),
        (
            "Digest = SM3\nInput = 61\nCount = many\nOutput = 00\n",
            "positive integer",
        ),
        (
            "Digest = SM3\nInput = 61\nthis line has no equals sign\nOutput = 00\n",
            "line 3",
        ),
        (
            "PrivateKey = k\n-----BEGIN PRIVATE KEY-----\nMIGH\n",
            "never closed",
        ),
        (
            "Digest = SM3\nInput = \"unterminated\nOutput = 00\n",
            "unterminated",
        ),
        ("Title = nothing here\n", "no test stanzas"),
    ];
    for (text, needle) in evp_cases {
        let all = match run_text("bad.txt", text) {
            Ok(r) => {
                assert!(r.failed >= 1, "{text}: {r:?}");
                assert_eq!(r.failures[0].id, "line 1", "{text}");
                r.failures[0].reason.clone()
            }
            Err(e) => e.to_string(),
        };
        assert!(all.contains(needle), "{text}: {all}");
    }

    // Not UTF-8.
    let dir = TempDir::new("binary");
    let p = dir.write("blob.json", [0xffu8, 0xfe, 0x00, 0x7b]);
    let e = run_path(&p, &opts()).unwrap_err();
    assert!(e.to_string().contains("not UTF-8"), "{e}");
    // Missing file.
    let e = run_path(&dir.0.join("missing.json"), &opts()).unwrap_err();
    assert!(matches!(e, RunError::Io { .. }));
    let report = run_paths(&[dir.0.join("missing-dir")], &opts());
    assert_eq!(report.failed, 1);
    assert!(!report.is_success());
}

/// Truncations and byte flips of real files never panic the runner.
#[test]
fn mutated_bundled_files_never_panic() {
    for name in [
        "evp_sm4.txt",
        "evp_hmac_sm3.txt",
        "sm4_cbc_test.json",
        "hkdf_sm3_test.json",
    ] {
        let text = read(name);
        let bytes = text.as_bytes();
        let step = (bytes.len() / 40).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let prefix = String::from_utf8_lossy(&bytes[..cut]);
            let _ = run_text(name, &prefix);
        }
        for (i, pos) in (0..bytes.len()).step_by(step).enumerate() {
            let mut b = bytes.to_vec();
            b[pos] = [b'"', b'}', b'=', b'\n', b'x', b'0'][i % 6];
            let _ = run_text(name, &String::from_utf8_lossy(&b));
        }
    }
}

#[test]
fn backend_options() {
    assert_eq!(
        RunOptions::with_backend_name("auto").expect("auto").backend,
        None
    );
    let soft = RunOptions::with_backend_name("soft").expect("soft always exists");
    assert_eq!(soft.backend, Some(Backend::Soft));
    assert_eq!(soft.backend_name(), "soft");
    let e = RunOptions::with_backend_name("quantum").unwrap_err();
    assert!(matches!(e, RunError::UnknownBackend { .. }));
    assert!(e.to_string().contains("soft"));
    for b in Backend::ALL {
        if !b.is_available() {
            let e = RunOptions::with_backend(b).unwrap_err();
            assert!(e.to_string().contains(b.name()));
        }
    }
}

#[test]
fn report_serialises_with_documented_keys() {
    let report = run_paths(&[bundled("evp_hmac_sm3.txt")], &opts());
    let v = serde_json::to_value(&report).expect("serialise");
    for k in ["passed", "failed", "skipped", "files"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let f = &v["files"][0];
    for k in [
        "path", "format", "passed", "failed", "skipped", "failures", "skips",
    ] {
        assert!(f.get(k).is_some(), "{k}");
    }
    assert_eq!(f["format"], "openssl-evp");
}

#[test]
fn corrupted_sm2_signature_fails_and_wrong_id_is_rejected() {
    let v: serde_json::Value = serde_json::from_str(&read("sm2_verify_test.json")).expect("json");
    // Flip the last byte of the valid GB/T 32918.5 Annex A signature.
    let mut bad = v.clone();
    let test = bad["testGroups"][0]["tests"]
        .as_array_mut()
        .expect("tests")
        .iter_mut()
        .find(|t| t["result"] == "valid")
        .expect("a valid vector");
    let tc_id = test["tcId"].as_u64().expect("tcId");
    let sig = test["sig"].as_str().expect("sig").to_string();
    let last = u8::from_str_radix(&sig[sig.len() - 2..], 16).expect("hex") ^ 1;
    test["sig"] = format!("{}{last:02x}", &sig[..sig.len() - 2]).into();
    let r = run_text("sm2_verify_test.json", &bad.to_string()).expect("parses");
    assert_eq!(r.failed, 1, "{:?}", r.failures);
    assert_eq!(r.failures[0].id, format!("tcId {tc_id}"));

    // The same valid signature under another identifier must fail.
    let mut wrong_id = v.clone();
    wrong_id["testGroups"][0]["sm2Id"] = hex::encode("ALICE123@YAHOO.COM").into();
    let r = run_text("sm2_verify_test.json", &wrong_id.to_string()).expect("parses");
    assert!(r.failed >= 1, "a signature verified under the wrong ID");
}
