//! Fuzzes gm-sm2's signature parsing; the checks live in
//! crates/gm-sm2/tests/fuzz_checks (replayed over fuzz/corpus/sm2_signature by
//! `cargo test -p gm-sm2 --test fuzz_corpus`).
#![no_main]

#[path = "../../crates/gm-sm2/tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::signature(data));
