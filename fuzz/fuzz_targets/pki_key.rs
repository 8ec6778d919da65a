//! Fuzzes gm-pki's key parsing; the checks live in
//! crates/gm-pki/tests/pki_fuzz_checks (replayed over fuzz/corpus/pki_key by
//! `cargo test -p gm-pki --test pki_fuzz_corpus`).
#![no_main]

#[path = "../../crates/gm-pki/tests/pki_fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::key_and_text(data));
