//! Replays the fuzz seed corpora (fuzz/corpus/<target>/) through the same
//! checks as the fuzz targets, so `cargo test` covers them without nightly.

mod fuzz_checks;

use std::path::PathBuf;

/// A fuzz check: bytes in, panics on a bug.
type Check = fn(&[u8]);

fn replay(target: &str, check: Check) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in &entries {
        let data = std::fs::read(path).expect("read corpus file");
        check(&data);
        // Every prefix too: truncated input must never panic.
        for len in (0..data.len()).step_by(7) {
            check(&data[..len]);
        }
    }
    assert!(!entries.is_empty(), "empty corpus {}", dir.display());
    entries.len()
}

#[test]
fn private_key_corpus() {
    assert!(replay("sm2_private_key", fuzz_checks::private_key) >= 15);
}

#[test]
fn public_key_corpus() {
    assert!(replay("sm2_public_key", fuzz_checks::public_key) >= 5);
}

#[test]
fn signature_corpus() {
    assert!(replay("sm2_signature", fuzz_checks::signature) >= 25);
}

#[test]
fn ciphertext_corpus() {
    assert!(replay("sm2_ciphertext", fuzz_checks::ciphertext) >= 20);
}

/// Single-byte mutations of every seed (a cheap stand-in for a fuzzer run).
#[test]
fn mutated_seeds_never_panic() {
    let targets: [(&str, Check); 4] = [
        ("sm2_private_key", fuzz_checks::private_key),
        ("sm2_public_key", fuzz_checks::public_key),
        ("sm2_signature", fuzz_checks::signature),
        ("sm2_ciphertext", fuzz_checks::ciphertext),
    ];
    for (target, check) in targets {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        for entry in std::fs::read_dir(&dir).expect("corpus dir") {
            let data = std::fs::read(entry.expect("entry").path()).expect("read");
            for i in (0..data.len()).step_by(3) {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut m = data.clone();
                    m[i] ^= flip;
                    check(&m);
                }
            }
        }
    }
}
