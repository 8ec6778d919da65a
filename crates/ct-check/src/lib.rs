//! Constant-time checking of gm-sm4 under valgrind memcheck.
//!
//! Memcheck tracks, bit by bit, whether every value was computed from
//! initialised memory, and reports a conditional branch or a memory address
//! that depends on an undefined value. Marking the secret inputs (key,
//! plaintext, nonce) undefined with [`mark_secret`] turns that into a
//! constant-time check: any secret-dependent branch or table index becomes a
//! memcheck error ("Conditional jump or move depends on uninitialised
//! value(s)", "Use of uninitialised value of size 8"). Outputs that may be
//! published (ciphertext, the accept/reject verdict of a tag check) are
//! declassified with [`mark_public`] before the harness compares or prints
//! them.
//!
//! Outside valgrind all three functions are no-ops (and [`running_on_valgrind`]
//! answers `false`); on targets other than x86-64 Linux they compile to
//! nothing.
//!
//! The harness is the `ct_sm4` binary of this crate; the integration test
//! `tests/valgrind.rs` runs it under valgrind and explains how to do so by
//! hand.
//!
//! ```
//! use std::hint::black_box;
//!
//! let key = [0x42u8; 16];
//! ct_check::mark_secret(&key);
//! let out = key.map(|b| b ^ 0x5a); // constant-time work on the secret
//! ct_check::mark_public(&out); // declassify before branching on it
//! assert_eq!(black_box(out)[0], 0x18);
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[allow(unsafe_code)]
mod client_request;

use client_request::{request, MAKE_MEM_DEFINED, MAKE_MEM_UNDEFINED, RUNNING_ON_VALGRIND};

/// Marks `bytes` as secret: memcheck then treats them as undefined
/// (`VALGRIND_MAKE_MEM_UNDEFINED`), so any branch or memory index that
/// depends on them is reported. The bytes themselves are not changed.
pub fn mark_secret(bytes: &[u8]) {
    request(
        0,
        MAKE_MEM_UNDEFINED,
        [bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0],
    );
}

/// Declassifies `bytes` (`VALGRIND_MAKE_MEM_DEFINED`): use it on an output
/// that may be published before comparing, printing or branching on it.
pub fn mark_public(bytes: &[u8]) {
    request(
        0,
        MAKE_MEM_DEFINED,
        [bytes.as_ptr() as u64, bytes.len() as u64, 0, 0, 0],
    );
}

/// Whether this process runs under valgrind (`RUNNING_ON_VALGRIND`).
pub fn running_on_valgrind() -> bool {
    request(0, RUNNING_ON_VALGRIND, [0; 5]) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_harmless_no_ops_natively() {
        let data = [1u8, 2, 3, 4, 5];
        mark_secret(&data);
        mark_public(&data);
        mark_secret(&[]);
        mark_public(&[]);
        assert_eq!(data, [1, 2, 3, 4, 5]);
        // The unit tests are not meant to run under valgrind: natively the
        // request must leave the default answer (0) in place.
        assert!(!running_on_valgrind());
    }
}
