//! Helpers shared by the integration tests.
#![allow(dead_code)]

use gm_sm4::{Backend, Sm4};

/// Every backend this CPU can run, keyed with `key`.
pub fn all_backends(key: &[u8; 16]) -> Vec<Sm4> {
    Backend::available()
        .into_iter()
        .map(|b| Sm4::new_with_backend(key, b).expect("available backend"))
        .collect()
}

pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

pub fn h16(s: &str) -> [u8; 16] {
    h(s).try_into().expect("16 bytes")
}
