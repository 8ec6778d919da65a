//! SM3 as a rustls transcript hash.

use std::cell::Cell;

use gm_sm3::digest::Digest;
use rustls::crypto::hash;

use crate::codepoints::SM3_HASH_ALGORITHM;

/// SM3 for the TLS 1.3 transcript.
pub(crate) struct Sm3Hash;

impl hash::Hash for Sm3Hash {
    fn start(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(gm_sm3::Sm3::new()))
    }

    fn hash(&self, data: &[u8]) -> hash::Output {
        hash::Output::new(&gm_sm3::sm3(data)[..])
    }

    fn output_len(&self) -> usize {
        gm_sm3::DIGEST_LEN
    }

    fn algorithm(&self) -> hash::HashAlgorithm {
        SM3_HASH_ALGORITHM
    }
}

struct Sm3Context(gm_sm3::Sm3);

thread_local! {
    /// The last transcript hash an SM3 context produced on this thread.
    static LAST_TRANSCRIPT_HASH: Cell<Option<[u8; gm_sm3::DIGEST_LEN]>> = const { Cell::new(None) };
}

/// Whether `digest` is the transcript hash most recently produced by an SM3
/// transcript on this thread.
///
/// rustls (0.23, `client/tls13.rs`, `ExpectCertificateVerify`) computes the
/// transcript hash and passes it, inside the signed message, straight to
/// `ServerCertVerifier::verify_tls13_signature` on the same thread with no
/// hashing in between. So a verifier can tell, during the handshake, whether
/// the negotiated suite hashes with SM3 (an RFC 8998 suite): the last SM3
/// output matches. A SHA-256/384 transcript hash cannot match an SM3 output
/// except by a collision across the two functions.
pub(crate) fn is_last_sm3_transcript_hash(digest: &[u8]) -> bool {
    LAST_TRANSCRIPT_HASH.with(|c| c.get().is_some_and(|last| last[..] == *digest))
}

fn remember(out: &[u8]) -> hash::Output {
    if let Ok(d) = <[u8; gm_sm3::DIGEST_LEN]>::try_from(out) {
        LAST_TRANSCRIPT_HASH.with(|c| c.set(Some(d)));
    }
    hash::Output::new(out)
}

impl hash::Context for Sm3Context {
    fn fork_finish(&self) -> hash::Output {
        remember(&self.0.clone().finalize()[..])
    }

    fn fork(&self) -> Box<dyn hash::Context> {
        Box::new(Sm3Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> hash::Output {
        remember(&self.0.finalize()[..])
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}
