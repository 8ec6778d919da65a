//! Fuzzes gm-pki's cfca_escrow parser; the checks live in
//! crates/gm-pki/tests/cfca_fuzz_checks (replayed over fuzz/corpus/cfca_escrow by
//! `cargo test -p gm-pki --test cfca_fuzz_corpus`).
#![no_main]

#[path = "../../crates/gm-pki/tests/cfca_fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::escrow(data));
