//! Replays the seed corpora of the `cfca_sm2file`, `cfca_escrow`,
//! `cfca_dual_csr` and `rotate_config` fuzz targets (fuzz/corpus/<target>/)
//! through the same checks, with truncations and single-byte mutations, so
//! `cargo test` covers them without nightly.

mod cfca_fuzz_checks;

use std::path::PathBuf;

type Check = fn(&[u8]);

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read corpus file"))
        .collect()
}

fn replay(target: &str, check: Check, min: usize) {
    let files = corpus(target);
    assert!(files.len() >= min, "{target}: {} seeds", files.len());
    for data in &files {
        check(data);
        for len in (0..data.len()).step_by(5) {
            check(&data[..len]);
        }
        for i in (0..data.len()).step_by(3) {
            for flip in [0x01u8, 0x20, 0x80, 0xff] {
                let mut m = data.clone();
                m[i] ^= flip;
                check(&m);
            }
        }
    }
}

#[test]
fn sm2file_corpus() {
    replay("cfca_sm2file", cfca_fuzz_checks::sm2_file, 4);
}

#[test]
fn escrow_corpus() {
    replay("cfca_escrow", cfca_fuzz_checks::escrow, 4);
}

#[test]
fn dual_csr_corpus() {
    replay("cfca_dual_csr", cfca_fuzz_checks::dual_csr, 3);
}

#[test]
fn rotate_config_corpus() {
    replay("rotate_config", cfca_fuzz_checks::rotate_config, 3);
}
