//! Fuzzes gm-pki's csr parsing; the checks live in
//! crates/gm-pki/tests/pki_fuzz_checks (replayed over fuzz/corpus/pki_csr by
//! `cargo test -p gm-pki --test pki_fuzz_corpus`).
#![no_main]

#[path = "../../crates/gm-pki/tests/pki_fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::csr(data));
