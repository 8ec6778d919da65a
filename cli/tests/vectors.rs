//! `gmkit vectors run` end to end, through the built binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_gmkit");
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testvectors/data");

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "gmkit-cli-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn gmkit(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run gmkit")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A copy of the bundled SM4-CCM Wycheproof file with one tag corrupted;
/// returns the file and the corrupted vector's tcId.
fn corrupted_ccm(dir: &Path) -> (PathBuf, u64) {
    let text = fs::read_to_string(Path::new(DATA).join("wycheproof/sm4_ccm_test.json"))
        .expect("bundled file");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("json");
    let t = &mut v["testGroups"][0]["tests"][2];
    let id = t["tcId"].as_u64().expect("tcId");
    let tag = t["tag"].as_str().expect("tag").to_string();
    let first = if tag.starts_with('f') { "e" } else { "f" };
    t["tag"] = format!("{first}{}", &tag[1..]).into();
    let p = dir.join("sm4_ccm_test.json");
    fs::write(&p, v.to_string()).expect("write");
    (p, id)
}

#[test]
fn bundled_vectors_pass_with_no_arguments() {
    let o = gmkit(&["vectors", "run"]);
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("total:") && out.contains(" 0 failed") && out.contains("=> OK"),
        "{out}"
    );
    assert!(out.contains("wycheproof/sm4_gcm_test.json"), "{out}");
}

#[test]
fn soft_backend_runs_the_sm4_vectors() {
    let o = gmkit(&[
        "vectors",
        "run",
        "--backend",
        "soft",
        &format!("{DATA}/evp_sm4.txt"),
        &format!("{DATA}/wycheproof"),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("[SM4 backend: soft]"), "{out}");
}

#[test]
fn corrupted_file_exits_non_zero_and_names_the_vector() {
    let dir = TempDir::new("corrupt");
    let (path, id) = corrupted_ccm(&dir.0);
    let o = gmkit(&["vectors", "run", path.to_str().expect("utf-8 path")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains(&format!("failed tcId {id}:")), "{out}");
    assert!(out.contains("tag mismatch"), "{out}");
    assert!(out.contains("1 failed"), "{out}");
}

#[test]
fn json_output_has_the_documented_keys() {
    let dir = TempDir::new("json");
    let (path, id) = corrupted_ccm(&dir.0);
    let o = gmkit(&[
        "vectors",
        "run",
        "--format",
        "json",
        path.to_str().expect("utf-8 path"),
        &format!("{DATA}/evp_hmac_sm3.txt"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).expect("stdout is one JSON object");
    assert!(v.is_object());
    for k in ["passed", "failed", "skipped", "files"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["failed"], 1);
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    for f in files {
        for k in [
            "path", "format", "passed", "failed", "skipped", "failures", "skips",
        ] {
            assert!(f.get(k).is_some(), "missing files[].{k}");
        }
    }
    assert_eq!(files[0]["format"], "wycheproof-aead");
    assert_eq!(files[0]["failures"][0]["id"], format!("tcId {id}"));
    assert!(files[0]["failures"][0]["reason"].as_str().is_some());
    assert_eq!(files[1]["format"], "openssl-evp");
    assert_eq!(files[1]["failed"], 0);
}

#[test]
fn unreadable_or_unknown_files_exit_1() {
    let dir = TempDir::new("unknown");
    let p = dir.0.join("notes.txt");
    fs::write(&p, "just some prose\n").expect("write");
    let o = gmkit(&["vectors", "run", p.to_str().expect("utf-8")]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("notes.txt") && out.contains("unknown vector file format"),
        "{out}"
    );

    let o = gmkit(&["vectors", "run", "/nonexistent/gmkit/vectors"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("cannot read"));

    // A directory without vector files is not a success.
    let empty = TempDir::new("empty");
    let o = gmkit(&["vectors", "run", empty.0.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("no vector files found"));
}

#[test]
fn usage_errors_exit_2() {
    let o = gmkit(&["vectors", "run", "--backend", "no-such-backend"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown SM4 backend"));
    assert_eq!(
        gmkit(&["vectors", "run", "--format", "yaml"]).status.code(),
        Some(2)
    );
    assert_eq!(gmkit(&["vectors", "frobnicate"]).status.code(), Some(2));
    assert_eq!(gmkit(&[]).status.code(), Some(2));
}
