//! Randomness: the operating system's source only.

use rustls::crypto::{GetRandomFailed, SecureRandom};

/// Fills `buf` from the OS random source (`getrandom(2)` on Linux).
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), GetRandomFailed> {
    getrandom::fill(buf).map_err(|_| GetRandomFailed)
}

/// rustls' `SecureRandom` over [`fill`].
#[derive(Debug)]
pub(crate) struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        fill(buf)
    }
}
